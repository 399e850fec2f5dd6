"""Score one run's embedding: the orchestrator that composes the metric functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.io import read_json
from sysvi_bench.metrics.scib import scib_metric_names, scib_metrics_long

EVALUATION_DEFAULTS: dict[str, Any] = {
    "n_neighbors": 90,
    "neighbor_backend": "exact",
    "subsample": None,  # evaluate on at most this many cells (same cells for every run of a dataset)
    "seed": 0,
    "variants": ["raw", "standardized"],
}


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


def expected_metrics(variants: list[str]) -> pd.DataFrame:
    """Every (variant, metric, type) a successful run reports: used to write NA rows for failed runs."""
    return pd.DataFrame(
        [{"embedding_variant": v, "metric": m, "type": t} for v in variants for m, t in scib_metric_names()]
    )


def score_dataset(
    runs: Sequence[Run], preprocessed: ad.AnnData, run_dirs: Sequence[Path], evaluation: Mapping[str, Any]
) -> pd.DataFrame:
    """Long metrics table of all runs of one dataset, scored in one process.

    One process per dataset pays the metrics' JIT compilation once (about a minute on 2 cores)
    instead of once per run; the scores themselves take seconds per embedding.
    """
    return pd.concat(
        [score_run(run, preprocessed, Path(d), evaluation) for run, d in zip(runs, run_dirs)], ignore_index=True
    )


def score_run(run: Run, preprocessed: ad.AnnData, run_dir: Path, evaluation: Mapping[str, Any]) -> pd.DataFrame:
    """Long metrics table of one run (columns :data:`contracts.METRIC_COLUMNS`); NA values if the run failed."""
    cfg = {**EVALUATION_DEFAULTS, **evaluation}
    info = read_json(Path(run_dir) / "run_info.json")
    if info["status"] != C.STATUS_OK:
        table = expected_metrics(cfg["variants"]).assign(value=np.nan)
    else:
        emb_adata = ad.read_h5ad(Path(run_dir) / "embedding.h5ad")
        if not emb_adata.obs_names.equals(preprocessed.obs_names):
            raise ValueError(f"{run_dir}/embedding.h5ad: cell names do not match the preprocessed dataset")
        cells = evaluation_cells(preprocessed.obs_names, cfg["subsample"], cfg["seed"])
        emb = np.asarray(emb_adata.obsm[C.EMBEDDING_KEY])[cells]
        obs = preprocessed.obs.iloc[cells]
        table = scib_metrics_long(
            embedding_variants(emb, cfg["variants"]),
            np.asarray(preprocessed.obsm[C.PCA_KEY])[cells],
            obs[C.SYSTEM],
            obs[C.LABEL],
            neighbor_backend=cfg["neighbor_backend"],
            seed=cfg["seed"],
        )
    table["higher_is_better"] = True
    for col in C.RUN_COLUMNS:
        table[col] = getattr(run, {"run_id": "run_id"}.get(col, col))
    return table[C.METRIC_COLUMNS]
