"""The sysVI paper's evaluation metrics (Hrovatin et al.), as small pure functions on arrays.

Every function takes arrays (an embedding, labels, or a k-NN graph as scib-metrics'
:class:`~scib_metrics.nearest_neighbors.NeighborsResults`) and returns a float or a dict of floats,
in the style of scib-metrics. Neighbour graphs are passed in, so the caller builds the k-NN graph of an
embedding once and every graph metric reuses it. Conventions, all as in the paper's code
(``theislab/cross_system_integration``, ``notebooks/eval/cleaned/metrics.py``):

* LISI per cell comes from :func:`scib_metrics.lisi_knn` on the k - 1 neighbours other than the cell (the
  paper passes scanpy's ``obsp['distances']``, which omits self) with perplexity ``floor((k - 1) / 3)``
  (29 at k = 90); iLISI is scaled to [0, 1] as ``(LISI - 1) / (n_batches - 1)`` and
  cLISI as ``(n_labels - LISI) / (n_labels - 1)``; the score is the median over cells, the *macro* variant
  the mean over cell types of the per-type median.
* Leiden NMI/ARI: per Leiden seed, the best NMI and the best ARI over resolutions 0.2, 0.4, ..., 2.0,
  clustering the UMAP connectivities of the k-NN graph with igraph; reported as the mean over seeds (the
  paper: one seed, 0) with the sd over seeds beside it.
* Moran's I preservation: :func:`moran_reference` selects, once per dataset, the genes with Moran's I
  >= 0.2 within each cell type x system x sample group on the unintegrated data (exact PCA, scanpy's
  15-neighbour graph counting the cell itself); :func:`morans_i_preservation` scores an embedding relative
  to that reference. Moran's I itself is :func:`scanpy.metrics.morans_i`.

Every metric here is oriented so that higher is better, except the sds over Leiden seeds (noise, lower =
less); :data:`sysvi_bench.score.catalogue.PAPER_METRICS` gives each one's type (``bio`` = biological
conservation, ``batch`` = system correction) and its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scib_metrics.nearest_neighbors import NeighborsResults
from scipy import sparse

from sysvi_bench.score.catalogue import ILISI_SAMPLE, PAPER_METRIC_NAMES, per_system_name
from sysvi_bench.score.leiden import LeidenGraph, leiden_memberships

LEIDEN_RESOLUTIONS: tuple[float, ...] = tuple(round(0.2 * i, 1) for i in range(1, 11))
MORAN_MIN_I = 0.2  # genes with Moran's I >= this on the unintegrated group graph are scored
MORAN_N_NEIGHBORS = 15  # k of the within-group graphs, the cell itself included (sc.pp.neighbors' default, paper)
MORAN_N_PCS = 15  # PCs of the unintegrated within-group graph
MORAN_MIN_EXPRESSED = 0.1  # a gene must be expressed in this fraction of a group's cells
PURITY_N_NEIGHBORS = 30  # k of kNN purity (paper)
JACCARD_N_NEIGHBORS = 15  # same-system neighbours compared by the Jaccard index
POOLED = "pooled"  # sample name of a group pooling the samples too small on their own
LEIDEN_SEEDS: tuple[int, ...] = (0, 1, 2)  # Leiden seeds averaged (the paper: 0 only)

NeighborFn = Callable[[np.ndarray, int], NeighborsResults]


def _codes(values: ArrayLike) -> tuple[np.ndarray, int]:
    """Integer codes and number of distinct values of a label vector."""
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    return codes.astype(np.int32), len(uniques)


def _per_label_mean(values: np.ndarray, labels: ArrayLike, how: Literal["mean", "median"] = "mean") -> float:
    """Macro average: the per-label ``how`` of ``values`` (NaN ignored), then the mean over labels."""
    per_label = pd.Series(np.asarray(values, dtype=float)).groupby(np.asarray(labels), observed=True).agg(how)
    return float(per_label.mean()) if per_label.notna().any() else float("nan")


def lisi_perplexity(n_neighbors: int) -> float:
    """The paper's LISI perplexity for a k-NN graph of ``n_neighbors`` that includes each cell itself.

    scib-metrics' default ``floor(k / 3)`` applied to the ``k - 1`` neighbours other than the cell (what
    scanpy's ``obsp['distances']`` holds, and what the paper passes to ``lisi_knn``): 29 at k = 90.
    """
    return float(max(1, (n_neighbors - 1) // 3))


def _lisi(neighbors: NeighborsResults, codes: np.ndarray) -> np.ndarray:
    """LISI per cell as in the paper: scib-metrics' ``lisi_knn`` at perplexity :func:`lisi_perplexity`.

    scib-metrics (>= 0.4) gives a cell's own edge zero weight, so the ``k - 1`` other neighbours count, as on
    the paper's self-less graph; its own ``ilisi_knn``/``clisi_knn`` differ only by their perplexity ``k // 3``.
    """
    from scib_metrics import lisi_knn

    perplexity = lisi_perplexity(neighbors.n_neighbors)
    return np.asarray(lisi_knn(neighbors, codes, perplexity=perplexity), dtype=float)


def ilisi_system(neighbors: NeighborsResults, systems: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """Mixing of systems: scaled iLISI, median over cells and its per-cell-type (macro) variant.

    Parameters
    ----------
    neighbors
        k-NN graph of the embedding (each cell its own first neighbour).
    systems
        System of each cell.
    labels
        Cell type of each cell (for the macro variant).

    Returns
    -------
    ``{"ilisi_system": median, "ilisi_system_macro": mean over cell types of the per-type median}``;
    0 = neighbourhoods from one system only, 1 = systems mixed as evenly as possible. NaN for one system.
    """
    codes, n_systems = _codes(systems)
    if n_systems < 2:
        return {"ilisi_system": float("nan"), "ilisi_system_macro": float("nan")}
    scaled = (_lisi(neighbors, codes) - 1.0) / (n_systems - 1)
    return {"ilisi_system": float(np.nanmedian(scaled)),
            "ilisi_system_macro": _per_label_mean(scaled, labels, how="median")}


def ilisi_sample_within_system(
    x: np.ndarray, systems: ArrayLike, samples: ArrayLike, n_neighbors: int, neighbor_fn: NeighborFn | None = None
) -> dict[str, float]:
    """Mixing of samples within each system: scaled iLISI of samples on each system's own k-NN graph.

    Computed per system (so it is not confounded by how the systems mix), as the paper does.

    Parameters
    ----------
    x
        Embedding, cells x dimensions.
    systems, samples
        System and sample of each cell.
    n_neighbors
        k of the per-system graphs, the cell itself included (capped at the system's size).
    neighbor_fn
        ``(x, k) -> NeighborsResults``; default exact neighbours.

    Returns
    -------
    ``{"ilisi_sample_within_system": mean over systems with >= 2 samples, and per system
    ilisi_sample_within_system__<system>: its median scaled iLISI}`` (see :func:`per_system_name`);
    NaN for a system with one sample, and for the mean if no system has two.
    """
    if neighbor_fn is None:
        from sysvi_bench.score.neighbors import compute_neighbors

        neighbor_fn = compute_neighbors
    systems, samples = np.asarray(systems).astype(str), np.asarray(samples)
    per_system = {}
    for system in sorted(pd.unique(systems)):
        mask = systems == system
        codes, n_samples = _codes(samples[mask])
        if n_samples < 2:
            per_system[system] = float("nan")
            continue
        nn = neighbor_fn(np.asarray(x)[mask], min(n_neighbors, int(mask.sum())))
        per_system[system] = float(np.nanmedian((_lisi(nn, codes) - 1.0) / (n_samples - 1)))
    scored = [v for v in per_system.values() if not np.isnan(v)]
    out = {ILISI_SAMPLE: float(np.mean(scored)) if scored else float("nan")}
    out.update({per_system_name(ILISI_SAMPLE, system): v for system, v in per_system.items()})
    return out


def clisi(neighbors: NeighborsResults, labels: ArrayLike) -> float:
    """Separation of cell types: scaled cLISI, median over cells (1 = neighbourhoods of one cell type)."""
    codes, n_labels = _codes(labels)
    if n_labels < 2:
        return float("nan")
    return float(np.nanmedian((n_labels - _lisi(neighbors, codes)) / (n_labels - 1)))


def asw_label(x: np.ndarray, labels: ArrayLike) -> float:
    """Cell-type silhouette width on the embedding, rescaled to [0, 1] as (ASW + 1) / 2, mean over cells."""
    from scib_metrics import silhouette_label

    codes, n_labels = _codes(labels)
    if n_labels < 2:
        return float("nan")
    return float(silhouette_label(np.asarray(x, dtype=np.float32), codes, rescale=True))


def _sd(values: np.ndarray) -> float:
    """Sample sd (ddof 1); NaN for fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def nmi_ari_leiden(
    neighbors: NeighborsResults,
    labels: ArrayLike,
    resolutions: Sequence[float] = LEIDEN_RESOLUTIONS,
    seeds: Sequence[int] = LEIDEN_SEEDS,
    graph: LeidenGraph = "single",
    n_jobs: int = 1,
) -> dict[str, float]:
    """Cell-type recovery by clustering: NMI and ARI of Leiden clusters vs labels, best over resolutions.

    Parameters
    ----------
    neighbors
        k-NN graph; Leiden clusters its UMAP connectivities (as scanpy/scib-metrics).
    labels
        Cell type of each cell.
    resolutions
        Leiden resolutions tried (paper: 0.2, 0.4, ..., 2.0).
    seeds
        Leiden seeds; each gives its own best-over-resolutions NMI and ARI (the paper: seed 0 only).
    graph
        How the graph is built (:func:`sysvi_bench.score.leiden.leiden_igraph`; the paper:
        ``both_directions``).
    n_jobs
        Processes the clusterings are spread over (values do not depend on it).

    Returns
    -------
    ``nmi_leiden``/``ari_leiden``: the mean over seeds of the per-seed maximum over resolutions (maxima of NMI
    and ARI taken separately, as in the paper); ``nmi_leiden_sd``/``ari_leiden_sd``: their sd over seeds
    (ddof 1; NaN for one seed).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = np.asarray(labels)
    runs = [(resolution, seed) for seed in seeds for resolution in resolutions]
    clusterings = dict(zip(runs, leiden_memberships(neighbors.knn_graph_connectivities, runs, graph, n_jobs)))
    best = []
    for seed in seeds:
        per_resolution = [clusterings[resolution, seed] for resolution in resolutions]
        best.append((max(normalized_mutual_info_score(labels, c, average_method="arithmetic") for c in per_resolution),
                     max(adjusted_rand_score(labels, c) for c in per_resolution)))
    nmi, ari = np.asarray(best, dtype=float).T
    return {"nmi_leiden": float(nmi.mean()), "ari_leiden": float(ari.mean()),
            "nmi_leiden_sd": _sd(nmi), "ari_leiden_sd": _sd(ari)}


def _neighbors_without_self(indices: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` neighbours of each row, its own index removed (approximate graphs may omit self)."""
    n = indices.shape[0]
    k = min(k, indices.shape[1] - 1)
    idx = indices[:, : k + 1]
    drop = idx == np.arange(n)[:, None]
    first_self = drop.cumsum(axis=1) == 1
    drop &= first_self
    drop[~drop.any(axis=1), -1] = True  # no self in the row: drop its (k+1)-th neighbour instead
    return idx[~drop].reshape(n, k)


def knn_purity(neighbors: NeighborsResults, labels: ArrayLike, k: int = PURITY_N_NEIGHBORS) -> float:
    """Fraction of each cell's ``k`` nearest neighbours (self excluded) of its own cell type.

    Averaged over the cells of each cell type, then over cell types (macro), as in the paper.
    """
    codes, _ = _codes(labels)
    nbrs = _neighbors_without_self(np.asarray(neighbors.indices), k)
    purity = (codes[nbrs] == codes[:, None]).mean(axis=1)
    return _per_label_mean(purity, codes)


def _first_same_system(indices: np.ndarray, system_codes: np.ndarray, k: np.ndarray | int) -> sparse.csr_matrix:
    """Boolean cells x cells matrix of each cell's first ``k`` (per row) same-system neighbours, self excluded."""
    n = indices.shape[0]
    ok = (system_codes[indices] == system_codes[:, None]) & (indices != np.arange(n)[:, None])
    limit = np.asarray(k).reshape(-1, 1) if np.ndim(k) else k
    keep = ok & (np.cumsum(ok, axis=1) <= limit)
    rows = np.broadcast_to(np.arange(n)[:, None], indices.shape)[keep]
    return sparse.csr_matrix((np.ones(rows.size), (rows, indices[keep])), shape=(n, n))


def jaccard_neighbors(
    after: NeighborsResults,
    before: NeighborsResults,
    labels: ArrayLike,
    systems: ArrayLike,
    k: int = JACCARD_N_NEIGHBORS,
) -> float:
    """Neighbourhoods kept: Jaccard index of each cell's same-system neighbours before vs after integration.

    For every cell, its first ``k`` neighbours from its own system (self excluded) in the unintegrated
    graph (``before``) and in the integrated graph (``after``) are compared; if fewer than ``k`` such
    neighbours are among a graph's neighbours, both sets are cut to the smaller count. Restricting to the
    cell's own system keeps this a conservation metric: mixing in cells of the other system does not lower it.

    Returns
    -------
    Mean Jaccard index per cell type, then mean over cell types (cells without any same-system neighbour
    are ignored); 1 = identical neighbourhoods, ~0 = unrelated ones.
    """
    sys_codes, _ = _codes(systems)
    idx_after, idx_before = np.asarray(after.indices), np.asarray(before.indices)
    a, b = _first_same_system(idx_after, sys_codes, k), _first_same_system(idx_before, sys_codes, k)
    m = np.minimum(np.asarray(a.sum(axis=1)).ravel(), np.asarray(b.sum(axis=1)).ravel()).astype(int)
    a, b = _first_same_system(idx_after, sys_codes, m), _first_same_system(idx_before, sys_codes, m)
    inter = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(m > 0, inter / (2 * m - inter), np.nan)
    return _per_label_mean(jaccard, np.asarray(labels))


# --- Moran's I preservation of within-cell-type variation ------------------------------------------------


@dataclass(frozen=True)
class MoranGroup:
    """One cell type x system x sample group and its unintegrated reference.

    Attributes
    ----------
    label, system, sample
        The group (``sample`` is :data:`POOLED` for a group pooling the samples too small on their own).
    cells
        Positions of the group's cells in the evaluated cells.
    genes
        Positions of the selected genes (Moran's I >= threshold on the unintegrated group graph).
    expression
        Expression of the selected genes in the group, genes x cells (what Moran's I is computed on).
    reference
        ``(I + 1) / 2`` of each selected gene on the unintegrated group graph.
    """

    label: str
    system: str
    sample: str
    cells: np.ndarray
    genes: np.ndarray
    expression: np.ndarray
    reference: np.ndarray


def moran_groups(
    labels: ArrayLike, systems: ArrayLike, samples: ArrayLike, min_cells: int, pool_small: bool = True
) -> list[tuple[str, str, str, np.ndarray]]:
    """Cell type x system x sample groups with at least ``min_cells`` cells.

    With ``pool_small``, the samples with fewer cells of a cell type and system are pooled into one group
    (sample :data:`POOLED`) when together they reach ``min_cells``; the paper drops them (``pool_small=False``).
    Returns ``(label, system, sample, positions)`` tuples.
    """
    obs = pd.DataFrame({"label": np.asarray(labels).astype(str), "system": np.asarray(systems).astype(str),
                        "sample": np.asarray(samples).astype(str)})
    groups = []
    for (label, system), sub in obs.groupby(["label", "system"], sort=True):
        pooled = []
        for sample, cells in sub.groupby("sample", sort=True).indices.items():
            positions = sub.index.to_numpy()[cells]
            if len(positions) >= min_cells:
                groups.append((label, system, sample, positions))
            else:
                pooled.append(positions)
        if pool_small and pooled and sum(map(len, pooled)) >= min_cells:
            groups.append((label, system, POOLED, np.sort(np.concatenate(pooled))))
    return groups


def _exact_knn(x: np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first) of the rows of a small array, in plain numpy.

    For the many small within-group graphs: no thread pool start-up per call, unlike scikit-learn.
    """
    sq = (x * x).sum(axis=1)
    indices = np.empty((x.shape[0], k), dtype=np.int64)
    distances = np.empty((x.shape[0], k), dtype=np.float64)
    for start in range(0, x.shape[0], chunk):
        rows = np.arange(start, min(start + chunk, x.shape[0]))
        d2 = np.maximum(sq[rows, None] + sq[None, :] - 2.0 * x[rows] @ x.T, 0.0)
        d2[np.arange(rows.size), rows] = -1.0  # self first, even among duplicates
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d2, part, axis=1), axis=1, kind="stable")
        indices[rows] = np.take_along_axis(part, order, axis=1)
        distances[rows] = np.sqrt(np.maximum(np.take_along_axis(d2, indices[rows], axis=1), 0.0))
    return indices, distances


def group_connectivities(coords: Sequence[np.ndarray], n_neighbors: int = MORAN_N_NEIGHBORS) -> list[sparse.csr_matrix]:
    """Exact k-NN graph within each group of cells, as UMAP connectivities (scanpy's ``obsp['connectivities']``).

    Parameters
    ----------
    coords
        One array (cells x dimensions) per group; every group needs at least ``n_neighbors`` cells.
    n_neighbors
        Neighbours per cell **including the cell itself**, scanpy's convention (``sc.pp.neighbors``'
        default 15, as in the paper, links each cell to 14 others).

    Returns
    -------
    One cells x cells connectivity matrix per group. The groups' graphs are built in one UMAP call
    (a block-diagonal graph), which is much faster than one ``sc.pp.neighbors`` call per group and gives the
    same result.
    """
    indices, distances, offsets = [], [], [0]
    for x in coords:
        if x.shape[0] < n_neighbors:
            raise ValueError(f"a group of {x.shape[0]} cells is too small for {n_neighbors} neighbours")
        idx, dist = _exact_knn(np.asarray(x, dtype=np.float64), n_neighbors)
        indices.append(idx + offsets[-1])
        distances.append(dist)
        offsets.append(offsets[-1] + x.shape[0])
    if not coords:
        return []
    conn = sparse.csr_matrix(NeighborsResults(np.vstack(indices), np.vstack(distances)).knn_graph_connectivities)
    return [conn[a:b, a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _morans_i(graph: sparse.csr_matrix, values: np.ndarray) -> np.ndarray:
    import scanpy as sc

    return np.atleast_1d(np.asarray(sc.metrics.morans_i(graph, np.ascontiguousarray(values, dtype=np.float64))))


def group_pca(expression: np.ndarray, n_comps: int, seed: int = 0) -> np.ndarray:
    """A group's unintegrated PCA as the paper computes it: ``sc.pp.pca`` with an exact solver.

    The paper calls ``sc.pp.pca(adata, n_comps=15)`` on dense data, which in the scanpy of its time (1.9)
    resolves to ``svd_solver='arpack'`` (exact truncated SVD, zero-centred, ``random_state=0``); it is asked for
    explicitly here because newer scanpy versions pick other defaults.
    """
    import scanpy as sc

    return np.asarray(sc.pp.pca(np.asarray(expression, dtype=np.float64), n_comps=n_comps, zero_center=True,
                                svd_solver="arpack", random_state=seed))


def moran_reference(
    expression: np.ndarray | sparse.spmatrix,
    labels: ArrayLike,
    systems: ArrayLike,
    samples: ArrayLike,
    *,
    min_cells: int,
    pool_small: bool = True,
    min_morans_i: float = MORAN_MIN_I,
    n_neighbors: int = MORAN_N_NEIGHBORS,
    n_pcs: int = MORAN_N_PCS,
    min_expressed_fraction: float = MORAN_MIN_EXPRESSED,
    seed: int = 0,
) -> list[MoranGroup]:
    """Per-group gene selection and unintegrated Moran's I: computed once per dataset.

    For every group of :func:`moran_groups`, genes expressed in >= ``min_expressed_fraction`` of its cells
    are kept, the group's unintegrated graph is the k-NN graph of its own PCA (:func:`group_pca`, ``n_pcs``
    components of the expression), and genes with Moran's I >= ``min_morans_i`` on it are selected (the
    paper's procedure).

    Parameters
    ----------
    expression
        Normalised log expression, cells x genes (the preprocessed ``X``).
    labels, systems, samples
        Cell type, system and sample of each cell.
    min_cells
        Smallest group (the paper: 500; small data needs less).
    pool_small
        Pool a cell type's small samples of a system into one group (see :func:`moran_groups`; paper: False).
    n_neighbors
        k of the group graphs, the cell itself included (:func:`group_connectivities`).

    Returns
    -------
    The groups with at least one selected gene.
    """
    if min_cells < max(n_neighbors, n_pcs + 1):
        raise ValueError(f"Moran's I: min_cells ({min_cells}) must be at least n_neighbors ({n_neighbors}) "
                         f"and exceed n_pcs ({n_pcs})")
    candidates = []
    for label, system, sample, cells in moran_groups(labels, systems, samples, min_cells, pool_small):
        sub = expression[cells]
        sub = np.asarray(sub.toarray() if sparse.issparse(sub) else sub, dtype=np.float64)
        genes = np.flatnonzero(((sub > 0).mean(axis=0) >= min_expressed_fraction) & (sub.std(axis=0) > 0))
        if genes.size < 2:
            continue
        n_comps = min(n_pcs, len(cells) - 1, genes.size - 1)
        pcs = group_pca(sub[:, genes], n_comps, seed)
        candidates.append((label, system, sample, cells, genes, np.ascontiguousarray(sub[:, genes].T), pcs))
    graphs = group_connectivities([c[-1] for c in candidates], n_neighbors)
    out = []
    for (label, system, sample, cells, genes, values, _), graph in zip(candidates, graphs):
        morans = _morans_i(graph, values)
        selected = np.flatnonzero(morans >= min_morans_i)
        if selected.size:
            out.append(MoranGroup(label, system, sample, cells, genes[selected],
                                  np.ascontiguousarray(values[selected]), (morans[selected] + 1.0) / 2.0))
    return out


def morans_i_preservation(
    x: np.ndarray, reference: Sequence[MoranGroup], n_neighbors: int = MORAN_N_NEIGHBORS
) -> float:
    """Within-cell-type variation kept by an embedding, relative to the unintegrated data.

    For every reference group, the integrated graph is the k-NN graph of the group's cells on ``x`` (``k``
    including the cell itself, as for the reference);
    the group's score is the mean over its selected genes of ``(I + 1) / 2`` on that graph divided by the
    unintegrated value. Scores are averaged over the groups of a cell type, then over cell types.

    Returns
    -------
    About 1 when the gene programmes are as smooth on the embedding as on the unintegrated data
    (can exceed 1), about 0.5-0.6 when they are scrambled; NaN if ``reference`` is empty.
    """
    x = np.asarray(x)
    graphs = group_connectivities([x[group.cells] for group in reference], n_neighbors)
    scores = [
        (group.label, float(np.nanmean(((_morans_i(graph, group.expression) + 1.0) / 2.0) / group.reference)))
        for group, graph in zip(reference, graphs)
    ]
    if not scores:
        return float("nan")
    return float(pd.DataFrame(scores, columns=["label", "score"]).groupby("label")["score"].mean().mean())


# --- all paper metrics of one embedding --------------------------------------------------------------------


def paper_metrics(
    x: np.ndarray,
    neighbors: NeighborsResults,
    *,
    systems: ArrayLike,
    samples: ArrayLike,
    labels: ArrayLike,
    unintegrated: NeighborsResults,
    moran: Sequence[MoranGroup],
    neighbor_fn: NeighborFn | None = None,
    leiden_seeds: Sequence[int] = LEIDEN_SEEDS,
    leiden_graph: LeidenGraph = "single",
    n_jobs: int = 1,
    silhouette_label: float | None = None,
    reasons: dict[str, str] | None = None,
    only: Callable[[str], bool] | None = None,
) -> dict[str, float]:
    """Every metric of :data:`PAPER_METRICS` for one embedding, all on its one k-NN graph ``neighbors``.

    ``unintegrated`` (the k-NN graph of the unintegrated PCA) and ``moran`` (:func:`moran_reference`) are
    per-dataset references computed once. The within-system sample iLISI builds each system's graph with
    ``neighbor_fn`` (same k as ``neighbors``); Moran's I uses small within-group graphs (see
    :func:`morans_i_preservation`): both are defined on subsets of cells. ``leiden_seeds``, ``leiden_graph``,
    ``n_jobs``: see :func:`nmi_ari_leiden`. ``silhouette_label``: scib-metrics' value of ``x`` if already
    computed; ``asw_label`` is that value, and its O(n²) silhouette is not redone.

    ``reasons``: when given, a metric that raises is NaN and its error is recorded there (metric -> reason)
    instead of stopping the others. ``only``: compute just the metrics it accepts (e.g. the label-free ones).

    Returns
    -------
    :data:`PAPER_METRIC_NAMES` in order, then ``ilisi_sample_within_system__<system>`` for each system (sorted).
    """
    computations: dict[tuple[str, ...], Callable[[], float | dict[str, float]]] = {
        ("ilisi_system", "ilisi_system_macro"): lambda: ilisi_system(neighbors, systems, labels),
        ("ilisi_sample_within_system",): lambda: ilisi_sample_within_system(
            x, systems, samples, neighbors.n_neighbors, neighbor_fn),
        ("nmi_leiden", "ari_leiden", "nmi_leiden_sd", "ari_leiden_sd"): lambda: nmi_ari_leiden(
            neighbors, labels, seeds=leiden_seeds, graph=leiden_graph, n_jobs=n_jobs),
        ("moransi_preservation",): lambda: morans_i_preservation(x, moran),
        ("clisi",): lambda: clisi(neighbors, labels),
        ("asw_label",): lambda: asw_label(x, labels) if silhouette_label is None else float(silhouette_label),
        ("knn_purity",): lambda: knn_purity(neighbors, labels),
        ("jaccard_neighbors",): lambda: jaccard_neighbors(neighbors, unintegrated, labels, systems),
    }
    out: dict[str, float] = {}
    for names, compute in computations.items():
        if only is not None and not any(only(name) for name in names):
            continue
        try:
            value = compute()
        except Exception as exc:
            if reasons is None:
                raise
            value = dict.fromkeys(names, float("nan"))
            reasons.update(dict.fromkeys(names, f"{type(exc).__name__}: {exc}"))
        out.update(value if isinstance(value, dict) else {names[0]: value})
    if only is not None:
        out = {name: value for name, value in out.items() if only(name)}
    return {**{name: out.pop(name) for name in PAPER_METRIC_NAMES if name in out}, **out}
