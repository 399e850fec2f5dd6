"""File contracts between pipeline steps: every obs/obsm/layer key and TSV column, written down once and
checked when a file is written (:func:`write_table`, :func:`write_h5ad_checked`) and when it is read
(:func:`read_table`, :func:`read_h5ad_checked`), with an error that names the file and the field (:class:`ContractError`).

``resources/{dataset}/raw.h5ad``
    Raw counts in ``X`` (float32, non-negative integers; read from the source's ``layer`` if one is
    configured, rounded if ``counts: round``), obs columns named by the dataset's ``system_key`` (one
    column or several), ``covariate_keys`` and ``label_key`` (missing values allowed: unlabelled cells).
    Unique obs and var names (``gene_key``: the var column that became the names; the former names are in
    ``var["source_var_name"]``). ``uns[SOURCE_REPORT_KEY]``: the prepare step's accounting, a table with
    :data:`PREPROCESS_REPORT_COLUMNS` (cells/genes per system after reading, rounding, ortholog mapping or
    gene intersection); ``uns["count_rounding"]``: system -> fraction of stored values changed by rounding.
``results/{dataset}/preprocessed.h5ad`` (:data:`PREPROCESSED`)
    ``X``: per-system normalised (target sum 1e4) + log1p expression of the selected HVGs;
    ``layers[COUNTS_LAYER]``: raw counts of the same cells/genes; ``obs[SYSTEM]``, ``obs[LABEL]``,
    ``obs[SAMPLE]`` (copies of the configured keys under fixed names, so later steps need no config;
    several system columns are joined with :data:`SYSTEM_SEPARATOR`; SAMPLE is ``"{system}:{sample}"``); the
    user's obs columns unchanged, except one that has a name of :data:`PIPELINE_OBS` without being configured
    in that role: kept as ``user_<name>``; unlabelled cells (see :data:`N_UNLABELED_KEY`) have a missing ``obs[LABEL]``;
    ``obsm[PCA_KEY]``: PCA of X (the unintegrated reference); ``uns["preprocess"]``: the settings used,
    ``n_hvg_per_system`` and ``n_unlabeled``.
``results/{dataset}/preprocess_report.tsv``
    Every cell and gene removed, columns :data:`PREPROCESS_REPORT_COLUMNS`: one row per step (``input``
    first, ``output`` last; the prepare step's rows, then each QC filter, per-system HVGs and their
    intersection) and system (``all`` for the whole dataset); ``n_cells``/``n_genes`` are the counts
    *after* the step; ``note`` says what was removed, and warns when QC removed more than
    ``preprocess.max_qc_loss`` of a system's cells (naming the setting to change).
``results/{dataset}/runs.tsv`` (:data:`MANIFEST`)
    The run manifest, written by the ``plan_runs`` step from the run plan (:mod:`sysvi_bench.train.plan`) that
    also gives each ``train`` and ``score`` job its run; the aggregate step reads it. One row per run:
    ``dataset, run_id, model, kind, seed, setting`` (the model entry and grid values the run's seeds share;
    never parsed back from the run id, which may be shortened with a hash), ``control`` (a metric-scaling
    control: ``ModelSpec.is_control``, never ranked), ``covariates`` (what the run corrects or conditions on, obs
    columns joined by ``+``: the system column(s) and covariates for SysVI, scVI and Harmony, e.g.
    ``species+donor``; ``none`` for PCA and the controls; an external embedding's declared ``covariates`` or
    ``unknown (made elsewhere)``: :func:`sysvi_bench.train.models.base.corrected_covariates`), ``params`` (JSON:
    every parameter the model is fitted with) and ``grid_values`` (JSON: the grid axes that name the run).
``results/{dataset}/runs/{run_id}/`` (a run's folder; its identity is its row in ``runs.tsv``)
    ``model/``: the saved model (``save_model: true``; an empty folder otherwise);
    ``embedding.h5ad`` (:data:`EMBEDDING`): obs names = cell names, ``obsm[EMBEDDING_KEY]`` = latent
    (cells x dims); ``history.tsv``: one row per epoch, columns = loss names (``cycle_loss_train`` for SysVI);
    ``run_info.json`` (:data:`RUN_INFO_KEYS`): the outcome only: ``status`` (``ok``/``failed``), ``reason``,
    ``wall_time_s`` (the fit: model set-up, training, embedding), ``import_time_s`` (loading the model's
    libraries), ``device``, ``peak_memory_mb``, ``n_cells``, ``n_epochs``, ``threads``, ``host``, ``versions``
    (:func:`sysvi_bench.provenance.versions`: the pipeline's version and git commit, scvi-tools, torch, lightning,
    scib-metrics, scanpy, anndata, numpy); ``score_info.json``: ``versions`` of the job that scored the run;
    ``metrics.tsv`` (:data:`METRICS`): the run's scores, written by the ``score`` step: one row per
    ``embedding_variant`` (``raw``/``standardized``) x ``metric``; ``value`` is the raw value, NA when it could
    not be computed, with the ``reason`` (also for every value of a failed run; paper metrics include
    ``ilisi_sample_within_system__<system>`` per system and ``nmi_leiden_sd``/``ari_leiden_sd``); ``type`` is ``bio`` or
    ``batch``, ``higher_is_better`` the direction. Metrics: scib-metrics' default suite, the paper's metrics and the
    cell-type metrics (:mod:`sysvi_bench.score.catalogue`, docs/metrics.md).
``results/{dataset}/runs/{run_id}/cell_type_mixing.tsv`` (:data:`CELL_TYPE_MIXING`), ``label_transfer.tsv`` (:data:`LABEL_TRANSFER`)
    Written by the ``score`` step next to ``metrics.tsv`` (:mod:`sysvi_bench.score.cell_types`), run
    columns first, one block per ``embedding_variant``; header only for a failed run. Mixing: per
    ``system, cell_type, other_system``, over the cells of that type with neighbours from the other system
    on the evaluation k-NN graph (``n_cells``), the mean fraction of those neighbours (the nearest ``n`` when
    the other system has ``n`` cells of the type) with each ``other_cell_type``; ``scored``: whether these
    cells enter ``cross_system_same_type``, ``note``: why not. Label transfer: per ordered
    (``reference_system``, ``query_system``) and cell type, the F1 of a k-NN classifier fitted on the
    reference system; types found in one system only or with fewer than 3 cells in either
    (:data:`sysvi_bench.score.cell_types.MIN_TYPE_CELLS`) are listed with ``scored`` false, the reason in
    ``note``, and NA ``f1``.
``results/benchmark_tests.tsv`` (:data:`BENCHMARK_TESTS`)
    Per dataset x metric x pair of models (best setting each): means over seeds, ``diff`` = mean_a - mean_b,
    ``test`` (``paired`` t-test over the seeds both have, else ``welch``), ``p_value`` and ``p_adjusted``
    (Benjamini-Hochberg within each dataset x metric, over the pairs of compared models only);
    ``control_pair``: a pair with a control (tested, ``p_value`` given, but outside the Benjamini-Hochberg
    family: ``p_adjusted`` NA).
``results/{dataset}/runs/{run_id}/metrics_by_epoch.tsv`` (:data:`METRICS_BY_EPOCH`)
    The run's metrics at each embedding checkpoint (``evaluation.checkpoints``; extra ``obsm`` keys
    ``X_emb_epoch<epoch>`` of ``embedding.h5ad``), written by the ``score`` step: ``epoch`` then the columns of
    :data:`METRICS`; the rows of its last epoch (``best_epoch`` of ``run_info.json``, else the epochs the run
    trained; 0 for models without epochs) are exactly ``metrics.tsv``; checkpoints at or after ``best_epoch``
    (states trained past, not kept) are not scored. ``run_info.json`` of a neural run also holds ``max_epochs`` (resolved from
    ``auto``), ``stopped_early``, ``best_epoch`` (the epoch whose state ``X_emb``, ``metrics.tsv`` and the saved
    model are: with early stopping the best validation loss, restored at the end of training, so the final rows
    of ``metrics_by_epoch.tsv``, at ``best_epoch``, are that state's; without early stopping ``n_epochs``) and,
    where the model has a KL weight, ``kl_weight_reached`` and ``kl_warmup_complete``
    (:mod:`sysvi_bench.train.budget`, :mod:`sysvi_bench.train.checkpoints`); that of a Harmony run
    ``harmony_iterations`` and ``harmony_converged`` (it stopped before ``max_iter_harmony``).
``results/{dataset}/runs/{run_id}/umap.tsv``, ``results/{dataset}/umap_unintegrated.tsv`` (:data:`UMAP`)
    2-D UMAP of a run's embedding (of the preprocessed PCA), written by the ``umap`` (``umap_unintegrated``)
    step for the runs the UMAP figure shows: one row per drawn cell (``cell``: its name; at most 5,000 cells,
    the same seeded subsample for every run of the dataset), ``umap1``, ``umap2``.
``results/{dataset}/evaluation_reference.h5ad`` (:data:`REFERENCE`)
    What every run of the dataset is scored against, written by the ``evaluation_reference`` step: obs = the
    evaluation cells (the fixed subsample; ``SYSTEM``, ``LABEL``, ``SAMPLE``, ``obs["position"]``: row in the
    preprocessed data, ``obs["labelled"]``: scored by label-based metrics), ``obsm[PCA_KEY]`` (unintegrated
    PCA), ``uns["knn_indices"]``/``uns["knn_distances"]`` (k-NN graph of the labelled cells' PCA),
    ``uns["moran"]``: the Moran's I groups and genes, ``uns["n_cells_total"]``: cells of the dataset.
``results/{dataset}/metrics_info.json``
    What the dataset's runs are scored with: ``versions`` (those of ``run_info.json`` plus scikit-learn, igraph,
    leidenalg, jax, pynndescent, umap-learn), ``evaluation`` (the settings that change scores, defaults filled
    in; aggregation-only settings are the ``aggregate`` job's param), ``leiden_resolutions`` and
    ``metrics``: one record per metric with ``metric, type, higher_is_better, suite`` (``scib``/``paper``),
    ``in_aggregate`` and ``description``.
``results/{dataset}/metrics.tsv``
    The dataset's runs' metric rows concatenated (:data:`METRICS`).
``results/{dataset}/summary.tsv`` (:data:`SUMMARY`)
    One row per run: :data:`RUN_COLUMNS`, ``status``, ``reason``, ``wall_time_s``, ``peak_memory_mb``,
    ``device``, ``n_epochs``, ``best_epoch`` (``run_info.json``; NA for models without epochs), ``param_<name>``
    per grid axis and key parameter, ``setting`` and ``covariates`` (from the manifest),
    ``train_versions``/``score_versions`` (the versions of ``run_info.json``/``score_info.json`` as
    one line); then, for ``evaluation.summary_variant``: one column per metric (raw value),
    ``scaled_<metric>`` (min-max scaled over the dataset's compared runs, 1 = best, direction-aware; controls,
    column ``control``, are scaled on that range without setting it, so may fall outside [0, 1]),
    ``bio`` and ``batch`` (mean of the scaled metrics of that type that enter the aggregate on the dataset:
    ``aggregated_metrics.tsv``), ``total`` (``bio_weight * bio + (1 - bio_weight) * batch``),
    ``effective_weight_bio``/``effective_weight_batch`` (per dataset: each term's share of the variance of
    ``total`` over the compared runs, ``cov(w * bio, total) / var(total)`` and the like; they sum to 1),
    ``selection_score`` (the paper's: 0.6 * mean(scaled ``nmi_leiden``, scaled ``moransi_preservation``) +
    0.4 * scaled ``ilisi_system``, scaled across runs or within the model: ``evaluation.selection_scaling``),
    over the seeds of the run's setting ``n_seeds`` and ``mean_<s>``/``sd_<s>`` for ``s`` in bio, batch,
    total, selection_score, and ``convergence`` (fall of the training loss over the last 10% of
    epochs) and ``converged`` (NA for models without a loss history; :mod:`sysvi_bench.aggregate.convergence`).
    Failed runs have NA metrics and scores.
``results/{dataset}/aggregated_metrics.tsv`` (:data:`AGGREGATED_METRICS`)
    One row per embedding variant and metric of the dataset: ``type``, ``in_aggregate`` (whether it enters
    ``bio``/``batch``/``total``), ``reason`` when not (a scib-metrics twin, a Leiden sd, a per-system row, a
    cell-type metric, ``rewards no integration`` (``jaccard_neighbors``), or ``saturated``: every compared run
    within 0.001), ``min_compared``/``max_compared``/``n_compared`` (its range over the compared runs).
    The paper's ``selection_score`` leaves nothing out.
``results/{dataset}/completeness.tsv`` (:data:`COMPLETENESS`)
    Every expected (dataset, run, variant, metric) value that is missing or NA, with the reason; empty
    (header only) when the dataset is complete.
``results/{dataset}/best_settings.tsv`` (:data:`BEST_SETTINGS`)
    One row per (dataset, model) with a scored run: the best setting by mean ``best_by``
    (``evaluation.best_by``: selection_score (default) or total) over seeds, mean/sd over its seeds of ``total``
    and ``selection_score``, its median run (the seed whose score is the median; the lower middle one for an even
    number of seeds), its margin over the model's runner-up setting (``*_runner_up``) and the model's rank and
    margin over the next model by the mean of ``ranked_by`` (``best_by`` where comparable across models, else
    ``total``: selection_score scaled within_model is not) (``model_rank``, ``*_next_model``): the difference of means
    over seeds, its sd, the paired t-test p (>= 3 seeds) and ``separable`` (difference > 2 sd;
    :func:`sysvi_bench.aggregate.compare_seeds`).
    Training-length columns (:func:`sysvi_bench.aggregate.training_length.add_training_columns`): ``converged`` (every
    run of the best setting converged), ``setting_at_previous_checkpoint`` (the model's best setting at each
    run's last checkpoint before its final embedding), ``best_at_previous_checkpoint`` (it is the best now
    too), ``rank_at_previous_checkpoint`` (the model's rank there), ``diff_setting_at_previous_checkpoint``
    (now, the best setting's mean ``best_by`` minus the previous best's); all NA for models without
    checkpoints (PCA, Harmony, controls, external). ``setting_values``, ``runner_up_values``,
    ``values_at_previous_checkpoint``: the parameter values that set each of those settings apart from the
    model's other settings, as JSON (:func:`sysvi_bench.aggregate.selection.add_setting_values`). The
    recommendation (:func:`sysvi_bench.aggregate.selection.recommendation`) is made from these columns.
``results/{dataset}/ranking_by_variant.tsv`` (:data:`RANKING_BY_VARIANT`)
    Each model's best setting (``setting``, ``setting_values``: what sets it apart), ``score`` (its mean
    ``ranked_by`` score: ``mean_<ranked_by>``) and ``model_rank`` under every embedding variant of ``evaluation.variants`` (the summary
    uses ``evaluation.summary_variant`` only); controls (``control``) are never ranked and come last.
``results/{dataset}/scores_by_epoch.tsv`` (:data:`SCORES_BY_EPOCH`)
    ``total`` and ``selection_score`` of every run at each checkpoint ``stage`` (0 = the final embedding, 1 the
    checkpoint before, ...) and the ``epoch`` of that embedding (:mod:`sysvi_bench.aggregate.training_length`).
``results/{metrics,summary,best_settings,completeness}.tsv``
    The per-dataset tables concatenated over the datasets that completed.
``results/datasets.tsv`` (:data:`DATASETS`)
    One row per configured dataset: ``dataset, status`` (``complete``/``failed``), ``n_runs``,
    ``n_failed_runs``, ``reason`` (why a dataset did not complete, with its log). Written by the
    ``benchmark_tables`` rule only; after a failed invocation the failure path writes ``results/partial/``
    (the same tables, of the datasets whose own files are complete: :func:`sysvi_bench.aggregate.chain_status`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

import pandas as pd

# obs keys written by preprocessing (fixed names; the configured keys are copied there). SAMPLE is the
# sample within its system ("{system}:{sample}"), named apart from the usual user column "sample" (often a
# covariate, which models must read as the user gave it).
SYSTEM = "system"
LABEL = "cell_type"
SAMPLE = "system_sample"
# every obs column that preprocessing writes, with what it holds (a configured key of another role that has
# one of these names is refused at start-up; an unconfigured user column is kept as USER_COLUMN_PREFIX + name)
PIPELINE_OBS = {SYSTEM: "the system label", LABEL: "the cell-type label", SAMPLE: "the sample within its system",
                "n_genes": "genes detected per cell (QC)"}
USER_COLUMN_PREFIX = "user_"
COUNTS_LAYER = "counts"
# Several system_key columns are combined into one system label: "human+10x" for [species, technology].
SYSTEM_SEPARATOR = "+"
# Unlabelled cells: obs[LABEL] is missing (NaN, a missing category) in preprocessed.h5ad. They come from
# missing values of the configured label_key (NaN/None/empty) and the dataset's `unlabeled` values. They are
# kept for training and every label-free metric; label-based metrics leave them out.
N_UNLABELED_KEY = "n_unlabeled"  # uns["preprocess"][N_UNLABELED_KEY]: their count

# Accounting of removed cells and genes (preprocess_report.tsv; raw.h5ad's uns[SOURCE_REPORT_KEY])
REPORT_ALL_SYSTEMS = "all"
SOURCE_REPORT_KEY = "source_report"
PCA_KEY = "X_pca"
EMBEDDING_KEY = "X_emb"
# embedding.h5ad: the embedding at a checkpoint epoch of training (sysvi_bench.train.checkpoints), next to X_emb
CHECKPOINT_KEY_PREFIX = "X_emb_epoch"


def checkpoint_key(epoch: int) -> str:
    """The ``obsm`` key of the embedding kept at ``epoch``."""
    return f"{CHECKPOINT_KEY_PREFIX}{int(epoch)}"


def checkpoint_obsm(obsm_keys: Sequence[str]) -> dict[int, str]:
    """``epoch -> obsm key`` of the checkpoints stored in an embedding file, in epoch order."""
    found = {int(m.group(1)): k for k in obsm_keys if (m := re.fullmatch(rf"{CHECKPOINT_KEY_PREFIX}(\d+)", k))}
    return dict(sorted(found.items()))

STATUS_OK = "ok"
STATUS_FAILED = "failed"
DATASET_COMPLETE = "complete"
DATASET_FAILED = "failed"


class ContractError(ValueError):
    """A file that does not hold what its contract says; the message names the file and the field."""


Kind = Literal["str", "int", "float", "bool", "json"]


@dataclass(frozen=True)
class TableContract:
    """The columns a TSV must have (in this order first; more may follow) and what each holds.

    ``kinds`` maps a column to ``str`` (anything), ``int`` (integers, NA allowed), ``float`` (numbers, NA
    allowed), ``bool`` or ``json`` (a JSON object as text). Further columns (e.g. ``param_*``) may follow.
    """

    name: str
    kinds: Mapping[str, Kind]

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    def check(self, df: pd.DataFrame, where: str) -> None:
        """Raise :class:`ContractError` naming ``where`` and the first column at fault."""
        missing = [c for c in self.kinds if c not in df.columns]
        if missing:
            raise ContractError(f"{where}: {self.name} lacks column(s) {missing} (has {list(df.columns)})")
        for col, kind in self.kinds.items():
            values = df[col].dropna()
            if kind in ("int", "float") and len(values) and not pd.api.types.is_numeric_dtype(values):
                bad = values[pd.to_numeric(values, errors="coerce").isna()].iloc[:3].tolist()
                raise ContractError(f"{where}: column {col!r} of the {self.name} must be numeric; found {bad}")
            if kind == "int" and len(values) and not (values.astype(float) % 1 == 0).all():
                raise ContractError(f"{where}: column {col!r} of the {self.name} must hold integers")
            if kind == "bool" and len(values) and not _is_bool(values):
                raise ContractError(f"{where}: column {col!r} of the {self.name} must be true/false")
            if kind == "json" and len(values) and not values.astype(str).str.startswith("{").all():
                raise ContractError(f"{where}: column {col!r} of the {self.name} must hold JSON objects")


def _is_bool(values: pd.Series) -> bool:
    return values.dtype == bool or values.astype(str).str.lower().isin(["true", "false"]).all()


def as_bool(values: pd.Series) -> pd.Series:
    """A true/false column as pandas' nullable ``boolean`` (NA stays NA), from bools or their text in a TSV."""
    text = values.astype("string").str.strip().str.lower()
    return text.map({"true": True, "false": False}, na_action="ignore").astype("boolean")


