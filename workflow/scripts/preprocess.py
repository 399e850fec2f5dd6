import json

import anndata as ad

from sysvi_bench.config import dataset_keys
from sysvi_bench import contracts as C
from sysvi_bench.data.preprocess import PREPROCESS_REPORT_UNS, PreprocessParams, preprocess
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    cfg = json.loads(snakemake.params.dataset_cfg)
    adata = preprocess(
        ad.read_h5ad(snakemake.input[0]),
        dataset_keys(cfg),
        PreprocessParams(**cfg.get("preprocess", {})),
        where=f"datasets.{snakemake.wildcards.dataset}",
        copy=False,
        min_cells_per_system=cfg["min_cells_per_system"],  # validated: the schema's default is filled in
    )
    print(adata)
    C.write_table(adata.uns.pop(PREPROCESS_REPORT_UNS), snakemake.output.report, C.PREPROCESS_REPORT)
    C.write_h5ad_checked(adata, snakemake.output.h5ad, C.PREPROCESSED)
