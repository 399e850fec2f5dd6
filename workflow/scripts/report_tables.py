from sysvi_bench.figures import read_best_settings, read_metric_types, read_summary
from sysvi_bench.report import results_page, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = read_summary(snakemake.input.summary, dataset)
    best = read_best_settings(snakemake.params.best_settings, dataset)
    types = read_metric_types(snakemake.input.metrics, dataset)
    write_text(results_page(summary, best, types, dataset), snakemake.output[0])
