"""Per dataset: which cell types each model's best run mixes with which across systems (the paper's
``adversarial_cell_mixing.py`` heatmaps), from the runs' ``cell_type_mixing.tsv``
(:mod:`sysvi_bench.score.cell_types`).

A panel per model and system pair: rows = the first system's cell types, columns = the second's, colour =
of the row type's neighbours from the second system, the fraction carrying the column type. A good
integration puts the mass on the diagonal (shared types first, in the same order on both axes).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from sysvi_bench.report.plotting import save_figure


def axis_order(types_a: Sequence[str], types_b: Sequence[str]) -> tuple[list[str], list[str]]:
    """Rows (``types_a``) and columns (``types_b``): the shared types first, alphabetical and in the same
    order on both axes (the diagonal), then each system's own types."""
    shared = sorted(set(types_a) & set(types_b))
    return shared + sorted(set(types_a) - set(shared)), shared + sorted(set(types_b) - set(shared))


def mixing_matrix(table: pd.DataFrame, system: str, other: str, types: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Cell types of ``system`` (rows) x cell types of ``other`` (columns), from a mixing table: of a row
    type's neighbours from ``other``, the fraction with each column type. ``types``: each system's cell
    types (axes in :func:`axis_order`); NaN rows: no cell of the type has a neighbour from ``other``."""
    sub = table[(table["system"] == system) & (table["other_system"] == other)]
    grid = sub.pivot_table(index="cell_type", columns="other_cell_type", values="fraction", aggfunc="mean")
    rows, cols = axis_order(types.get(system, []), types.get(other, []))
    return grid.reindex(index=rows, columns=cols)


def cell_type_mixing_figure(
    tables: Mapping[str, pd.DataFrame], types: Mapping[str, Sequence[str]], paths: Sequence[Path | str],
    title: str = "", subtitles: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Heatmaps of :func:`mixing_matrix` per panel (``tables``: panel name -> one variant's mixing table;
    ``types``: each system's labelled cell types).

    Two systems: two panels per row, the first row the unintegrated data and the best sysVI run. More
    systems: one row per panel, one column per system pair.
    """
    systems = sorted(types) or ["?"]
    pairs = list(combinations(systems, 2)) or [(systems[0], systems[0])]
    ncols = 2 if len(pairs) == 1 else len(pairs)
    cells = [(name, pair) for name in tables for pair in pairs]
    nrows = max(1, -(-len(cells) // ncols))
    n_types = max([len(set().union(*map(set, types.values())))] + [2])
    size = 1.0 + 0.28 * n_types
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * (size + 1.2), nrows * size + 0.8), squeeze=False)
    for ax, (name, (a, b)) in zip(axes.flat, cells):
        grid = mixing_matrix(tables[name], a, b, types)
        sns.heatmap(grid, vmin=0, vmax=1, cmap="viridis", ax=ax, cbar=True, square=True,
                    cbar_kws={"label": "fraction", "shrink": 0.6}, xticklabels=True, yticklabels=True)
        ax.set_xlabel(f"{b} cell types (neighbours)")
        ax.set_ylabel(f"{a} cell types")
        ax.tick_params(labelsize=7)
        sub = (subtitles or {}).get(name, "")
        ax.set_title(f"{name}\n{sub}" if sub else name, fontsize=9)
    for ax in list(axes.flat)[len(cells):]:
        ax.set_axis_off()
    fig.suptitle(title or "Which cell types are mixed across systems")
    fig.text(0.01, 0.005, "Row: cells of a type in the first system; colour: of their neighbours from the other "
             "system, the fraction with each cell type. Good: a bright diagonal (types meet their own type); "
             "off-diagonal mass = different types mixed; an empty row = no cross-system neighbours.",
             fontsize=8, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(fig, paths)
    return fig
