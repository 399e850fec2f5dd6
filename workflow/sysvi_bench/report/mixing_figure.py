"""Per dataset: which cell types each model's best run mixes with which across systems (the paper's
``adversarial_cell_mixing.py`` heatmaps), from the runs' ``cell_type_mixing.tsv``
(:mod:`sysvi_bench.score.cell_types`).

Two systems: a panel per model, rows = the first system's cell types, columns = the second's, colour = of the
row type's neighbours from the second system, the fraction carrying the column type. More systems: a panel per
model would need one per system pair (n(n-1)/2: 190 at 20 systems), so the other systems are pooled: each
system against the rest (:func:`pooled_matrix`), shown as one panel per model over every system's cells, and a
systems x models heatmap of the share of each system's cross-system neighbours that carry the cell's own type
(:func:`same_type_share`). A good integration puts the mass on the diagonal (shared types first, in the same
order on both axes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sysvi_bench.report.plotting import compared_first, save_figure

NOTE_PAIR = ("Row: cells of a type in the first system; colour: of their neighbours from the other system, the "
             "fraction with each cell type. Good: a bright diagonal (types meet their own type); off-diagonal "
             "mass = different types mixed; an empty row = no cross-system neighbours.")
NOTE_POOLED = ("{n} systems: each system against the rest (other systems pooled). Top: row = cells of a type in "
               "any system; colour = of their neighbours from other systems, the fraction with each cell type "
               "(mean over the system pairs, weighted by cells). Good: a bright diagonal. Bottom: per system, "
               "the share of its cells' neighbours from other systems that carry the cell's own type (cell "
               "types the other system has; blank = no such neighbour): a dark cell = a system left apart or "
               "mixed with the wrong types.")


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


def pooled_matrix(table: pd.DataFrame, types: Mapping[str, Sequence[str]], system: str | None = None
                  ) -> pd.DataFrame:
    """Cell types (rows) x the cell types of their neighbours from the other systems (columns), the other
    systems pooled: the mean of the table's fractions over the system pairs, weighted by ``n_cells`` (the
    cells of the row type with a neighbour from that system). ``system``: only that system's cells (one
    system against the rest); None: every system's. Hand-written: a weighted pivot, no library has it."""
    sub = table if system is None else table[table["system"] == system]
    rows_types = sorted({t for s, ts in types.items() if system is None or s == system for t in ts})
    col_types = sorted({t for s, ts in types.items() if system is None or s != system for t in ts})
    rows, cols = axis_order(rows_types, col_types)
    if sub.empty:
        return pd.DataFrame(np.nan, index=rows, columns=cols)
    weight = sub["n_cells"].astype(float)
    summed = (sub.assign(w=sub["fraction"].astype(float) * weight, n=weight)
              .groupby(["cell_type", "other_cell_type"])[["w", "n"]].sum())
    grid = (summed["w"] / summed["n"]).unstack("other_cell_type")
    return grid.reindex(index=rows, columns=cols)


def same_type_share(table: pd.DataFrame, types: Mapping[str, Sequence[str]]) -> pd.Series:
    """Per system: of its cells' neighbours from each other system in which the cell's type occurs, the
    share carrying that type, averaged over cells (weights ``n_cells``); NaN where there is none."""
    if table.empty:
        return pd.Series(np.nan, index=sorted(types), dtype=float)
    present = {s: set(ts) for s, ts in types.items()}
    eligible = [t in present.get(o, set()) for t, o in zip(table["cell_type"], table["other_system"])]
    sub = table[np.asarray(eligible, dtype=bool)]
    blocks = sub.drop_duplicates(["system", "cell_type", "other_system"])
    cells = blocks.groupby("system")["n_cells"].sum().astype(float)
    same = sub[sub["cell_type"] == sub["other_cell_type"]]
    hits = (same["fraction"].astype(float) * same["n_cells"].astype(float)).groupby(same["system"]).sum()
    return (hits / cells).reindex(sorted(types))


def _heatmap(ax, grid: pd.DataFrame, fontsize: float):
    """One heatmap (matplotlib's imshow: one artist per panel, cheap at hundreds of panels; NaN blank)."""
    image = ax.imshow(np.ma.masked_invalid(grid.to_numpy(dtype=float)), vmin=0, vmax=1, cmap="viridis",
                      aspect="equal", interpolation="nearest")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns], rotation=90, fontsize=fontsize)
    ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index], fontsize=fontsize)
    ax.tick_params(length=2, pad=1)
    return image