def is_control(table: pd.DataFrame) -> pd.Series:
    """Per row of a run manifest or table: is the run a control (column ``control``; NA, a missing column and
    text read back from a TSV all handled; False where unknown)."""
    if "control" not in table.columns:
        return pd.Series(False, index=table.index, dtype=bool)
    return as_bool(table["control"]).fillna(False).astype(bool)


def flag(value: Any) -> bool | None:
    """One value of a true/false column: True, False or None (NA, None or NaN)."""
    return None if value is None or pd.isna(value) else bool(value)


RUN_COLUMNS = ["dataset", "run_id", "model", "kind", "seed"]
_RUN_KINDS: dict[str, Kind] = {"dataset": "str", "run_id": "str", "model": "str", "kind": "str", "seed": "int"}

# control: a metric-scaling control (ModelSpec.is_control), never ranked or recommended
# covariates: what the run corrects or conditions on (sysvi_bench.train.models.base.corrected_covariates)
MANIFEST = TableContract("run manifest", {**_RUN_KINDS, "setting": "str", "control": "bool", "covariates": "str",
                                          "params": "json", "grid_values": "json"})
METRICS = TableContract("metrics table", {
    **_RUN_KINDS, "metric": "str", "type": "str", "embedding_variant": "str", "value": "float",
    "higher_is_better": "bool", "reason": "str",
})
METRIC_COLUMNS = METRICS.columns
SUMMARY = TableContract("summary", {
    **_RUN_KINDS, "status": "str", "reason": "str", "wall_time_s": "float", "peak_memory_mb": "float",
    "device": "str", "n_epochs": "int", "setting": "str", "control": "bool", "train_versions": "str",
    "score_versions": "str", "best_epoch": "int",
    "bio": "float", "batch": "float", "total": "float", "selection_score": "float", "n_seeds": "int",
    "convergence": "float", "converged": "bool",
    # each term's share of the variance of total over the dataset's compared runs (aggregate.effective_weights)
    "effective_weight_bio": "float", "effective_weight_batch": "float",
})
# results/{dataset}/aggregated_metrics.tsv: which metric enters bio/batch/total, and why not
# (sysvi_bench.aggregate.selection.aggregated_metrics)
AGGREGATED_METRICS = TableContract("aggregated-metrics table", {
    "dataset": "str", "embedding_variant": "str", "metric": "str", "type": "str", "in_aggregate": "bool",
    "reason": "str", "min_compared": "float", "max_compared": "float", "n_compared": "int",
})
# a run's metrics at each embedding checkpoint (sysvi_bench.train.checkpoints); its last epoch's rows are metrics.tsv
METRICS_BY_EPOCH = TableContract("metrics-by-epoch table", {"epoch": "int", **METRICS.kinds})
# total and selection score of every run at each checkpoint stage (sysvi_bench.aggregate.training_length)
SCORES_BY_EPOCH = TableContract("scores-by-epoch table", {
    "dataset": "str", "run_id": "str", "model": "str", "setting": "str", "seed": "int", "stage": "int",
    "epoch": "int", "total": "float", "selection_score": "float",
})
_BEST_SETTINGS_CORE = TableContract("best-settings table", {
    "dataset": "str", "model": "str", "kind": "str", "control": "bool", "setting": "str", "best_by": "str",
    "n_seeds": "int",
    "mean_total": "float", "sd_total": "float", "mean_selection_score": "float", "sd_selection_score": "float",
    "median_run_id": "str",
    # the best setting vs the model's runner-up setting, on best_by (sysvi_bench.aggregate.compare_seeds)
    "runner_up_setting": "str", "diff_runner_up": "float", "sd_diff_runner_up": "float",
    "p_paired_runner_up": "float", "separable_runner_up": "bool",
    # the model vs the next model of the dataset's ranking by mean_<ranked_by> (controls not ranked)
    "model_rank": "int", "next_model": "str", "diff_next_model": "float", "sd_diff_next_model": "float",
    "p_paired_next_model": "float", "separable_next_model": "bool",
    "ranked_by": "str",  # best_by where comparable across models, else total (aggregate.ranking_score)
})
BEST_SETTINGS_COLUMNS = _BEST_SETTINGS_CORE.columns
# appended to best_settings() by the aggregate job (what the recommendation's sentence is made from): training
# length (aggregate.training_length.add_training_columns; NA for models without checkpoints) and the values that
# set each named setting apart from the model's other settings (aggregate.selection.add_setting_values)
BEST_SETTINGS_CONTEXT: dict[str, Kind] = {
    "converged": "bool", "setting_at_previous_checkpoint": "str", "best_at_previous_checkpoint": "bool",
    "rank_at_previous_checkpoint": "int", "diff_setting_at_previous_checkpoint": "float",
    "setting_values": "json", "runner_up_values": "json", "values_at_previous_checkpoint": "json",
}
BEST_SETTINGS = TableContract(_BEST_SETTINGS_CORE.name, {**_BEST_SETTINGS_CORE.kinds, **BEST_SETTINGS_CONTEXT})
# each model's best setting and rank under every embedding variant (aggregate.selection.ranking_by_variant)
RANKING_BY_VARIANT = TableContract("ranking-by-variant table", {
    "dataset": "str", "embedding_variant": "str", "model": "str", "control": "bool", "setting": "str",
    "score": "float", "model_rank": "int", "setting_values": "json",
})
COMPLETENESS = TableContract("completeness table", {
    "dataset": "str", "run_id": "str", "embedding_variant": "str", "metric": "str", "problem": "str",
})
PREPROCESS_REPORT = TableContract("preprocessing report", {
    "step": "str", "system": "str", "n_cells": "int", "n_genes": "int", "note": "str",
})
PREPROCESS_REPORT_COLUMNS = PREPROCESS_REPORT.columns
DATASETS = TableContract("dataset status table", {
    "dataset": "str", "status": "str", "n_runs": "int", "n_failed_runs": "int", "reason": "str",
})

