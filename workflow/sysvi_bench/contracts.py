"""File contracts between pipeline steps: every obs/obsm/layer key and TSV column, in one place.

``resources/{dataset}/raw.h5ad``
    Raw counts in ``X`` (float32, non-negative integers), obs columns named by the dataset's
    ``system_key``, ``covariate_keys`` and ``label_key``. Unique obs and var names.
``results/{dataset}/preprocessed.h5ad``
    ``X``: per-system normalised (target sum 1e4) + log1p expression of the selected HVGs;
    ``layers[COUNTS_LAYER]``: raw counts of the same cells/genes; ``obs[SYSTEM]``, ``obs[LABEL]``,
    ``obs[SAMPLE]`` (copies of the configured keys under fixed names, so later steps need no config);
    ``obsm[PCA_KEY]``: PCA of X (the unintegrated reference); ``uns["preprocess"]``: the settings used.
``results/{dataset}/runs/{run_id}/``
    ``embedding.h5ad``: obs names = cell names, ``obsm[EMBEDDING_KEY]`` = latent (cells x dims);
    ``params.json``: the run's full parameters (see :class:`sysvi_bench.grid.Run`);
    ``history.tsv``: one row per epoch, columns = loss names (``cycle_loss_train`` for SysVI);
    ``run_info.json``: status (``ok``/``failed``), reason, ``wall_time_s`` (the fit: model set-up,
    training, embedding), ``import_time_s`` (loading the model's libraries), device, peak memory.
``results/{dataset}/metrics.tsv``
    Long table of all runs of the dataset (scored by one job), columns :data:`METRIC_COLUMNS`:
    one row per run x ``embedding_variant`` (``raw``/``standardized``) x ``metric`` (paper metrics include
    ``ilisi_sample_within_system__<system>`` per system and ``nmi_leiden_sd``/``ari_leiden_sd``); ``value`` is the raw
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
    ``bio`` and ``batch`` (mean of the scaled metrics of that type; scib-metrics twins of paper metrics,
    the Leiden sds and per-system rows excluded), ``total`` (``bio_weight * bio + (1 - bio_weight) * batch``), ``selection_score`` (the
    paper's: 0.6 * mean(scaled ``nmi_leiden``, scaled ``moransi_preservation``) + 0.4 * scaled
    ``ilisi_system``, scaled across runs or within the model: ``evaluation.selection_scaling``), over the
    seeds of the run's setting ``n_seeds`` and ``mean_<s>``/``sd_<s>`` for ``s`` in bio, batch, total,
    selection_score, and ``convergence`` (relative change of the training loss over the last 10% of epochs)
    and ``converged`` (nullable boolean; NA for models without a loss history; :mod:`sysvi_bench.convergence`).
    Failed runs have NA metrics and scores.
``results/completeness.tsv``
    Every expected (dataset, run, variant, metric) value that is missing or NA, with the reason
    (:data:`sysvi_bench.aggregate.COMPLETENESS_COLUMNS`); empty (header only) when the benchmark is complete.
``results/best_settings.tsv``
    One row per (dataset, model) with a scored run: :data:`BEST_SETTINGS_COLUMNS`, the best setting by mean
    ``best_by`` (``evaluation.best_by``: total or selection_score) over seeds, mean/sd over its seeds of
    ``total`` and ``selection_score``, its median run (the seed whose score is the median; the lower middle
    one for an even number of seeds), its margin over the model's runner-up setting (``*_runner_up``) and the
    model's rank and margin over the next model by ``mean_total`` (``model_rank``, ``*_next_model``): the
    difference of means over seeds, its sd, the paired t-test p (>= 3 seeds) and ``separable`` (difference
    > 2 sd; :func:`sysvi_bench.aggregate.compare_seeds`).
"""

from __future__ import annotations

# obs keys written by preprocessing (fixed names; the configured keys are copied there)
SYSTEM = "system"
LABEL = "cell_type"
SAMPLE = "sample"
COUNTS_LAYER = "counts"
PCA_KEY = "X_pca"
EMBEDDING_KEY = "X_emb"

RUN_COLUMNS = ["dataset", "run_id", "model", "kind", "seed"]
METRIC_COLUMNS = [*RUN_COLUMNS, "metric", "type", "embedding_variant", "value", "higher_is_better"]

BEST_SETTINGS_COLUMNS = [
    "dataset", "model", "kind", "setting", "best_by", "n_seeds", "mean_total", "sd_total",
    "mean_selection_score", "sd_selection_score", "median_run_id",
    # the best setting vs the model's runner-up setting, on best_by (sysvi_bench.aggregate.compare_seeds)
    "runner_up_setting", "diff_runner_up", "sd_diff_runner_up", "p_paired_runner_up", "separable_runner_up",
    # the model vs the next model of the dataset's ranking by mean_total (controls not ranked)
    "model_rank", "next_model", "diff_next_model", "sd_diff_next_model", "p_paired_next_model",
    "separable_next_model",
]

STATUS_OK = "ok"
STATUS_FAILED = "failed"
