"""Aggregate per-run metric tables into the benchmark's tables: long metrics, one-row-per-run summary."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.io import read_json


def collect_metrics(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate per-run long metric tables."""
    frames = [pd.read_csv(p, sep="\t") for p in paths]
    return pd.concat(frames, ignore_index=True)[C.METRIC_COLUMNS]


# Parameters that define a SysVI setting in the paper: always reported (presets fix some without a grid axis)
KEY_PARAMS = ("prior", "z_distance_cycle_weight", "embed_categorical_covariates", "kl_weight", "n_prior_components")


def run_table(run_dirs: Iterable[Path | str]) -> pd.DataFrame:
    """One row per run: status, timing and the parameters that define the setting (``param_*`` columns:
    every grid axis, plus the :data:`KEY_PARAMS` the model has)."""
    rows = []
    for run_dir in run_dirs:
        info = read_json(Path(run_dir) / "run_info.json")
        params = read_json(Path(run_dir) / "params.json")
        row = {k: info.get(k) for k in ("dataset", "run_id", "model", "kind", "seed", "status", "reason",
                                          "wall_time_s", "peak_memory_mb", "device", "n_epochs")}
        row.update({f"param_{k}": params["params"][k] for k in KEY_PARAMS if k in params["params"]})
        row.update({f"param_{k}": v for k, v in params["grid_values"].items()})
        row["setting"] = row["run_id"].rsplit("__seed=", 1)[0]
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(metrics: pd.DataFrame, runs: pd.DataFrame, *, variant: str = "raw", bio_weight: float = 0.6) -> pd.DataFrame:
    """One row per run: run info, one column per metric (of ``variant``), and aggregate scores.

    Aggregates follow scib-metrics: ``bio`` and ``batch`` are the means of their metrics' raw values
    and ``total = bio_weight * bio + (1 - bio_weight) * batch``. Failed runs keep NA scores.
    """
    chosen = metrics[metrics["embedding_variant"] == variant]
    wide = chosen.pivot_table(index=["dataset", "run_id"], columns="metric", values="value", aggfunc="first", dropna=False)
    types = chosen.drop_duplicates("metric").set_index("metric")["type"]
    scores = pd.DataFrame(index=wide.index)
    for metric_type in ("bio", "batch"):
        cols = [m for m in wide.columns if types.get(m) == metric_type]
        scores[metric_type] = wide[cols].mean(axis=1, skipna=False) if cols else np.nan
    scores["total"] = bio_weight * scores["bio"] + (1 - bio_weight) * scores["batch"]
    wide = wide.join(scores).reset_index()
    wide.columns.name = None
    return runs.merge(wide, on=["dataset", "run_id"], how="left")
