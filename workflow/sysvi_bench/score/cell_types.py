"""Which cell types an embedding mixes across systems, and how well labels transfer between systems.

Small pure functions on arrays, composed by :func:`cell_type_metrics` (called by
:mod:`sysvi_bench.score.suite` for each embedding variant, on the variant's one evaluation k-NN graph):

* :func:`cross_system_mixing` -- per (system, cell type) and other system: of a cell's neighbours from that
  other system, the fraction carrying each label (``cell_type_mixing.tsv``);
* :func:`cross_system_same_type` -- metric ``cross_system_same_type``: the mean, over the labelled cells
  whose type also occurs in another system and that have at least one neighbour from such a system, of the
  share of those cross-system neighbours that carry the cell's own label;
* :func:`label_transfer` -- metric ``label_transfer_f1``: a scikit-learn k-NN classifier trained on one
  system's cells predicts every other system's cells (each ordered pair); macro-F1 over the labels present
  in both, mean over pairs; per-label F1 in ``label_transfer.tsv``.

The mixing quantities read the k-NN graph the run is already scored on (self is its own first neighbour and
is never a cross-system neighbour); no second neighbour search is made. Label transfer trains a classifier
on one system's cells only, which is a different neighbour search by definition (the neighbours must come
from the reference system), as a user mapping a query onto an annotated reference does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

MIXING_COLUMNS = ["system", "cell_type", "other_system", "other_cell_type", "fraction"]
LABEL_TRANSFER_COLUMNS = ["reference_system", "query_system", "cell_type", "f1", "n_reference_cells",
                          "n_query_cells", "scored", "note"]
# k of the label-transfer classifier: the neighbourhood size scanpy and scArches-style k-NN label transfer
# commonly use (not the evaluation graph's 90, which would blur small cell types).
LABEL_TRANSFER_K = 15


def _codes(values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the sorted category names of ``values`` (strings)."""
    cat = pd.Categorical(np.asarray(values).astype(str))
    return np.asarray(cat.codes, dtype=np.int64), np.asarray(cat.categories, dtype=object)


def _types_per_system(system: np.ndarray, label: np.ndarray, n_systems: int, n_labels: int) -> np.ndarray:
    """Boolean (systems x labels): which labels occur in which system."""
    present = np.zeros((n_systems, n_labels), dtype=bool)
    present[system, label] = True
    return present


def cross_system_mixing(indices: np.ndarray, systems: ArrayLike, labels: ArrayLike) -> pd.DataFrame:
    """Cell-type mixing table of a k-NN graph.

    Parameters
    ----------
    indices
        k-NN indices (cells x k) into ``systems``/``labels`` (a cell may be its own neighbour).
    systems, labels
        System and cell type of every cell of the graph (all labelled).

    Returns
    -------
    DataFrame with :data:`MIXING_COLUMNS` and ``n_cells``: for each system, cell type and other system,
    the mean over the cells of that type with at least one neighbour from the other system (``n_cells`` of
    them) of the fraction of those neighbours carrying ``other_cell_type``. The fractions of one
    (system, cell_type, other_system) sum to 1; pairs without any such cell are absent.
    """
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    n, n_labels = len(sys_code), len(lab_names)
    nb_sys, nb_lab = sys_code[indices], lab_code[indices]
    frames = []
    for other in range(len(sys_names)):
        from_other = (nb_sys == other) & (sys_code[:, None] != other)
        # per cell: neighbours from `other` by their label (a weighted bincount over cell x label)
        flat = (np.arange(n)[:, None] * n_labels + nb_lab)[from_other]
        counts = np.bincount(flat, minlength=n * n_labels).reshape(n, n_labels).astype(float)
        total = counts.sum(axis=1)
        has = total > 0
        if not has.any():
            continue
        frac = pd.DataFrame(counts[has] / total[has, None], columns=lab_names)
        frac["system"] = sys_names[sys_code[has]]
        frac["cell_type"] = lab_names[lab_code[has]]
        grouped = frac.groupby(["system", "cell_type"], observed=True)
        mean = grouped[list(lab_names)].mean()
        mean["n_cells"] = grouped.size()
        long = mean.reset_index().melt(id_vars=["system", "cell_type", "n_cells"], var_name="other_cell_type",
                                       value_name="fraction")
        frames.append(long.assign(other_system=sys_names[other]))
    if not frames:
        return pd.DataFrame(columns=[*MIXING_COLUMNS, "n_cells"])
    table = pd.concat(frames, ignore_index=True)[[*MIXING_COLUMNS, "n_cells"]]
    return table.sort_values(["system", "cell_type", "other_system", "other_cell_type"], ignore_index=True)


