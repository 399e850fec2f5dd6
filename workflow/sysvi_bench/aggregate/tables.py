"""A dataset's tables (``metrics``, ``summary``, ``best_settings``, ``completeness``, ``aggregated_metrics``, ...)
and the benchmark-wide ones.

:func:`dataset_tables` composes the aggregate job: the run table (manifest + run outcomes), the convergence of
each run, the summary and the best settings (:mod:`sysvi_bench.aggregate.selection`), and what is missing.
:func:`chain_status` says whether a dataset completed, from its files alone. numpy/pandas only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.convergence import convergence_table
from sysvi_bench.aggregate.selection import (
    add_setting_values, aggregated_metrics, best_settings, control_runs, ranking_by_variant, summarize)
from sysvi_bench.aggregate.training_length import add_training_columns, previous_best, scores_by_epoch, stage_summaries
from sysvi_bench.provenance import versions_text

# Parameters that define a SysVI setting in the paper: always reported (presets fix some without a grid axis)
KEY_PARAMS = ("prior", "z_distance_cycle_weight", "embed_categorical_covariates", "kl_weight", "n_prior_components")
OUTCOME = ("status", "reason", "wall_time_s", "peak_memory_mb", "device", "n_epochs")
# training-length outcome of neural runs (sysvi_bench.train.budget.training_record): NA for other models
TRAINING_OUTCOME = ("max_epochs", "stopped_early", "kl_weight_reached", "kl_warmup_complete", "best_epoch")


# summary columns recording the versions that trained and scored each run -> what they record
VERSION_COLUMNS = {"train_versions": "trained", "score_versions": "scored"}


def run_table(manifest: pd.DataFrame, infos: Sequence[Mapping],
              score_infos: Sequence[Mapping] | None = None) -> pd.DataFrame:
    """One row per run: identity (the manifest), outcome (``run_info.json``, in manifest order), the versions
    that trained and scored it (``train_versions``, ``score_versions``: ``run_info.json``, ``score_info.json``)
    and the parameters that define the setting (``param_*`` columns: every grid axis, plus the
    :data:`KEY_PARAMS` the model has)."""
    rows = []
    score_infos = score_infos if score_infos is not None else [{}] * len(manifest)
    for run, info, scored in zip(manifest.itertuples(index=False), infos, score_infos, strict=True):
        params, grid_values = json.loads(run.params), json.loads(run.grid_values)
        row = {col: getattr(run, col) for col in C.RUN_COLUMNS}
        row.update({k: info[k] for k in OUTCOME})
        row.update({k: info.get(k) for k in TRAINING_OUTCOME})
        row["train_versions"] = versions_text(info.get("versions"))
        row["score_versions"] = versions_text(scored.get("versions"))
        row.update({f"param_{k}": params[k] for k in KEY_PARAMS if k in params})
        row.update({f"param_{k}": v for k, v in grid_values.items()})
        row["setting"] = run.setting
        row["control"] = bool(run.control)
        row["covariates"] = run.covariates
        rows.append(row)
    return pd.DataFrame(rows)


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
    manifest: pd.DataFrame, infos: Sequence[Mapping], histories: Sequence[pd.DataFrame | None],
    metrics: pd.DataFrame, metrics_info: Mapping, aggregation: Mapping,
    by_epoch: pd.DataFrame, score_infos: Sequence[Mapping] | None = None,
) -> dict[str, pd.DataFrame]:
    """One dataset's ``metrics``, ``summary``, ``best_settings``, ``completeness``, ``scores_by_epoch`` and
    ``ranking_by_variant`` and ``aggregated_metrics``.

    ``infos`` and ``histories`` are the runs' ``run_info.json`` and ``history.tsv`` (None: no epochs), in
    manifest order; ``metrics_info`` the dataset's scoring settings and metric list; ``aggregation`` the
    aggregation-only evaluation settings (:func:`sysvi_bench.config.aggregation_settings`); ``score_infos``
    the runs' ``score_info.json`` (manifest order); ``by_epoch`` the runs'
    ``metrics_by_epoch.tsv`` concatenated (for the training-length columns of ``best_settings``:
    :func:`sysvi_bench.aggregate.training_length.add_training_columns`).
    """
    runs = run_table(manifest, infos, score_infos)
    convergence = convergence_table(
        {(r.dataset, r.run_id): h for r, h in zip(manifest.itertuples(index=False), histories, strict=True)},
        aggregation["convergence_tolerance"],
        stopped_early={(r.dataset, r.run_id): bool(i.get("stopped_early", False))
                       for r, i in zip(manifest.itertuples(index=False), infos, strict=True)})
    aggregated = aggregated_metrics(metrics, control_runs(runs))
    summary = summarize(metrics, runs, variant=aggregation["summary_variant"], bio_weight=aggregation["bio_weight"],
                        selection_scaling=aggregation["selection_scaling"], convergence=convergence,
                        aggregated=aggregated)
    stages = stage_summaries(by_epoch, runs, aggregation)
    best = add_setting_values(add_training_columns(
        best_settings(summary, aggregation["best_by"], aggregation["selection_scaling"]), summary,
        previous_best(stages, aggregation["best_by"], aggregation["selection_scaling"])), summary)
    # each model's best setting and rank under every embedding variant, not only the summary's
    bests = {v: best if v == aggregation["summary_variant"] else best_settings(
        summarize(metrics, runs, variant=v, bio_weight=aggregation["bio_weight"],
                  selection_scaling=aggregation["selection_scaling"], aggregated=aggregated),
        aggregation["best_by"], aggregation["selection_scaling"])
        for v in dict.fromkeys([aggregation["summary_variant"], *metrics_info["evaluation"]["variants"]])}
    return {"metrics": metrics, "summary": summary, "best_settings": best,
            "completeness": completeness(metrics, runs, metrics_info), "scores_by_epoch": scores_by_epoch(stages),
            "ranking_by_variant": ranking_by_variant(bests, summary), "aggregated_metrics": aggregated}


TABLE_CONTRACTS = {"metrics": C.METRICS, "summary": C.SUMMARY, "best_settings": C.BEST_SETTINGS,
                   "completeness": C.COMPLETENESS}  # the dataset's tables that the benchmark-wide ones concatenate
DATASET_OUTPUTS = {**TABLE_CONTRACTS, "scores_by_epoch": C.SCORES_BY_EPOCH,
                   "ranking_by_variant": C.RANKING_BY_VARIANT,
                   "aggregated_metrics": C.AGGREGATED_METRICS}  # every table of the aggregate job


def dataset_chain(dataset: str, run_ids: Sequence[str]) -> list[tuple[Path, Path]]:
    """Every file a dataset's tables are made from, in the order the workflow makes them, each with the log of
    the job that writes it; the dataset's own tables last."""
    d, runs = Path("results") / dataset, [Path("results") / dataset / "runs" / r for r in run_ids]
    logs = Path("logs") / dataset
    chain = [(Path("resources") / dataset / "raw.h5ad", logs / "prepare_dataset.log"),
             (d / "preprocessed.h5ad", logs / "preprocess.log"), (d / "runs.tsv", logs / "plan_runs.log"),
             (d / "evaluation_reference.h5ad", logs / "evaluation_reference.log")]
    chain += [(run / "run_info.json", logs / "train" / f"{run.name}.log") for run in runs]
    chain += [(run / "metrics.tsv", logs / "score" / f"{run.name}.log") for run in runs]
    chain += [(d / f"{name}.tsv", logs / "aggregate.log") for name in TABLE_CONTRACTS]
    return chain


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.is_file() else []
    return f": {lines[-1]}" if lines else ""


