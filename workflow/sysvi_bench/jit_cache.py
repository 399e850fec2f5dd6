"""On-disk caches for the JIT-compiled kernels of scoring and figure jobs (values do not change).

Two JIT compilers run in those processes. JAX compiles a few hundred small XLA programs of scib-metrics (one
per array shape: about 15 s on 2 cores at demo scale), each below JAX's default one-second threshold for
persistent caching, so the threshold is lifted. numba compiles umap-learn's kernels of the fuzzy k-NN graph
(what Leiden clusters and what a UMAP is laid out from; 10-30 s per process): umap-learn declares them
without ``cache=True``, so they are re-declared here with numba's on-disk cache (same functions and options).
Compiled code is the same either way.
"""

from __future__ import annotations

from pathlib import Path


def enable_numba_cache(cache_dir: str | Path | None) -> None:
    """Keep umap-learn's fuzzy-graph kernels compiled in ``cache_dir``/numba (``None``: no cache)."""
    if cache_dir is None:
        return
    import numba
    import umap.umap_ as umap_kernels

    folder = Path(cache_dir).resolve() / "numba"
    folder.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(folder)
    for name in ("smooth_knn_dist", "compute_membership_strengths"):
        kernel = getattr(umap_kernels, name)
        if not kernel.targetoptions.get("cache"):
            options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}
            setattr(umap_kernels, name, numba.njit(cache=True, **options)(kernel.py_func))


def enable_compile_cache(cache_dir: str | Path | None) -> None:
    """Keep JAX's compiled programs and umap-learn's numba kernels in ``cache_dir``, shared by every job and
    later invocations (``None``: no cache)."""
    if cache_dir is None:
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(Path(cache_dir).resolve()))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    enable_numba_cache(cache_dir)
