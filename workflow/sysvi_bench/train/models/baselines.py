"""Baselines and controls that need no neural network: unintegrated PCA, Harmony, and two metric-scaling controls."""

from __future__ import annotations

from typing import Any

import numpy as np
from anndata import AnnData

from sysvi_bench import contracts as C
from sysvi_bench.train.models.base import (
    N_COMPS_RANGE, NON_NEGATIVE, POSITIVE_INT, FitContext, FitResult, ModelSpec, Range, categorical_covariates,
)


def _pca(adata: AnnData, n_comps: int) -> np.ndarray:
    pca = np.asarray(adata.obsm[C.PCA_KEY], dtype=np.float32)
    if n_comps > pca.shape[1]:
        raise ValueError(
            f"n_comps={n_comps} exceeds the {pca.shape[1]} PCs computed in preprocessing: preprocessing computes "
            f"min(preprocess.n_pcs, genes - 1, cells - 1) PCs of the {adata.n_vars} selected genes and {adata.n_obs} "
            "cells; lower n_comps, or raise preprocess.n_pcs / preprocess.n_hvg"
        )
    return pca[:, :n_comps]


def fit_pca(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    """The unintegrated reference: the preprocessing PCA of the log-normalised HVGs."""
    return FitResult(_pca(adata, params["n_comps"]))


def fit_harmony(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    """Harmony (harmonypy) on the PCA, correcting the system and the run's categorical covariates.

    The batch variables (harmonypy's ``vars_use``) are the system and, as SysVI and scVI condition on them, the
    dataset's ``covariate_keys`` (or the run's ``categorical_covariate_keys``; ``[]``: the system only). One
    ``theta`` and one ``lamb`` for every batch variable (R harmony's defaults: theta 2 for each, lambda 1);
    ``lamb`` null lets harmonypy estimate the ridge penalty per cluster (harmonypy 2.1.0's default).
    """
    import harmonypy

    batch_keys = [C.SYSTEM, *(categorical_covariates(params, context) or [])]
    result = harmonypy.run_harmony(
        _pca(adata, params["n_comps"]),
        adata.obs[batch_keys],
        batch_keys,
        theta=params["theta"],
        lamb=params["lamb"],
        sigma=params["sigma"],
        nclust=params["nclust"],
        max_iter_harmony=params["max_iter_harmony"],
        random_state=seed,
        verbose=False,
    )
    z = np.asarray(result.Z_corr)
    # harmonypy returns dims x cells in some versions and cells x dims in others
    if z.shape[0] != adata.n_obs:
        z = z.T
    # one objective value before the first iteration and one after each; fewer iterations than
    # max_iter_harmony: Harmony converged (objective change below harmonypy's epsilon_harmony, 1e-2)
    iterations = len(result.objective_harmony) - 1
    record = {"harmony_iterations": iterations, "harmony_converged": iterations < params["max_iter_harmony"]}
    return FitResult(z.astype(np.float32), record=record)


def fit_shuffled(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    """Control: the PCA with rows permuted, destroying all structure (metrics' floor for bio conservation)."""
    rng = np.random.default_rng(seed)
    pca = _pca(adata, params["n_comps"])
    return FitResult(pca[rng.permutation(adata.n_obs)])


def fit_celltype(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    """Control: an embedding that knows only the cell type (a random centroid per type plus noise).

    Perfect label separation with perfect system mixing inside each type: the metrics' ceiling.
    Unlabelled cells (missing label) carry no cell-type information: they sit at the origin (zero
    centroid) plus the same noise.
    """
    rng = np.random.default_rng(seed)
    codes = adata.obs[C.LABEL].cat.codes.to_numpy()
    n_labels = len(adata.obs[C.LABEL].cat.categories)
    centroids = rng.normal(0.0, 1.0, (n_labels, params["n_comps"]))
    noise = rng.normal(0.0, params["noise"], (adata.n_obs, params["n_comps"]))
    centres = np.where((codes >= 0)[:, None], centroids[np.maximum(codes, 0)], 0.0)
    return FitResult((centres + noise).astype(np.float32))


PCA = ModelSpec("pca", fit_pca, {"n_comps": 15}, seeded=False, ranges=N_COMPS_RANGE, reads_pca=True)
# Harmony's defaults are R harmony's (RunHarmony: theta 2, lambda 1, sigma 0.1, nclust min(N / 30, 100)) except
# max_iter_harmony: R and harmonypy stop after 10 iterations, before Harmony converged on the demo (system only,
# lamb 1: 27 iterations); 50 is a cap, Harmony stops once its objective changes less than epsilon_harmony.
# harmonypy 2.1.0 estimates lambda per cluster when none is given (lamb: null here); R harmony and harmonypy
# <= 0.2 use 1, which mixes the demo's systems more than twice as much (benchmarks/harmony_mixing.py).
HARMONY_DEFAULTS: dict[str, Any] = {
    "n_comps": 15,
    "theta": 2.0,  # diversity penalty, one value for every batch variable
    "lamb": 1.0,  # ridge penalty; null: harmonypy estimates it per cluster
    "sigma": 0.1,  # soft k-means bandwidth
    "nclust": None,  # clusters; null: min(round(cells / 30), 100)
    "max_iter_harmony": 50,
    "categorical_covariate_keys": None,  # corrected with the system; null: the dataset's covariate_keys
}
HARMONY = ModelSpec("harmony", fit_harmony, HARMONY_DEFAULTS, libraries=("harmonypy",),
                    ranges={**N_COMPS_RANGE, "theta": NON_NEGATIVE, "lamb": Range(0, low_open=True),
                            "sigma": Range(0, low_open=True), "nclust": POSITIVE_INT, "max_iter_harmony": POSITIVE_INT},
                    nullable=frozenset({"lamb"}), reads_pca=True)
SHUFFLED = ModelSpec("shuffled", fit_shuffled, {"n_comps": 15}, is_control=True, ranges=N_COMPS_RANGE, reads_pca=True)
CELLTYPE = ModelSpec("celltype", fit_celltype, {"n_comps": 15, "noise": 0.1}, is_control=True,
                     ranges={**N_COMPS_RANGE, "noise": NON_NEGATIVE})
