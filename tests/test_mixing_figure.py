"""The per-dataset cell-type mixing heatmaps (sysvi_bench.report.mixing_figure)."""

import numpy as np
import pandas as pd
import pytest

from sysvi_bench.score.cell_types import cross_system_mixing
from sysvi_bench.report.panels import UNINTEGRATED, mixing_panels
from sysvi_bench.report.mixing_figure import (
    axis_order,
    cell_type_mixing_figure,
    mixing_matrix,
    pooled_matrix,
    same_type_share,
)


def _best(with_pca=True):
    rows = [("sysvi", "sysvi", "sysvi__cyc=2__seed=1", 1), ("scvi", "scvi", "scvi__seed=0", 2),
            ("vamp", "sysvi", "vamp__seed=0", 3), ("harmony", "harmony", "harmony__seed=0", 4)]
    if with_pca:
        rows.append(("unintegrated", "pca", "unintegrated", 5))
    return pd.DataFrame(rows, columns=["model", "kind", "median_run_id", "model_rank"])


def test_panels_unintegrated_then_best_sysvi_then_by_rank():
    panels = mixing_panels(_best())
    assert list(panels) == [UNINTEGRATED, "sysvi", "scvi", "vamp", "harmony"]
    assert panels[UNINTEGRATED] == "unintegrated" and panels["sysvi"] == "sysvi__cyc=2__seed=1"
    # the model named sysvi leads the SysVI-kind presets even when one of them ranks higher
    best = _best().assign(model_rank=[3, 2, 1, 4, 5])
    assert list(mixing_panels(best)) == [UNINTEGRATED, "sysvi", "vamp", "scvi", "harmony"]
    # no PCA run: the evaluation reference's graph (None) leads
    assert mixing_panels(_best(with_pca=False))[UNINTEGRATED] is None


def test_matrix_shared_types_first_on_both_axes():
    rows, cols = axis_order(["beta", "alpha", "acinar"], ["alpha", "beta", "B cell"])
    assert rows == ["alpha", "beta", "acinar"] and cols == ["alpha", "beta", "B cell"]
    systems = np.array(["h"] * 4 + ["m"] * 4)
    labels = np.array(["alpha", "alpha", "beta", "acinar", "alpha", "alpha", "beta", "B cell"])
    # each cell's neighbours: itself and the cell 4 places away (its counterpart in the other system)
    indices = np.stack([np.arange(8), (np.arange(8) + 4) % 8], axis=1)
    table = cross_system_mixing(indices, systems, labels)
    grid = mixing_matrix(table, "h", "m", {"h": ["acinar", "alpha", "beta"], "m": ["B cell", "alpha", "beta"]})
    assert list(grid.index) == ["alpha", "beta", "acinar"] and list(grid.columns) == ["alpha", "beta", "B cell"]
    assert grid.loc["alpha", "alpha"] == 1.0 and grid.loc["beta", "beta"] == 1.0
    assert grid.loc["acinar", "B cell"] == 1.0  # human acinar sits next to mouse B cells: off the diagonal
    assert np.isnan(grid.loc["alpha", "B cell"]) or grid.loc["alpha", "B cell"] == 0


def _three_systems():
    rng = np.random.default_rng(0)
    systems = rng.choice(["a", "b", "c"], 300)
    labels = rng.choice(["t1", "t2"], 300)
    return cross_system_mixing(rng.integers(0, 300, (300, 10)), systems, labels), {s: ["t1", "t2"] for s in "abc"}


def test_figure_two_systems_one_panel_per_model(tmp_path):
    table, _ = _three_systems()
    table = table[(table["system"] != "c") & (table["other_system"] != "c")]
    fig = cell_type_mixing_figure({UNINTEGRATED: table, "sysvi": table, "celltype": table},
                                  {"a": ["t1", "t2"], "b": ["t1", "t2"]}, [tmp_path / "two.png"],
                                  title="toy\nembedding: raw", controls=["celltype"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split("\n")[0] for t in titles] == [UNINTEGRATED, "sysvi", "celltype (control)"]
    assert "diagonal" in " ".join(t.get_text() for t in fig.texts)
    assert "raw" in fig._suptitle.get_text()


def test_figure_pools_the_other_systems_beyond_two(tmp_path):
    table, types = _three_systems()
    fig = cell_type_mixing_figure({UNINTEGRATED: table, "sysvi": table}, types, [tmp_path / "m.png", tmp_path / "m.pdf"])
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    # one pooled panel per model (not one per system pair) and the systems x models share heatmap
    assert len(heatmaps) == 2 + 1
    assert heatmaps[0].get_title().startswith(UNINTEGRATED) and heatmaps[1].get_title().startswith("sysvi")
    assert "against the rest" in heatmaps[2].get_title()
    assert (tmp_path / "m.pdf").stat().st_size > 1000
    # 20 systems, 10 models: still 10 + 1 panels
    many = pd.concat([table.assign(system=table["system"] + str(i), other_system=table["other_system"] + str(i))
                      for i in range(7)])
    many_types = {f"{s}{i}": ["t1", "t2"] for s in "abc" for i in range(7)}
    fig = cell_type_mixing_figure({f"m{i}": many for i in range(10)}, many_types, [tmp_path / "many.png"])
    assert len([ax for ax in fig.axes if ax.get_title()]) == 10 + 1


def test_pooled_matrix_weights_the_system_pairs_by_cells():
    table = pd.DataFrame({
        "system": ["a", "a", "a", "a", "b", "b"], "cell_type": ["x"] * 6,
        "other_system": ["b", "b", "c", "c", "a", "a"], "other_cell_type": ["x", "y", "x", "y", "x", "y"],
        "fraction": [1.0, 0.0, 0.0, 1.0, 0.5, 0.5], "n_cells": [30, 30, 10, 10, 20, 20]})
    types = {"a": ["x"], "b": ["x", "y"], "c": ["x", "y"]}
    one = pooled_matrix(table, types, system="a")
    assert one.loc["x", "x"] == pytest.approx(30 / 40) and one.loc["x", "y"] == pytest.approx(10 / 40)
    every = pooled_matrix(table, types)
    assert every.loc["x", "x"] == pytest.approx((30 + 10) / 60) and np.isnan(every.loc["y", "x"])
    share = same_type_share(table, types)
    assert share["a"] == pytest.approx(30 / 40) and share["b"] == pytest.approx(0.5) and np.isnan(share["c"])
