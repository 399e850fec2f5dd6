"""Score runs' embeddings: the orchestrator that composes the metric functions.

Per dataset (once, :func:`dataset_reference`, stored by :func:`reference_to_adata`): the fixed evaluation
subsample, the k-NN graph of the unintegrated PCA and the Moran's I gene selection. Per run
(:func:`score_run`, one ``score`` job each) and embedding variant: one k-NN graph
(``evaluation.n_neighbors``, ``evaluation.neighbor_backend``) shared by the scib-metrics suite and the
paper's metrics (:mod:`sysvi_bench.score.paper`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any, Collection, Mapping

import anndata as ad
import numpy as np
import pandas as pd
from scib_metrics.nearest_neighbors import NeighborsResults

from sysvi_bench import contracts as C
from sysvi_bench.config import scoring_settings
from sysvi_bench.provenance import LIBRARIES, versions
from sysvi_bench.subsample import seeded_subsample
from sysvi_bench.grid import Run
from sysvi_bench.score import paper
from sysvi_bench.score.catalogue import (
    CELL_TYPE_METRICS, PAPER_METRICS, SCIB_DESCRIPTIONS, in_aggregate, is_label_free, per_system_metrics,
)
from sysvi_bench.score.cell_types import cell_type_metrics
from sysvi_bench.score.neighbors import compute_neighbors
from sysvi_bench.score.scib import scib_metric_names, scib_metrics_long, scib_suite

def resolve_evaluation(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation settings that change scores, the schema's defaults filled in (aggregation-only settings
    are left out: they never reach a scoring job)."""
    return scoring_settings(evaluation)


