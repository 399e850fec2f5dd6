"""The paper's metrics on constructed embeddings where the answer is known: each one moves the right way.

480 cells = 4 cell types x 2 systems x 2 samples x 30 cells. Cell types are well separated clusters; every
cell carries a within-type gradient (one embedding dimension, and 10 "programme" genes of its expression).
Variants: systems/samples overlaid (mixed) or offset (separated); cell types kept or shuffled; the
gradient kept or shuffled within each group (destroyed).
"""

from __future__ import annotations

import types

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.score import paper
from sysvi_bench.score.catalogue import PAPER_METRIC_NAMES, PAPER_METRICS
from sysvi_bench.score.neighbors import compute_neighbors
from sysvi_bench.score.leiden import leiden_igraph, leiden_membership, leiden_memberships

N_TYPES, N_SYSTEMS, N_SAMPLES, PER_GROUP = 4, 2, 2, 30
K = 30  # neighbours of the test graphs (the workflow uses 90)
MIN_CELLS = 20


@pytest.fixture(scope="module")
def cells():
    """obs of the constructed cells and their true within-type gradient."""
    rng = np.random.default_rng(0)
    n = N_TYPES * N_SYSTEMS * N_SAMPLES * PER_GROUP
    label = np.repeat(np.arange(N_TYPES), N_SYSTEMS * N_SAMPLES * PER_GROUP)
    system = np.tile(np.repeat(np.arange(N_SYSTEMS), N_SAMPLES * PER_GROUP), N_TYPES)
    sample = system * N_SAMPLES + np.tile(np.repeat(np.arange(N_SAMPLES), PER_GROUP), N_TYPES * N_SYSTEMS)
    obs = pd.DataFrame({
        C.LABEL: [f"type{t}" for t in label],
        C.SYSTEM: [f"sys{s}" for s in system],
        C.SAMPLE: [f"sys{s}:s{p}" for s, p in zip(system, sample)],
    })
    gradient = rng.uniform(-1.0, 1.0, n)
    base = np.zeros((n, 8))
    base[np.arange(n), label] = 10.0  # cluster centres 14 apart
    base += rng.normal(0.0, 0.3, base.shape)
    return types.SimpleNamespace(obs=obs, gradient=gradient, base=base, label=label, system=system,
                                 sample=sample, n=n, rng=rng)


def embed(cells, *, systems_apart=False, samples_apart=False, gradient=None):
    x = cells.base.copy()
    x[:, 4] = 3.0 * (cells.gradient if gradient is None else gradient)
    if systems_apart:
        x[:, 5] += 30.0 * cells.system
    if samples_apart:
        x[:, 6] += 30.0 * cells.sample
    return x


def knn(x):
    return compute_neighbors(x, K)


@pytest.fixture(scope="module")
def embeddings(cells):
    """The constructed embeddings and their k-NN graphs."""
    mixed = embed(cells)
    shuffled = mixed[cells.rng.permutation(cells.n)]  # positions no longer match cell types
    destroyed_gradient = cells.gradient.copy()
    for group in pd.Series(range(cells.n)).groupby(cells.label * 100 + cells.sample).indices.values():
        destroyed_gradient[group] = cells.rng.permutation(destroyed_gradient[group])
    xs = {
        "mixed": mixed,
        "separated": embed(cells, systems_apart=True),
        "samples_separated": embed(cells, samples_apart=True),
        "shuffled": shuffled,
        "destroyed": embed(cells, gradient=destroyed_gradient),
    }
    return {name: (x, knn(x)) for name, x in xs.items()}


def test_catalogue_lists_every_paper_metric_once_with_type_and_direction():
    assert len(set(PAPER_METRIC_NAMES)) == len(PAPER_METRICS)
    assert all(m.type in ("bio", "batch") and isinstance(m.higher_is_better, bool) for m in PAPER_METRICS)