UMAP = TableContract("UMAP coordinates", {"cell": "str", "umap1": "float", "umap2": "float"})
# Per run, written by the score step (sysvi_bench.score.cell_types), one block per embedding variant
CELL_TYPE_MIXING = TableContract("cell-type mixing table", {
    **_RUN_KINDS, "embedding_variant": "str", "system": "str", "cell_type": "str", "other_system": "str",
    "other_cell_type": "str", "fraction": "float", "n_cells": "int", "scored": "bool", "note": "str",
})
LABEL_TRANSFER = TableContract("label-transfer table", {
    **_RUN_KINDS, "embedding_variant": "str", "reference_system": "str", "query_system": "str",
    "cell_type": "str", "f1": "float", "n_reference_cells": "int", "n_query_cells": "int", "scored": "bool",
    "note": "str",
})
# results/benchmark_tests.tsv: pairwise model tests per dataset x metric (sysvi_bench.report.benchmark_figures)
BENCHMARK_TESTS = TableContract("benchmark tests table", {
    "dataset": "str", "metric": "str", "model_a": "str", "model_b": "str", "n_a": "int", "n_b": "int",
    "mean_a": "float", "mean_b": "float", "diff": "float", "test": "str", "statistic": "float",
    "p_value": "float", "p_adjusted": "float", "control_pair": "bool",
})

