"""Aggregate per-run metric tables into the benchmark's tables: long metrics, summary, best settings.

Only numpy/pandas here (the aggregate rule's environment has nothing else).

* Raw values stay as they are (``results/metrics.tsv`` and the metric columns of the summary).
* :func:`scale_metrics`: min-max scaling per dataset, embedding variant and metric over the dataset's runs,
  direction-aware, so 1 is always the best run of the dataset and 0 the worst.
* :func:`summarize`: one row per run with raw and scaled metrics, the ``bio``/``batch`` means of the scaled
  metrics, ``total = bio_weight * bio + (1 - bio_weight) * batch``, the paper's ``selection_score`` and
  mean/sd over the seeds of the run's setting.
* :func:`best_settings`: the best setting per dataset and model by mean over seeds, and its median run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.io import read_json
from sysvi_bench.metrics.catalogue import (
    AGGREGATE_EXCLUDED,
    SELECTION_BATCH,
    SELECTION_BIO,
    SELECTION_BIO_WEIGHT,
)

SCORES = ("bio", "batch", "total", "selection_score")


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


def _as_bool(values: pd.Series) -> pd.Series:
    """``higher_is_better`` as booleans, whether read from a TSV as bools or as strings."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


def scale_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Add a ``scaled`` column: min-max scaling per (dataset, embedding_variant, metric) over runs.

    Direction-aware: 1 = the dataset's best run and 0 its worst, also for metrics where lower is better.
    A metric with the same value in every run scales to 0.5; NA stays NA.
    """
    out = metrics.copy()
    groups = out.groupby(["dataset", "embedding_variant", "metric"])["value"]
    lo, hi = groups.transform("min"), groups.transform("max")
    span = hi - lo
    frac = ((out["value"] - lo) / span.where(span > 0)).where(span > 0, 0.5).where(out["value"].notna())
    out["scaled"] = frac.where(_as_bool(out["higher_is_better"]), 1.0 - frac)
    return out


def _mean_of(table: pd.DataFrame, cols: Iterable[str]) -> pd.Series:
    cols = [c for c in cols if c in table.columns]
    return table[cols].mean(axis=1, skipna=True) if cols else pd.Series(np.nan, index=table.index)


def summarize(
    metrics: pd.DataFrame, runs: pd.DataFrame, *, variant: str = "raw", bio_weight: float = 0.6
) -> pd.DataFrame:
    """One row per run: run info, raw and scaled metrics (of ``variant``), aggregates and seed statistics.

    Columns added to ``runs``: one per metric (raw value), ``scaled_<metric>`` (see :func:`scale_metrics`),
    ``bio`` and ``batch`` (mean of the run's scaled metrics of that type; scib-metrics twins of paper metrics
    are left out), ``total = bio_weight * bio + (1 - bio_weight) * batch``, ``selection_score`` (the paper's:
    0.6 * mean(scaled NMI, scaled Moran's I) + 0.4 * scaled iLISI), and over the seeds of the run's setting
    ``n_seeds``, ``mean_<score>`` and ``sd_<score>`` for each score. Failed runs keep NA scores.
    """
    chosen = scale_metrics(metrics)
    chosen = chosen[chosen["embedding_variant"] == variant]
    index = ["dataset", "run_id"]
    raw = chosen.pivot_table(index=index, columns="metric", values="value", aggfunc="first", dropna=False)
    scaled = chosen.pivot_table(index=index, columns="metric", values="scaled", aggfunc="first", dropna=False)
    types = chosen.drop_duplicates("metric").set_index("metric")["type"]
    scores = pd.DataFrame(index=raw.index)
    for metric_type in ("bio", "batch"):
        scores[metric_type] = _mean_of(
            scaled, [m for m in scaled.columns if types.get(m) == metric_type and m not in AGGREGATE_EXCLUDED])
    scores["total"] = bio_weight * scores["bio"] + (1 - bio_weight) * scores["batch"]
    selection_bio = scaled.reindex(columns=list(SELECTION_BIO)).mean(axis=1, skipna=False)
    selection_batch = scaled.reindex(columns=list(SELECTION_BATCH)).mean(axis=1, skipna=False)
    scores["selection_score"] = SELECTION_BIO_WEIGHT * selection_bio + (1 - SELECTION_BIO_WEIGHT) * selection_batch
    wide = raw.join(scaled.add_prefix("scaled_")).join(scores).reset_index()
    wide.columns.name = None
    summary = runs.merge(wide, on=index, how="left")
    by_setting = summary.groupby(["dataset", "model", "setting"], dropna=False)
    summary["n_seeds"] = by_setting["total"].transform("count")
    for score in SCORES:
        summary[f"mean_{score}"] = by_setting[score].transform("mean")
        summary[f"sd_{score}"] = by_setting[score].transform("std")
    return summary


def best_settings(summary: pd.DataFrame, score: str = "total") -> pd.DataFrame:
    """The best setting per (dataset, model) by mean ``score`` over seeds, and its median run.

    Ties go to the first setting in sort order. The median run is the setting's run whose ``score`` is the
    median over its seeds (the lower middle one for an even number; ties by seed). Runs without a score
    (failed) are ignored; a model without any scored run gets no row.
    Returns columns :data:`contracts.BEST_SETTINGS_COLUMNS`.
    """
    rows = []
    scored = summary[summary[score].notna()]
    for (dataset, model), sub in scored.groupby(["dataset", "model"], sort=True):
        means = sub.groupby("setting", sort=True)[score].mean()
        best = means.index[int(np.argmax(means.to_numpy()))]
        runs = sub[sub["setting"] == best].sort_values([score, "seed"], kind="stable")
        rows.append({
            "dataset": dataset, "model": model, "setting": best, "n_seeds": len(runs),
            "mean_total": runs["total"].mean(), "sd_total": runs["total"].std(),
            "mean_selection_score": runs["selection_score"].mean(), "sd_selection_score": runs["selection_score"].std(),
            "median_run_id": runs["run_id"].iloc[(len(runs) - 1) // 2],
        })
    return pd.DataFrame(rows, columns=C.BEST_SETTINGS_COLUMNS)


COMPLETENESS_COLUMNS = ["dataset", "run_id", "embedding_variant", "metric", "problem"]


def completeness(metrics: pd.DataFrame, runs: pd.DataFrame, infos: dict[str, dict]) -> pd.DataFrame:
    """Every expected (dataset, run, variant, metric) value that is missing or NA, with the reason.

    ``infos`` maps dataset -> its ``metrics_info.json`` (the metric list and variants it was scored with).
    An empty table means the benchmark is complete.
    """
    expected = []
    for dataset, info in infos.items():
        names = [m["metric"] for m in info["metrics"]]
        for run_id in runs.loc[runs["dataset"] == dataset, "run_id"]:
            expected += [(dataset, run_id, v, m) for v in info["evaluation"]["variants"] for m in names]
    keys = ["dataset", "run_id", "embedding_variant", "metric"]
    table = pd.DataFrame(expected, columns=keys).merge(metrics[keys + ["value"]], on=keys, how="left", indicator=True)
    table = table.merge(runs[["dataset", "run_id", "status", "reason"]], on=["dataset", "run_id"], how="left")
    problem = pd.Series("", index=table.index)
    problem[table["_merge"] == "left_only"] = "missing row"
    na = (table["_merge"] == "both") & table["value"].isna()
    failed = table["status"] == "failed"
    problem[na & failed] = "NA: run failed: " + table.loc[na & failed, "reason"].astype(str)
    problem[na & ~failed] = "NA: metric could not be computed"
    table["problem"] = problem
    return table.loc[table["problem"] != "", COMPLETENESS_COLUMNS].reset_index(drop=True)
