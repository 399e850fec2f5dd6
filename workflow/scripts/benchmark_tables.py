from sysvi_bench.aggregate.tables import TABLE_CONTRACTS, write_benchmark_tables
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    datasets = snakemake.params.datasets
    files = {d: {name: snakemake.input[name][i] for name in TABLE_CONTRACTS} for i, d in enumerate(datasets)}
    write_benchmark_tables(files, snakemake.output)
