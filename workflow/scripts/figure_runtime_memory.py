from sysvi_bench.report.figures import read_summary, runtime_memory
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    runtime_memory(read_summary(snakemake.input.summary), [snakemake.output.png, snakemake.output.pdf],
                   title=f"{dataset}: wall time of each model fit and peak memory (RSS) of its training job")
