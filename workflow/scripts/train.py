from pathlib import Path

from sysvi_bench.grid import dataset_keys
from sysvi_bench.smk import logged
from sysvi_bench.train import execute_run

with logged(snakemake.log[0]):
    info = execute_run(
        snakemake.params.run,
        Path(snakemake.input[0]),
        Path(snakemake.output.info).parent,
        dataset_keys(snakemake.params.dataset_cfg),
        accelerator=snakemake.params.accelerator,
        threads=snakemake.threads,
    )
    print(info)