RUN_INFO_KEYS = ("status", "reason", "wall_time_s", "peak_memory_mb", "device", "n_epochs", "n_cells")


# ---------------------------------------------------------------------------------------- checked I/O


def write_table(df: pd.DataFrame, path: Path | str, contract: TableContract) -> None:
    """Check ``df`` against ``contract`` and write it atomically as TSV (contract columns first)."""
    from sysvi_bench.io import write_tsv

    contract.check(df, str(path))
    write_tsv(df[contract.columns + [c for c in df.columns if c not in contract.kinds]], path)


def read_table(path: Path | str, contract: TableContract) -> pd.DataFrame:
    """Read a TSV and check it against ``contract`` (an empty file is an error naming the file)."""
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise ContractError(f"{path}: the {contract.name} is empty (no header)") from None
    contract.check(df, str(path))
    for col, kind in contract.kinds.items():
        if kind == "str":  # an empty text field (e.g. no reason) reads back as NA
            df[col] = df[col].fillna("").astype(str)
        elif kind == "bool":  # with NA, pandas reads true/false as text
            df[col] = as_bool(df[col])
    return df


def read_metric_types(metrics_info: Path | str) -> dict[str, str]:
    """metric -> ``bio``/``batch`` from a dataset's ``metrics_info.json`` (the metric catalogue it was scored with)."""
    return {m["metric"]: m["type"] for m in json.loads(Path(metrics_info).read_text())["metrics"]}


