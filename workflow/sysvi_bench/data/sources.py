"""Reading users' h5ad files: counts from X or a layer, rounding, gene names from a var column, one file per
system joined over shared genes or one-to-one orthologs.

Every source that reads an h5ad (``h5ad``, ``url``, ``manual``, ``per_system`` and the built-in demo) goes
through :func:`counts_matrix`; every multi-file source (``per_system`` and the demo) through
:func:`combine_systems`. Each step records what it removed in an :class:`~sysvi_bench.data.accounting.Accounting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import anndata as ad
import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.data.accounting import Accounting
from sysvi_bench.io import table_separator
from sysvi_bench.data.validate import DataError, case_collision_note, check_unique_names, count_problem, unnamed_genes

# counts: round refuses data where at least this fraction of the non-zero values are not integers: they look
# normalised (log1p or CPM), not like counts that only need rounding (e.g. ambient-corrected counts)
ROUND_MAX_CHANGED = 0.9
COUNTS_INTEGER = "integer"
COUNTS_ROUND = "round"
MATRIX_OPTION_NAMES = ("layer", "counts", "gene_key")
SOURCE_VAR_NAME = "source_var_name"  # var column keeping the former var_names when gene_key renames genes


@dataclass(frozen=True)
class MatrixOptions:
    """How counts and gene names are read from one h5ad (the source options ``layer``, ``counts``, ``gene_key``)."""

    layer: str | None = None
    counts: str = COUNTS_INTEGER
    gene_key: str | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], defaults: "MatrixOptions | None" = None) -> "MatrixOptions":
        """Options given in ``cfg``; those not given there come from ``defaults``."""
        base = defaults or cls()
        return cls(**{name: cfg.get(name, getattr(base, name)) for name in MATRIX_OPTION_NAMES})


@dataclass(frozen=True)
class OrthologSpec:
    """A cross-species gene table: each system's gene-name column, whose names the result keeps, row filter."""

    table: pd.DataFrame
    columns: Mapping[str, str]
    keep: str
    filter: Mapping[str, Any] = field(default_factory=dict)


def read_user_h5ad(path: Path | str, *, where: str) -> AnnData:
    """Read a user's h5ad, turning a missing or unreadable file into a :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{where}: file {str(path)!r} does not exist")
    try:
        return ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for corrupt or foreign files
        raise DataError(f"{where}: {str(path)!r} is not a readable AnnData (.h5ad) file: {exc}") from exc


# Gene tables are text: only empty cells are missing (a gene may be called "NA" or "null")
TABLE_READ_OPTIONS: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}


def read_gene_table(path: Path | str, *, where: str) -> pd.DataFrame:
    """Read a CSV or TSV gene table (see :func:`table_separator`) as text."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{where}: file {str(path)!r} does not exist")
    return pd.read_csv(path, sep=table_separator(path.name), **TABLE_READ_OPTIONS)


def integer_layers(adata: AnnData) -> list[str]:
    """Layers of ``adata`` that hold finite, non-negative integers (candidates for ``layer``)."""
    return [name for name in adata.layers if count_problem(adata.layers[name]) is None]


def round_counts(x) -> tuple[Any, float]:
    """Round to the nearest integer; returns the matrix and the fraction of its non-zero values changed."""
    if sparse.issparse(x):
        x = x.tocsr(copy=True)
        values = x.data
    else:
        x = np.array(x, copy=True)
        values = x[x != 0]
    rounded = np.rint(values)
    fraction = float(np.mean(rounded != values)) if values.size else 0.0
    if sparse.issparse(x):
        x.data = rounded
        x.eliminate_zeros()  # values below 0.5 became zeros
    else:
        x = np.rint(x)
    return x, fraction


def _counts_error(adata: AnnData, where_matrix: str, problem: str, options: MatrixOptions, where: str) -> DataError:
    """The refusal of non-count values, naming the alternatives this file offers."""
    hints = []
    candidates = [name for name in integer_layers(adata) if name != options.layer]
    if candidates:
        hints.append(f"integer-valued layer(s) in this file: {candidates} (set source.layer to one of them)")
    if problem == "has non-integer values":
        hints.append("or set source.counts: round to round the values to integers")
    raw = raw_counts_hint(adata)
    if raw:
        hints.insert(0, raw)
    hint = "; ".join(hints) if hints else "put raw counts in X or in a layer (source.layer)"
    normalised = " (is it normalised?)" if problem == "has non-integer values" else ""
    return DataError(f"{where}: {where_matrix} {problem}; raw counts are required{normalised}. {hint}")


