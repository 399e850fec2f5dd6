from sysvi_bench import contracts as C
from sysvi_bench.report.figures import results_table
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    variant = snakemake.params.variant
    aggregated = C.read_table(snakemake.input.aggregated_metrics, C.AGGREGATED_METRICS)
    aggregated = aggregated[aggregated["embedding_variant"] == variant]
    results_table(
        C.read_table(snakemake.input.summary, C.SUMMARY),
        C.read_metric_types(snakemake.input.metrics_info),
        [snakemake.output.png, snakemake.output.pdf],
        title=f"{dataset}: scib-metrics and the sysVI paper's metrics (system as batch)",
        best_by=snakemake.params.best_by,
        variant=variant,
        left_out=list(aggregated.loc[~aggregated["in_aggregate"].fillna(False).astype(bool), "metric"]),
    )
