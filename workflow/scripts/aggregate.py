from sysvi_bench.aggregate import best_settings, collect_metrics, run_table, summarize
from sysvi_bench.io import write_tsv
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    evaluation = snakemake.params.evaluation
    metrics = collect_metrics(snakemake.input.metrics)
    summary = summarize(
        metrics,
        run_table(snakemake.params.run_dirs),
        variant=evaluation["summary_variant"],
        bio_weight=evaluation["bio_weight"],
    )
    write_tsv(metrics, snakemake.output.metrics)
    write_tsv(summary, snakemake.output.summary)
    write_tsv(best_settings(summary), snakemake.output.best_settings)
