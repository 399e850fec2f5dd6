from pathlib import Path

from sysvi_bench.config import DatasetKeys
from sysvi_bench.grid import Run
from sysvi_bench.smk import logged
from sysvi_bench.train import execute_run

with logged(snakemake.log[0]):
    info = execute_run(
        Run.from_json(snakemake.params.run),
        Path(snakemake.input.preprocessed),
        Path(snakemake.output.info).parent,
        DatasetKeys.from_json(snakemake.params.obs_keys),
        accelerator=snakemake.params.accelerator,
        threads=snakemake.threads,
        checkpoints=tuple(snakemake.params.checkpoints),
    )
    print(info)
