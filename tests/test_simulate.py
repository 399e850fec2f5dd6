"""The simulator: deterministic, the requested shape, and the structure it promises."""

from __future__ import annotations

import numpy as np
import pytest

from sysvi_bench.data.simulate import SimulationParams, simulate


def test_same_seed_same_data_other_seed_other_data():
    params = SimulationParams(n_cells=300, n_genes=200, seed=3)
    a, b = simulate(params), simulate(params)
    assert (a.X != b.X).nnz == 0
    assert a.obs.equals(b.obs)
    c = simulate(SimulationParams(n_cells=300, n_genes=200, seed=4))
    assert (a.X != c.X).nnz > 0


def test_requested_shape_and_categories(small_sim):
    adata = small_sim
    assert adata.shape == (600, 400)
    assert adata.obs["system"].nunique() == 2
    assert adata.obs["cell_type"].nunique() == 4
    assert adata.obs["sample"].nunique() == 4  # 2 per system
    # samples are nested in systems
    assert (adata.obs.groupby("sample", observed=True)["system"].nunique() == 1).all()
    x = adata.X.data
    assert np.all(x >= 0) and np.all(x == np.round(x))


def test_system_effect_strength_controls_separation():
    """Stronger system effects make systems more separable in expression space."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    def system_accuracy(effect: float) -> float:
        adata = simulate(SimulationParams(n_cells=400, n_genes=300, system_effect=effect, system_specific_gene_fraction=0.0, sample_effect=0.0, seed=0))
        x = np.log1p(adata.X.toarray() / adata.X.sum(axis=1).A * 1e4)
        y = adata.obs["system"].cat.codes
        return cross_val_score(LogisticRegression(max_iter=200, C=0.01), x, y, cv=3).mean()

    assert system_accuracy(0.0) < 0.7
    assert system_accuracy(1.5) > 0.95


def test_cell_types_and_within_type_gradient_are_in_the_counts(small_sim):
    adata = small_sim
    x = np.log1p(adata.X.toarray())
    types = adata.obs["cell_type"].to_numpy()
    # cell types differ: between-type variance of gene means dominates for marker genes
    means = np.stack([x[types == t].mean(0) for t in np.unique(types)])
    assert means.std(0).max() > 1.0
    # within one type, some gene correlates strongly with the true gradient
    in_type = types == types[0]
    grad = adata.obs["gradient"].to_numpy()[in_type]
    corr = [abs(np.corrcoef(grad, x[in_type, g])[0, 1]) for g in range(x.shape[1]) if x[in_type, g].std() > 0]
    assert max(corr) > 0.5


def test_single_system_is_refused():
    with pytest.raises(ValueError, match="n_systems"):
        simulate(SimulationParams(n_systems=1))
