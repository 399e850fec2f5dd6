"""Preprocessing invariants: HVG intersection, counts kept, per-system normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.data.validate import DataError
from sysvi_bench.config import DatasetKeys
from sysvi_bench.data.preprocess import PreprocessParams, hvg_per_system, preprocess

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")
PARAMS = PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10)


@pytest.fixture(scope="module")
def processed(small_sim):
    return preprocess(small_sim, KEYS, PARAMS, where="datasets.sim")


def test_hvgs_are_the_intersection_of_per_system_hvgs(small_sim, processed):
    # recompute the per-system sets on the same normalised data the function saw
    import scanpy as sc

    ref = small_sim.copy()
    ref.obs[C.SYSTEM] = ref.obs["system"].astype("category")
    ref.obs[C.SAMPLE] = (ref.obs["system"].astype(str) + ":" + ref.obs["sample"].astype(str)).astype("category")
    sc.pp.filter_cells(ref, min_genes=PARAMS.min_genes_per_cell)
    sc.pp.filter_genes(ref, min_cells=PARAMS.min_cells_per_gene)
    sc.pp.normalize_total(ref, target_sum=PARAMS.target_sum)
    sc.pp.log1p(ref)
    per_system = hvg_per_system(ref, PARAMS)
    assert len(per_system) == 2
    expected = set.intersection(*per_system.values())
    assert set(processed.var_names) == expected
    assert all(len(s) <= PARAMS.n_hvg for s in per_system.values())
    assert 0 < processed.n_vars < sum(len(s) for s in per_system.values())


def test_counts_are_kept_unchanged(small_sim, processed):
    raw = small_sim[processed.obs_names, processed.var_names].X
    kept = processed.layers[C.COUNTS_LAYER]
    assert abs(raw - kept).max() == 0


def test_each_cell_is_normalised_within_its_system(small_sim, processed):
    # normalisation happens after gene QC and before HVG subsetting: rebuild it from the raw counts
    full = small_sim[processed.obs_names]
    counts = full.X.toarray()
    kept_genes = (counts > 0).sum(0) >= PARAMS.min_cells_per_gene
    expected = np.log1p(counts / counts[:, kept_genes].sum(1, keepdims=True) * PARAMS.target_sum)
    cols = [full.var_names.get_loc(g) for g in processed.var_names]
    x = processed.X.toarray() if sparse.issparse(processed.X) else processed.X
    np.testing.assert_allclose(x, expected[:, cols], rtol=1e-4, atol=1e-4)
    assert set(processed.obs[C.SYSTEM].cat.categories) == {"system_0", "system_1"}


def test_obs_keys_and_pca_follow_the_contract(processed):
    for key in (C.SYSTEM, C.LABEL, C.SAMPLE):
        assert key in processed.obs
    assert processed.obsm[C.PCA_KEY].shape == (processed.n_obs, PARAMS.n_pcs)
    assert processed.uns["preprocess"]["n_hvg"] == PARAMS.n_hvg


def test_no_shared_hvg_is_an_error(small_sim):
    adata = small_sim.copy()
    # make the two systems measure disjoint genes
    x = adata.X.toarray()
    half = adata.n_vars // 2
    s0 = (adata.obs["system"] == "system_0").to_numpy()
    x[np.ix_(s0, np.arange(half, adata.n_vars))] = 0
    x[np.ix_(~s0, np.arange(half))] = 0
    adata.X = sparse.csr_matrix(x)
    with pytest.raises(DataError, match="share no highly variable gene"):
        preprocess(adata, KEYS, PreprocessParams(n_hvg=20, min_cells_per_gene=1, min_genes_per_cell=1), where="datasets.sim")


def test_zero_cells_after_qc_is_an_error(small_sim):
    with pytest.raises(DataError, match="no cells left after QC"):
        preprocess(small_sim, KEYS, PreprocessParams(min_genes_per_cell=10**6), where="datasets.sim")
