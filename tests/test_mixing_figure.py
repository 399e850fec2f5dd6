"""The per-dataset cell-type mixing heatmaps (sysvi_bench.report.mixing_figure)."""

import numpy as np
import pandas as pd

from sysvi_bench.score.cell_types import cross_system_mixing
from sysvi_bench.report.panels import UNINTEGRATED, mixing_panels
from sysvi_bench.report.mixing_figure import axis_order, cell_type_mixing_figure, mixing_matrix


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


def test_figure_one_panel_per_system_pair(tmp_path):
    rng = np.random.default_rng(0)
    systems = rng.choice(["a", "b", "c"], 300)
    labels = rng.choice(["t1", "t2"], 300)
    table = cross_system_mixing(rng.integers(0, 300, (300, 10)), systems, labels)
    types = {s: ["t1", "t2"] for s in "abc"}
    fig = cell_type_mixing_figure({UNINTEGRATED: table, "sysvi": table}, types, [tmp_path / "m.png", tmp_path / "m.pdf"])
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    assert len(heatmaps) == 2 * 3  # 2 panels x 3 system pairs
    assert heatmaps[0].get_title().startswith(UNINTEGRATED) and heatmaps[3].get_title().startswith("sysvi")
    assert (tmp_path / "m.pdf").stat().st_size > 1000
    fig = cell_type_mixing_figure({UNINTEGRATED: table[table["system"] != "c"]}, {"a": ["t1"], "b": ["t2"]},
                                  [tmp_path / "two.png"])
    assert "diagonal" in " ".join(t.get_text() for t in fig.texts)
