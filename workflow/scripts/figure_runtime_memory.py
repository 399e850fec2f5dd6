from sysvi_bench import contracts as C
from sysvi_bench.report.figures import runtime_memory
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    runtime_memory(C.read_table(snakemake.input.summary, C.SUMMARY), [snakemake.output.png, snakemake.output.pdf],
                   title=f"{dataset}: wall time of each model fit and peak memory (RSS) of its training job")
