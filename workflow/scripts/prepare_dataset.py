import json
from pathlib import Path

from sysvi_bench.data import load_source
from sysvi_bench.io import write_h5ad
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    adata = load_source(snakemake.wildcards.dataset, json.loads(snakemake.params.dataset_cfg), Path("resources"))
    write_h5ad(adata, snakemake.output[0])