def cell_type_mixing_figure(
    tables: Mapping[str, pd.DataFrame], types: Mapping[str, Sequence[str]], paths: Sequence[Path | str],
    title: str = "", subtitles: Mapping[str, str] | None = None, controls: Sequence[str] = (),
) -> plt.Figure:
    """Heatmaps of the cross-system cell-type mixing per panel (``tables``: panel name -> one variant's mixing
    table; ``types``: each system's labelled cell types; ``controls``: panels of controls, drawn last and
    titled "(control)").

    Two systems: :func:`mixing_matrix`, up to four panels per row, the unintegrated data and the best sysVI run
    first. More systems: the other systems pooled (:func:`pooled_matrix` of every system's cells), one
    panel per model, and below them :func:`same_type_share` per system (rows) and model (columns).
    """
    systems = sorted(types) or ["?"]
    controls = set(controls)
    names = compared_first(tables, controls)
    heads = {n: f"{n} (control)" if n in controls else n for n in names}
    pooled = len(systems) > 2
    n_types = max([len(set().union(*map(set, types.values())))] + [2]) if types else 2
    fontsize = 7 if n_types <= 25 else 5
    size = 1.2 + (0.2 if n_types <= 25 else 0.12) * n_types
    ncols = max(1, min(len(names), int(24 // (size + 1.0)), 4))  # at most ~24 inches wide
    nrows = max(1, -(-len(names) // ncols))
    extra = 1.4 + 0.22 * len(systems) if pooled else 0.0
    fig = plt.figure(figsize=(ncols * (size + 1.0) + 0.8, nrows * (size + 0.9) + extra + 0.6), layout="constrained")
    if pooled:
        top, bottom = fig.subfigures(2, 1, height_ratios=[nrows * (size + 0.9), extra])
    else:
        top, bottom = fig, None
    axes = np.atleast_1d(top.subplots(nrows, ncols, squeeze=False)).ravel()
    image = None
    for ax, name in zip(axes, names):
        if pooled:
            grid = pooled_matrix(tables[name], types)
            xlabel, ylabel = "cell type of neighbours from other systems", "cell type (every system's cells)"
        else:
            a, b = (systems * 2)[:2]
            grid = mixing_matrix(tables[name], a, b, types)
            xlabel, ylabel = f"{b} cell types (neighbours)", f"{a} cell types"
        image = _heatmap(ax, grid, fontsize)
        ax.set_xlabel(xlabel, fontsize=7)
        ax.set_ylabel(ylabel, fontsize=7)
        sub = (subtitles or {}).get(name, "")
        ax.set_title(f"{heads[name]}\n{sub}" if sub else heads[name], fontsize=8,
                     color="0.4" if name in controls else "black")
    for ax in axes[len(names):]:
        ax.set_axis_off()
    if image is not None:
        top.colorbar(image, ax=list(axes[:len(names)]), shrink=0.6, label="fraction of cross-system neighbours")
    if pooled:
        share = pd.DataFrame({heads[n]: same_type_share(tables[n], types) for n in names}).reindex(systems)
        ax = bottom.subplots(1, 1)
        bimage = _heatmap(ax, share, 7)
        ax.set_aspect("auto")
        ax.set_xticks(range(share.shape[1]), list(share.columns), rotation=30, ha="right", fontsize=7)
        for tick, name in zip(ax.get_xticklabels(), names):
            if name in controls:
                tick.set_color("0.4")
        ax.set_ylabel("system", fontsize=7)
        ax.set_title("each system against the rest: share of cross-system neighbours of the cell's own type",
                     fontsize=8)
        bottom.colorbar(bimage, ax=ax, shrink=0.9, label="share")
    fig.suptitle(title or "Which cell types are mixed across systems", x=0.01, ha="left", fontsize=10)
    note = NOTE_POOLED.format(n=len(systems)) if pooled else NOTE_PAIR
    fig.text(0.01, 0.0, note, fontsize=8, ha="left", va="top", wrap=True)
    save_figure(fig, paths)
    return fig
