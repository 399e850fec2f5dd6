"""Score runs' embeddings: the orchestrator that composes the metric functions.

Per dataset (once, :func:`dataset_reference`): the fixed evaluation subsample, the k-NN graph of the
unintegrated PCA and the Moran's I gene selection. Per run and embedding variant: one k-NN graph
(``evaluation.n_neighbors``, ``evaluation.neighbor_backend``) shared by the scib-metrics suite and the
paper's metrics (:mod:`sysvi_bench.metrics.paper`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd
from scib_metrics.nearest_neighbors import NeighborsResults

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.io import read_json
from sysvi_bench.metrics import paper
from sysvi_bench.metrics.catalogue import AGGREGATE_EXCLUDED, PAPER_METRICS, SCIB_DESCRIPTIONS
from sysvi_bench.metrics.neighbors import compute_neighbors
from sysvi_bench.metrics.scib import scib_metric_names, scib_metrics_long

EVALUATION_DEFAULTS: dict[str, Any] = {
    "n_neighbors": 90,
    "neighbor_backend": "exact",
    "subsample": None,  # evaluate on at most this many cells (same cells for every run of a dataset)
    "seed": 0,
    "variants": ["raw", "standardized"],
    "moran_min_cells": 50,  # smallest cell type x system x sample group for Moran's I (paper: 500)
    "moran_min_i": paper.MORAN_MIN_I,
    "skip_scib_metrics": [],  # scib-metrics functions to leave out, e.g. kbet_per_label (slow to compile)
}


def resolve_evaluation(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation config with defaults filled in (the schema fills them in the workflow already)."""
    return {**EVALUATION_DEFAULTS, **evaluation}


def evaluation_cells(obs_names: pd.Index, size: int | None, seed: int) -> np.ndarray:
    """Positions of the fixed evaluation subsample: depends only on the cells, the size and the seed."""
    n = len(obs_names)
    if size is None or size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size, replace=False))


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


def metric_catalogue(skip: Collection[str] = ()) -> pd.DataFrame:
    """Every reported metric: ``metric, type, higher_is_better, suite, in_aggregate, description``."""
    rows = [{"metric": m, "type": t, "higher_is_better": True, "suite": "scib",
             "in_aggregate": m not in AGGREGATE_EXCLUDED, "description": SCIB_DESCRIPTIONS.get(m, "")}
            for m, t in scib_metric_names(skip)]
    rows += [{"metric": m.name, "type": m.type, "higher_is_better": m.higher_is_better, "suite": "paper",
              "in_aggregate": True, "description": m.description} for m in PAPER_METRICS]
    return pd.DataFrame(rows)


def expected_metrics(variants: list[str], skip: Collection[str] = ()) -> pd.DataFrame:
    """Every (variant, metric, type, higher_is_better) a run reports: also the NA rows of failed runs."""
    catalogue = metric_catalogue(skip)[["metric", "type", "higher_is_better"]]
    return pd.concat([catalogue.assign(embedding_variant=v) for v in variants], ignore_index=True)[
        ["embedding_variant", "metric", "type", "higher_is_better"]
    ]


