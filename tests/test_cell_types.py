"""Cell-type mixing across systems and cross-system label transfer (sysvi_bench.score.cell_types)."""

import numpy as np
import pandas as pd
import pytest

from sysvi_bench.score.cell_types import (
    MIN_TYPE_CELLS,
    cell_type_metrics,
    chance_same_type,
    cross_system_mixing,
    cross_system_same_type,
    label_transfer,
    windowed_knn_predict,
)
from sysvi_bench.score.neighbors import compute_neighbors


def _blobs(types_a, types_b, n=60, seed=0):
    """Two systems with cell types at well-separated centres; ``types_b[i]`` sits where ``types_a[i]`` does
    (so a permutation in ``types_b`` swaps types between systems)."""
    rng = np.random.default_rng(seed)
    x, systems, labels = [], [], []
    for i, (ta, tb) in enumerate(zip(types_a, types_b)):
        centre = np.zeros(5)
        centre[i % 5] = 20.0 * (1 + i // 5)
        for system, t in (("A", ta), ("B", tb)):
            if t is None:
                continue
            x.append(centre + rng.normal(size=(n, 5)))
            systems += [system] * n
            labels += [t] * n
    return np.vstack(x).astype(np.float32), np.array(systems), np.array(labels)


def _graph(x, k=30):
    return np.asarray(compute_neighbors(x, k).indices)


def test_separated_types_mixed_systems_score_one():
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", "beta", "delta"])
    idx = _graph(x)
    assert cross_system_same_type(idx, systems, labels) == pytest.approx(1.0)
    table = cross_system_mixing(idx, systems, labels)
    assert list(table.columns[:5]) == ["system", "cell_type", "other_system", "other_cell_type", "fraction"]
    # fractions of one (system, cell type, other system) sum to 1, and all mass is on the diagonal
    sums = table.groupby(["system", "cell_type", "other_system"])["fraction"].sum()
    assert np.allclose(sums, 1.0)
    diagonal = table[table["cell_type"] == table["other_cell_type"]]
    assert np.allclose(diagonal["fraction"], 1.0)
    assert set(table["system"]) == {"A", "B"} and (table["system"] != table["other_system"]).all()


def test_types_swapped_between_systems_score_low():
    # system B's beta sits where A's alpha is, and vice versa: every cross-system neighbour has the wrong type
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["beta", "alpha", "gamma"])
    idx = _graph(x)
    assert cross_system_same_type(idx, systems, labels) < 0.05
    table = cross_system_mixing(idx, systems, labels).set_index(["system", "cell_type", "other_cell_type"])
    assert table.loc[("A", "alpha", "beta"), "fraction"] == pytest.approx(1.0)
    # delta (A only) and gamma (B only) are in the table but not in the metric
    assert ("A", "delta", "gamma") in table.index


def test_cells_without_cross_system_neighbours_are_left_out():
    # systems far apart: no cross-system neighbour at all -> undefined, not 0 or 1
    x, systems, labels = _blobs(["alpha"], ["alpha"])
    x[systems == "B"] += 1000
    with pytest.raises(ValueError, match="no cell has a neighbour"):
        cross_system_same_type(_graph(x), systems, labels)
    assert cross_system_mixing(_graph(x), systems, labels).empty


def test_random_neighbours_score_the_chance_level():
    rng = np.random.default_rng(1)
    n = 3000
    systems = rng.choice(["A", "B"], n)
    labels = np.where(systems == "A", rng.choice(["t1", "t2", "t3"], n, p=[0.6, 0.3, 0.1]),
                      rng.choice(["t1", "t2", "t3"], n, p=[0.2, 0.2, 0.6]))
    idx = _graph(rng.normal(size=(n, 10)).astype(np.float32))
    chance = chance_same_type(systems, labels)
    # expected: A cells see B's frequencies and vice versa
    freq = pd.crosstab(systems, labels, normalize="index")
    share_a = (systems == "A").mean()
    expected = share_a * (freq.loc["A"] * freq.loc["B"]).sum() + (1 - share_a) * (freq.loc["B"] * freq.loc["A"]).sum()
    assert chance == pytest.approx(expected, abs=0.02)
    assert cross_system_same_type(idx, systems, labels) == pytest.approx(chance, abs=0.03)