def test_noise_and_per_system_rows_are_reported_but_not_aggregated():
    from sysvi_bench.score.catalogue import in_aggregate, is_auxiliary, per_system_metrics
    from sysvi_bench.score.suite import metric_catalogue

    per_system = per_system_metrics(["mouse", "human", "mouse"])
    assert [(m.name, m.type, m.in_aggregate) for m in per_system] == [
        ("ilisi_sample_within_system__human", "batch", False), ("ilisi_sample_within_system__mouse", "batch", False)]
    for name in ("nmi_leiden_sd", "ari_leiden_sd", "ilisi_sample_within_system__human"):
        assert not in_aggregate(name) and is_auxiliary(name)
    assert not in_aggregate("ilisi_knn") and not is_auxiliary("ilisi_knn")  # a twin: a metric, counted once
    assert in_aggregate("ilisi_sample_within_system") and in_aggregate("nmi_leiden")
    table = metric_catalogue(systems=["human", "mouse"]).set_index("metric")
    assert not table.loc[["nmi_leiden_sd", "ilisi_sample_within_system__mouse", "clisi_knn"], "in_aggregate"].any()
    assert table.loc["nmi_leiden_sd", "higher_is_better"] == False  # noqa: E712 (noise: lower is better)
    assert "ilisi_sample_within_system__human" not in set(metric_catalogue()["metric"])


def test_ilisi_system_is_high_when_systems_mix_and_zero_when_apart(cells, embeddings):
    mixed = paper.ilisi_system(embeddings["mixed"][1], cells.obs[C.SYSTEM], cells.obs[C.LABEL])
    apart = paper.ilisi_system(embeddings["separated"][1], cells.obs[C.SYSTEM], cells.obs[C.LABEL])
    for key in ("ilisi_system", "ilisi_system_macro"):
        assert mixed[key] > 0.7, mixed  # random mixing: LISI over ~k/3 effective neighbours
        assert apart[key] < 0.05, apart
        assert 0.0 <= apart[key] <= mixed[key] <= 1.0


def test_ilisi_of_samples_within_systems(cells, embeddings):
    obs = cells.obs
    score = lambda name, samples=obs[C.SAMPLE]: paper.ilisi_sample_within_system(  # noqa: E731
        embeddings[name][0], obs[C.SYSTEM], samples, K)
    # separated systems do not lower it (each system is scored on its own graph) ...
    for name in ("mixed", "separated"):
        values = score(name)
        assert values["ilisi_sample_within_system"] > 0.8
        assert list(values)[1:] == ["ilisi_sample_within_system__sys0", "ilisi_sample_within_system__sys1"]
        assert values["ilisi_sample_within_system"] == pytest.approx(np.mean(list(values.values())[1:]))
    # ... separated samples do
    assert score("samples_separated")["ilisi_sample_within_system"] < 0.05
    # a system with one sample has nothing to mix: NA for it, and the mean is over the others
    one_sample = np.where(obs[C.SYSTEM] == "sys0", "sys0", obs[C.SAMPLE])
    values = score("mixed", one_sample)
    assert np.isnan(values["ilisi_sample_within_system__sys0"])
    assert values["ilisi_sample_within_system"] == values["ilisi_sample_within_system__sys1"] > 0.8
    assert np.isnan(score("mixed", obs[C.SYSTEM].to_numpy())["ilisi_sample_within_system"])