def raw_counts_hint(adata: AnnData) -> str:
    """Where ``adata.raw`` holds integer counts, a sentence saying so and how to use them; "" otherwise."""
    if adata.raw is None or count_problem(adata.raw.X) is not None:
        return ""
    return (f"adata.raw.X holds integer counts ({adata.raw.n_vars} genes): store them in a layer, e.g. "
            "adata.layers['counts'] = adata.raw[:, adata.var_names].X (or the whole adata.raw.to_adata()), "
            "and set source.layer")


def rename_genes(adata: AnnData, gene_key: str, *, where: str) -> tuple[AnnData, str]:
    """Gene names from ``var[gene_key]``; returns the renamed data and a note of the genes dropped.

    Genes without a name are dropped; of genes sharing a name the one with the most counts is kept.
    """
    if gene_key not in adata.var:
        raise DataError(f"{where}: gene_key {gene_key!r} is not a column of var (columns: {list(adata.var.columns)})")
    names = adata.var[gene_key].astype(str).str.strip().where(adata.var[gene_key].notna(), "")
    totals = np.asarray(adata.X.sum(axis=0)).ravel()
    order = pd.DataFrame({"name": names.to_numpy(), "total": totals, "pos": np.arange(adata.n_vars)})
    named = order[order["name"] != ""]
    best = named.sort_values(["total", "pos"], ascending=[False, True]).drop_duplicates("name")
    keep = np.sort(best["pos"].to_numpy())
    n_unnamed, n_duplicate = adata.n_vars - len(named), len(named) - len(best)
    out = adata[:, keep].copy()
    out.var[SOURCE_VAR_NAME] = out.var_names.to_numpy()
    out.var_names = names.to_numpy()[keep]
    note = (f"gene names from var[{gene_key!r}]; dropped {n_unnamed} gene(s) without a name and {n_duplicate} "
            "sharing a name with a gene of more counts")
    return out, note


def counts_matrix(adata: AnnData, options: MatrixOptions, *, where: str, system: str, accounting: Accounting) -> AnnData:
    """Raw counts (float32) in ``X`` with unique gene names, as the options say; steps recorded in ``accounting``.

    Only ``X``, ``obs``, ``var`` and ``uns`` are kept (other layers, obsm and varm are left behind).

    Parameters
    ----------
    adata
        The file as read (left unchanged where a copy is needed).
    options
        ``layer`` (counts from ``layers[layer]`` instead of ``X``), ``counts`` (``integer`` refuses
        non-integer values, ``round`` rounds them and records the fraction changed), ``gene_key``.
    where
        Config path of the file, the start of every error message.
    system
        Name of the report rows (the system of a per-system file, ``all`` otherwise).

    Raises
    ------
    DataError
        If the layer or gene column does not exist, or the values are not counts (the message names the
        integer-valued layers of the file and ``counts: round``).
    """
    accounting.add("input", system, adata.n_obs, adata.n_vars, f"read {where}")
    where_matrix = "X"
    if options.layer is not None:
        if options.layer not in adata.layers:
            raise DataError(f"{where}: layer {options.layer!r} is not in the file (layers: {list(adata.layers)})")
        where_matrix = f"layers[{options.layer!r}]"
        x = adata.layers[options.layer]
    else:
        x = adata.X
    problem = count_problem(x)
    note = f"counts from {where_matrix}"
    uns = dict(adata.uns)
    if problem == "has non-integer values" and options.counts == COUNTS_ROUND:
        x, fraction = round_counts(x)
        if fraction >= ROUND_MAX_CHANGED:
            places = "; ".join(filter(None, [raw_counts_hint(adata), (
                f"integer-valued layer(s): {integer_layers(adata)}" if integer_layers(adata) else "")]))
            raise DataError(
                f"{where}: counts: round would change {fraction:.0%} of the non-zero values of {where_matrix}: these "
                "look normalised (e.g. log1p), not counts that only need rounding. "
                + (places if places else "Give the raw counts (X, a layer via source.layer, or adata.raw)"))
        uns["count_rounding"] = {system: fraction}
        note += f"; rounded to integers: {fraction:.2%} of the non-zero values changed (counts: round)"
        print(f"{where}: {system}: rounded {where_matrix} to integers, {fraction:.2%} of the non-zero values changed")
        problem = count_problem(x)
    if problem:
        raise _counts_error(adata, where_matrix, problem, options, where)
    out = AnnData(x.astype(np.float32) if x.dtype != np.float32 else x, obs=adata.obs, var=adata.var, uns=uns)
    if out.n_obs == 0:
        raise DataError(f"{where}: {where_matrix} has 0 cells")
    accounting.add("counts", system, out.n_obs, out.n_vars, note)
    if options.gene_key is not None:
        out, gene_note = rename_genes(out, options.gene_key, where=where)
        accounting.add("gene_key", system, out.n_obs, out.n_vars, gene_note)
    unnamed = unnamed_genes(out.var_names)
    if unnamed.any():
        examples = sorted(set(out.var_names[unnamed].astype(str)))[:3]
        out = out[:, ~unnamed].copy()
        accounting.add("gene_names", system, out.n_obs, out.n_vars,
                       f"dropped {int(unnamed.sum())} gene(s) whose name is empty or missing ({examples}); "
                       "source.gene_key can take names from a var column")
        print(f"WARNING {where}: dropped {int(unnamed.sum())} gene(s) named {examples}")
    if not out.var_names.is_unique:  # a per-system file's genes are matched by name: refuse ambiguity here
        check_unique_names(out, where=where)
    collisions = case_collision_note(out.var_names)
    if collisions:
        print(f"WARNING {where}: {collisions}")
    return out


