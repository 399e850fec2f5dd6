"""Make the demo's example external embedding: ComBat (scanpy) + PCA on the preprocessed pancreas data.

It stands in for an embedding made by another tool (GLUE, SATURN, Seurat, ...): the demo scores it through the
`external` model kind. Run after the demo's preprocessing:
    python benchmarks/make_external_example.py results/pancreas_human_mouse/preprocessed.h5ad \
        config/external/pancreas_combat_pca.tsv.gz
"""

import sys

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

source, target = sys.argv[1], sys.argv[2]
adata = ad.read_h5ad(source)
adata.X = adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X
sc.pp.combat(adata, key="system")
sc.pp.pca(adata, n_comps=15, random_state=0)
table = pd.DataFrame(np.round(adata.obsm["X_pca"], 4), index=adata.obs_names, columns=[f"dim_{i}" for i in range(15)])
table.index.name = "cell"
table.to_csv(target, sep="\t")
print(f"wrote {target}: {table.shape}")
