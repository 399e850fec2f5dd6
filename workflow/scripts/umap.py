from sysvi_bench.smk import limit_threads

limit_threads(snakemake.threads)  # before numba and BLAS start their thread pools

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.report.umap import umap_coordinates
from sysvi_bench.subsample import seeded_subsample
from sysvi_bench.jit_cache import enable_numba_cache
from sysvi_bench.smk import logged

with logged(snakemake.log[0]):
    enable_numba_cache(snakemake.config["compile_cache"])  # not a param: a new folder must not redraw
    contract = C.EMBEDDING if snakemake.params.obsm == C.EMBEDDING_KEY else C.PREPROCESSED
    adata = C.read_h5ad_checked(snakemake.input[0], contract)
    cells = seeded_subsample(adata.n_obs, snakemake.params.max_cells, snakemake.params.seed)
    # float64: the text round trip is then exact (float32 digits read back as float64 are not)
    coords = umap_coordinates(adata.obsm[snakemake.params.obsm][cells], seed=snakemake.params.seed).astype(float)
    table = pd.DataFrame({"cell": adata.obs_names[cells], "umap1": coords[:, 0], "umap2": coords[:, 1]})
    C.write_table(table, snakemake.output[0], C.UMAP)
    print(f"UMAP of {len(cells):,} of {adata.n_obs:,} cells")
