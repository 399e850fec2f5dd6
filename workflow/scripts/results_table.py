import pandas as pd

from sysvi_bench.figures import results_table
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    metrics = pd.read_csv(snakemake.input.metrics, sep="\t")
    summary = pd.read_csv(snakemake.input.summary, sep="\t")
    types = metrics.drop_duplicates("metric").set_index("metric")["type"].to_dict()
    results_table(
        summary[summary["dataset"] == dataset],
        types,
        [snakemake.output.png, snakemake.output.pdf],
        title=f"{dataset}: scib-metrics and the sysVI paper's metrics (system as batch)",
    )
