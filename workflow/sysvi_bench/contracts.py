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
    ``run_info.json``: status (``ok``/``failed``), reason, wall time, device, peak memory.
``results/{dataset}/metrics.tsv``
    Long table of all runs of the dataset (scored in one process), columns :data:`METRIC_COLUMNS`.
``results/metrics.tsv``
    All runs' metric rows concatenated (same columns).
``results/summary.tsv``
    One row per run: :data:`RUN_COLUMNS`, ``status``, ``reason``, ``wall_time_s``, ``peak_memory_mb``,
    ``device``, ``n_epochs``, ``setting`` (run id without the seed), ``param_<axis>`` per grid axis,
    one column per metric (of ``evaluation.summary_variant``) and the aggregates ``bio``, ``batch``, ``total``.
``results/best_settings.tsv``
    One row per (dataset, model): :data:`BEST_SETTINGS_COLUMNS`, the best setting by mean total over seeds
    and its median run.
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

BEST_SETTINGS_COLUMNS = ["dataset", "model", "setting", "n_seeds", "mean_total", "sd_total", "median_run_id"]

STATUS_OK = "ok"
STATUS_FAILED = "failed"
