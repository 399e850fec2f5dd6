"""Score runs' embeddings: the orchestrator that composes the metric functions.

Per dataset (once, :func:`dataset_reference`): the fixed evaluation subsample, the k-NN graph of the
unintegrated PCA and the Moran's I gene selection. Per run and embedding variant: one k-NN graph
(``evaluation.n_neighbors``, ``evaluation.neighbor_backend``) shared by the scib-metrics suite and the
paper's metrics (:mod:`sysvi_bench.metrics.paper`).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
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
from sysvi_bench.metrics.catalogue import PAPER_METRICS, SCIB_DESCRIPTIONS, in_aggregate, per_system_metrics
from sysvi_bench.metrics.neighbors import compute_neighbors
from sysvi_bench.metrics.scib import scib_metric_names, scib_metrics_long

EVALUATION_DEFAULTS: dict[str, Any] = {
    "n_neighbors": 90,
    "neighbor_backend": "exact",
    "subsample": None,  # evaluate on at most this many cells (same cells for every run of a dataset)
    "seed": 0,
    "variants": ["raw", "standardized"],
    "moran_min_cells": 50,  # smallest cell type x system x sample group for Moran's I (paper: 500)
    "moran_pool_small": True,  # pool a cell type's small samples of a system into one group (paper: False)
    "moran_min_i": paper.MORAN_MIN_I,
    "leiden_seeds": list(paper.LEIDEN_SEEDS),  # NMI/ARI: mean over these Leiden seeds (paper: [0])
    "leiden_graph": "single",  # single | both_directions (paper: both_directions, as scib-metrics 0.3.3)
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


def metric_catalogue(skip: Collection[str] = (), systems: Collection[str] = ()) -> pd.DataFrame:
    """Every reported metric: ``metric, type, higher_is_better, suite, in_aggregate, description``.

    ``systems``: the dataset's systems, for the per-system rows
    (:func:`sysvi_bench.metrics.catalogue.per_system_metrics`); without them those rows are not listed.
    """
    rows = [{"metric": m, "type": t, "higher_is_better": True, "suite": "scib",
             "in_aggregate": in_aggregate(m), "description": SCIB_DESCRIPTIONS.get(m, "")}
            for m, t in scib_metric_names(skip)]
    rows += [{"metric": m.name, "type": m.type, "higher_is_better": m.higher_is_better, "suite": "paper",
              "in_aggregate": in_aggregate(m.name), "description": m.description}
             for m in (*PAPER_METRICS, *per_system_metrics(systems))]
    return pd.DataFrame(rows)


def expected_metrics(variants: list[str], skip: Collection[str] = (), systems: Collection[str] = ()) -> pd.DataFrame:
    """Every (variant, metric, type, higher_is_better) a run reports: also the NA rows of failed runs.

    ``systems``: the dataset's systems (per-system metric rows), see :func:`metric_catalogue`.
    """
    catalogue = metric_catalogue(skip, systems)[["metric", "type", "higher_is_better"]]
    return pd.concat([catalogue.assign(embedding_variant=v) for v in variants], ignore_index=True)[
        ["embedding_variant", "metric", "type", "higher_is_better"]
    ]


def metrics_info(evaluation: Mapping[str, Any], systems: Collection[str] = ()) -> dict[str, Any]:
    """What a metrics table was computed with: package versions, the evaluation settings, the metric list
    (with the per-system rows of ``systems``, the dataset's systems)."""
    packages = ("scib-metrics", "scanpy", "scikit-learn", "igraph", "jax", "pynndescent", "umap-learn")
    return {
        "versions": {p: version(p) for p in packages},
        "evaluation": resolve_evaluation(evaluation),
        "leiden_resolutions": list(paper.LEIDEN_RESOLUTIONS),
        "metrics": metric_catalogue(resolve_evaluation(evaluation)["skip_scib_metrics"], systems).to_dict(
            orient="records"),
    }


@dataclass(frozen=True)
class DatasetReference:
    """What every run of a dataset is scored against, computed once per dataset.

    Attributes
    ----------
    obs_names
        Names of all cells of the preprocessed data (a run's embedding must have exactly these).
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

    obs_names: pd.Index
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
        min_cells=cfg["moran_min_cells"], pool_small=cfg["moran_pool_small"], min_morans_i=cfg["moran_min_i"],
        seed=cfg["seed"],
    )
    return DatasetReference(preprocessed.obs_names.copy(), cells, obs, pca, unintegrated, moran)


def score_embedding(emb: np.ndarray, reference: DatasetReference, evaluation: Mapping[str, Any]) -> pd.DataFrame:
    """All metrics of one embedding (rows = the reference's evaluation cells), for every variant.

    Each variant's k-NN graph is computed once and shared by scib-metrics and the paper's metrics.
    Returns columns ``embedding_variant, metric, type, higher_is_better, value`` in
    :func:`expected_metrics` order (with the per-system rows of the reference's systems).
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
    scib_values = {(v, m): value for v, m, value in scib[["embedding_variant", "metric", "value"]].itertuples(index=False)}
    rows = [
        {"embedding_variant": v, "metric": metric, "value": value}
        for v, x in variants.items()
        for metric, value in paper.paper_metrics(
            x, neighbors[v], systems=obs[C.SYSTEM], samples=obs[C.SAMPLE], labels=obs[C.LABEL],
            unintegrated=reference.unintegrated, moran=reference.moran, neighbor_fn=neighbor_fn,
            leiden_seeds=cfg["leiden_seeds"], leiden_graph=cfg["leiden_graph"],
            silhouette_label=scib_values.get((v, "silhouette_label")),
        ).items()
    ]
    parts = [scib[["embedding_variant", "metric", "value"]], pd.DataFrame(rows)]
    values = pd.concat([p for p in parts if len(p)], ignore_index=True)
    systems = obs[C.SYSTEM].astype(str).unique()
    return expected_metrics(cfg["variants"], cfg["skip_scib_metrics"], systems).merge(
        values, on=["embedding_variant", "metric"], how="left"
    )


def enable_compile_cache(cache_dir: str | Path | None) -> None:
    """Keep JAX's compiled metric kernels on disk, shared by every metrics job and worker.

    scib-metrics compiles a few hundred small XLA programs per process (one per array shape: about 15 s
    on 2 cores at demo scale); each is below JAX's default one-second threshold for persistent caching,
    so the threshold is lifted. Compiled code is the same either way: values do not change.
    """
    if cache_dir is None:
        return
    import jax

    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(Path(cache_dir).resolve()))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


# state of a scoring worker process (set once by _init_worker)
_WORKER: dict[str, Any] = {}


def _init_worker(reference: DatasetReference, evaluation: Mapping[str, Any], cache_dir: str | Path | None) -> None:
    enable_compile_cache(cache_dir)
    _WORKER.update(reference=reference, evaluation=evaluation)


def _score_in_worker(job: tuple[Run, Path]) -> pd.DataFrame:
    run, run_dir = job
    return score_run(run, run_dir, _WORKER["evaluation"], _WORKER["reference"])


def score_dataset(
    runs: Sequence[Run],
    preprocessed: ad.AnnData,
    run_dirs: Sequence[Path],
    evaluation: Mapping[str, Any],
    *,
    workers: int = 1,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Long metrics table of all runs of one dataset (in ``runs`` order).

    The dataset's reference (:func:`dataset_reference`) is computed once. Runs are scored in this
    process, or with ``workers > 1`` in that many worker processes (each run's scores depend only on
    its embedding and the reference, so the table is the same). Few processes rather than one per run:
    each pays the metrics' JIT compilation (see :func:`enable_compile_cache`). Workers are spawned, so
    a calling script must keep its work under ``if __name__ == "__main__":``.
    """
    enable_compile_cache(cache_dir)
    reference = dataset_reference(preprocessed, evaluation)
    jobs = [(run, Path(d)) for run, d in zip(runs, run_dirs)]
    workers = min(workers, len(jobs))
    if workers <= 1:
        tables = [score_run(run, d, evaluation, reference) for run, d in jobs]
    else:
        # spawn, not fork: JAX and torch are not fork-safe once their thread pools exist
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(reference, dict(evaluation), cache_dir),
        ) as pool:
            tables = list(pool.map(_score_in_worker, jobs))
    return pd.concat(tables, ignore_index=True)


def score_run(
    run: Run,
    run_dir: Path,
    evaluation: Mapping[str, Any],
    reference: DatasetReference | None,
) -> pd.DataFrame:
    """Long metrics table of one run (columns :data:`contracts.METRIC_COLUMNS`); NA values if the run failed.

    ``reference`` is the dataset's :func:`dataset_reference` (not needed for a failed run).
    """
    cfg = resolve_evaluation(evaluation)
    info = read_json(Path(run_dir) / "run_info.json")
    if info["status"] != C.STATUS_OK:
        table = expected_metrics(cfg["variants"], cfg["skip_scib_metrics"]).assign(value=np.nan)
    else:
        if reference is None:
            raise ValueError(f"{run_dir}: scoring a finished run needs the dataset reference")
        emb_adata = ad.read_h5ad(Path(run_dir) / "embedding.h5ad")
        if not emb_adata.obs_names.equals(reference.obs_names):
            raise ValueError(f"{run_dir}/embedding.h5ad: cell names do not match the preprocessed dataset")
        table = score_embedding(np.asarray(emb_adata.obsm[C.EMBEDDING_KEY])[reference.cells], reference, cfg)
    for col in C.RUN_COLUMNS:
        table[col] = getattr(run, col)
    return table[C.METRIC_COLUMNS]
