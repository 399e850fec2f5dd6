"""Checks on a raw dataset, run before any expensive step. Each error names the file and field at fault."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from scipy import sparse

from sysvi_bench.grid import DatasetKeys


class DataError(ValueError):
    """A dataset that cannot be benchmarked as given."""


def _values(x) -> np.ndarray:
    return x.data if sparse.issparse(x) else np.asarray(x).ravel()


def validate_raw(adata: AnnData, keys: DatasetKeys, *, where: str, min_cells_per_system: int = 50) -> None:
    """Raise :class:`DataError` (message starts with ``where``) unless ``adata`` is a usable raw dataset.

    Checks: obs keys present, at least two systems, each with ``min_cells_per_system`` cells,
    unique cell and gene names, and counts that are finite, non-negative integers.
    """
    for field_name, key in [("system_key", keys.system_key), ("label_key", keys.label_key)] + [
        ("covariate_keys", k) for k in keys.covariate_keys
    ] + ([("sample_key", keys.sample_key)] if keys.sample_key else []):
        if key not in adata.obs:
            raise DataError(f"{where}: {field_name} {key!r} is not a column of obs (columns: {list(adata.obs.columns)})")
        if adata.obs[key].isna().any():
            raise DataError(f"{where}: obs[{key!r}] ({field_name}) has missing values")
    if not adata.obs_names.is_unique:
        dup = adata.obs_names[adata.obs_names.duplicated()][:3].tolist()
        raise DataError(f"{where}: duplicate cell names in obs_names, e.g. {dup}")
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()][:3].tolist()
        raise DataError(f"{where}: duplicate gene names in var_names, e.g. {dup}")
    sizes = adata.obs[keys.system_key].astype(str).value_counts()
    if len(sizes) < 2:
        raise DataError(f"{where}: system_key {keys.system_key!r} has a single system {sizes.index.tolist()}; need at least 2")
    small = sizes[sizes < min_cells_per_system]
    if len(small):
        raise DataError(f"{where}: system(s) {small.to_dict()} have fewer than {min_cells_per_system} cells")
    values = _values(adata.X)
    if values.size and not np.all(np.isfinite(values)):
        raise DataError(f"{where}: X has NaN or infinite values; raw counts are required")
    if values.size and values.min() < 0:
        raise DataError(f"{where}: X has negative values; raw counts are required")
    if values.size and not np.all(np.equal(np.mod(values, 1), 0)):
        raise DataError(f"{where}: X has non-integer values; raw counts are required (is it normalised?)")
