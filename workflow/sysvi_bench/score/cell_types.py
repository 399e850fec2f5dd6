"""Which cell types an embedding mixes across systems, and how well labels transfer between systems.

Small pure functions on arrays, composed by :func:`cell_type_metrics` (called by
:mod:`sysvi_bench.score.suite` for each embedding variant, on the variant's one evaluation k-NN graph):

* :func:`cross_system_mixing` -- per (system, cell type) and other system: of a cell's counted neighbours
  from that other system, the fraction carrying each label (``cell_type_mixing.tsv``);
* :func:`cross_system_same_type` -- metric ``cross_system_same_type``: the mean, over the labelled cells of
  scored types with at least one counted cross-system neighbour, of the share of those neighbours that carry
  the cell's own label;
* :func:`label_transfer` -- metric ``label_transfer_f1``: a k-NN classifier (:func:`windowed_knn_predict`)
  trained on one system's cells predicts every other system's cells (each ordered pair); macro-F1 over the
  scored labels, mean over pairs; per-label F1 in ``label_transfer.tsv``.

**Rare cell types.** Both metrics must reach 1 on an embedding that knows only the cell type (the
``celltype`` control) whatever the types' sizes, or their ceiling depends on how many rare types a dataset
has. A neighbourhood of k cells cannot be filled with a type that has fewer than k cells in the system the
neighbours come from, so each type is judged on a neighbourhood bounded by its own size there:

* mixing: of a cell's neighbours from another system ``o``, only the nearest ``n(type, o)`` count (all
  neighbours from ``o`` when the type is absent there, for the table);
* label transfer: type ``t`` is judged on the ``min(k, n(t, reference))`` nearest reference cells
  (:func:`windowed_knn_predict`); with no type smaller than k this is exactly the uniform k-NN vote.

Both only shrink neighbourhoods for types smaller than the neighbourhood, so values on types of at least k
cells are unchanged, and random neighbours still score the label frequencies (the chance level). A type
with fewer than :data:`MIN_TYPE_CELLS` cells in either system of a pair is **not scored** for that pair
(``scored`` false with the reason in ``note``): its score would rest on one or two cells while a macro mean
weighs it like the largest type; it is never scored 0 and is left out of the means.

The mixing quantities read the k-NN graph the run is already scored on (its rows in order of distance; self
is its own first neighbour and is never a cross-system neighbour); no second neighbour search is made. Label
transfer searches neighbours among one system's cells only, which is a different neighbour search by
definition (the neighbours must come from the reference system), as a user mapping a query onto an
annotated reference does.
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
# A cell type is scored for a pair of systems only with at least this many cells in each: below it, its
# per-type score rests on one or two cells (the demo's Schwann cells: 2 human, 6 mouse).
MIN_TYPE_CELLS = 3


def _codes(values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the sorted category names of ``values`` (strings)."""
    cat = pd.Categorical(np.asarray(values).astype(str))
    return np.asarray(cat.codes, dtype=np.int64), np.asarray(cat.categories, dtype=object)


def _type_counts(sys_code: np.ndarray, lab_code: np.ndarray, n_systems: int, n_labels: int) -> np.ndarray:
    """Cells per system and label (systems x labels)."""
    counts = np.zeros((n_systems, n_labels), dtype=np.int64)
    np.add.at(counts, (sys_code, lab_code), 1)
    return counts


def unscored_reason(cells_per_system: dict[str, int], min_cells: int = MIN_TYPE_CELLS) -> str:
    """Why a cell type is not scored for a pair of systems (``cells_per_system``: its cells in each of the
    two), or ``""`` when it is: ``"only in <system>"``, or ``"fewer than <min_cells> cells in <system> (<n>)"``."""
    present = [s for s, n in cells_per_system.items() if n > 0]
    if len(present) < len(cells_per_system):
        return f"only in {present[0]}" if present else "in neither system"
    small = [f"{s} ({n})" for s, n in cells_per_system.items() if n < min_cells]
    return f"fewer than {min_cells} cells in {' and '.join(small)}" if small else ""


def _counted_from(nb_sys: np.ndarray, sys_code: np.ndarray, window: np.ndarray, other: int) -> np.ndarray:
    """Mask (cells x k) of the neighbours from system ``other`` that count for each cell of another system:
    the nearest ``window[cell]`` of them (rows of ``nb_sys`` are in order of distance)."""
    from_other = (nb_sys == other) & (sys_code[:, None] != other)
    rank = np.cumsum(from_other, axis=1)  # 1-based rank among the row's neighbours from `other`
    return from_other & (rank <= window[:, None])