def _same_type_shares(indices: np.ndarray, systems: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the share of same-label neighbours among its eligible cross-system neighbours (neighbours
    from another system in which the cell's label occurs), and whether the cell has any."""
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    present = _types_per_system(sys_code, lab_code, len(sys_names), len(lab_names))
    nb_sys, nb_lab = sys_code[indices], lab_code[indices]
    eligible = (nb_sys != sys_code[:, None]) & present[nb_sys, lab_code[:, None]]
    n_eligible = eligible.sum(axis=1)
    same = (eligible & (nb_lab == lab_code[:, None])).sum(axis=1)
    has = n_eligible > 0
    return np.where(has, same / np.maximum(n_eligible, 1), np.nan), has


def cross_system_same_type(indices: np.ndarray, systems: ArrayLike, labels: ArrayLike) -> float:
    """Metric ``cross_system_same_type`` (bio, higher is better; 1 = every cross-system neighbour is of the
    cell's own type).

    The mean, over cells whose type also occurs in another system and that have at least one neighbour from
    such a system, of the share of those neighbours carrying the cell's own label. Cells without such a
    neighbour are left out: they say nothing about *which* types are mixed (how much the systems mix is what
    the iLISI metrics measure); cells of a type found in one system only are left out, since no neighbour
    from another system can share their label. NaN (``ValueError``) when no cell qualifies.
    """
    shares, has = _same_type_shares(indices, systems, labels)
    if not has.any():
        raise ValueError("no cell has a neighbour from another system containing its cell type")
    return float(np.nanmean(shares))


def chance_same_type(systems: ArrayLike, labels: ArrayLike) -> float:
    """The value of :func:`cross_system_same_type` expected from neighbours drawn at random: per cell, the
    frequency of its label among the cells of the other systems in which the label occurs, averaged over the
    cells whose label occurs in another system."""
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    counts = np.zeros((len(sys_names), len(lab_names)))
    np.add.at(counts, (sys_code, lab_code), 1)
    present = counts > 0
    shares = []
    for s, t in zip(sys_code, lab_code):
        others = present[:, t] & (np.arange(len(sys_names)) != s)
        if others.any():
            shares.append(counts[others, t].sum() / counts[others].sum())
    return float(np.mean(shares)) if shares else float("nan")


def label_transfer(
    x: np.ndarray, systems: ArrayLike, labels: ArrayLike, n_neighbors: int = LABEL_TRANSFER_K
) -> tuple[float, pd.DataFrame]:
    """k-NN label transfer between every ordered pair of systems (scikit-learn ``KNeighborsClassifier``,
    ``f1_score``).

    For a pair (reference, query), a classifier fitted on the reference system's cells predicts the query
    system's cells whose label occurs in the reference; F1 is computed per label present in both systems and
    averaged (macro-F1). Labels found in only one of the two systems are not scored but listed
    (``scored`` False, ``note`` says where they occur).

    Returns
    -------
    The mean macro-F1 over the pairs with a shared label (metric ``label_transfer_f1``; NaN if no pair
    shares a label), and the per-label table (:data:`LABEL_TRANSFER_COLUMNS`).
    """
    from sklearn.metrics import f1_score
    from sklearn.neighbors import KNeighborsClassifier

    systems = np.asarray(systems).astype(str)
    labels = np.asarray(labels).astype(str)
    rows, macro = [], []
    for ref in sorted(set(systems)):
        for query in sorted(set(systems) - {ref}):
            in_ref, in_query = systems == ref, systems == query
            ref_types, query_types = set(labels[in_ref]), set(labels[in_query])
            shared = sorted(ref_types & query_types)
            scored_query = in_query & np.isin(labels, shared)
            f1 = np.array([])
            if shared:
                # brute force (exact): at 96k cells x 15 dims 9 s per pair vs 32 s with the k-d tree that
                # "auto" picks (measured, 2 threads)
                clf = KNeighborsClassifier(n_neighbors=min(n_neighbors, int(in_ref.sum())), algorithm="brute")
                predicted = clf.fit(x[in_ref], labels[in_ref]).predict(x[scored_query])
                f1 = f1_score(labels[scored_query], predicted, labels=shared, average=None, zero_division=0)
                macro.append(float(np.mean(f1)))
            f1_of = dict(zip(shared, f1))
            for cell_type in sorted(ref_types | query_types):
                only = ref if cell_type not in query_types else query if cell_type not in ref_types else None
                rows.append({
                    "reference_system": ref, "query_system": query, "cell_type": cell_type,
                    "f1": f1_of.get(cell_type, np.nan),
                    "n_reference_cells": int((in_ref & (labels == cell_type)).sum()),
                    "n_query_cells": int((in_query & (labels == cell_type)).sum()),
                    "scored": only is None, "note": f"only in {only}" if only else "",
                })
    return (float(np.mean(macro)) if macro else float("nan")), pd.DataFrame(rows, columns=LABEL_TRANSFER_COLUMNS)


@dataclass
class CellTypeResult:
    """The two metrics of one embedding and their per-cell-type tables (NaN metrics carry a reason)."""

    values: dict[str, float]
    reasons: dict[str, str]
    mixing: pd.DataFrame
    transfer: pd.DataFrame


def cell_type_metrics(x: np.ndarray, indices: np.ndarray, systems: ArrayLike, labels: ArrayLike) -> CellTypeResult:
    """Both metrics and tables of one embedding ``x`` with its evaluation k-NN ``indices`` (labelled cells).

    A metric that cannot be computed is NaN with its error in ``reasons``; the other is kept.
    """
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    mixing = cross_system_mixing(indices, systems, labels)
    try:
        values["cross_system_same_type"] = cross_system_same_type(indices, systems, labels)
    except ValueError as exc:
        values["cross_system_same_type"], reasons["cross_system_same_type"] = float("nan"), f"ValueError: {exc}"
    values["label_transfer_f1"], transfer = label_transfer(x, systems, labels)
    if np.isnan(values["label_transfer_f1"]):
        reasons["label_transfer_f1"] = "no pair of systems shares a cell type"
    return CellTypeResult(values, reasons, mixing, transfer)
