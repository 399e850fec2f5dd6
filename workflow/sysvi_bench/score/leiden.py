"""Leiden clustering of a k-NN graph with igraph, several (resolution, seed) runs spread over processes.

Light on purpose (numpy, scipy, igraph): its functions run in worker processes, which import only this.
"""

from __future__ import annotations

import random
from typing import Literal, Sequence

import numpy as np
from scipy import sparse

LeidenGraph = Literal["single", "both_directions"]
LEIDEN_GRAPHS: tuple[str, ...] = ("single", "both_directions")


def leiden_igraph(connectivities: sparse.spmatrix, how: LeidenGraph = "single"):
    """The weighted igraph graph that Leiden clusters.

    ``single``: one undirected edge per connected pair (the connectivities are symmetric). ``both_directions``:
    every nonzero entry as an edge, so each pair twice, as scanpy's ``get_igraph_from_adjacency`` builds it
    (what the paper's scib-metrics 0.3.3 called). Both give the same modularity (all weights doubled); the
    algorithm visits the edges differently, so clusters for a given seed differ; ``single`` is 2.5x faster. With
    ``both_directions``, :func:`leiden_membership` gives exactly scib-metrics' ``_compute_clustering_leiden``
    (tested), which is not called itself because it rebuilds the graph for every resolution.
    """
    import igraph

    if how not in LEIDEN_GRAPHS:
        raise ValueError(f"evaluation.leiden_graph: unknown {how!r}; valid: {list(LEIDEN_GRAPHS)}")
    conn = sparse.csr_matrix(connectivities)
    edges = (sparse.triu(conn, k=1) if how == "single" else conn).tocoo()
    graph = igraph.Graph(n=conn.shape[0], edges=list(zip(edges.row.tolist(), edges.col.tolist())))
    graph.es["weight"] = edges.data.tolist()
    return graph


def leiden_membership(graph, resolution: float, seed: int) -> np.ndarray:
    """Leiden clusters of an igraph graph, igraph's random numbers drawn from ``random.Random(seed)``
    (what the paper's ``random.seed(0)`` before each resolution does to igraph's default generator)."""
    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        clustering = graph.community_leiden(objective_function="modularity", weights="weight", resolution=resolution)
    finally:
        igraph.set_random_number_generator(random)
    return np.asarray(clustering.membership)


def _memberships(connectivities: sparse.spmatrix, runs: Sequence[tuple[float, int]], how: LeidenGraph) -> list:
    graph = leiden_igraph(connectivities, how)
    return [leiden_membership(graph, resolution, seed) for resolution, seed in runs]


def leiden_memberships(
    connectivities: sparse.spmatrix, runs: Sequence[tuple[float, int]], how: LeidenGraph = "single", n_jobs: int = 1
) -> list[np.ndarray]:
    """Clusters of every ``(resolution, seed)`` run on the graph of ``connectivities``, in ``runs`` order.

    With ``n_jobs > 1`` the runs are split into ``n_jobs`` consecutive parts, each clustered in a joblib worker
    process that builds the graph once (igraph holds the GIL, so threads would not run side by side). Every
    run seeds its own random numbers: the clusters do not depend on ``n_jobs``.
    """
    n_jobs = max(1, min(n_jobs, len(runs)))
    if n_jobs == 1:
        return _memberships(connectivities, runs, how)
    from joblib import Parallel, delayed

    parts = [list(part) for part in np.array_split(np.arange(len(runs)), n_jobs)]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_memberships)(connectivities, [runs[i] for i in part], how) for part in parts)
    return [membership for part in results for membership in part]