def read_tables(paths: Iterable[Path | str], contract: TableContract) -> pd.DataFrame:
    """Concatenate checked tables (an empty list gives the contract's header only)."""
    frames = [read_table(p, contract) for p in paths]
    frames = [f for f in frames if len(f)] or [pd.DataFrame(columns=contract.columns)]
    return pd.concat(frames, ignore_index=True)


def check_run_info(info: Mapping[str, Any], where: str) -> None:
    """A run's ``run_info.json`` holds every outcome key and a known status."""
    missing = [k for k in RUN_INFO_KEYS if k not in info]
    if missing:
        raise ContractError(f"{where}: run_info lacks {missing}")
    if info["status"] not in (STATUS_OK, STATUS_FAILED):
        raise ContractError(f"{where}: status {info['status']!r} is neither {STATUS_OK!r} nor {STATUS_FAILED!r}")


@dataclass(frozen=True)
class AnnDataContract:
    """obs columns, obsm keys and layers an h5ad must hold."""

    name: str
    obs: tuple[str, ...] = ()
    obsm: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    uns: tuple[str, ...] = ()

    def check(self, adata: Any, where: str) -> None:
        for field, wanted, have in (("obs", self.obs, adata.obs.columns), ("obsm", self.obsm, adata.obsm.keys()),
                                    ("layers", self.layers, adata.layers.keys()), ("uns", self.uns, adata.uns.keys())):
            missing = [k for k in wanted if k not in have]
            if missing:
                raise ContractError(f"{where}: the {self.name} lacks {field} {missing}")
        for key in self.obsm:
            if adata.obsm[key].ndim != 2 or adata.obsm[key].shape[0] != adata.n_obs:
                raise ContractError(f"{where}: obsm[{key!r}] of the {self.name} must be cells x dimensions")


PREPROCESSED = AnnDataContract("preprocessed dataset", obs=(SYSTEM, LABEL, SAMPLE), obsm=(PCA_KEY,),
                               layers=(COUNTS_LAYER,), uns=("preprocess",))
EMBEDDING = AnnDataContract("embedding", obsm=(EMBEDDING_KEY,))
REFERENCE = AnnDataContract("evaluation reference", obs=(SYSTEM, LABEL, SAMPLE, "position", "labelled"),
                            obsm=(PCA_KEY,), uns=("moran", "n_cells_total", "knn_indices", "knn_distances"))


def write_h5ad_checked(adata: Any, path: Path | str, contract: AnnDataContract) -> None:
    from sysvi_bench.io import write_h5ad

    contract.check(adata, str(path))
    write_h5ad(adata, path)


def read_h5ad_checked(path: Path | str, contract: AnnDataContract) -> Any:
    import anndata as ad

    adata = ad.read_h5ad(path)
    contract.check(adata, str(path))
    return adata