def chain_status(chain: Sequence[tuple[Path, Path]], n_tables: int = len(TABLE_CONTRACTS)) -> str:
    """"" when every file of ``chain`` (:func:`dataset_chain`) exists and the dataset's tables (its last
    ``n_tables`` files) are newer than every other file; otherwise why not, naming the first missing (or newer)
    file and the log of the job that writes it. The status follows from the files alone: a job that failed
    leaves its output missing (Snakemake removes it), whatever other jobs (figures, the report) did."""
    for path, log in chain:
        if not path.is_file():
            return f"{path} is missing: the job that writes it failed or did not run (log: {log}{_last_line(log)})"
    oldest_table = min(path.stat().st_mtime for path, _ in chain[-n_tables:])
    for path, log in chain[:-n_tables]:
        if path.stat().st_mtime > oldest_table:
            return f"{path} is newer than the dataset's tables: they were not remade after it changed ({log})"
    return ""


def write_benchmark_tables(
    dataset_files: Mapping[str, Mapping[str, Path | str]], outputs: Mapping[str, Path | str],
    problems: Mapping[str, str] | None = None,
) -> None:
    """The benchmark-wide tables: each dataset's own concatenated, and ``datasets`` with every dataset's
    status (:data:`contracts.DATASETS`).

    ``dataset_files``: dataset -> table name -> its file; ``outputs``: table name -> the benchmark-wide file.
    ``problems``: dataset -> why it did not complete (:func:`chain_status`; "" = complete): such a dataset is
    listed as failed with that reason and left out of the tables. Without it (the ``benchmark_tables`` rule,
    whose inputs are every dataset's tables) every dataset is complete.
    """
    problems = problems or {}
    complete, status = [], []
    for dataset, files in dataset_files.items():
        if not problems.get(dataset):
            runs = C.read_table(files["summary"], C.SUMMARY)
            status.append({"dataset": dataset, "status": C.DATASET_COMPLETE, "n_runs": len(runs),
                           "n_failed_runs": int((runs["status"] == C.STATUS_FAILED).sum()), "reason": ""})
            complete.append(dataset)
        else:
            status.append({"dataset": dataset, "status": C.DATASET_FAILED, "n_runs": 0, "n_failed_runs": 0,
                           "reason": problems[dataset]})
    for name, contract in TABLE_CONTRACTS.items():
        table = C.read_tables([dataset_files[d][name] for d in complete], contract)
        C.write_table(table, outputs[name], contract)
    C.write_table(pd.DataFrame(status, columns=C.DATASETS.columns), outputs["datasets"], C.DATASETS)
    failed = [s for s in status if s["status"] == C.DATASET_FAILED]
    for s in failed:
        print(f"dataset {s['dataset']} FAILED: {s['reason']}")