def cross_system_mixing(
    indices: np.ndarray, systems: ArrayLike, labels: ArrayLike, min_cells: int = MIN_TYPE_CELLS
) -> pd.DataFrame:
    """Cell-type mixing table of a k-NN graph.

    Parameters
    ----------
    indices
        k-NN indices (cells x k) into ``systems``/``labels``, each row in order of distance (a cell may be its
        own neighbour).
    systems, labels
        System and cell type of every cell of the graph (all labelled).
    min_cells
        Types with fewer cells in either system of a pair are listed with ``scored`` false.

    Returns
    -------
    DataFrame with :data:`MIXING_COLUMNS`, ``n_cells``, ``scored`` and ``note``: for each system, cell type
    and other system, the mean over the cells of that type with at least one neighbour from the other system
    (``n_cells`` of them) of the fraction of their counted neighbours from it carrying ``other_cell_type``.
    Counted: the nearest ``n`` neighbours from the other system when it has ``n`` cells of the type (a
    neighbourhood cannot hold more of them), all of them when it has none. The fractions of one
    (system, cell_type, other_system) sum to 1; pairs without any such cell are absent. ``scored``: whether
    the row's cells enter :func:`cross_system_same_type`; ``note``: why not (:func:`unscored_reason`).
    """
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    n, n_labels = len(sys_code), len(lab_names)
    counts = _type_counts(sys_code, lab_code, len(sys_names), n_labels)
    nb_sys, nb_lab = sys_code[indices], lab_code[indices]
    frames = []
    for other in range(len(sys_names)):
        window = counts[other, lab_code]
        counted = _counted_from(nb_sys, sys_code, np.where(window > 0, window, indices.shape[1]), other)
        # per cell: counted neighbours by their label (a bincount over cell x label)
        flat = (np.arange(n)[:, None] * n_labels + nb_lab)[counted]
        per_label = np.bincount(flat, minlength=n * n_labels).reshape(n, n_labels).astype(float)
        total = per_label.sum(axis=1)
        has = total > 0
        if not has.any():
            continue
        frac = pd.DataFrame(per_label[has] / total[has, None], columns=lab_names)
        frac["system"] = sys_names[sys_code[has]]
        frac["cell_type"] = lab_names[lab_code[has]]
        grouped = frac.groupby(["system", "cell_type"], observed=True)
        mean = grouped[list(lab_names)].mean()
        mean["n_cells"] = grouped.size()
        long = mean.reset_index().melt(id_vars=["system", "cell_type", "n_cells"], var_name="other_cell_type",
                                       value_name="fraction")
        frames.append(long.assign(other_system=sys_names[other]))
    columns = [*MIXING_COLUMNS, "n_cells", "scored", "note"]
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True)
    sys_index = {name: i for i, name in enumerate(sys_names)}
    lab_index = {name: i for i, name in enumerate(lab_names)}
    notes = {
        key: unscored_reason({key[0]: counts[sys_index[key[0]], lab_index[key[1]]],
                              key[2]: counts[sys_index[key[2]], lab_index[key[1]]]}, min_cells)
        for key in set(zip(table["system"], table["cell_type"], table["other_system"]))
    }
    table["note"] = [notes[key] for key in zip(table["system"], table["cell_type"], table["other_system"])]
    table["scored"] = table["note"] == ""
    return table[columns].sort_values(["system", "cell_type", "other_system", "other_cell_type"], ignore_index=True)


