from sysvi_bench.report.figures import read_metric_types, read_summary, results_table
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    results_table(
        read_summary(snakemake.input.summary),
        read_metric_types(snakemake.input.metrics_info),
        [snakemake.output.png, snakemake.output.pdf],
        title=f"{dataset}: scib-metrics and the sysVI paper's metrics (system as batch)",
    )