def one_to_one_pairs(spec: OrthologSpec, genes: Mapping[str, pd.Index], *, where: str) -> tuple[pd.DataFrame, str]:
    """Strict one-to-one gene pairs measured in every system: a table with one column per system.

    Rows are kept where every ``filter`` column equals its value; a gene named in more than one row of the
    (filtered) table is not one-to-one and is dropped; so is a pair with a gene missing from its system's file.
    Returns the pairs (table order) and a note with the counts at each stage.
    """
    missing = sorted(set(spec.columns.values()) - set(spec.table.columns)) + sorted(
        set(spec.filter) - set(spec.table.columns))
    if missing:
        raise DataError(f"{where}: column(s) {missing} are not in the ortholog table (columns: {list(spec.table.columns)})")
    table = spec.table
    for column, wanted in spec.filter.items():
        table = table[table[column].isin([str(v) for v in (wanted if isinstance(wanted, list) else [wanted])])]
    systems = list(genes)
    pairs = table[[spec.columns[s] for s in systems]].dropna()
    pairs.columns = systems
    unique = pairs[~pairs.apply(lambda col: col.duplicated(keep=False)).any(axis=1)]
    measured = unique[np.logical_and.reduce([unique[s].isin(genes[s]) for s in systems])]
    filtered = f", {len(table)} after filter {dict(spec.filter)}" if spec.filter else ""
    note = (f"ortholog table: {len(spec.table)} rows{filtered}, {len(unique)} strict one-to-one, "
            f"{len(measured)} measured in every file")
    if measured.empty:
        raise DataError(f"{where}: no one-to-one orthologs are measured in every file ({note})")
    return measured.reset_index(drop=True), note


