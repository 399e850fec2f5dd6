import anndata as ad

from sysvi_bench.grid import dataset_keys
from sysvi_bench.io import write_h5ad
from sysvi_bench.preprocess import PreprocessParams, preprocess
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    cfg = snakemake.params.dataset_cfg
    adata = preprocess(
        ad.read_h5ad(snakemake.input[0]),
        dataset_keys(cfg),
        PreprocessParams(**cfg.get("preprocess", {})),
        where=f"datasets.{snakemake.wildcards.dataset}",
        copy=False,
    )
    print(adata)
    write_h5ad(adata, snakemake.output[0])
