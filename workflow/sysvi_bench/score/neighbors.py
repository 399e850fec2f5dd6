"""k-nearest-neighbour graphs for the metrics, with a configurable backend."""

from __future__ import annotations

import numpy as np
from scib_metrics.nearest_neighbors import NeighborsResults

BACKENDS = ("exact", "pynndescent", "jax")


def compute_neighbors(x: np.ndarray, k: int, backend: str = "exact", seed: int = 0) -> NeighborsResults:
    """k nearest neighbours of every row of ``x`` (each point is its own first neighbour, as in scib-metrics).

    ``exact`` (scikit-learn, brute force) is fastest and exact for small data; ``pynndescent`` and
    ``jax`` (scib-metrics' approximate top-k) scale to large n.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    k = min(k, x.shape[0])
    if backend == "exact":
        from sklearn.neighbors import NearestNeighbors

        distances, indices = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x).kneighbors(x)
        return NeighborsResults(indices=indices, distances=distances)
    if backend == "pynndescent":
        from scib_metrics.nearest_neighbors import pynndescent

        return pynndescent(x, n_neighbors=k, random_state=seed, n_jobs=1)
    if backend == "jax":
        from scib_metrics.nearest_neighbors import jax_approx_min_k

        return jax_approx_min_k(x, n_neighbors=k)
    raise ValueError(f"evaluation.neighbor_backend: unknown backend {backend!r}; valid: {list(BACKENDS)}")
