"""Aggregate per-run metric tables into the benchmark's tables: long metrics, summary, best settings.

Only numpy/pandas/scipy here (the report environment of the aggregate rule).

* Raw values stay as they are (``results/metrics.tsv`` and the metric columns of the summary).
* :func:`scale_metrics`: min-max scaling per dataset, embedding variant and metric over the dataset's runs
  (or within each model's runs), direction-aware, so 1 is always the best run and 0 the worst.
* :func:`summarize`: one row per run with raw and scaled metrics, the ``bio``/``batch`` means of the scaled
  metrics, ``total = bio_weight * bio + (1 - bio_weight) * batch``, the paper's ``selection_score``,
  mean/sd over the seeds of the run's setting, and the run's ``convergence``/``converged``.
* :func:`best_settings`: the best setting per dataset and model by mean over seeds, its median run, and
  whether it is ahead of the runner-up setting, and of the next model, by more than seed-to-seed noise
  (:func:`compare_seeds`); :func:`recommendation` says it in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.convergence import CONVERGENCE_COLUMNS, convergence_table
from sysvi_bench.provenance import versions_text
from sysvi_bench.score.catalogue import SELECTION_BATCH, SELECTION_BIO, SELECTION_BIO_WEIGHT, in_aggregate
from sysvi_bench.aggregate.training_length import add_training_columns, previous_best, safety_warning

SCORES = ("bio", "batch", "total", "selection_score")
SCALINGS = ("across_runs", "within_model")
# a best setting is separable from the next when the difference of means exceeds this many sds of it
SEPARATION_SDS = 2.0
P_PAIRED_MIN_SEEDS = 3  # the paired t-test needs at least this many seeds in common


# Parameters that define a SysVI setting in the paper: always reported (presets fix some without a grid axis)
KEY_PARAMS = ("prior", "z_distance_cycle_weight", "embed_categorical_covariates", "kl_weight", "n_prior_components")
OUTCOME = ("status", "reason", "wall_time_s", "peak_memory_mb", "device", "n_epochs")
# training-length outcome of neural runs (sysvi_bench.train.budget.training_record): NA for other models
TRAINING_OUTCOME = ("max_epochs", "stopped_early", "kl_weight_reached", "kl_warmup_complete")


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
        rows.append(row)
    return pd.DataFrame(rows)


def scale_metrics(metrics: pd.DataFrame, scaling: str = "across_runs") -> pd.DataFrame:
    """Add a ``scaled`` column: min-max scaling per (dataset, embedding_variant, metric) over runs.

    ``scaling="across_runs"``: over all runs of the dataset; ``"within_model"``: over each model's runs of the
    dataset alone (the paper's ``eval_summary.py``, before it picks each model's best setting).
    Direction-aware: 1 = the best run and 0 the worst, also for metrics where lower is better.
    A metric with the same value in every run scales to 0.5; NA stays NA.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"evaluation.selection_scaling: unknown {scaling!r}; valid: {list(SCALINGS)}")
    keys = ["dataset", "embedding_variant", "metric"] + (["model"] if scaling == "within_model" else [])
    out = metrics.copy()
    groups = out.groupby(keys)["value"]
    lo, hi = groups.transform("min"), groups.transform("max")
    span = hi - lo
    frac = ((out["value"] - lo) / span.where(span > 0)).where(span > 0, 0.5).where(out["value"].notna())
    out["scaled"] = frac.where(out["higher_is_better"].astype(bool), 1.0 - frac)
    return out


def _mean_of(table: pd.DataFrame, cols: Iterable[str]) -> pd.Series:
    cols = [c for c in cols if c in table.columns]
    return table[cols].mean(axis=1, skipna=True) if cols else pd.Series(np.nan, index=table.index)


