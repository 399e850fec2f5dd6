"""Checks on a raw dataset, run before any expensive step. Each error names the file and field at fault.

Also the two readings of obs that every step shares: the system label (one column, or several joined with
:data:`sysvi_bench.contracts.SYSTEM_SEPARATOR`) and the cell-type label (missing for unlabelled cells).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys, schema_defaults

# datasets.<name>.min_cells_per_system: checked on the raw data and again after QC
MIN_CELLS_PER_SYSTEM = schema_defaults("dataset")["min_cells_per_system"]


class DataError(ValueError):
    """A dataset that cannot be benchmarked as given."""


def _values(x) -> np.ndarray:
    return x.data if sparse.issparse(x) else np.asarray(x).ravel()


def count_problem(x) -> str | None:
    """What makes ``x`` unusable as raw counts (``"has negative values"``, ...), or None if it is usable."""
    values = _values(x)
    if not values.size:
        return None
    if not np.all(np.isfinite(values)):
        return "has NaN or infinite values"
    if values.min() < 0:
        return "has negative values"
    if not np.all(np.equal(np.mod(values, 1), 0)):
        return "has non-integer values"
    return None


def system_labels(obs: pd.DataFrame, keys: DatasetKeys) -> pd.Series:
    """The system of each cell as text: the ``system_key`` column, or its columns joined with ``+``."""
    columns = keys.system_columns
    labels = obs[columns[0]].astype(str)
    for column in columns[1:]:
        labels = labels + C.SYSTEM_SEPARATOR + obs[column].astype(str)
    return labels


def unlabeled_mask(values: pd.Series, unlabeled: tuple[str, ...] = ()) -> np.ndarray:
    """Cells without a label: missing (NaN/None), empty or blank text, or one of the ``unlabeled`` values."""
    text = values.astype(str).str.strip()
    return (values.isna() | (text == "") | text.isin(list(unlabeled))).to_numpy()


def cell_labels(obs: pd.DataFrame, keys: DatasetKeys) -> pd.Categorical:
    """The label of each cell as a categorical of text, missing (NaN) for unlabelled cells."""
    values = obs[keys.label_key]
    text = values.astype(str).where(~unlabeled_mask(values, keys.unlabeled))
    return pd.Categorical(text.to_numpy())


def case_collisions(names: pd.Index, limit: int = 5) -> list[list[str]]:
    """Groups of gene names that differ only in case (``Ins1`` and ``INS1``), at most ``limit`` of them."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names.astype(str):
        groups[name.casefold()].append(name)
    clashes = [group for group in groups.values() if len(group) > 1]
    return clashes[:limit] if limit else clashes


def case_collision_note(names: pd.Index) -> str:
    """A warning about gene names that collide after case folding, or "" if none do."""
    clashes = case_collisions(names, limit=0)
    if not clashes:
        return ""
    return (f"{len(clashes)} gene name(s) collide after case folding, e.g. {clashes[:3]}: check that gene names "
            "follow one convention (human symbols are upper case, mouse symbols capitalised)")


def check_obs_keys(adata: AnnData, keys: DatasetKeys, *, where: str) -> None:
    """Raise :class:`DataError` unless every configured obs key is a column; only the label may have gaps."""
    named = [("system_key", k) for k in keys.system_columns] + [("label_key", keys.label_key)] + [
        ("covariate_keys", k) for k in keys.covariate_keys
    ] + ([("sample_key", keys.sample_key)] if keys.sample_key else [])
    for field_name, key in named:
        if key not in adata.obs:
            raise DataError(f"{where}: {field_name} {key!r} is not a column of obs (columns: {list(adata.obs.columns)})")
        if field_name != "label_key" and adata.obs[key].isna().any():
            raise DataError(f"{where}: obs[{key!r}] ({field_name}) has missing values")


# gene names that mean "no name" (what pandas and R write for a missing value)
MISSING_NAMES = ("", "nan", "none", "null", "na")


def unnamed_genes(names: pd.Index) -> np.ndarray:
    """Genes whose name is empty or a missing-value marker (``"nan"``, ``"None"``, ...)."""
    return names.astype(str).str.strip().str.lower().isin(MISSING_NAMES)


def check_unique_names(adata: AnnData, *, where: str) -> None:
    """Raise :class:`DataError` if two cells or two genes share a name (a few examples named)."""
    if not adata.obs_names.is_unique:
        dup = adata.obs_names[adata.obs_names.duplicated()][:3].tolist()
        raise DataError(f"{where}: duplicate cell names in obs_names, e.g. {dup}")
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()][:3].tolist()
        raise DataError(f"{where}: duplicate gene names in var_names, e.g. {dup} (source.gene_key can take the "
                        "names from a var column of unique names)")


def validate_raw(adata: AnnData, keys: DatasetKeys, *, where: str, min_cells_per_system: int = MIN_CELLS_PER_SYSTEM) -> None:
    """Raise :class:`DataError` (message starts with ``where``) unless ``adata`` is a usable raw dataset.

    Checks: obs keys present (missing labels are allowed: unlabelled cells), at least two systems, each
    with ``min_cells_per_system`` cells, unique cell and gene names, and counts that are finite,
    non-negative integers.
    """
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise DataError(f"{where}: the data have {adata.n_obs} cells and {adata.n_vars} genes; nothing to benchmark")
    check_obs_keys(adata, keys, where=where)
    check_unique_names(adata, where=where)
    sizes = system_labels(adata.obs, keys).value_counts()
    if len(sizes) < 2:
        raise DataError(f"{where}: system_key {keys.system_key!r} has a single system {sizes.index.tolist()}; need at least 2")
    small = sizes[sizes < min_cells_per_system]
    if len(small):
        raise DataError(f"{where}: system(s) {small.to_dict()} have fewer than min_cells_per_system="
                        f"{min_cells_per_system} cells (lower {where}.min_cells_per_system to keep them)")
    problem = count_problem(adata.X)
    if problem:
        hint = " (is it normalised?)" if problem == "has non-integer values" else ""
        raise DataError(f"{where}: X {problem}; raw counts are required{hint}")
