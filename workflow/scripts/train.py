from pathlib import Path

from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys
from sysvi_bench.grid import runs_from_manifest
from sysvi_bench.smk import logged
from sysvi_bench.train import execute_run

with logged(snakemake.log[0]):
    run = runs_from_manifest(C.read_table(snakemake.input.manifest, C.MANIFEST))[snakemake.wildcards.run_id]
    keys = snakemake.params.obs_keys
    info = execute_run(
        run,
        Path(snakemake.input.preprocessed),
        Path(snakemake.output.info).parent,
        DatasetKeys(**{**keys, "covariate_keys": tuple(keys["covariate_keys"])}),
        accelerator=snakemake.params.accelerator,
        threads=snakemake.threads,
        checkpoints=tuple(snakemake.params.checkpoints),
    )
    print(info)
