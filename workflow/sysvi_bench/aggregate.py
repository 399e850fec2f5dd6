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

import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.metrics.catalogue import (
    AGGREGATE_EXCLUDED,
    SELECTION_BATCH,
    SELECTION_BIO,
    SELECTION_BIO_WEIGHT,
)

SCORES = ("bio", "batch", "total", "selection_score")


# Parameters that define a SysVI setting in the paper: always reported (presets fix some without a grid axis)
KEY_PARAMS = ("prior", "z_distance_cycle_weight", "embed_categorical_covariates", "kl_weight", "n_prior_components")
OUTCOME = ("status", "reason", "wall_time_s", "peak_memory_mb", "device", "n_epochs")


def run_table(manifest: pd.DataFrame, infos: Sequence[Mapping]) -> pd.DataFrame:
    """One row per run: identity (the manifest), outcome (``run_info.json``, in manifest order) and the
    parameters that define the setting (``param_*`` columns: every grid axis, plus the :data:`KEY_PARAMS` the
    model has)."""
    rows = []
    for run, info in zip(manifest.itertuples(index=False), infos, strict=True):
        params, grid_values = json.loads(run.params), json.loads(run.grid_values)
        row = {col: getattr(run, col) for col in C.RUN_COLUMNS}
        row.update({k: info[k] for k in OUTCOME})
        row.update({f"param_{k}": params[k] for k in KEY_PARAMS if k in params})
        row.update({f"param_{k}": v for k, v in grid_values.items()})
        row["setting"] = run.setting
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


def completeness(metrics: pd.DataFrame, runs: pd.DataFrame, metrics_info: Mapping) -> pd.DataFrame:
    """Every expected (dataset, run, variant, metric) value of one dataset that is missing or NA, with the
    reason (:data:`contracts.COMPLETENESS`).

    ``metrics_info`` is the dataset's ``metrics_info.json`` (the metric list and variants it was scored with).
    An empty table means the dataset is complete.
    """
    names = [m["metric"] for m in metrics_info["metrics"]]
    expected = [(d, r, v, m) for d, r in runs[["dataset", "run_id"]].itertuples(index=False)
                for v in metrics_info["evaluation"]["variants"] for m in names]
    keys = ["dataset", "run_id", "embedding_variant", "metric"]
    table = pd.DataFrame(expected, columns=keys).merge(
        metrics[keys + ["value", "reason"]], on=keys, how="left", indicator=True)
    problem = pd.Series("", index=table.index)
    problem[table["_merge"] == "left_only"] = "missing row"
    na = (table["_merge"] == "both") & table["value"].isna()
    problem[na] = "NA: " + table.loc[na, "reason"].astype(str)
    table["problem"] = problem
    return table.loc[table["problem"] != "", C.COMPLETENESS.columns].reset_index(drop=True)


def dataset_tables(
    manifest: pd.DataFrame, infos: Sequence[Mapping], metrics: pd.DataFrame, metrics_info: Mapping
) -> dict[str, pd.DataFrame]:
    """One dataset's ``metrics``, ``summary``, ``best_settings`` and ``completeness`` tables."""
    evaluation = metrics_info["evaluation"]
    runs = run_table(manifest, infos)
    summary = summarize(metrics, runs, variant=evaluation["summary_variant"], bio_weight=evaluation["bio_weight"])
    return {"metrics": metrics, "summary": summary, "best_settings": best_settings(summary),
            "completeness": completeness(metrics, runs, metrics_info)}


TABLE_CONTRACTS = {"metrics": C.METRICS, "summary": C.SUMMARY, "best_settings": C.BEST_SETTINGS,
                   "completeness": C.COMPLETENESS}


def _failed_logs(dataset: str, logs: Path) -> list[Path]:
    return [p for p in Path(logs, dataset).rglob("*.log") if "Traceback" in p.read_text(errors="replace")]


def failure_reason(dataset: str, logs: Path) -> str:
    """Why a dataset did not complete: the last line of its newest log that holds a traceback."""
    failed = _failed_logs(dataset, logs)
    if not failed:
        return "did not complete (no job of the dataset left a traceback: see Snakemake's own log)"
    newest = max(failed, key=lambda p: p.stat().st_mtime)
    lines = [line for line in newest.read_text(errors="replace").splitlines() if line.strip()]
    return f"{lines[-1].strip()} (log: {newest})"


def write_benchmark_tables(
    dataset_files: Mapping[str, Mapping[str, Path | str]], outputs: Mapping[str, Path | str],
    logs: Path | None = None,
) -> None:
    """The benchmark-wide tables: each dataset's own concatenated, and ``datasets`` with every dataset's
    status (:data:`contracts.DATASETS`).

    ``dataset_files``: dataset -> table name -> its file; ``outputs``: table name -> the benchmark-wide file.
    Without ``logs`` every dataset must have its tables (the ``benchmark_tables`` rule). With ``logs`` (after
    a failure, with ``--keep-going``) a dataset whose summary is missing, or older than one of its failed job
    logs, is listed as failed with :func:`failure_reason`, and the tables hold the others.
    """
    complete, status = [], []
    for dataset, files in dataset_files.items():
        summary = Path(files["summary"])
        if logs is None or (summary.is_file() and all(
                p.stat().st_mtime < summary.stat().st_mtime for p in _failed_logs(dataset, logs))):
            runs = C.read_table(summary, C.SUMMARY)
            status.append({"dataset": dataset, "status": C.DATASET_COMPLETE, "n_runs": len(runs),
                           "n_failed_runs": int((runs["status"] == C.STATUS_FAILED).sum()), "reason": ""})
            complete.append(dataset)
        else:
            status.append({"dataset": dataset, "status": C.DATASET_FAILED, "n_runs": 0, "n_failed_runs": 0,
                           "reason": failure_reason(dataset, logs)})
    for name, contract in TABLE_CONTRACTS.items():
        table = C.read_tables([dataset_files[d][name] for d in complete], contract)
        C.write_table(table, outputs[name], contract)
    C.write_table(pd.DataFrame(status, columns=C.DATASETS.columns), outputs["datasets"], C.DATASETS)
    failed = [s for s in status if s["status"] == C.DATASET_FAILED]
    for s in failed:
        print(f"dataset {s['dataset']} FAILED: {s['reason']}")
