"""Cell-type mixing across systems and cross-system label transfer (sysvi_bench.score.cell_types)."""

import numpy as np
import pandas as pd
import pytest

from sysvi_bench.score.cell_types import (
    cell_type_metrics,
    chance_same_type,
    cross_system_mixing,
    cross_system_same_type,
    label_transfer,
)
from sysvi_bench.score.neighbors import compute_neighbors


def _blobs(types_a, types_b, n=60, seed=0):
    """Two systems with cell types at well-separated centres; ``types_b[i]`` sits where ``types_a[i]`` does
    (so a permutation in ``types_b`` swaps types between systems)."""
    rng = np.random.default_rng(seed)
    x, systems, labels = [], [], []
    for i, (ta, tb) in enumerate(zip(types_a, types_b)):
        centre = np.zeros(5)
        centre[i % 5] = 20.0 * (1 + i // 5)
        for system, t in (("A", ta), ("B", tb)):
            if t is None:
                continue
            x.append(centre + rng.normal(size=(n, 5)))
            systems += [system] * n
            labels += [t] * n
    return np.vstack(x).astype(np.float32), np.array(systems), np.array(labels)


def _graph(x, k=30):
    return np.asarray(compute_neighbors(x, k).indices)


def test_separated_types_mixed_systems_score_one():
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", "beta", "delta"])
    idx = _graph(x)
    assert cross_system_same_type(idx, systems, labels) == pytest.approx(1.0)
    table = cross_system_mixing(idx, systems, labels)
    assert list(table.columns[:5]) == ["system", "cell_type", "other_system", "other_cell_type", "fraction"]
    # fractions of one (system, cell type, other system) sum to 1, and all mass is on the diagonal
    sums = table.groupby(["system", "cell_type", "other_system"])["fraction"].sum()
    assert np.allclose(sums, 1.0)
    diagonal = table[table["cell_type"] == table["other_cell_type"]]
    assert np.allclose(diagonal["fraction"], 1.0)
    assert set(table["system"]) == {"A", "B"} and (table["system"] != table["other_system"]).all()


def test_types_swapped_between_systems_score_low():
    # system B's beta sits where A's alpha is, and vice versa: every cross-system neighbour has the wrong type
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["beta", "alpha", "gamma"])
    idx = _graph(x)
    assert cross_system_same_type(idx, systems, labels) < 0.05
    table = cross_system_mixing(idx, systems, labels).set_index(["system", "cell_type", "other_cell_type"])
    assert table.loc[("A", "alpha", "beta"), "fraction"] == pytest.approx(1.0)
    # delta (A only) and gamma (B only) are in the table but not in the metric
    assert ("A", "delta", "gamma") in table.index


def test_cells_without_cross_system_neighbours_are_left_out():
    # systems far apart: no cross-system neighbour at all -> undefined, not 0 or 1
    x, systems, labels = _blobs(["alpha"], ["alpha"])
    x[systems == "B"] += 1000
    with pytest.raises(ValueError, match="no cell has a neighbour"):
        cross_system_same_type(_graph(x), systems, labels)
    assert cross_system_mixing(_graph(x), systems, labels).empty


def test_random_neighbours_score_the_chance_level():
    rng = np.random.default_rng(1)
    n = 3000
    systems = rng.choice(["A", "B"], n)
    labels = np.where(systems == "A", rng.choice(["t1", "t2", "t3"], n, p=[0.6, 0.3, 0.1]),
                      rng.choice(["t1", "t2", "t3"], n, p=[0.2, 0.2, 0.6]))
    idx = _graph(rng.normal(size=(n, 10)).astype(np.float32))
    chance = chance_same_type(systems, labels)
    # expected: A cells see B's frequencies and vice versa
    freq = pd.crosstab(systems, labels, normalize="index")
    share_a = (systems == "A").mean()
    expected = share_a * (freq.loc["A"] * freq.loc["B"]).sum() + (1 - share_a) * (freq.loc["B"] * freq.loc["A"]).sum()
    assert chance == pytest.approx(expected, abs=0.02)
    assert cross_system_same_type(idx, systems, labels) == pytest.approx(chance, abs=0.03)


def test_label_transfer_known_answer():
    # A: alpha, beta, delta; B: alpha, beta (alpha and beta swapped in space), epsilon (B only)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["beta", "alpha", "epsilon"])
    f1, table = label_transfer(x, systems, labels)
    # A -> B: B's cells of the shared types alpha/beta are all predicted wrong -> F1 0 for both; same B -> A
    assert f1 == pytest.approx(0.0)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", "beta", "epsilon"])
    f1, table = label_transfer(x, systems, labels)
    assert f1 == pytest.approx(1.0)
    scored = table[table["scored"]]
    assert set(scored["cell_type"]) == {"alpha", "beta"} and np.allclose(scored["f1"], 1.0)
    unscored = table[~table["scored"]].set_index(["reference_system", "cell_type"])
    assert unscored.loc[("A", "delta"), "note"] == "only in A" and np.isnan(unscored.loc[("A", "delta"), "f1"])
    assert unscored.loc[("A", "epsilon"), "note"] == "only in B"
    assert set(zip(table["reference_system"], table["query_system"])) == {("A", "B"), ("B", "A")}


def test_label_transfer_half_right():
    # B's beta sits on A's delta: A -> B predicts beta cells as delta (F1 beta 0, alpha 1 -> macro 0.5)
    x, systems, labels = _blobs(["alpha", "beta", "delta"], ["alpha", None, "beta"])
    f1, table = label_transfer(x, systems, labels)
    a_to_b = table[(table["reference_system"] == "A") & table["scored"]].set_index("cell_type")["f1"]
    assert a_to_b["alpha"] == pytest.approx(1.0) and a_to_b["beta"] == pytest.approx(0.0)
    # the metric is the mean over the two ordered pairs of each pair's macro-F1 over the shared types
    per_pair = table[table["scored"]].groupby(["reference_system", "query_system"])["f1"].mean()
    assert per_pair[("A", "B")] == pytest.approx(0.5) and f1 == pytest.approx(per_pair.mean())


def test_cell_type_metrics_keeps_going_when_one_metric_is_undefined():
    x, systems, labels = _blobs(["alpha"], ["alpha"])
    x[systems == "B"] += 1000
    result = cell_type_metrics(x, _graph(x), systems, labels)
    assert np.isnan(result.values["cross_system_same_type"]) and "no cell" in result.reasons["cross_system_same_type"]
    # far apart but the classifier still takes its nearest (wrong-system) cells: all alpha -> F1 1
    assert result.values["label_transfer_f1"] == pytest.approx(1.0)
