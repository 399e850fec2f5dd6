"""File contracts between pipeline steps: every obs/obsm/layer key and TSV column, in one place.

``resources/{dataset}/raw.h5ad``
    Raw counts in ``X`` (float32, non-negative integers; read from the source's ``layer`` if one is
    configured, rounded if ``counts: round``), obs columns named by the dataset's ``system_key`` (one
    column or several), ``covariate_keys`` and ``label_key`` (missing values allowed: unlabelled cells).
    Unique obs and var names (``gene_key``: the var column that became the names; the former names are in
    ``var["source_var_name"]``). ``uns[SOURCE_REPORT_KEY]``: the prepare step's accounting, a table with
    :data:`PREPROCESS_REPORT_COLUMNS` (cells/genes per system after reading, rounding, ortholog mapping or
    gene intersection); ``uns["count_rounding"]``: system -> fraction of stored values changed by rounding.
``results/{dataset}/preprocessed.h5ad``
    ``X``: per-system normalised (target sum 1e4) + log1p expression of the selected HVGs;
    ``layers[COUNTS_LAYER]``: raw counts of the same cells/genes; ``obs[SYSTEM]``, ``obs[LABEL]``,
    ``obs[SAMPLE]`` (copies of the configured keys under fixed names, so later steps need no config;
    several system columns are joined with :data:`SYSTEM_SEPARATOR`); unlabelled cells (see
    :data:`UNLABELED`) have a missing ``obs[LABEL]``;
    ``obsm[PCA_KEY]``: PCA of X (the unintegrated reference); ``uns["preprocess"]``: the settings used,
    ``n_hvg_per_system`` and ``n_unlabeled``.
``results/{dataset}/preprocess_report.tsv``
    Every cell and gene removed, columns :data:`PREPROCESS_REPORT_COLUMNS`: one row per step (``input``
    first, ``output`` last; the prepare step's rows, then each QC filter, per-system HVGs and their
    intersection) and system (``all`` for the whole dataset); ``n_cells``/``n_genes`` are the counts
    *after* the step; ``note`` says what was removed, and warns when QC removed more than
    ``preprocess.max_qc_loss`` of a system's cells (naming the setting to change).
``results/{dataset}/runs/{run_id}/``
    ``embedding.h5ad``: obs names = cell names, ``obsm[EMBEDDING_KEY]`` = latent (cells x dims);
    ``params.json``: the run's full parameters (see :class:`sysvi_bench.grid.Run`);
    ``history.tsv``: one row per epoch, columns = loss names (``cycle_loss_train`` for SysVI);
    ``run_info.json``: status (``ok``/``failed``), reason, ``wall_time_s`` (the fit: model set-up,
    training, embedding), ``import_time_s`` (loading the model's libraries), device, peak memory.
``results/{dataset}/metrics.tsv``
    Long table of all runs of the dataset (scored by one job), columns :data:`METRIC_COLUMNS`:
    one row per run x ``embedding_variant`` (``raw``/``standardized``) x ``metric``; ``value`` is the raw
    value (NA for failed runs), ``type`` is ``bio`` or ``batch``, ``higher_is_better`` the direction.
    Metrics: scib-metrics' default suite and the paper's metrics (:mod:`sysvi_bench.metrics.catalogue`,
    docs/metrics.md).
``results/{dataset}/metrics_info.json``
    What the table was computed with: ``versions`` (scib-metrics, scanpy, scikit-learn, igraph, jax,
    pynndescent, umap-learn), ``evaluation`` (the settings, defaults filled in), ``leiden_resolutions`` and
    ``metrics``: one record per metric with ``metric, type, higher_is_better, suite`` (``scib``/``paper``),
    ``in_aggregate`` and ``description``.
``results/metrics.tsv``
    All runs' metric rows concatenated (same columns).
``results/summary.tsv``
    One row per run: :data:`RUN_COLUMNS`, ``status``, ``reason``, ``wall_time_s``, ``peak_memory_mb``,
    ``device``, ``n_epochs``, ``param_<name>`` per grid axis and key parameter, ``setting`` (run id
    without the seed); then, for ``evaluation.summary_variant``: one column per metric (raw value),
    ``scaled_<metric>`` (min-max scaled over the dataset's runs, 1 = best, direction-aware),
    ``bio`` and ``batch`` (mean of the scaled metrics of that type, scib-metrics twins of paper metrics
    excluded), ``total`` (``bio_weight * bio + (1 - bio_weight) * batch``), ``selection_score`` (the
    paper's: 0.6 * mean(scaled ``nmi_leiden``, scaled ``moransi_preservation``) + 0.4 * scaled
    ``ilisi_system``), and over the seeds of the run's setting ``n_seeds`` and ``mean_<s>``/``sd_<s>``
    for ``s`` in bio, batch, total, selection_score. Failed runs have NA metrics and scores.
``results/completeness.tsv``
    Every expected (dataset, run, variant, metric) value that is missing or NA, with the reason
    (:data:`sysvi_bench.aggregate.COMPLETENESS_COLUMNS`); empty (header only) when the benchmark is complete.
``results/best_settings.tsv``
    One row per (dataset, model) with a scored run: :data:`BEST_SETTINGS_COLUMNS`, the best setting by mean
    total over seeds, mean/sd over its seeds of ``total`` and ``selection_score``, and its median run (the
    seed whose total is the median; the lower middle one for an even number of seeds).
"""

from __future__ import annotations

# obs keys written by preprocessing (fixed names; the configured keys are copied there)
SYSTEM = "system"
LABEL = "cell_type"
SAMPLE = "sample"
COUNTS_LAYER = "counts"
# Several system_key columns are combined into one system label: "human+10x" for [species, technology].
SYSTEM_SEPARATOR = "+"
# Unlabelled cells: obs[LABEL] is missing (NaN, a missing category) in preprocessed.h5ad. They come from
# missing values of the configured label_key (NaN/None/empty) and the dataset's `unlabeled` values. They are
# kept for training and every label-free metric; label-based metrics leave them out.
UNLABELED = None
N_UNLABELED_KEY = "n_unlabeled"  # uns["preprocess"][N_UNLABELED_KEY]: their count

# Accounting of removed cells and genes (preprocess_report.tsv; raw.h5ad's uns[SOURCE_REPORT_KEY])
PREPROCESS_REPORT_COLUMNS = ["step", "system", "n_cells", "n_genes", "note"]
REPORT_ALL_SYSTEMS = "all"
SOURCE_REPORT_KEY = "source_report"
PCA_KEY = "X_pca"
EMBEDDING_KEY = "X_emb"

RUN_COLUMNS = ["dataset", "run_id", "model", "kind", "seed"]
METRIC_COLUMNS = [*RUN_COLUMNS, "metric", "type", "embedding_variant", "value", "higher_is_better"]

BEST_SETTINGS_COLUMNS = ["dataset", "model", "setting", "n_seeds", "mean_total", "sd_total",
                         "mean_selection_score", "sd_selection_score", "median_run_id"]

STATUS_OK = "ok"
STATUS_FAILED = "failed"