def metrics_info(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """What a metrics table was computed with: package versions, the evaluation settings, the metric list."""
    packages = ("scib-metrics", "scanpy", "scikit-learn", "igraph", "jax", "pynndescent", "umap-learn")
    return {
        "versions": {p: version(p) for p in packages},
        "evaluation": resolve_evaluation(evaluation),
        "leiden_resolutions": list(paper.LEIDEN_RESOLUTIONS),
        "metrics": metric_catalogue(resolve_evaluation(evaluation)["skip_scib_metrics"]).to_dict(orient="records"),
    }


@dataclass(frozen=True)
class DatasetReference:
    """What every run of a dataset is scored against, computed once per dataset.

    Attributes
    ----------
    cells
        Positions of the evaluation subsample in the preprocessed data.
    obs
        obs of those cells (system, cell type, sample).
    pca
        The unintegrated PCA of those cells.
    unintegrated
        k-NN graph of ``pca`` (for the neighbourhood Jaccard index).
    moran
        Moran's I groups and selected genes (:func:`sysvi_bench.metrics.paper.moran_reference`).
    """

    cells: np.ndarray
    obs: pd.DataFrame
    pca: np.ndarray
    unintegrated: NeighborsResults
    moran: list[paper.MoranGroup]


def dataset_reference(preprocessed: ad.AnnData, evaluation: Mapping[str, Any]) -> DatasetReference:
    """The evaluation subsample, the unintegrated k-NN graph and the Moran's I reference of a dataset."""
    cfg = resolve_evaluation(evaluation)
    cells = evaluation_cells(preprocessed.obs_names, cfg["subsample"], cfg["seed"])
    obs = preprocessed.obs.iloc[cells]
    pca = np.ascontiguousarray(np.asarray(preprocessed.obsm[C.PCA_KEY])[cells], dtype=np.float32)
    unintegrated = compute_neighbors(pca, cfg["n_neighbors"], cfg["neighbor_backend"], cfg["seed"])
    moran = paper.moran_reference(
        preprocessed.X[cells], obs[C.LABEL], obs[C.SYSTEM], obs[C.SAMPLE],
        min_cells=cfg["moran_min_cells"], min_morans_i=cfg["moran_min_i"], seed=cfg["seed"],
    )
    return DatasetReference(cells, obs, pca, unintegrated, moran)


def score_embedding(emb: np.ndarray, reference: DatasetReference, evaluation: Mapping[str, Any]) -> pd.DataFrame:
    """All metrics of one embedding (rows = the reference's evaluation cells), for every variant.

    Each variant's k-NN graph is computed once and shared by scib-metrics and the paper's metrics.
    Returns columns ``embedding_variant, metric, type, higher_is_better, value`` in
    :func:`expected_metrics` order.
    """
    cfg = resolve_evaluation(evaluation)
    obs = reference.obs
    variants = {
        v: np.ascontiguousarray(x, dtype=np.float32) for v, x in embedding_variants(emb, cfg["variants"]).items()
    }
    neighbor_fn = partial(compute_neighbors, backend=cfg["neighbor_backend"], seed=cfg["seed"])
    neighbors = {v: neighbor_fn(x, cfg["n_neighbors"]) for v, x in variants.items()}
    scib = scib_metrics_long(
        variants, reference.pca, obs[C.SYSTEM], obs[C.LABEL],
        neighbor_backend=cfg["neighbor_backend"], seed=cfg["seed"],
        # scib-metrics needs k >= 90; a smaller configured k makes it compute its own graph
        neighbors={v: nn for v, nn in neighbors.items() if nn.n_neighbors >= 90},
        skip=cfg["skip_scib_metrics"],
    )
    rows = [
        {"embedding_variant": v, "metric": metric, "value": value}
        for v, x in variants.items()
        for metric, value in paper.paper_metrics(
            x, neighbors[v], systems=obs[C.SYSTEM], samples=obs[C.SAMPLE], labels=obs[C.LABEL],
            unintegrated=reference.unintegrated, moran=reference.moran, neighbor_fn=neighbor_fn, seed=cfg["seed"],
        ).items()
    ]
    values = pd.concat([scib[["embedding_variant", "metric", "value"]], pd.DataFrame(rows)], ignore_index=True)
    return expected_metrics(cfg["variants"], cfg["skip_scib_metrics"]).merge(
        values, on=["embedding_variant", "metric"], how="left"
    )


def score_dataset(
    runs: Sequence[Run], preprocessed: ad.AnnData, run_dirs: Sequence[Path], evaluation: Mapping[str, Any]
) -> pd.DataFrame:
    """Long metrics table of all runs of one dataset, scored in one process.

    One process per dataset pays the metrics' JIT compilation once (about a minute on 2 cores)
    instead of once per run, and computes the dataset's reference (:func:`dataset_reference`) once.
    """
    reference = dataset_reference(preprocessed, evaluation)
    return pd.concat(
        [score_run(run, preprocessed, Path(d), evaluation, reference=reference) for run, d in zip(runs, run_dirs)],
        ignore_index=True,
    )


def score_run(
    run: Run,
    preprocessed: ad.AnnData,
    run_dir: Path,
    evaluation: Mapping[str, Any],
    reference: DatasetReference | None = None,
) -> pd.DataFrame:
    """Long metrics table of one run (columns :data:`contracts.METRIC_COLUMNS`); NA values if the run failed.

    ``reference`` is the dataset's :func:`dataset_reference`; computed here if not given.
    """
    cfg = resolve_evaluation(evaluation)
    info = read_json(Path(run_dir) / "run_info.json")
    if info["status"] != C.STATUS_OK:
        table = expected_metrics(cfg["variants"], cfg["skip_scib_metrics"]).assign(value=np.nan)
    else:
        emb_adata = ad.read_h5ad(Path(run_dir) / "embedding.h5ad")
        if not emb_adata.obs_names.equals(preprocessed.obs_names):
            raise ValueError(f"{run_dir}/embedding.h5ad: cell names do not match the preprocessed dataset")
        if reference is None:
            reference = dataset_reference(preprocessed, cfg)
        table = score_embedding(np.asarray(emb_adata.obsm[C.EMBEDDING_KEY])[reference.cells], reference, cfg)
    for col in C.RUN_COLUMNS:
        table[col] = getattr(run, col)
    return table[C.METRIC_COLUMNS]
