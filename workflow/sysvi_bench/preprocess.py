"""Per-dataset preprocessing, as in Hrovatin et al.: QC, counts kept, normalise + log1p, HVGs per system ∩."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scanpy as sc
from anndata import AnnData

from sysvi_bench import contracts as C
from sysvi_bench.data.validate import DataError
from sysvi_bench.grid import DatasetKeys


@dataclass(frozen=True)
class PreprocessParams:
    min_cells_per_gene: int = 20
    min_genes_per_cell: int = 200
    n_hvg: int = 3000
    hvg_flavor: str = "cell_ranger"
    target_sum: float = 1e4
    n_pcs: int = 15
    min_cells_per_label: int = 2  # fewer cells than this in a label breaks label metrics (silhouette, isolated labels)
    seed: int = 0


def hvg_per_system(adata: AnnData, params: PreprocessParams) -> dict[str, set[str]]:
    """Highly variable genes of each system (sample as batch key within a system), on log-normalised X."""
    selected: dict[str, set[str]] = {}
    for system in adata.obs[C.SYSTEM].cat.categories:
        part = adata[(adata.obs[C.SYSTEM] == system).to_numpy()].copy()
        # genes not expressed in this system would break cell_ranger's binning
        sc.pp.filter_genes(part, min_cells=1)
        batch_key = C.SAMPLE if part.obs[C.SAMPLE].nunique() > 1 else None
        sc.pp.highly_variable_genes(
            part, n_top_genes=min(params.n_hvg, part.n_vars), flavor=params.hvg_flavor, batch_key=batch_key
        )
        selected[str(system)] = set(part.var_names[part.var["highly_variable"]])
    return selected


def preprocess(
    adata: AnnData, keys: DatasetKeys, params: PreprocessParams, *, where: str, copy: bool = True
) -> AnnData:
    """Return the preprocessed dataset described in :mod:`sysvi_bench.contracts`.

    ``copy=False`` works on ``adata`` itself (left modified): one copy of the counts less at peak,
    for a dataset just read from disk.

    Raises
    ------
    DataError
        If QC leaves no cells or the systems share no highly variable gene.
    """
    if copy:
        adata = adata.copy()
    adata.obs[C.SYSTEM] = adata.obs[keys.system_key].astype(str).astype("category")
    adata.obs[C.LABEL] = adata.obs[keys.label_key].astype(str).astype("category")
    sample = adata.obs[keys.sample_key].astype(str) if keys.sample_key else adata.obs[C.SYSTEM].astype(str)
    adata.obs[C.SAMPLE] = (adata.obs[C.SYSTEM].astype(str) + ":" + sample).astype("category")

    sc.pp.filter_cells(adata, min_genes=params.min_genes_per_cell)
    if adata.n_obs == 0:
        raise DataError(f"{where}: no cells left after QC (min_genes_per_cell={params.min_genes_per_cell})")
    sc.pp.filter_genes(adata, min_cells=params.min_cells_per_gene)
    if adata.n_vars == 0:
        raise DataError(f"{where}: no genes left after QC (min_cells_per_gene={params.min_cells_per_gene})")
    for col in (C.SYSTEM, C.LABEL, C.SAMPLE):
        adata.obs[col] = adata.obs[col].cat.remove_unused_categories()
    if adata.obs[C.SYSTEM].nunique() < 2:
        raise DataError(f"{where}: fewer than 2 systems left after QC")
    label_sizes = adata.obs[C.LABEL].value_counts()
    rare = label_sizes[label_sizes < params.min_cells_per_label]
    if len(rare):
        raise DataError(
            f"{where}: label_key {keys.label_key!r} has label(s) {rare.to_dict()} with fewer than "
            f"preprocess.min_cells_per_label={params.min_cells_per_label} cells after QC; merge or remove them"
        )

    # Normalised expression is made in an AnnData of its own (X only): HVG selection and the gene subset
    # below then never copy the counts and the normalised values together (peak memory: see benchmarks/).
    normalised = AnnData(adata.X.copy(), obs=adata.obs[[C.SYSTEM, C.SAMPLE]], var=pd.DataFrame(index=adata.var_names))
    # normalize_total with a fixed target_sum scales each cell on its own, so doing it once is the
    # same as doing it per system (what the paper does); HVGs, which do depend on the system, are per system.
    sc.pp.normalize_total(normalised, target_sum=params.target_sum)
    sc.pp.log1p(normalised)

    per_system = hvg_per_system(normalised, params)
    shared = set.intersection(*per_system.values())
    if not shared:
        sizes = {k: len(v) for k, v in per_system.items()}
        raise DataError(f"{where}: the systems share no highly variable gene (HVGs per system: {sizes}); raise n_hvg")
    keep = adata.var_names.isin(list(shared))
    if not keep.all():  # one matrix copied at a time
        adata = adata[:, keep].copy()
        normalised = normalised[:, keep].copy()
    adata.layers[C.COUNTS_LAYER] = adata.X
    adata.X = normalised.X
    adata.uns["log1p"] = normalised.uns["log1p"]
    del normalised
    adata.var["highly_variable"] = True

    n_pcs = min(params.n_pcs, adata.n_vars - 1, adata.n_obs - 1)
    sc.pp.pca(adata, n_comps=n_pcs, random_state=params.seed)
    adata.obsm[C.PCA_KEY] = np.asarray(adata.obsm["X_pca"], dtype=np.float32)
    adata.uns["preprocess"] = {**asdict(params), "n_hvg_per_system": {k: len(v) for k, v in per_system.items()}}
    return adata