def combine_systems(
    parts: Mapping[str, AnnData], system_column: str, *, orthologs: OrthologSpec | None, where: str,
    accounting: Accounting,
) -> AnnData:
    """One AnnData from one file per system: shared genes (or one-to-one orthologs), the system in an obs column.

    Parameters
    ----------
    parts
        System name -> its counts (as :func:`counts_matrix` returns them).
    system_column
        obs column that receives the system name (the dataset's ``system_key``; its first column if several).
    orthologs
        Cross-species mapping; without it the genes are the intersection of the files' gene names.

    Returns
    -------
    AnnData with the genes in the order of the ortholog table (or of the first file); obs columns of all
    files (missing where a file lacks one), the system column first. Cell names are prefixed with
    ``{system}:`` only if two files share a cell name.
    """
    systems = list(parts)
    if orthologs is not None:
        pairs, note = one_to_one_pairs(orthologs, {s: parts[s].var_names for s in systems}, where=where)
        step, genes = "orthologs", {s: pairs[s].to_numpy() for s in systems}
        names = pairs[orthologs.keep].to_numpy()
    else:
        shared = parts[systems[0]].var_names
        for s in systems[1:]:
            shared = shared[shared.isin(parts[s].var_names)]
        if shared.empty:
            raise DataError(f"{where}: the files share no gene name (set source.orthologs to map genes across species)")
        step, note, genes, names = "gene_intersection", f"{len(shared)} gene names shared by every file", {
            s: shared.to_numpy() for s in systems}, shared.to_numpy()
    renamed = []
    for s in systems:
        part = parts[s][:, genes[s]].copy()
        dropped = parts[s].n_vars - part.n_vars
        part.var_names = names
        part.var = pd.DataFrame(index=part.var_names)
        if system_column in part.obs and not (part.obs[system_column].astype(str) == s).all():
            print(f"{where}: {s}: obs[{system_column!r}] is replaced by the file's system name {s!r}")
        obs = part.obs.drop(columns=[system_column], errors="ignore")
        obs.insert(0, system_column, s)
        part.obs = obs
        part.uns = {}
        accounting.add(step, s, part.n_obs, part.n_vars, f"dropped {dropped} gene(s) of this file")
        renamed.append(part)
    names_all = pd.Index(np.concatenate([p.obs_names.to_numpy() for p in renamed]))
    if not names_all.is_unique:
        for s, part in zip(systems, renamed):
            part.obs_names = [f"{s}:{name}" for name in part.obs_names]
        note += f"; cell names prefixed with '{{system}}:' (files share {int(names_all.duplicated().sum())} cell names)"
    adata = ad.concat(renamed, join="outer", merge="same")
    adata.X = adata.X.astype(np.float32)
    rounding = {s: parts[s].uns["count_rounding"][s] for s in systems if "count_rounding" in parts[s].uns}
    if rounding:
        adata.uns["count_rounding"] = rounding
    accounting.add(step, C.REPORT_ALL_SYSTEMS, adata.n_obs, adata.n_vars, note)
    print(f"{where}: {note}")
    return adata


def per_system_options(source: Mapping[str, Any]) -> dict[str, tuple[str, MatrixOptions]]:
    """System -> (path, options) of a ``per_system`` source; a file's own options override the source's."""
    defaults = MatrixOptions.from_config(source)
    files = {}
    for system, entry in source["system_files"].items():
        entry = {"path": entry} if isinstance(entry, str) else entry
        files[str(system)] = (entry["path"], MatrixOptions.from_config(entry, defaults))
    return files


def load_per_system(source: Mapping[str, Any], system_column: str, *, where: str, accounting: Accounting,
                    obs_keys: Mapping[str, str] | None = None) -> AnnData:
    """The ``per_system`` source: read each system's file, then :func:`combine_systems`.

    ``obs_keys``: obs column -> the config field that names it (label, covariates): every file must have them
    (a file without its label column would otherwise join as unlabelled cells).
    """
    parts = {}
    for system, (path, options) in per_system_options(source).items():
        where_file = f"{where}.system_files.{system} ({path})"
        adata = read_user_h5ad(path, where=f"{where}.system_files.{system}")
        missing = {key: field for key, field in (obs_keys or {}).items() if key not in adata.obs}
        if missing:
            detail = ", ".join(f"{field} {key!r}" for key, field in missing.items())
            raise DataError(f"{where_file}: obs has no column {detail} (columns: {list(adata.obs.columns)})")
        parts[system] = counts_matrix(adata, options, where=where_file, system=system, accounting=accounting)
    spec = None
    if source.get("orthologs"):
        cfg = source["orthologs"]
        spec = OrthologSpec(read_gene_table(cfg["path"], where=f"{where}.orthologs.path"), cfg["columns"], cfg["keep"],
                            cfg.get("filter") or {})
    return combine_systems(parts, system_column, orthologs=spec, where=where, accounting=accounting)
