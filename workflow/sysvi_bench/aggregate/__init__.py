"""The aggregate step (rules ``aggregate`` and ``benchmark_tables`` in workflow/rules/aggregate.smk): from
every run's metrics to one dataset's tables and the benchmark-wide tables.

Owns the selection policy: min-max scaling, the bio/batch/total and selection scores, each model's best setting
and the recommendation (:mod:`.selection`; figures and pages read ``best_settings.tsv``, they never choose); the
convergence measure (:mod:`.convergence`); the scores at each training checkpoint (:mod:`.training_length`);
and the tables' assembly and the dataset status (:mod:`.tables`).
"""