def test_lisi_excludes_self_with_perplexity_of_the_other_neighbours(cells, embeddings):
    """The paper's LISI: the k - 1 neighbours other than the cell, perplexity (k - 1) // 3 (29 at k = 90)."""
    from scib_metrics import lisi_knn
    from scib_metrics.nearest_neighbors import NeighborsResults

    assert (paper.lisi_perplexity(90), paper.lisi_perplexity(91)) == (29.0, 30.0)
    # a known graph, k = 7 with self first: the 6 others of every cell are of the other system, so only
    # one system is among a cell's neighbours once the cell itself is left out: LISI 1, scaled iLISI 0
    n, k = 14, 7
    system = np.repeat([0, 1], 7)
    others = np.array([np.flatnonzero(system != system[i])[:6] for i in range(n)])
    graph = NeighborsResults(indices=np.hstack([np.arange(n)[:, None], others]),
                             distances=np.tile(np.arange(k, dtype=float), (n, 1)))
    assert paper._lisi(graph, system) == pytest.approx(np.ones(n))
    assert paper.ilisi_system(graph, system, np.zeros(n))["ilisi_system"] == pytest.approx(0.0, abs=1e-6)
    # on a real graph: lisi_knn at perplexity (k - 1) // 3, not scib-metrics' default k // 3
    nn, codes = embeddings["mixed"][1], cells.system
    np.testing.assert_allclose(paper._lisi(nn, codes), lisi_knn(nn, codes, perplexity=(K - 1) // 3))
    assert not np.allclose(paper._lisi(nn, codes), lisi_knn(nn, codes))


def test_cell_type_metrics_drop_when_cell_types_are_shuffled(cells, embeddings):
    labels = cells.obs[C.LABEL]
    kept_x, kept = embeddings["mixed"]
    shuf_x, shuf = embeddings["shuffled"]
    kept_nmi, shuf_nmi = paper.nmi_ari_leiden(kept, labels, seeds=[0]), paper.nmi_ari_leiden(shuf, labels, seeds=[0])
    assert kept_nmi["nmi_leiden"] > 0.9 and kept_nmi["ari_leiden"] > 0.9, kept_nmi
    assert shuf_nmi["nmi_leiden"] < 0.2 and shuf_nmi["ari_leiden"] < 0.2, shuf_nmi
    assert paper.clisi(kept, labels) > 0.95 > 0.5 > paper.clisi(shuf, labels)
    assert paper.asw_label(kept_x, labels) > 0.75 > 0.6 > paper.asw_label(shuf_x, labels)
    assert paper.knn_purity(kept, labels) > 0.95 > 0.5 > paper.knn_purity(shuf, labels)


def test_leiden_is_seeded_and_averaged_over_seeds(cells, embeddings):
    graph = embeddings["shuffled"][1]  # no clear clusters: the seed matters
    labels = cells.obs[C.LABEL]
    res = (0.6, 1.4)
    per_seed = [paper.nmi_ari_leiden(graph, labels, res, seeds=[s]) for s in (0, 1, 2)]
    again = paper.nmi_ari_leiden(graph, labels, res, seeds=[0])
    assert (per_seed[0]["nmi_leiden"], per_seed[0]["ari_leiden"]) == (again["nmi_leiden"], again["ari_leiden"])
    assert np.isnan(per_seed[0]["nmi_leiden_sd"])  # one seed: no sd
    both = paper.nmi_ari_leiden(graph, labels, res, seeds=[0, 1, 2])
    for m in ("nmi_leiden", "ari_leiden"):
        values = [p[m] for p in per_seed]
        assert both[m] == pytest.approx(np.mean(values))
        assert both[f"{m}_sd"] == pytest.approx(np.std(values, ddof=1))
    assert both["nmi_leiden_sd"] > 0  # the seeds do differ here


def test_leiden_runs_spread_over_processes_give_the_same_clusters(embeddings):
    conn = embeddings["shuffled"][1].knn_graph_connectivities
    runs = [(0.6, 0), (1.4, 0), (0.6, 1), (2.0, 2), (1.0, 1)]
    serial = leiden_memberships(conn, runs, "single", n_jobs=1)
    parallel = leiden_memberships(conn, runs, "single", n_jobs=2)
    assert len(parallel) == len(runs)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(serial[0], serial[2])  # another seed: other clusters, so order is checked


def test_leiden_graph_keeps_one_or_both_edge_directions():
    conn = np.array([[0, 0.5, 0], [0.5, 0, 1.0], [0, 1.0, 0]])
    single = leiden_igraph(conn, "single")
    both = leiden_igraph(conn, "both_directions")
    assert sorted(single.get_edgelist()) == [(0, 1), (1, 2)] and sorted(single.es["weight"]) == [0.5, 1.0]
    assert single.ecount() == 2 and both.ecount() == 4 and not both.is_directed()
    with pytest.raises(ValueError, match="leiden_graph"):
        leiden_igraph(conn, "scanpy")


def test_leiden_on_both_directions_is_scib_metrics_clustering(embeddings):
    """``both_directions`` gives exactly scib-metrics' own Leiden (the paper's construction), seed for seed."""
    from scib_metrics.metrics._nmi_ari import _compute_clustering_leiden

    conn = sparse.csr_matrix(embeddings["mixed"][1].knn_graph_connectivities)
    graph = leiden_igraph(conn, "both_directions")
    for resolution, seed in [(1.0, 0), (2.0, 1)]:
        np.testing.assert_array_equal(leiden_membership(graph, resolution, seed),
                                      _compute_clustering_leiden(conn, resolution, seed))


def test_jaccard_keeps_same_system_neighbourhoods_but_not_shuffled_ones(cells, embeddings):
    obs = cells.obs
    before = embeddings["separated"][1]  # the "unintegrated" graph: systems apart
    integrated = paper.jaccard_neighbors(embeddings["mixed"][1], before, obs[C.LABEL], obs[C.SYSTEM])
    shuffled = paper.jaccard_neighbors(embeddings["shuffled"][1], before, obs[C.LABEL], obs[C.SYSTEM])
    assert integrated > 0.9  # mixing in the other system does not change a cell's own-system neighbours
    assert shuffled < 0.2
    assert paper.jaccard_neighbors(before, before, obs[C.LABEL], obs[C.SYSTEM]) == pytest.approx(1.0)


def test_neighbors_without_self_handles_graphs_that_omit_self():
    indices = np.array([[0, 1, 2, 3], [2, 3, 0, 1], [2, 1, 0, 3]])  # row 1 lacks itself among the first 3
    assert paper._neighbors_without_self(indices, 2).tolist() == [[1, 2], [2, 3], [1, 0]]


@pytest.fixture(scope="module")
def expression(cells):
    """Cells x 40 genes: 10 follow the within-type gradient, 30 are noise."""
    rng = np.random.default_rng(1)
    programme = np.clip(2.0 + 1.5 * cells.gradient[:, None] + rng.normal(0, 0.3, (cells.n, 10)), 0, None)
    noise = rng.gamma(2.0, 0.5, (cells.n, 30))
    return np.hstack([programme, noise])


@pytest.fixture(scope="module")
def moran_ref(cells, expression):
    obs = cells.obs
    return paper.moran_reference(expression, obs[C.LABEL], obs[C.SYSTEM], obs[C.SAMPLE], min_cells=MIN_CELLS)


def test_moran_reference_selects_the_programme_genes_of_every_group(moran_ref):
    assert len(moran_ref) == N_TYPES * N_SYSTEMS * N_SAMPLES
    for group in moran_ref:
        programme = set(range(10))
        assert len(programme & set(group.genes)) >= 8 and len(set(group.genes) - programme) <= 2, group.genes
        assert (group.reference >= (1 + paper.MORAN_MIN_I) / 2).all()


def test_moran_preservation_is_1_when_gradients_are_kept_and_drops_when_destroyed(embeddings, moran_ref):
    kept = paper.morans_i_preservation(embeddings["mixed"][0], moran_ref)
    separated = paper.morans_i_preservation(embeddings["separated"][0], moran_ref)
    destroyed = paper.morans_i_preservation(embeddings["destroyed"][0], moran_ref)
    assert kept == pytest.approx(1.0, abs=0.1)
    assert separated == pytest.approx(kept)  # system offsets do not touch within-group structure
    assert destroyed < 0.75 and destroyed < kept - 0.2
    assert np.isnan(paper.morans_i_preservation(embeddings["mixed"][0], []))


def test_moran_groups_pool_small_samples_unless_told_not_to_and_need_min_cells():
    labels = ["a"] * 70 + ["b"] * 10
    systems = ["s1"] * 80
    samples = ["p1"] * 40 + ["p2"] * 15 + ["p3"] * 15 + ["p1"] * 10
    groups = {(lab, sys, smp): len(pos) for lab, sys, smp, pos in paper.moran_groups(labels, systems, samples, 20)}
    assert groups == {("a", "s1", "p1"): 40, ("a", "s1", paper.POOLED): 30}
    unpooled = paper.moran_groups(labels, systems, samples, 20, pool_small=False)  # the paper's groups
    assert [(lab, smp, len(pos)) for lab, _, smp, pos in unpooled] == [("a", "p1", 40)]
    with pytest.raises(ValueError, match="min_cells"):
        paper.moran_reference(np.ones((80, 3)), labels, systems, samples, min_cells=10, n_neighbors=15)


def test_moran_group_graphs_count_the_cell_itself_among_its_15_neighbours():
    """scanpy's convention (sc.pp.neighbors(n_neighbors=15), as the paper): 14 other cells per cell."""
    import anndata as ad
    import scanpy as sc

    x = np.random.default_rng(0).normal(size=(60, 5))
    (graph,) = paper.group_connectivities([x])
    adata = ad.AnnData(obsm={"X_emb": x}, shape=(60, 0))
    sc.pp.neighbors(adata, use_rep="X_emb", n_neighbors=paper.MORAN_N_NEIGHBORS, knn=True, method="umap")
    assert (adata.obsp["distances"].getnnz(axis=1) == 14).all()
    np.testing.assert_allclose(graph.toarray(), adata.obsp["connectivities"].toarray(), atol=1e-5)
    with pytest.raises(ValueError, match="too small"):
        paper.group_connectivities([x[:14]])


def test_moran_reference_pca_is_exact():
    """The group PCA is scanpy's exact (arpack) PCA: the same as a full SVD up to sign."""
    x = np.random.default_rng(0).normal(size=(40, 12)) @ np.diag(np.linspace(3, 0.5, 12))
    pcs = paper.group_pca(x, 5)
    centred = x - x.mean(axis=0)
    u, d, _ = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(np.abs(pcs), np.abs(u[:, :5] * d[:5]), rtol=1e-6, atol=1e-8)


def test_paper_metrics_returns_every_metric_in_range(cells, embeddings, moran_ref):
    obs = cells.obs
    x, graph = embeddings["mixed"]
    values = paper.paper_metrics(
        x, graph, systems=obs[C.SYSTEM], samples=obs[C.SAMPLE], labels=obs[C.LABEL],
        unintegrated=embeddings["separated"][1], moran=moran_ref,
    )
    per_system = ["ilisi_sample_within_system__sys0", "ilisi_sample_within_system__sys1"]
    assert list(values) == list(PAPER_METRIC_NAMES) + per_system
    assert all(np.isfinite(v) and -1 <= v <= 1.2 for v in values.values()), values


# --- integration in the per-run scoring -------------------------------------------------------------------


def fake_scib(embeddings, pre, batch, labels, **kwargs):
    """Stands in for the (slow to compile) scib-metrics suite: the plumbing is what is tested here."""
    from sysvi_bench.score.scib import scib_metric_names

    assert all(nn.n_neighbors >= 90 for nn in kwargs["neighbors"].values())  # the shared graph is passed on
    from sysvi_bench.score.catalogue import LABEL_FREE

    names = scib_metric_names(kwargs["skip"])
    if {m for m, _ in names} - LABEL_FREE:
        assert not pd.isna(labels).any()  # label-based metrics never see unlabelled cells
    return pd.DataFrame([{"embedding_variant": v, "metric": m, "type": t, "value": 0.5, "reason": ""}
                         for v in embeddings for m, t in names])


def scored_dataset(cells, expression, tmp_path):
    """A preprocessed dataset and three runs on it: mixed systems, failed, systems apart (= the PCA)."""
    obs = cells.obs.set_index(pd.Index([f"c{i}" for i in range(cells.n)]))
    pre = ad.AnnData(expression.astype(np.float32), obs=obs)
    pre.obsm[C.PCA_KEY] = embed(cells, systems_apart=True).astype(np.float32)
    runs = {}
    for name, status, x in [("ok_a", C.STATUS_OK, embed(cells)), ("failed", C.STATUS_FAILED, np.zeros((cells.n, 0))),
                            ("ok_b", C.STATUS_OK, embed(cells, systems_apart=True))]:
        run_dir = tmp_path / name
        run_dir.mkdir()
        emb = ad.AnnData(obs=pd.DataFrame(index=pre.obs_names))
        emb.obsm[C.EMBEDDING_KEY] = x.astype(np.float32)
        emb.write_h5ad(run_dir / "embedding.h5ad")
        run = types.SimpleNamespace(dataset="d", run_id=name, model="m", kind="sysvi", seed=0)
        runs[name] = (run, {"status": status, "reason": "" if status == C.STATUS_OK else "ValueError: boom"},
                      run_dir / "embedding.h5ad")
    return pre, runs


def test_each_run_is_scored_on_its_own_against_the_stored_reference(cells, expression, tmp_path, monkeypatch):
    from sysvi_bench.score import suite as score

    monkeypatch.setattr(score, "scib_metrics_long", fake_scib)
    pre, runs = scored_dataset(cells, expression, tmp_path)
    evaluation = {"n_neighbors": 90, "moran_min_cells": MIN_CELLS, "leiden_seeds": [0, 1]}
    reference = score.dataset_reference(pre, evaluation)
    # the reference goes through its file (evaluation_reference.h5ad) unchanged
    path = tmp_path / "evaluation_reference.h5ad"
    C.write_h5ad_checked(score.reference_to_adata(reference), path, C.REFERENCE)
    stored = score.reference_from_adata(C.read_h5ad_checked(path, C.REFERENCE))
    assert len(stored.moran) == len(reference.moran) > 0
    np.testing.assert_array_equal(stored.unintegrated.indices, reference.unintegrated.indices)

    tables = {name: score.score_run(*runs[name], stored, evaluation) for name in runs}
    direct = score.score_run(*runs["ok_a"], reference, evaluation)
    pd.testing.assert_frame_equal(tables["ok_a"], direct)
    expected = score.expected_metrics(["raw", "standardized"], systems=reference.systems)
    assert set(PAPER_METRIC_NAMES) <= set(expected["metric"])
    assert {"ilisi_sample_within_system__sys0", "ilisi_sample_within_system__sys1"} <= set(expected["metric"])
    for name, table in tables.items():
        assert list(table.columns) == C.METRIC_COLUMNS
        C.METRICS.check(table, name)
        assert table[["embedding_variant", "metric", "type", "higher_is_better"]].equals(expected)
        if name == "failed":
            assert table["value"].isna().all() and (table["reason"] == "run failed: ValueError: boom").all()
        else:
            # systems apart (ok_b): no cell has a cross-system neighbour, so which types mix is undefined
            undefined = table["metric"].eq("cross_system_same_type") & table["value"].isna()
            assert table.loc[~undefined, "value"].notna().all() and (table.loc[~undefined, "reason"] == "").all()
            assert table.loc[undefined, "reason"].str.contains("no cell has a neighbour from another system").all()
    a = tables["ok_a"].set_index(["embedding_variant", "metric"])["value"]
    b = tables["ok_b"].set_index(["embedding_variant", "metric"])["value"]
    assert a["raw", "ilisi_system"] > 0.8 > 0.05 > b["raw", "ilisi_system"]
    assert b["raw", "jaccard_neighbors"] == pytest.approx(1.0)  # same graph as the unintegrated PCA

    info = score.metrics_info(evaluation, systems=["sys0", "sys1"])
    assert info["versions"]["scib-metrics"] and info["evaluation"]["moran_min_cells"] == MIN_CELLS
    assert {m["metric"] for m in info["metrics"]} == set(expected["metric"])


def test_an_embedding_of_other_cells_is_refused_naming_the_file(cells, expression, tmp_path):
    from sysvi_bench.score import suite as score

    pre, runs = scored_dataset(cells, expression, tmp_path)
    reference = score.dataset_reference(pre, {"moran_min_cells": MIN_CELLS})
    run, info, path = runs["ok_a"]
    emb = ad.read_h5ad(path)[::-1].copy()
    emb.write_h5ad(tmp_path / "reordered.h5ad")
    with pytest.raises(C.ContractError, match="reordered.h5ad: cell names do not match"):
        score.score_run(run, info, tmp_path / "reordered.h5ad", reference, {})
    del emb.obsm[C.EMBEDDING_KEY]
    emb.write_h5ad(tmp_path / "no_latent.h5ad")
    with pytest.raises(C.ContractError, match=r"no_latent.h5ad: the embedding lacks obsm \['X_emb'\]"):
        score.score_run(run, info, tmp_path / "no_latent.h5ad", reference, {})


def test_unlabelled_cells_count_for_label_free_metrics_only(cells, expression, tmp_path, monkeypatch):
    from sysvi_bench.score import suite as score
    from sysvi_bench.score.catalogue import is_label_free

    monkeypatch.setattr(score, "scib_metrics_long", fake_scib)
    pre, runs = scored_dataset(cells, expression, tmp_path)
    evaluation = {"moran_min_cells": MIN_CELLS, "variants": ["raw"]}
    full = score.score_run(*runs["ok_a"], score.dataset_reference(pre, evaluation), evaluation)
    # one system's cells of one cell type lose their label: mixing of that type is gone from label metrics
    first_label = pre.obs[C.LABEL].iloc[0]
    unlabel = (pre.obs[C.LABEL] == first_label).to_numpy() & (pre.obs[C.SYSTEM] == pre.obs[C.SYSTEM].iloc[0]).to_numpy()
    pre.obs[C.LABEL] = pre.obs[C.LABEL].astype(object).where(~unlabel, np.nan)
    reference = score.dataset_reference(pre, evaluation)
    assert reference.labelled.sum() == (~unlabel).sum()
    partial = score.score_run(*runs["ok_a"], reference, evaluation)
    assert partial["value"].notna().all()
    values = partial.set_index("metric")["value"] - full.set_index("metric")["value"]
    free = np.array([is_label_free(m) for m in values.index])
    assert free.sum() >= 4 and (values[free].abs() < 1e-6).all(), values[free]  # still computed on every cell
    assert (values[~free & (values.index != "asw_label")].abs() > 0).any()


def test_a_metric_that_raises_is_na_with_its_reason_and_the_others_are_kept(cells, expression, tmp_path,
                                                                           monkeypatch):
    from sysvi_bench.score import suite as score

    monkeypatch.setattr(score, "scib_metrics_long", fake_scib)

    def broken(*args, **kwargs):
        raise ValueError("no objects to concatenate")

    monkeypatch.setattr(paper, "knn_purity", broken)
    pre, runs = scored_dataset(cells, expression, tmp_path)
    table = score.score_run(*runs["ok_a"], score.dataset_reference(pre, {"moran_min_cells": MIN_CELLS}), {})
    bad = table["metric"] == "knn_purity"
    assert table.loc[bad, "value"].isna().all()
    assert (table.loc[bad, "reason"] == "ValueError: no objects to concatenate").all()
    assert table.loc[~bad, "value"].notna().all()


def test_schema_defaults_are_the_scoring_defaults(validated):
    """Scoring outside the workflow fills the same evaluation defaults as the schema (its single source)."""
    from sysvi_bench.score import suite as score

    from conftest import ROOT, load_yaml

    demo = load_yaml(ROOT / "config" / "config.yaml")
    demo.pop("evaluation")
    filled = validated(demo)["evaluation"]
    assert {"moran_pool_small", "leiden_seeds", "leiden_graph", "moran_min_cells"} <= set(filled)
    from sysvi_bench.config import aggregation_keys

    # scoring fills the scoring settings only: the aggregation-only ones are the aggregate job's
    assert score.resolve_evaluation({}) == {k: v for k, v in filled.items() if k not in aggregation_keys()}
    assert (filled["selection_scaling"], filled["best_by"], filled["convergence_tolerance"]) == (
        "across_runs", "selection_score", 0.01)
