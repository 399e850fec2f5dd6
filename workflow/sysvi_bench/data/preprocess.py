"""Per-dataset preprocessing, as in Hrovatin et al.: QC, counts kept, normalise + log1p, HVGs per system ∩."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from sysvi_bench import contracts as C
from sysvi_bench.data.accounting import Accounting, from_uns
from sysvi_bench.data.validate import MIN_CELLS_PER_SYSTEM, DataError, case_collision_note, cell_labels, system_labels
from sysvi_bench.config import DatasetKeys, schema_defaults

PREPROCESS_REPORT_UNS = "preprocess_report"  # uns key of the report table until the script writes it out


_DEFAULTS = schema_defaults("preprocess")


@dataclass(frozen=True)
class PreprocessParams:
    """A dataset's ``preprocess`` settings; defaults are the schema's (``$defs/preprocess``)."""

    min_cells_per_gene: int = _DEFAULTS["min_cells_per_gene"]
    min_genes_per_cell: int = _DEFAULTS["min_genes_per_cell"]
    n_hvg: int = _DEFAULTS["n_hvg"]
    hvg_flavor: str = _DEFAULTS["hvg_flavor"]
    target_sum: float = _DEFAULTS["target_sum"]
    n_pcs: int = _DEFAULTS["n_pcs"]
    # fewer cells than this in a label breaks label metrics (silhouette, isolated labels)
    min_cells_per_label: int = _DEFAULTS["min_cells_per_label"]
    seed: int = _DEFAULTS["seed"]
    # a QC filter removing more than this fraction of a system's cells is flagged
    max_qc_loss: float = _DEFAULTS["max_qc_loss"]


def hvg_per_system(adata: AnnData, params: PreprocessParams) -> dict[str, set[str]]:
    """Highly variable genes of each system (sample as batch key within a system), on log-normalised X."""
    import scanpy as sc

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


def qc_notes(before: pd.Series, after: pd.Series, *, what: str, setting: str, max_loss: float) -> dict[str, str]:
    """Per system, a note when a QC filter removed more than ``max_loss`` of its cells, naming the setting."""
    notes = {}
    for system, n_before in before.items():
        lost = int(n_before - after.get(system, 0))
        if n_before and lost / n_before > max_loss:
            notes[system] = (f"removed {lost} of {n_before} cells ({lost / n_before:.0%}) {what}: more than "
                             f"preprocess.max_qc_loss={max_loss:g}; lower preprocess.{setting} if this is not intended")
    return notes


def check_system_sizes(before: pd.Series, after: pd.Series, params: PreprocessParams, *, where: str,
                       min_cells_per_system: int) -> None:
    """Refuse a system left with fewer than ``min_cells_per_system`` cells after QC (its counts and the settings)."""
    small = {s: (int(n), int(after.get(s, 0))) for s, n in before.items() if after.get(s, 0) < min_cells_per_system}
    if small:
        detail = ", ".join(f"{s!r}: {b} cells before QC, {a} after" for s, (b, a) in small.items())
        raise DataError(
            f"{where}: system(s) left with fewer than min_cells_per_system={min_cells_per_system} cells after QC "
            f"({detail}); lower preprocess.min_genes_per_cell (now {params.min_genes_per_cell}) or "
            f"{where}.min_cells_per_system"
        )


def check_labels(labels: pd.Series, systems: pd.Series, keys: DatasetKeys, params: PreprocessParams, *, where: str) -> None:
    """Refuse labels that cannot be scored; unlabelled (missing) labels are ignored.

    Refused: a label with fewer than ``min_cells_per_label`` cells; fewer than 2 labels; no label found in two
    systems (cross-system label metrics would be meaningless).
    """
    labelled = labels.notna().to_numpy()
    sizes = labels[labelled].value_counts()
    sizes = sizes[sizes > 0]
    rare = sizes[sizes < params.min_cells_per_label]
    if len(rare):
        raise DataError(
            f"{where}: label_key {keys.label_key!r} has label(s) {rare.to_dict()} with fewer than "
            f"preprocess.min_cells_per_label={params.min_cells_per_label} cells after QC; merge or remove them, "
            f"or list them under {where}.unlabeled"
        )
    if len(sizes) < 2:
        raise DataError(
            f"{where}: too few labelled cells to score: {int(labelled.sum())} labelled cells in {len(sizes)} label(s) "
            f"{sizes.to_dict()} after QC ({int((~labelled).sum())} unlabelled); label-based metrics need at least "
            f"2 labels with >= preprocess.min_cells_per_label={params.min_cells_per_label} cells (check label_key "
            f"{keys.label_key!r} and unlabeled)"
        )
    per_system = {str(s): sorted(set(labels[labelled & (systems == s).to_numpy()].astype(str)))
                  for s in sorted(systems.unique())}
    counts = pd.Series([label for values in per_system.values() for label in values]).value_counts()
    if not (counts >= 2).any():
        raise DataError(
            f"{where}: label_key {keys.label_key!r}: no label is shared by two systems, so labels cannot be compared "
            f"across systems; harmonise the label names (labels per system: {per_system})"
        )


def keep_user_columns(adata: AnnData, keys: DatasetKeys) -> dict[str, str]:
    """Rename the user's obs columns that preprocessing would overwrite (:data:`contracts.PIPELINE_OBS`; not the
    configured system or label column, which the pipeline's own copy replaces in the same role) to
    ``user_<name>``; returns old -> new names. Configured keys of such names are refused at start-up."""
    same_role = keys.pipeline_columns_in_their_role()
    kept = {col: C.USER_COLUMN_PREFIX + col for col in C.PIPELINE_OBS if col in adata.obs and col not in same_role}
    if kept:
        adata.obs = adata.obs.rename(columns=kept)
    return kept


def label_spelling_note(labels: pd.Series, systems: pd.Series) -> str:
    """A warning about labels of different systems that differ only by case or spaces (``Beta`` and ``beta ``),
    or "" if none do: they are scored as different cell types."""
    spellings = pd.DataFrame({"label": labels.astype(str), "system": systems.astype(str)})[labels.notna().to_numpy()]
    spellings = spellings.drop_duplicates()
    spellings["key"] = spellings["label"].str.casefold().str.replace(r"\s+", "", regex=True)
    clashes = [sorted(set(group["label"])) for _, group in spellings.groupby("key")
               if group["label"].nunique() > 1 and group["system"].nunique() > 1]
    if not clashes:
        return ""
    return (f"{len(clashes)} cell-type label(s) differ across systems only by case or spaces, e.g. {clashes[:3]}: they "
            "are scored as different cell types; harmonise them if they are the same")


def preprocess(
    adata: AnnData, keys: DatasetKeys, params: PreprocessParams, *, where: str, copy: bool = True,
    min_cells_per_system: int = MIN_CELLS_PER_SYSTEM,
) -> AnnData:
    """Return the preprocessed dataset described in :mod:`sysvi_bench.contracts`.

    ``copy=False`` works on ``adata`` itself (left modified): one copy of the counts less at peak,
    for a dataset just read from disk. The accounting (``preprocess_report.tsv``) is returned in
    ``uns["preprocess_report"]``, after the prepare step's rows when ``adata`` has them.

    Raises
    ------
    DataError
        If QC leaves no cells, a system with fewer than ``min_cells_per_system`` cells, unscorable labels
        (see :func:`check_labels`), or the systems share no highly variable gene.
    """
    import scanpy as sc  # here, not at module level: the config check imports PreprocessParams at start-up

    if copy:
        adata = adata.copy()
    kept = keep_user_columns(adata, keys)
    adata.obs[C.SYSTEM] = system_labels(adata.obs, keys).astype("category")
    adata.obs[C.LABEL] = cell_labels(adata.obs, keys)
    sample = adata.obs[keys.sample_key].astype(str) if keys.sample_key else adata.obs[C.SYSTEM].astype(str)
    adata.obs[C.SAMPLE] = (adata.obs[C.SYSTEM].astype(str) + ":" + sample).astype("category")

    report = from_uns(adata) or Accounting()
    adata.uns.pop(C.SOURCE_REPORT_KEY, None)
    collisions = case_collision_note(adata.var_names)
    if collisions:
        print(f"WARNING {where}: {collisions}")
    if not report.rows:  # a raw file without the prepare step's rows
        report.add_dataset("input", adata, adata.obs[C.SYSTEM])
    if collisions:
        report.add("gene_names", C.REPORT_ALL_SYSTEMS, adata.n_obs, adata.n_vars, f"warning: {collisions}")
    if kept:
        note = "; ".join(f"obs column {old!r} kept as {new!r}" for old, new in kept.items())
        report.add("obs_columns", C.REPORT_ALL_SYSTEMS, adata.n_obs, adata.n_vars,
                   f"{note} (its name is one the pipeline writes)")
    labels_note = label_spelling_note(adata.obs[C.LABEL], adata.obs[C.SYSTEM])
    if labels_note:
        print(f"WARNING {where}: {labels_note}")
        report.add("label_names", C.REPORT_ALL_SYSTEMS, adata.n_obs, adata.n_vars, f"warning: {labels_note}")

    before = adata.obs[C.SYSTEM].value_counts()
    sc.pp.filter_cells(adata, min_genes=params.min_genes_per_cell)
    if adata.n_obs == 0:
        raise DataError(f"{where}: no cells left after QC (min_genes_per_cell={params.min_genes_per_cell})")
    after = adata.obs[C.SYSTEM].value_counts()
    notes = qc_notes(before, after, what=f"with fewer than {params.min_genes_per_cell} genes",
                     setting="min_genes_per_cell", max_loss=params.max_qc_loss)
    report.add_dataset("min_genes_per_cell", adata, adata.obs[C.SYSTEM], notes=notes,
                       note=f"removed {int(before.sum() - after.sum())} cells with fewer than {params.min_genes_per_cell} genes")
    for note in notes.values():
        print(f"WARNING {where}: {note}")
    check_system_sizes(before, after, params, where=where, min_cells_per_system=min_cells_per_system)
    n_genes = adata.n_vars
    sc.pp.filter_genes(adata, min_cells=params.min_cells_per_gene)
    if adata.n_vars == 0:
        raise DataError(f"{where}: no genes left after QC (min_cells_per_gene={params.min_cells_per_gene})")
    report.add_dataset("min_cells_per_gene", adata, adata.obs[C.SYSTEM],
                       note=f"removed {n_genes - adata.n_vars} genes in fewer than {params.min_cells_per_gene} cells")
    for col in (C.SYSTEM, C.LABEL, C.SAMPLE):
        adata.obs[col] = adata.obs[col].cat.remove_unused_categories()
    if adata.obs[C.SYSTEM].nunique() < 2:
        raise DataError(f"{where}: fewer than 2 systems left after QC")
    check_labels(adata.obs[C.LABEL], adata.obs[C.SYSTEM].astype(str), keys, params, where=where)

    # Normalised expression is made in an AnnData of its own (X only): HVG selection and the gene subset
    # below then never copy the counts and the normalised values together (peak memory: see benchmarks/).
    normalised = AnnData(adata.X.copy(), obs=adata.obs[[C.SYSTEM, C.SAMPLE]], var=pd.DataFrame(index=adata.var_names))
    # normalize_total with a fixed target_sum scales each cell on its own, so doing it once is the
    # same as doing it per system (what the paper does); HVGs, which do depend on the system, are per system.
    sc.pp.normalize_total(normalised, target_sum=params.target_sum)
    sc.pp.log1p(normalised)

    per_system = hvg_per_system(normalised, params)
    sizes = adata.obs[C.SYSTEM].value_counts()
    for system, genes in per_system.items():
        report.add("hvg", system, sizes[system], len(genes), f"{params.hvg_flavor} highly variable genes of this system")
    shared = set.intersection(*per_system.values())
    if not shared:
        sizes = {k: len(v) for k, v in per_system.items()}
        raise DataError(f"{where}: the systems share no highly variable gene (HVGs per system: {sizes}); raise n_hvg")
    report.add("hvg_intersection", C.REPORT_ALL_SYSTEMS, adata.n_obs, len(shared),
               f"genes highly variable in every system (union: {len(set.union(*per_system.values()))})")
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
    n_unlabeled = int(adata.obs[C.LABEL].isna().sum())
    adata.uns["preprocess"] = {**asdict(params), "n_hvg_per_system": {k: len(v) for k, v in per_system.items()},
                               C.N_UNLABELED_KEY: n_unlabeled}
    unlabeled = adata.obs[C.LABEL].isna().groupby(adata.obs[C.SYSTEM], observed=True).sum()
    report.add_dataset(
        "output", adata, adata.obs[C.SYSTEM],
        notes={s: f"{int(n)} unlabelled cells" for s, n in unlabeled.items() if n},
        note=(f"{n_pcs} PCs; {n_unlabeled} unlabelled cells (kept for training and label-free metrics)"
              if n_unlabeled else f"{n_pcs} PCs"),
    )
    adata.uns[PREPROCESS_REPORT_UNS] = report.frame()
    print(f"{where}: cells and genes per step (preprocess_report.tsv)\n{report.summary()}")
    return adata
