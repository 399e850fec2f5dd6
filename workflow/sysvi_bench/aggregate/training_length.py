"""Metrics over training length: scores at each embedding checkpoint, and whether the best setting was already
best before the last stretch of training. Only numpy/pandas (the aggregate step's environment).

Checkpoints of different runs are aligned by *stage from the end*: stage 0 is each run's final embedding,
stage 1 its last checkpoint before that, and so on (a run with fewer checkpoints, e.g. early-stopped before a
fraction, or a model without epochs, keeps its earliest embedding for the missing stages). At each stage the
runs' metrics are scaled and aggregated exactly like the final ones (:func:`sysvi_bench.aggregate.summarize`),
so ``total`` at stage 0 is the summary's ``total``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import best_settings, summarize

def stage_metrics(by_epoch: pd.DataFrame, stage: int) -> tuple[pd.DataFrame, pd.Series]:
    """Every run's metric rows at ``stage`` (0 = final) and its epoch there (index: ``(dataset, run_id)``)."""
    epochs = by_epoch.groupby(["dataset", "run_id"])["epoch"].apply(lambda e: sorted(set(e), reverse=True))
    chosen = epochs.apply(lambda e: e[min(stage, len(e) - 1)]).rename("epoch")
    rows = by_epoch.merge(chosen.reset_index(), on=["dataset", "run_id", "epoch"])
    return rows[C.METRIC_COLUMNS], chosen


def n_stages(by_epoch: pd.DataFrame) -> int:
    """The most embeddings (checkpoints and final) any run has."""
    if by_epoch.empty:
        return 0
    return int(by_epoch.groupby(["dataset", "run_id"])["epoch"].nunique().max())


def stage_summaries(by_epoch: pd.DataFrame, runs: pd.DataFrame, aggregation: Mapping) -> list[pd.DataFrame]:
    """The summary (:func:`~sysvi_bench.aggregate.selection.summarize`) of every stage: stage 0 = each run's final
    embedding, 1 = its last checkpoint before it, ...; each with the run's ``epoch`` at that stage."""
    summaries = []
    for stage in range(n_stages(by_epoch)):
        metrics, epochs = stage_metrics(by_epoch, stage)
        summary = summarize(metrics, runs, variant=aggregation["summary_variant"], bio_weight=aggregation["bio_weight"],
                            selection_scaling=aggregation["selection_scaling"])
        summaries.append(summary.merge(epochs.reset_index(), on=["dataset", "run_id"], how="left"))
    return summaries


def scores_by_epoch(summaries: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``total`` and ``selection_score`` of every run at every stage (:data:`contracts.SCORES_BY_EPOCH`), from
    :func:`stage_summaries`."""
    if not summaries:
        return pd.DataFrame(columns=C.SCORES_BY_EPOCH.columns)
    table = pd.concat([summary.assign(stage=stage) for stage, summary in enumerate(summaries)], ignore_index=True)
    table["epoch"] = table["epoch"].astype("Int64")
    return table[C.SCORES_BY_EPOCH.columns]


def previous_best(summaries: Sequence[pd.DataFrame], best_by: str,
                  selection_scaling: str = "across_runs") -> pd.DataFrame | None:
    """:func:`~sysvi_bench.aggregate.selection.best_settings` at stage 1 (each run's last checkpoint before its
    final embedding; :func:`stage_summaries`), with rows only for the models that have such a checkpoint (a run
    whose embedding at stage 1 is an earlier epoch than its final one); None when no run has a checkpoint.

    Models without checkpoints (PCA, Harmony, controls) still take part in the ranking at stage 1, with their
    final values, but get no row: whether *their* best was best before is unknown, not true."""
    if len(summaries) < 2:
        return None
    keys = ["dataset", "run_id"]
    epochs = summaries[0][keys + ["model", "epoch"]].merge(summaries[1][keys + ["epoch"]], on=keys,
                                                            suffixes=("", "_previous"))
    moved = epochs[epochs["epoch"] != epochs["epoch_previous"]]
    previous = best_settings(summaries[1], best_by, selection_scaling)
    checkpointed = previous.set_index(["dataset", "model"]).index.isin(moved.set_index(["dataset", "model"]).index)
    return previous[checkpointed].reset_index(drop=True)


def add_training_columns(best: pd.DataFrame, summary: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Columns of ``best_settings.tsv`` about training length:

    ``converged``: every run of the best setting is converged (NA for models without a loss history);
    ``setting_at_previous_checkpoint``: the model's best setting at the previous checkpoint (``previous``:
    :func:`previous_best`); ``best_at_previous_checkpoint``: it is the best setting now too;
    ``rank_at_previous_checkpoint``: the model's ``model_rank`` there; ``diff_setting_at_previous_checkpoint``:
    now (``summary``), the best setting's mean ``best_by`` minus that of the previous best setting (0 when they
    are the same). All four NA for a model without checkpoints (no row in ``previous``).
    """
    best = best.copy()
    conv = summary.groupby(["dataset", "model", "setting"])["converged"].agg(
        lambda v: pd.NA if v.isna().all() else bool(v.fillna(False).astype(bool).all()))
    keys = list(zip(best["dataset"], best["model"], best["setting"]))
    best["converged"] = pd.array([conv.get(k, pd.NA) for k in keys], dtype="boolean")
    prev = (previous if previous is not None else pd.DataFrame(columns=["dataset", "model", "setting", "model_rank"]))
    prev = prev.set_index(["dataset", "model"])
    settings, ranks, diffs = [pd.NA] * len(best), [pd.NA] * len(best), [float("nan")] * len(best)
    scores = sorted(set(best["best_by"]) & set(summary.columns))
    means = summary.groupby(["dataset", "model", "setting"])[scores].mean()  # once, not per model
    for i, ((d, m, s), best_by) in enumerate(zip(keys, best["best_by"])):
        if (d, m) in prev.index:
            settings[i], rank = prev.at[(d, m), "setting"], prev.at[(d, m), "model_rank"]
            ranks[i] = pd.NA if pd.isna(rank) else int(rank)
            mean = means[best_by] if best_by in means else pd.Series(dtype=float)
            diffs[i] = float(mean.get((d, m, s), float("nan")) - mean.get((d, m, settings[i]), float("nan")))
    best["setting_at_previous_checkpoint"] = pd.array(settings, dtype="object")
    best["best_at_previous_checkpoint"] = pd.array(
        [pd.NA if pd.isna(b) else b == s for b, (_, _, s) in zip(settings, keys)], dtype="boolean")
    best["rank_at_previous_checkpoint"] = pd.array(ranks, dtype="Int64")
    best["diff_setting_at_previous_checkpoint"] = pd.array(diffs, dtype=float)
    return best