def embedding_variants(emb: np.ndarray, variants: list[str]) -> dict[str, np.ndarray]:
    """The raw embedding and/or each dimension scaled to zero mean, unit variance (as in the paper)."""
    out = {}
    for variant in variants:
        if variant == "raw":
            out[variant] = emb
        elif variant == "standardized":
            sd = emb.std(axis=0)
            out[variant] = (emb - emb.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        else:
            raise ValueError(f"evaluation.variants: unknown variant {variant!r}; valid: raw, standardized")
    return out


def metric_catalogue(skip: Collection[str] = (), systems: Collection[str] = ()) -> pd.DataFrame:
    """Every reported metric: ``metric, type, higher_is_better, suite, in_aggregate, description``.

    ``systems``: the dataset's systems, for the per-system rows
    (:func:`sysvi_bench.score.catalogue.per_system_metrics`); without them those rows are not listed.
    """
    rows = [{"metric": m, "type": t, "higher_is_better": True, "suite": "scib",
             "in_aggregate": in_aggregate(m), "description": SCIB_DESCRIPTIONS.get(m, "")}
            for m, t in scib_metric_names(skip)]
    rows += [{"metric": m.name, "type": m.type, "higher_is_better": m.higher_is_better, "suite": "paper",
              "in_aggregate": in_aggregate(m.name), "description": m.description}
             for m in (*PAPER_METRICS, *per_system_metrics(systems))]
    rows += [{"metric": m.name, "type": m.type, "higher_is_better": m.higher_is_better, "suite": "cell_types",
              "in_aggregate": in_aggregate(m.name), "description": m.description} for m in CELL_TYPE_METRICS]
    return pd.DataFrame(rows)


def expected_metrics(variants: list[str], skip: Collection[str] = (), systems: Collection[str] = ()) -> pd.DataFrame:
    """Every (variant, metric, type, higher_is_better) a run reports: also the NA rows of failed runs.

    ``systems``: the dataset's systems (per-system metric rows), see :func:`metric_catalogue`.
    """
    catalogue = metric_catalogue(skip, systems)[["metric", "type", "higher_is_better"]]
    return pd.concat([catalogue.assign(embedding_variant=v) for v in variants], ignore_index=True)[
        ["embedding_variant", "metric", "type", "higher_is_better"]
    ]


# libraries that scoring uses beyond those every step records (sysvi_bench.provenance.LIBRARIES)
SCORING_PACKAGES = ("scikit-learn", "igraph", "leidenalg", "jax", "pynndescent", "umap-learn")


def scoring_versions() -> dict[str, str]:
    """The pipeline's and the scoring libraries' versions (``metrics_info.json``, each run's ``score_info.json``)."""
    return versions((*LIBRARIES, *SCORING_PACKAGES))


def metrics_info(evaluation: Mapping[str, Any], systems: Collection[str] = ()) -> dict[str, Any]:
    """What a metrics table was computed with: package versions, the evaluation settings, the metric list
    (with the per-system rows of ``systems``, the dataset's systems)."""
    cfg = resolve_evaluation(evaluation)
    return {
        "versions": scoring_versions(),
        "evaluation": cfg,
        "leiden_resolutions": list(paper.LEIDEN_RESOLUTIONS),
        "metrics": metric_catalogue(cfg["skip_scib_metrics"], systems).to_dict(orient="records"),
    }


@dataclass(frozen=True)
class DatasetReference:
    """What every run of a dataset is scored against, computed once per dataset (``evaluation_reference``).

    Attributes
    ----------
    n_cells_total
        Cells of the preprocessed data (a run's embedding must have exactly these, in this order).
    cells
        Positions of the evaluation subsample in the preprocessed data.
    obs
        obs of those cells (system, cell type, sample), indexed by cell name.
    labelled
        Which evaluation cells carry a cell type: label-based metrics score only these.
    pca
        The unintegrated PCA of the evaluation cells.
    unintegrated
        k-NN graph of the labelled cells' ``pca`` (for the neighbourhood Jaccard index).
    moran
        Moran's I groups and selected genes of the labelled cells
        (:func:`sysvi_bench.score.paper.moran_reference`).
    """

    n_cells_total: int
    cells: np.ndarray
    obs: pd.DataFrame
    labelled: np.ndarray
    pca: np.ndarray
    unintegrated: NeighborsResults
    moran: list[paper.MoranGroup]

    @property
    def systems(self) -> list[str]:
        """The dataset's systems (for the per-system metric rows)."""
        return sorted(self.obs[C.SYSTEM].astype(str).unique())


def dataset_reference(preprocessed: ad.AnnData, evaluation: Mapping[str, Any]) -> DatasetReference:
    """The evaluation subsample, the unintegrated k-NN graph and the Moran's I reference of a dataset."""
    cfg = resolve_evaluation(evaluation)
    cells = seeded_subsample(preprocessed.n_obs, cfg["subsample"], cfg["seed"])
    obs = preprocessed.obs.iloc[cells][[C.SYSTEM, C.LABEL, C.SAMPLE]]
    labelled = obs[C.LABEL].notna().to_numpy()
    pca = np.ascontiguousarray(np.asarray(preprocessed.obsm[C.PCA_KEY])[cells], dtype=np.float32)
    unintegrated = compute_neighbors(pca[labelled], cfg["n_neighbors"], cfg["neighbor_backend"], cfg["seed"])
    scored = obs[labelled]
    moran = paper.moran_reference(
        preprocessed.X[cells[labelled]], scored[C.LABEL], scored[C.SYSTEM], scored[C.SAMPLE],
        min_cells=cfg["moran_min_cells"], pool_small=cfg["moran_pool_small"], min_morans_i=cfg["moran_min_i"],
        seed=cfg["seed"],
    )
    return DatasetReference(preprocessed.n_obs, cells, obs, labelled, pca, unintegrated, moran)


def reference_to_adata(reference: DatasetReference) -> ad.AnnData:
    """The reference as an AnnData (:data:`contracts.REFERENCE`): what ``evaluation_reference.h5ad`` holds."""
    obs = reference.obs.copy()
    obs["position"] = reference.cells
    obs["labelled"] = reference.labelled
    adata = ad.AnnData(obs=obs)
    adata.obsm[C.PCA_KEY] = reference.pca
    adata.uns.update(
        n_cells_total=reference.n_cells_total,
        knn_indices=np.asarray(reference.unintegrated.indices),
        knn_distances=np.asarray(reference.unintegrated.distances),
        moran={str(i): asdict(group) for i, group in enumerate(reference.moran)},
    )
    return adata


def reference_from_adata(adata: ad.AnnData) -> DatasetReference:
    """Inverse of :func:`reference_to_adata`."""
    groups = [adata.uns["moran"][str(i)] for i in range(len(adata.uns["moran"]))]
    return DatasetReference(
        n_cells_total=int(adata.uns["n_cells_total"]),
        cells=np.asarray(adata.obs["position"], dtype=np.int64),
        obs=adata.obs[[C.SYSTEM, C.LABEL, C.SAMPLE]],
        labelled=np.asarray(adata.obs["labelled"], dtype=bool),
        pca=np.asarray(adata.obsm[C.PCA_KEY]),
        unintegrated=NeighborsResults(indices=np.asarray(adata.uns["knn_indices"]),
                                      distances=np.asarray(adata.uns["knn_distances"])),
        moran=[paper.MoranGroup(**{f.name: g[f.name] for f in fields(paper.MoranGroup)}) for g in groups],
    )


def _suite_values(
    variants: dict[str, np.ndarray], reference: DatasetReference, cfg: Mapping[str, Any], *, label_free: bool,
    n_jobs: int = 1, tables: dict[str, list[pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """Both suites on the labelled evaluation cells, or (``label_free``) only the label-free metrics on all.

    Rows of every variant: ``embedding_variant, metric, value, reason``. Each variant's k-NN graph is computed
    once and shared by scib-metrics and the paper's metrics. A metric that cannot be computed is NA with its
    reason; the others are kept. ``n_jobs``: processes for the Leiden clusterings. ``tables``: when given
    (labelled cells), the per-cell-type tables of :mod:`~sysvi_bench.score.cell_types` are appended to
    ``tables["cell_type_mixing"]`` and ``tables["label_transfer"]`` (column ``embedding_variant`` first).
    """
    cells = np.ones(len(reference.obs), dtype=bool) if label_free else reference.labelled
    obs, pca = reference.obs[cells], reference.pca[cells]
    variants = {v: x[cells] for v, x in variants.items()}
    neighbor_fn = partial(compute_neighbors, backend=cfg["neighbor_backend"], seed=cfg["seed"])
    neighbors = {v: neighbor_fn(x, cfg["n_neighbors"]) for v, x in variants.items()}
    skip = set(cfg["skip_scib_metrics"])
    if label_free:
        skip |= {name for name, _, _ in scib_suite() if not is_label_free(name)}
    scib = scib_metrics_long(
        variants, pca, obs[C.SYSTEM], obs[C.LABEL],
        neighbor_backend=cfg["neighbor_backend"], seed=cfg["seed"],
        # scib-metrics needs k >= 90; a smaller configured k makes it compute its own graph
        neighbors={v: nn for v, nn in neighbors.items() if nn.n_neighbors >= 90},
        skip=skip,
    )
    scib_values = {(v, m): value for v, m, value in scib[["embedding_variant", "metric", "value"]].itertuples(index=False)}
    rows = []
    for v, x in variants.items():
        reasons: dict[str, str] = {}
        values = paper.paper_metrics(
            x, neighbors[v], systems=obs[C.SYSTEM], samples=obs[C.SAMPLE], labels=obs[C.LABEL],
            unintegrated=reference.unintegrated, moran=reference.moran, neighbor_fn=neighbor_fn,
            leiden_seeds=cfg["leiden_seeds"], leiden_graph=cfg["leiden_graph"], n_jobs=n_jobs,
            silhouette_label=scib_values.get((v, "silhouette_label")), reasons=reasons,
            only=is_label_free if label_free else None,
        )
        if not label_free:  # on the same k-NN graph (labelled cells)
            cell_types = cell_type_metrics(x, np.asarray(neighbors[v].indices), obs[C.SYSTEM], obs[C.LABEL],
                                           distances=np.asarray(neighbors[v].distances))
            values.update(cell_types.values)
            reasons.update(cell_types.reasons)
            if tables is not None:
                tables.setdefault("cell_type_mixing", []).append(cell_types.mixing.assign(embedding_variant=v))
                tables.setdefault("label_transfer", []).append(cell_types.transfer.assign(embedding_variant=v))
        rows += [{"embedding_variant": v, "metric": m, "value": value, "reason": reasons.get(m, "")}
                 for m, value in values.items()]
    parts = [scib[["embedding_variant", "metric", "value", "reason"]], pd.DataFrame(rows)]
    return pd.concat([p for p in parts if len(p)], ignore_index=True)


def score_embedding(
    emb: np.ndarray, reference: DatasetReference, evaluation: Mapping[str, Any], n_jobs: int = 1,
    tables: dict[str, list[pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """All metrics of one embedding (rows = the reference's evaluation cells), for every variant.

    Label-based metrics are computed on the labelled cells; when some cells are unlabelled, the label-free
    metrics (:func:`~sysvi_bench.score.catalogue.is_label_free`) are computed on every evaluation cell.
    Returns columns ``embedding_variant, metric, type, higher_is_better, value, reason`` in
    :func:`expected_metrics` order (with the per-system rows of the reference's systems); ``reason`` says why
    a value is NA. ``n_jobs``: processes for the Leiden clusterings (values do not depend on it).
    ``tables``: collects the per-cell-type tables (see :func:`_suite_values`).
    """
    cfg = resolve_evaluation(evaluation)
    variants = {
        v: np.ascontiguousarray(x, dtype=np.float32) for v, x in embedding_variants(emb, cfg["variants"]).items()
    }
    values = _suite_values(variants, reference, cfg, label_free=False, n_jobs=n_jobs, tables=tables)
    if not reference.labelled.all():
        free = _suite_values(variants, reference, cfg, label_free=True, n_jobs=n_jobs)
        values = pd.concat([values[~values["metric"].map(is_label_free)], free], ignore_index=True)
    table = expected_metrics(cfg["variants"], cfg["skip_scib_metrics"], reference.systems).merge(
        values, on=["embedding_variant", "metric"], how="left")
    table["reason"] = table["reason"].fillna("").where(table["value"].isna(), "")
    table.loc[table["value"].isna() & (table["reason"] == ""), "reason"] = "metric not defined on these data"
    return table


def finished_embedding(
    info: Mapping[str, Any], path: Path | str, reference: DatasetReference | None
) -> ad.AnnData | None:
    """A finished run's ``embedding.h5ad``, checked against its contract and the reference's cells; None for a
    failed run (nothing to score)."""
    if info["status"] != C.STATUS_OK:
        return None
    if reference is None:
        raise ValueError(f"{path}: scoring a finished run needs the dataset reference")
    emb_adata = C.read_h5ad_checked(path, C.EMBEDDING)
    if emb_adata.n_obs != reference.n_cells_total or not emb_adata.obs_names[reference.cells].equals(
            reference.obs.index):
        raise C.ContractError(f"{path}: cell names do not match the preprocessed dataset")
    return emb_adata


def embedding_metrics(run: Run, emb_adata: ad.AnnData, obsm_key: str, reference: DatasetReference,
                      evaluation: Mapping[str, Any], n_jobs: int = 1,
                      tables: dict[str, list[pd.DataFrame]] | None = None) -> pd.DataFrame:
    """The metrics table (:data:`contracts.METRICS`) of one embedding of a run: ``obsm[obsm_key]``."""
    emb = np.asarray(emb_adata.obsm[obsm_key])[reference.cells]
    return with_run_columns(score_embedding(emb, reference, evaluation, n_jobs, tables=tables), run)


def failed_run_metrics(run: Run, info: Mapping[str, Any], reference: DatasetReference | None,
                       evaluation: Mapping[str, Any]) -> pd.DataFrame:
    """The metrics table of a failed run: every expected value NA, the run's failure as the reason."""
    cfg = resolve_evaluation(evaluation)
    systems = reference.systems if reference is not None else ()
    table = expected_metrics(cfg["variants"], cfg["skip_scib_metrics"], systems).assign(
        value=np.nan, reason=f"run failed: {info['reason']}")
    return with_run_columns(table, run)


def with_run_columns(table: pd.DataFrame, run: Run) -> pd.DataFrame:
    """``table`` with the run's identity columns, as :data:`contracts.METRICS`."""
    for col in C.RUN_COLUMNS:
        table[col] = getattr(run, col)
    return table[C.METRIC_COLUMNS]


def score_run(
    run: Run,
    info: Mapping[str, Any],
    embedding: Path | str,
    reference: DatasetReference | None,
    evaluation: Mapping[str, Any],
    n_jobs: int = 1,
    tables: dict[str, list[pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """Metrics table of one run's final embedding (:data:`contracts.METRICS`); NA values, with the reason, if the
    run failed. Its checkpoints: :func:`sysvi_bench.score.by_epoch.score_by_epoch`.

    ``info`` is the run's ``run_info.json``; ``reference`` the dataset's :func:`dataset_reference` (not
    needed for a failed run); ``n_jobs``: processes for the Leiden clusterings (the job's threads);
    ``tables``: collects the per-cell-type tables (:func:`cell_type_tables` puts them together; none for a
    failed run).
    """
    emb_adata = finished_embedding(info, embedding, reference)
    if emb_adata is None:
        return failed_run_metrics(run, info, reference, evaluation)
    return embedding_metrics(run, emb_adata, C.EMBEDDING_KEY, reference, evaluation, n_jobs, tables)


def cell_type_tables(run: Run, tables: Mapping[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The run's ``cell_type_mixing`` and ``label_transfer`` tables (:data:`contracts.CELL_TYPE_MIXING`,
    :data:`contracts.LABEL_TRANSFER`) from what :func:`score_run` collected: the run columns first, one block
    per embedding variant; header only when nothing was collected (a failed run)."""
    out = {}
    for name, contract in (("cell_type_mixing", C.CELL_TYPE_MIXING), ("label_transfer", C.LABEL_TRANSFER)):
        frames = [f for f in tables.get(name, []) if len(f)]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=contract.columns)
        for col in C.RUN_COLUMNS:
            table[col] = getattr(run, col)
        out[name] = table[contract.columns + [c for c in table.columns if c not in contract.kinds]]
    return out
