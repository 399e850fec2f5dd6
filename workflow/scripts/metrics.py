from pathlib import Path

import anndata as ad

from sysvi_bench.io import write_tsv
from sysvi_bench.metrics.score import score_run
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    table = score_run(
        snakemake.params.run,
        ad.read_h5ad(snakemake.input.preprocessed),
        Path(snakemake.input.info).parent,
        snakemake.params.evaluation,
    )
    write_tsv(table, snakemake.output[0])
