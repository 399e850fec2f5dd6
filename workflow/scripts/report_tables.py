from sysvi_bench import contracts as C
from sysvi_bench.report.figures import read_best_settings, read_metric_types, read_summary
from sysvi_bench.report.html import results_page, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = read_summary(snakemake.input.summary)
    best = read_best_settings(snakemake.input.best_settings)
    types = read_metric_types(snakemake.input.metrics_info)
    preprocess_report = C.read_table(snakemake.input.preprocess_report, C.PREPROCESS_REPORT)
    write_text(results_page(summary, best, types, dataset, preprocess_report), snakemake.output[0])
