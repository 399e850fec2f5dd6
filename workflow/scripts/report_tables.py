from sysvi_bench import contracts as C
from sysvi_bench.report.html import results_page, write_text
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    summary = C.read_table(snakemake.input.summary, C.SUMMARY)
    best = C.read_table(snakemake.input.best_settings, C.BEST_SETTINGS)
    types = C.read_metric_types(snakemake.input.metrics_info)
    preprocess_report = C.read_table(snakemake.input.preprocess_report, C.PREPROCESS_REPORT)
    ranking = C.read_table(snakemake.input.ranking_by_variant, C.RANKING_BY_VARIANT)
    aggregated = C.read_table(snakemake.input.aggregated_metrics, C.AGGREGATED_METRICS)
    write_text(results_page(summary, best, types, dataset, preprocess_report, ranking, aggregated),
               snakemake.output[0])