def test_label_transfer_known_answer():
    # A: alpha, beta, delta; B: alpha, beta (alpha and beta swapped in space), epsilon (B only)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["beta", "alpha", "epsilon"])
    f1, table = label_transfer(x, systems, labels)
    # A -> B: B's cells of the shared types alpha/beta are all predicted wrong -> F1 0 for both; same B -> A
    assert f1 == pytest.approx(0.0)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", "beta", "epsilon"])
    f1, table = label_transfer(x, systems, labels)
    assert f1 == pytest.approx(1.0)
    scored = table[table["scored"]]
    assert set(scored["cell_type"]) == {"alpha", "beta"} and np.allclose(scored["f1"], 1.0)
    unscored = table[~table["scored"]].set_index(["reference_system", "cell_type"])
    assert unscored.loc[("A", "delta"), "note"] == "only in A" and np.isnan(unscored.loc[("A", "delta"), "f1"])
    assert unscored.loc[("A", "epsilon"), "note"] == "only in B"
    assert set(zip(table["reference_system"], table["query_system"])) == {("A", "B"), ("B", "A")}


def test_label_transfer_half_right():
    # B's beta sits on A's delta: A -> B predicts beta cells as delta (F1 beta 0, alpha 1 -> macro 0.5)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", None, "beta"])
    f1, table = label_transfer(x, systems, labels)
    a_to_b = table[(table["reference_system"] == "A") & table["scored"]].set_index("cell_type")["f1"]
    assert a_to_b["alpha"] == pytest.approx(1.0) and a_to_b["beta"] == pytest.approx(0.0)
    # the metric is the mean over the two ordered pairs of each pair's macro-F1 over the shared types
    per_pair = table[table["scored"]].groupby(["reference_system", "query_system"])["f1"].mean()
    assert per_pair[("A", "B")] == pytest.approx(0.5) and f1 == pytest.approx(per_pair.mean())


def test_cell_type_metrics_keeps_going_when_one_metric_is_undefined():
    x, systems, labels = _blobs(["alpha"], ["alpha"])
    x[systems == "B"] += 1000
    result = cell_type_metrics(x, _graph(x), systems, labels)
    assert np.isnan(result.values["cross_system_same_type"]) and "no cell" in result.reasons["cross_system_same_type"]
    # far apart but the classifier still takes its nearest (wrong-system) cells: all alpha -> F1 1
    assert result.values["label_transfer_f1"] == pytest.approx(1.0)


# --- rare cell types: each metric's ceiling is 1 on an embedding of the cell type alone -------------------------

# cells per (cell type, system): "rare" has fewer cells in A than the classifier's k (15) and the graph's k
# (30); "tiny" fewer than MIN_TYPE_CELLS in A; "acinar" occurs in A only
RARE_DESIGN = {"alpha": (200, 150), "beta": (150, 200), "delta": (40, 60), "rare": (6, 80), "tiny": (2, 40),
               "acinar": (60, 0)}


def _control_embeddings(seed=0):
    """The project's two controls (train.models.baselines) on simulated cells of :data:`RARE_DESIGN`:
    the cell-type embedding (a centroid per type plus noise) and the shuffled PCA."""
    import anndata as ad

    from sysvi_bench import contracts as C
    from sysvi_bench.config import DatasetKeys
    from sysvi_bench.train.models.base import FitContext
    from sysvi_bench.train.models.baselines import fit_celltype, fit_shuffled

    systems, labels = [], []
    for cell_type, sizes in RARE_DESIGN.items():
        for system, n in zip("AB", sizes):
            systems += [system] * n
            labels += [cell_type] * n
    rng = np.random.default_rng(seed)
    obs = pd.DataFrame({C.SYSTEM: systems, C.LABEL: pd.Categorical(labels)},
                       index=[f"c{i}" for i in range(len(labels))])
    adata = ad.AnnData(obs=obs)
    codes = obs[C.LABEL].cat.codes.to_numpy()
    adata.obsm[C.PCA_KEY] = (rng.normal(0, 3, (len(RARE_DESIGN), 15))[codes]
                             + rng.normal(size=(len(obs), 15))).astype(np.float32)
    context = FitContext(keys=DatasetKeys(C.SYSTEM, (C.SAMPLE,), C.LABEL, C.SAMPLE))
    celltype = fit_celltype(adata, {"n_comps": 15, "noise": 0.1}, seed, context).embedding
    shuffled = fit_shuffled(adata, {"n_comps": 15}, seed, context).embedding
    return celltype, shuffled, np.array(systems), np.array(labels)


def test_celltype_control_scores_the_ceiling_despite_rare_types():
    celltype, _, systems, labels = _control_embeddings()
    result = cell_type_metrics(celltype, _graph(celltype), systems, labels)
    assert result.values["cross_system_same_type"] >= 0.95
    assert result.values["label_transfer_f1"] >= 0.95
    # the rare type (6 cells in A) is scored and transferred perfectly both ways
    transfer = result.transfer.set_index(["reference_system", "cell_type"])
    assert transfer.loc[("A", "rare"), "scored"] and transfer.loc[("A", "rare"), "f1"] == pytest.approx(1.0)
    # what the rule corrects: with A as the reference, scikit-learn's uniform 15-NN vote gives "rare" (6 of 15
    # votes at best) to only some of B's rare cells (those whose other 9 neighbours split between types)
    from sklearn.neighbors import KNeighborsClassifier

    in_a, rare_b = systems == "A", (systems == "B") & (labels == "rare")
    uniform = KNeighborsClassifier(15).fit(celltype[in_a], labels[in_a]).predict(celltype[rare_b])
    assert (uniform != "rare").mean() > 0.3