def _same_type_shares(
    indices: np.ndarray, systems: ArrayLike, labels: ArrayLike, min_cells: int = MIN_TYPE_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the share of same-label neighbours among its counted cross-system neighbours, and whether it
    has any. Counted: from each other system ``o`` for which the cell's type is scored (at least
    ``min_cells`` cells of it in both the cell's system and ``o``), the nearest ``n(type, o)``."""
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    counts = _type_counts(sys_code, lab_code, len(sys_names), len(lab_names))
    nb_sys, nb_lab = sys_code[indices], lab_code[indices]
    own_enough = counts[sys_code, lab_code] >= min_cells
    counted = np.zeros(indices.shape, dtype=bool)
    for other in range(len(sys_names)):
        window = np.where(own_enough & (counts[other, lab_code] >= min_cells), counts[other, lab_code], 0)
        counted |= _counted_from(nb_sys, sys_code, window, other)
    n_counted = counted.sum(axis=1)
    same = (counted & (nb_lab == lab_code[:, None])).sum(axis=1)
    has = n_counted > 0
    return np.where(has, same / np.maximum(n_counted, 1), np.nan), has


def cross_system_same_type(
    indices: np.ndarray, systems: ArrayLike, labels: ArrayLike, min_cells: int = MIN_TYPE_CELLS
) -> float:
    """Metric ``cross_system_same_type`` (bio, higher is better; 1 = every counted cross-system neighbour is
    of the cell's own type).

    The mean, over cells that have at least one counted neighbour from another system, of the share of those
    neighbours carrying the cell's own label. Counted: from each other system ``o`` in which the cell's type
    is scored (at least ``min_cells`` cells of it in both systems), the nearest ``n(type, o)`` neighbours
    from ``o``: a neighbourhood cannot hold more cells of the type from ``o`` than ``o`` has, so without this
    bound an embedding that knows only the cell type would score types smaller than k below 1 (``indices``
    rows must be in order of distance). Cells without a counted neighbour are left out: they say nothing
    about *which* types are mixed (how much the systems mix is what the iLISI metrics measure); cells of a
    type found in one system only, or too rare in it, are left out. NaN (``ValueError``) when no cell
    qualifies.
    """
    shares, has = _same_type_shares(indices, systems, labels, min_cells)
    if not has.any():
        raise ValueError(
            "no cell has a neighbour from another system containing its cell type (with at least "
            f"{min_cells} cells in both systems)")
    return float(np.nanmean(shares))


def chance_same_type(systems: ArrayLike, labels: ArrayLike, min_cells: int = MIN_TYPE_CELLS) -> float:
    """The value of :func:`cross_system_same_type` expected from neighbours drawn at random: per cell, the
    frequency of its label among the cells of the other systems in which its type is scored, averaged over
    the cells that have such a system."""
    sys_code, sys_names = _codes(systems)
    lab_code, lab_names = _codes(labels)
    counts = _type_counts(sys_code, lab_code, len(sys_names), len(lab_names))
    enough = counts >= min_cells
    shares = []
    for s, t in zip(sys_code, lab_code):
        others = enough[:, t] & (np.arange(len(sys_names)) != s) & enough[s, t]
        if others.any():
            shares.append(counts[others, t].sum() / counts[others].sum())
    return float(np.mean(shares)) if shares else float("nan")


def windowed_knn_predict(
    reference_x: np.ndarray, reference_labels: ArrayLike, query_x: np.ndarray, n_neighbors: int = LABEL_TRANSFER_K
) -> np.ndarray:
    """k-NN label prediction in which each type is judged on a neighbourhood bounded by its own size.

    Type ``t`` with ``n_t`` reference cells scores the share of ``t`` among the query cell's
    ``w_t = min(k, n_t)`` nearest reference cells; the prediction is the type with the highest share (ties:
    the one with more cells in its window, then the first in sorted order). A type of fewer than k cells can
    never win a uniform k-vote even when its cells are the nearest ones, so a uniform vote scores an
    embedding that separates types perfectly below 1 on every rare type; bounding the window by ``n_t``
    lets such a type win exactly when its cells are the nearest. With every ``n_t >= k`` all windows are the
    k nearest and the prediction is scikit-learn's uniform ``KNeighborsClassifier``'s (tested).

    The neighbour search is scikit-learn's ``NearestNeighbors`` (exact, brute force); the per-type windows
    are written here (no library offers them).
    """
    from sklearn.neighbors import NearestNeighbors

    ref_code, names = _codes(reference_labels)
    k = min(n_neighbors, len(ref_code))
    # brute force (exact): at 96k cells x 15 dims 9 s per pair vs 32 s with the k-d tree that "auto" picks
    # (measured, 2 threads)
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(np.asarray(reference_x))
    neighbour_codes = ref_code[nn.kneighbors(np.asarray(query_x), return_distance=False)]
    window = np.minimum(k, np.bincount(ref_code, minlength=len(names)))
    votes = np.stack([(neighbour_codes[:, :w] == t).sum(axis=1) for t, w in enumerate(window)], axis=1)
    share = votes / window
    best = share == share.max(axis=1, keepdims=True)
    # among the best shares, the most votes; np.argmax takes the first (sorted order) of equals
    return names[np.argmax(np.where(best, votes, -1), axis=1)].astype(str)


def label_transfer(
    x: np.ndarray, systems: ArrayLike, labels: ArrayLike, n_neighbors: int = LABEL_TRANSFER_K,
    min_cells: int = MIN_TYPE_CELLS,
) -> tuple[float, pd.DataFrame]:
    """k-NN label transfer between every ordered pair of systems (:func:`windowed_knn_predict`, scikit-learn
    ``f1_score``).

    For a pair (reference, query), the reference system's cells predict the query system's cells of the
    scored types; F1 is computed per scored type and averaged (macro-F1). Scored: types with at least
    ``min_cells`` cells in both systems; the others are listed with ``scored`` False and the reason in
    ``note`` (:func:`unscored_reason`: ``only in <system>``, ``fewer than 3 cells in <system> (n)``), never
    scored 0. Every reference cell takes part in the vote, so a query cell taken for an unscored type is an
    error of its own type.

    Returns
    -------
    The mean over pairs with a scored type of the pair's macro-F1 (metric ``label_transfer_f1``; NaN if no
    pair has one), and the per-label table (:data:`LABEL_TRANSFER_COLUMNS`).
    """
    from sklearn.metrics import f1_score

    systems = np.asarray(systems).astype(str)
    labels = np.asarray(labels).astype(str)
    rows, macro = [], []
    for ref in sorted(set(systems)):
        for query in sorted(set(systems) - {ref}):
            in_ref, in_query = systems == ref, systems == query
            types = sorted(set(labels[in_ref | in_query]))
            n_ref = {t: int((in_ref & (labels == t)).sum()) for t in types}
            n_query = {t: int((in_query & (labels == t)).sum()) for t in types}
            notes = {t: unscored_reason({ref: n_ref[t], query: n_query[t]}, min_cells) for t in types}
            scored = [t for t in types if not notes[t]]
            f1_of: dict[str, float] = {}
            if scored:
                scored_query = in_query & np.isin(labels, scored)
                predicted = windowed_knn_predict(x[in_ref], labels[in_ref], x[scored_query], n_neighbors)
                f1 = f1_score(labels[scored_query], predicted, labels=scored, average=None, zero_division=0)
                f1_of = dict(zip(scored, f1))
                macro.append(float(np.mean(f1)))
            rows += [{"reference_system": ref, "query_system": query, "cell_type": t,
                      "f1": f1_of.get(t, np.nan), "n_reference_cells": n_ref[t], "n_query_cells": n_query[t],
                      "scored": not notes[t], "note": notes[t]} for t in types]
    return (float(np.mean(macro)) if macro else float("nan")), pd.DataFrame(rows, columns=LABEL_TRANSFER_COLUMNS)


@dataclass
class CellTypeResult:
    """The two metrics of one embedding and their per-cell-type tables (NaN metrics carry a reason)."""

    values: dict[str, float]
    reasons: dict[str, str]
    mixing: pd.DataFrame
    transfer: pd.DataFrame


def cell_type_metrics(
    x: np.ndarray, indices: np.ndarray, systems: ArrayLike, labels: ArrayLike, distances: np.ndarray | None = None
) -> CellTypeResult:
    """Both metrics and tables of one embedding ``x`` with its evaluation k-NN ``indices`` (labelled cells).

    ``distances`` (same shape as ``indices``): when given, each row is put in order of distance first (the
    mixing quantities count a type's nearest neighbours); without, ``indices`` must already be in that order,
    as every backend of :func:`sysvi_bench.score.neighbors.compute_neighbors` returns them. A metric that
    cannot be computed is NaN with its error in ``reasons``; the other is kept.
    """
    if distances is not None:
        indices = np.take_along_axis(indices, np.argsort(distances, axis=1, kind="stable"), axis=1)
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    mixing = cross_system_mixing(indices, systems, labels)
    try:
        values["cross_system_same_type"] = cross_system_same_type(indices, systems, labels)
    except ValueError as exc:
        values["cross_system_same_type"], reasons["cross_system_same_type"] = float("nan"), f"ValueError: {exc}"
    values["label_transfer_f1"], transfer = label_transfer(x, systems, labels)
    if np.isnan(values["label_transfer_f1"]):
        reasons["label_transfer_f1"] = (f"no cell type has at least {MIN_TYPE_CELLS} cells in each of two systems")
    return CellTypeResult(values, reasons, mixing, transfer)
