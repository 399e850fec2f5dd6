"""Embeddings made elsewhere (GLUE, SATURN, Seurat, ...), scored like any other run (metrics-only mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from sysvi_bench.io import table_separator
from sysvi_bench.train.models.base import FitContext, FitResult, ModelSpec


def read_external(path: str | Path, obsm_key: str | None) -> pd.DataFrame:
    """Read an embedding keyed by cell name: an h5ad's ``obsm[obsm_key]`` or a TSV/CSV table (first column = cell)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"external embedding {str(path)!r} does not exist")
    if path.suffix == ".h5ad":
        import anndata as ad

        adata = ad.read_h5ad(path)
        if obsm_key not in adata.obsm:
            raise KeyError(f"{path}: obsm key {obsm_key!r} not found (keys: {list(adata.obsm)})")
        return pd.DataFrame(np.asarray(adata.obsm[obsm_key]), index=adata.obs_names)
    return pd.read_csv(path, sep=table_separator(path.name), index_col=0)


def align_to_cells(table: pd.DataFrame, cells: pd.Index, *, where: str) -> np.ndarray:
    """Reorder ``table`` rows to ``cells``; missing, extra or duplicated cells are an error."""
    if not table.index.is_unique:
        raise ValueError(f"{where}: duplicated cell names in the external embedding")
    missing = cells.difference(table.index)
    extra = table.index.difference(cells)
    if len(missing) or len(extra):
        raise ValueError(
            f"{where}: cell names do not match the dataset: {len(missing)} missing (e.g. {list(missing[:3])}), "
            f"{len(extra)} extra (e.g. {list(extra[:3])})"
        )
    values = table.loc[cells].to_numpy(dtype=np.float32)
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: the external embedding has NaN/inf values")
    return values


def fit_external(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    table = read_external(params["path"], params["obsm_key"])
    return FitResult(align_to_cells(table, adata.obs_names, where=f"external embedding {params['path']}"))


# path: h5ad (with obsm_key) or TSV/CSV keyed by cell name; covariates: the obs columns the other tool corrected
# (the manifest's covariates column; null: unknown)
SPEC = ModelSpec("external", fit_external, {"path": None, "obsm_key": None, "covariates": None}, seeded=False)