def test_shuffled_control_scores_near_chance_despite_rare_types():
    from sklearn.metrics import f1_score

    _, shuffled, systems, labels = _control_embeddings()
    idx = _graph(shuffled)
    assert cross_system_same_type(idx, systems, labels) == pytest.approx(chance_same_type(systems, labels), abs=0.05)
    f1, table = label_transfer(shuffled, systems, labels)
    # chance: the same predictions, shuffled across the query cells (independent of the true types)
    rng = np.random.default_rng(0)
    chance = []
    for (ref, query), rows in table[table["scored"]].groupby(["reference_system", "query_system"]):
        scored = list(rows["cell_type"])
        cells = (systems == query) & np.isin(labels, scored)
        predicted = windowed_knn_predict(shuffled[systems == ref], labels[systems == ref], shuffled[cells])
        chance.append(np.mean([f1_score(labels[cells], rng.permutation(predicted), labels=scored, average="macro",
                                        zero_division=0) for _ in range(20)]))
    assert f1 == pytest.approx(np.mean(chance), abs=0.05)
    assert f1 < 0.35


def test_too_small_types_are_listed_not_scored_and_not_counted_as_zero():
    celltype, _, systems, labels = _control_embeddings()
    result = cell_type_metrics(celltype, _graph(celltype), systems, labels)
    transfer = result.transfer.set_index(["reference_system", "cell_type"])
    for ref in "AB":
        tiny = transfer.loc[(ref, "tiny")]
        assert not tiny["scored"] and np.isnan(tiny["f1"])
        assert tiny["note"] == f"fewer than {MIN_TYPE_CELLS} cells in A (2)"
        assert transfer.loc[(ref, "acinar"), "note"] == "only in A" and not transfer.loc[(ref, "acinar"), "scored"]
    # the metric is the mean over pairs of the mean F1 of the scored types only
    scored = result.transfer[result.transfer["scored"]]
    assert set(scored["cell_type"]) == {"alpha", "beta", "delta", "rare"}
    per_pair = scored.groupby(["reference_system", "query_system"])["f1"].mean()
    assert result.values["label_transfer_f1"] == pytest.approx(per_pair.mean())
    # the mixing table lists the same types as not scored, with the same reasons
    mixing = result.mixing.drop_duplicates(["system", "cell_type", "other_system"]).set_index(["system", "cell_type"])
    assert not mixing.loc[("B", "tiny"), "scored"]
    assert mixing.loc[("B", "tiny"), "note"] == f"fewer than {MIN_TYPE_CELLS} cells in A (2)"
    assert mixing.loc[("A", "rare"), "scored"] and mixing.loc[("A", "rare"), "note"] == ""
    # the rare type's cross-system neighbours: its nearest 6 from A (all it has) are all its own type
    rare = result.mixing[(result.mixing["system"] == "B") & (result.mixing["cell_type"] == "rare")]
    assert rare.set_index("other_cell_type").loc["rare", "fraction"] == pytest.approx(1.0)


def test_windowed_vote_is_the_uniform_vote_without_rare_types():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(3)
    ref_x, query_x = rng.normal(size=(400, 4)), rng.normal(size=(300, 4))
    # overlapping types (every type >= k cells): many close votes and ties
    ref_labels = rng.choice(["t1", "t2", "t3", "t4"], 400)
    expected = KNeighborsClassifier(15, algorithm="brute").fit(ref_x, ref_labels).predict(query_x)
    assert (windowed_knn_predict(ref_x, ref_labels, query_x, 15) == expected).all()


def test_neighbours_are_put_in_order_of_distance():
    celltype, _, systems, labels = _control_embeddings()
    nn = compute_neighbors(celltype, 30)
    indices, distances = np.asarray(nn.indices), np.asarray(nn.distances)
    order = np.random.default_rng(0).permuted(np.tile(np.arange(30), (len(indices), 1)), axis=1)
    shuffled_rows = cell_type_metrics(celltype, np.take_along_axis(indices, order, 1), systems, labels,
                                      distances=np.take_along_axis(distances, order, 1))
    assert shuffled_rows.values == cell_type_metrics(celltype, indices, systems, labels).values