def _wide(metrics: pd.DataFrame, variant: str, scaling: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Raw and scaled values of ``variant`` as runs x metrics tables, and each metric's type."""
    chosen = scale_metrics(metrics, scaling)
    chosen = chosen[chosen["embedding_variant"] == variant]
    index = ["dataset", "run_id"]
    raw = chosen.pivot_table(index=index, columns="metric", values="value", aggfunc="first", dropna=False)
    scaled = chosen.pivot_table(index=index, columns="metric", values="scaled", aggfunc="first", dropna=False)
    return raw, scaled, chosen.drop_duplicates("metric").set_index("metric")["type"]


def selection_score(scaled: pd.DataFrame) -> pd.Series:
    """The paper's selection score of each run: 0.6 * mean(scaled NMI, Moran's I) + 0.4 * scaled iLISI."""
    bio = scaled.reindex(columns=list(SELECTION_BIO)).mean(axis=1, skipna=False)
    batch = scaled.reindex(columns=list(SELECTION_BATCH)).mean(axis=1, skipna=False)
    return SELECTION_BIO_WEIGHT * bio + (1 - SELECTION_BIO_WEIGHT) * batch


def summarize(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    variant: str = "raw",
    bio_weight: float = 0.6,
    selection_scaling: str = "across_runs",
    convergence: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per run: run info, raw and scaled metrics (of ``variant``), aggregates and seed statistics.

    Columns added to ``runs``: one per metric (raw value), ``scaled_<metric>`` (see :func:`scale_metrics`,
    across the dataset's runs), ``bio`` and ``batch`` (mean of the run's scaled metrics of that type, for the
    metrics that enter aggregates: :func:`sysvi_bench.score.catalogue.in_aggregate`),
    ``total = bio_weight * bio + (1 - bio_weight) * batch``, ``selection_score`` (the paper's: 0.6 *
    mean(scaled NMI, scaled Moran's I) + 0.4 * scaled iLISI, scaled as ``selection_scaling`` says:
    ``across_runs`` or ``within_model``), over the seeds of the run's setting ``n_seeds``, ``mean_<score>`` and
    ``sd_<score>`` for each score, and ``convergence``/``converged`` from ``convergence``
    (:func:`sysvi_bench.aggregate.convergence.convergence_table`; NA where not given or not applicable).
    Failed runs keep NA scores.
    """
    index = ["dataset", "run_id"]
    raw, scaled, types = _wide(metrics, variant, "across_runs")
    scores = pd.DataFrame(index=raw.index)
    for metric_type in ("bio", "batch"):
        scores[metric_type] = _mean_of(
            scaled, [m for m in scaled.columns if types.get(m) == metric_type and in_aggregate(m)])
    scores["total"] = bio_weight * scores["bio"] + (1 - bio_weight) * scores["batch"]
    selection_scaled = scaled if selection_scaling == "across_runs" else _wide(metrics, variant, selection_scaling)[1]
    scores["selection_score"] = selection_score(selection_scaled.reindex(scaled.index))
    wide = raw.join(scaled.add_prefix("scaled_")).join(scores).reset_index()
    wide.columns.name = None
    summary = runs.merge(wide, on=index, how="left")
    by_setting = summary.groupby(["dataset", "model", "setting"], dropna=False)
    summary["n_seeds"] = by_setting["total"].transform("count")
    for score in SCORES:
        summary[f"mean_{score}"] = by_setting[score].transform("mean")
        summary[f"sd_{score}"] = by_setting[score].transform("std")
    if convergence is None:
        convergence = pd.DataFrame(columns=CONVERGENCE_COLUMNS)
    summary = summary.merge(convergence[CONVERGENCE_COLUMNS], on=index, how="left")
    summary["convergence"] = summary["convergence"].astype(float)
    summary["converged"] = summary["converged"].astype("boolean")
    return summary


def compare_seeds(best: pd.Series, other: pd.Series) -> dict[str, float | bool | None]:
    """Is ``best`` ahead of ``other`` by more than seed-to-seed noise? Both: per-seed scores indexed by seed.

    Returns
    -------
    ``diff``: difference of the means; ``sd_diff``: its sd, ``sqrt(sd_best² / n_best + sd_other² / n_other)``
    (NaN unless both have >= 2 seeds); ``p_paired``: two-sided p-value of the paired t-test over the seeds in
    common (``scipy.stats.ttest_rel``; NaN for fewer than :data:`P_PAIRED_MIN_SEEDS` or no spread of the
    differences); ``separable``: ``diff > SEPARATION_SDS * sd_diff`` (None when ``sd_diff`` is NaN).
    """
    from scipy.stats import ttest_rel

    best, other = best.dropna(), other.dropna()
    diff = float(best.mean() - other.mean())
    sd_diff = float("nan")
    if min(len(best), len(other)) > 1:
        sd_diff = float(np.sqrt(best.var() / len(best) + other.var() / len(other)))
    common = best.index.intersection(other.index)
    p = float("nan")
    if len(common) >= P_PAIRED_MIN_SEEDS and np.ptp((best[common] - other[common]).to_numpy()) > 0:
        p = float(ttest_rel(best[common], other[common]).pvalue)
    separable = None if np.isnan(sd_diff) else bool(diff > SEPARATION_SDS * sd_diff)
    return {"diff": diff, "sd_diff": sd_diff, "p_paired": p, "separable": separable}


MARGIN_KEYS = ("diff", "sd_diff", "p_paired", "separable")


def _per_seed(sub: pd.DataFrame, setting: str, score: str) -> pd.Series:
    """``score`` of each seed of a setting (index: seed)."""
    return sub[sub["setting"] == setting].groupby("seed", dropna=False)[score].mean()


def _best_of_model(sub: pd.DataFrame, score: str) -> dict:
    """One model's best setting on a dataset, its median run and its margin over the runner-up setting."""
    means = sub.groupby("setting", sort=True)[score].mean()
    order = means.index[np.argsort(-means.to_numpy(), kind="stable")]
    best = order[0]
    runs = sub[sub["setting"] == best].sort_values([score, "seed"], kind="stable")
    runner_up = order[1] if len(order) > 1 else None
    margin = compare_seeds(_per_seed(sub, best, score), _per_seed(sub, runner_up, score)) if runner_up else {}
    return {
        "kind": runs["kind"].iloc[0], "control": bool(runs["control"].iloc[0]),
        "setting": best, "best_by": score, "n_seeds": len(runs),
        "mean_total": runs["total"].mean(), "sd_total": runs["total"].std(),
        "mean_selection_score": runs["selection_score"].mean(), "sd_selection_score": runs["selection_score"].std(),
        "median_run_id": runs["run_id"].iloc[(len(runs) - 1) // 2],
        "runner_up_setting": runner_up,
        **{f"{k}_runner_up": margin.get(k) for k in MARGIN_KEYS},
    }


def _model_ranking(best: pd.DataFrame, totals: list[pd.Series]) -> pd.DataFrame:
    """``model_rank``, ``next_model`` and the margin over it (``*_next_model``) of each row of ``best``.

    Per dataset, the models that are not controls, ranked by ``mean_total``; ``totals``: per-seed ``total`` of
    each row's best setting.
    """
    rows = {}
    for _, sub in best.groupby("dataset", sort=False):
        ranked = sub[~sub["control"].astype(bool)].sort_values("mean_total", ascending=False, kind="stable")
        for rank, (i, j) in enumerate(zip(ranked.index, [*ranked.index[1:], None]), start=1):
            margin = compare_seeds(totals[i], totals[j]) if j is not None else {}
            rows[i] = {"model_rank": rank, "next_model": best.at[j, "model"] if j is not None else None,
                       **{f"{k}_next_model": margin.get(k) for k in MARGIN_KEYS}}
    columns = ["model_rank", "next_model", *(f"{k}_next_model" for k in MARGIN_KEYS)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).reindex(best.index)


def best_settings(summary: pd.DataFrame, score: str = "total") -> pd.DataFrame:
    """The best setting per (dataset, model) by mean ``score`` over seeds, its median run, and its margins.

    Ties go to the first setting in sort order. The median run is the setting's run whose ``score`` is the
    median over its seeds (the lower middle one for an even number; ties by seed). Runs without a score
    (failed) are ignored; a model without any scored run gets no row.

    Margins (:func:`compare_seeds`, per-seed values paired by seed): ``*_runner_up``: the best setting vs the
    model's second-best setting, on ``score``; ``*_next_model``: the model vs the next model in the dataset's
    ranking by the ``mean_total`` of each model's best setting (``model_rank`` 1 = the winner; controls, column
    ``control`` from the run manifest, are not ranked), on ``total`` (scaled across all runs, so comparable
    across models).
    Returns columns :data:`contracts.BEST_SETTINGS_COLUMNS`.
    """
    scored = summary[summary[score].notna()]
    groups = list(scored.groupby(["dataset", "model"], sort=True))
    if not groups:
        return pd.DataFrame(columns=C.BEST_SETTINGS_COLUMNS)
    table = pd.DataFrame([{"dataset": d, "model": m, **_best_of_model(sub, score)} for (d, m), sub in groups])
    totals = [_per_seed(sub, setting, "total") for (_, sub), setting in zip(groups, table["setting"])]
    table = table.join(_model_ranking(table, totals))
    table["model_rank"] = table["model_rank"].astype("Int64")
    for where in ("runner_up", "next_model"):
        table[f"separable_{where}"] = table[f"separable_{where}"].astype("boolean")
        for k in ("diff", "sd_diff", "p_paired"):
            table[f"{k}_{where}"] = table[f"{k}_{where}"].astype(float)
    return table[C.BEST_SETTINGS_COLUMNS]


def _margin(verdicts: tuple[str, str, str], other: str, separable, diff: float, sd: float, p: float) -> str:
    """``"<verdict> <other> by diff ± sd (paired t-test: p = ...)"``; verdicts: separable, not, unknown (NA)."""
    verdict = {True: verdicts[0], False: verdicts[1], None: verdicts[2]}[C.flag(separable)]
    text = f"{verdict} {other} by {diff:.3f}"
    if not np.isnan(sd):
        text += f" ± {sd:.3f}"
    if not np.isnan(p):
        text += f" (paired t-test over seeds: p = {p:.2g})"
    return text


def recommendation(best: pd.DataFrame, dataset: str) -> str:
    """The benchmark's recommendation for ``dataset`` in one sentence, with the numbers behind it.

    ``best``: :func:`best_settings` (in memory or read back from ``best_settings.tsv``). Says which model and
    setting score best (mean ± sd of ``total`` over seeds), whether the model is ahead of the next one beyond
    seed-to-seed noise (difference of means ± its sd, :data:`SEPARATION_SDS` sds needed; paired t-test p with
    >= 3 seeds), and the same for the setting against the model's runner-up setting.
    """
    sub = best[(best["dataset"].astype(str) == str(dataset)) & best["model_rank"].notna()]
    if sub.empty:
        return f"{dataset}: no scored run to recommend."
    top = sub.loc[pd.to_numeric(sub["model_rank"]).idxmin()]
    n = int(top["n_seeds"])
    warning = safety_warning(top)
    opening = (f"On {dataset}, no safe recommendation yet: {warning}; provisionally, " if warning
               else f"On {dataset}, ")
    sentence = (f"{opening}{top['model']} ({top['setting']}) scores best, total {top['mean_total']:.3f}"
                + (f" ± {top['sd_total']:.3f}" if pd.notna(top["sd_total"]) else "")
                + f" over {n} seed{'s' if n != 1 else ''}")
    # (read back through contracts.read_table an absent value is "", in memory NA)
    if isinstance(top["next_model"], str) and top["next_model"]:
        sentence += "; it is " + _margin(
            ("clearly ahead of", "not separable from", "ahead (noise unknown: one seed) of"), top["next_model"],
            top["separable_next_model"], float(top["diff_next_model"]), float(top["sd_diff_next_model"]),
            float(top["p_paired_next_model"]))
    if isinstance(top["runner_up_setting"], str) and top["runner_up_setting"]:
        sentence += f"; on {top['best_by']}, this setting " + _margin(
            ("clearly beats", "is not separable from", "beats (noise unknown: one seed)"),
            f"the runner-up {top['runner_up_setting']}", top["separable_runner_up"], float(top["diff_runner_up"]),
            float(top["sd_diff_runner_up"]), float(top["p_paired_runner_up"]))
    return sentence + "."


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
    score_infos: Sequence[Mapping] | None = None, by_epoch: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """One dataset's ``metrics``, ``summary``, ``best_settings`` and ``completeness`` tables.

    ``infos`` and ``histories`` are the runs' ``run_info.json`` and ``history.tsv`` (None: no epochs), in
    manifest order; ``metrics_info`` the dataset's scoring settings and metric list; ``aggregation`` the
    aggregation-only evaluation settings (:func:`sysvi_bench.config.aggregation_settings`); ``score_infos``
    the runs' ``score_info.json`` (manifest order); ``by_epoch`` the runs'
    ``metrics_by_epoch.tsv`` concatenated (for the training-length columns of ``best_settings``:
    :func:`sysvi_bench.aggregate.training_length.add_training_columns`).
    """
    evaluation = aggregation
    runs = run_table(manifest, infos, score_infos)
    convergence = convergence_table(
        {(r.dataset, r.run_id): h for r, h in zip(manifest.itertuples(index=False), histories, strict=True)},
        evaluation["convergence_tolerance"],
        stopped_early={(r.dataset, r.run_id): bool(i.get("stopped_early", False))
                       for r, i in zip(manifest.itertuples(index=False), infos, strict=True)})
    summary = summarize(metrics, runs, variant=evaluation["summary_variant"], bio_weight=evaluation["bio_weight"],
                        selection_scaling=evaluation["selection_scaling"], convergence=convergence)
    previous = previous_best(by_epoch, runs, evaluation) if by_epoch is not None else None
    best = add_training_columns(best_settings(summary, evaluation["best_by"]), summary, previous)
    return {"metrics": metrics, "summary": summary, "best_settings": best,
            "completeness": completeness(metrics, runs, metrics_info)}


TABLE_CONTRACTS = {"metrics": C.METRICS, "summary": C.SUMMARY, "best_settings": C.BEST_SETTINGS,
                   "completeness": C.COMPLETENESS}


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
