"""The UMAP figure: 2-D coordinates of one embedding (scanpy), and the grid of the drawn runs' UMAPs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sysvi_bench import contracts as C
from sysvi_bench.report.plotting import category_palette, compared_first, message_figure, save_figure, system_palette



def umap_coordinates(emb: np.ndarray, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP of one embedding (cells x 2): scanpy's k-NN graph on it, then ``sc.tl.umap`` seeded."""
    import anndata as ad
    import scanpy as sc

    adata = ad.AnnData(obsm={"X_emb": np.asarray(emb, dtype=np.float32)}, shape=(len(emb), 0))
    sc.pp.neighbors(adata, use_rep="X_emb", n_neighbors=min(n_neighbors, len(emb) - 1), random_state=seed)
    sc.tl.umap(adata, random_state=seed)
    return np.asarray(adata.obsm["X_umap"])


def umap_grid(
    coords: Mapping[str, np.ndarray],
    obs: pd.DataFrame,
    paths: list[Path | str],
    title: str = "",
    subtitles: Mapping[str, str] | None = None,
    colour_by: Sequence[tuple[str, str]] = ((C.SYSTEM, "system"), (C.LABEL, "cell type")),
    pairs_per_row: int = 3,
    controls: Sequence[str] = (),
) -> plt.Figure | None:
    """UMAP of each embedding (best run per model), coloured by system and by cell type, with shared legends.

    ``coords``: name -> (cells x 2), rows aligned with ``obs`` (which holds the ``colour_by`` columns).
    ``controls``: names of the controls' panels, drawn after the compared models and titled "(control)".
    The system colours (:func:`~sysvi_bench.report.plotting.system_palette`) are none of the cell types'.
    """
    if not coords:
        message_figure(paths, title, "No successful run: no embedding to draw.")
        return
    subtitles = subtitles or {}
    controls = set(controls)
    names = compared_first(coords, controls)
    per_row = min(pairs_per_row, len(names))
    n_rows = math.ceil(len(names) / per_row)
    n_panels = len(colour_by)
    palettes = {}
    for col, _ in colour_by:
        cats = sorted(obs[col].astype(str).unique())
        palettes[col] = system_palette(cats) if col == C.SYSTEM else category_palette(cats)
    legend_rows = max(math.ceil(len(p) / 4) for p in palettes.values())
    fig = plt.figure(figsize=(2.7 * n_panels * per_row, 3.15 * n_rows + 0.7 + 0.2 * legend_rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[3.15 * n_rows, 0.5 + 0.2 * legend_rows])
    cells = np.atleast_2d(top.subfigures(n_rows, per_row, squeeze=False))
    order = np.random.default_rng(0).permutation(len(obs))  # random draw order: no system painted on top
    size = max(0.5, min(6.0, 6000 / max(len(obs), 1)))
    for k, name in enumerate(names):
        r, c = divmod(k, per_row)
        cell = cells[r, c]
        sub = subtitles.get(name, "")
        head = f"{name} (control)" if name in controls else name
        cell.suptitle(head + (f"\n{sub}" if sub and sub != name else ""), fontsize=8.5,
                      color="0.4" if name in controls else "black")
        xy = coords[name][order]
        for p, (col, label), ax in zip(range(n_panels), colour_by, cell.subplots(1, n_panels)):
            colours = obs[col].astype(str).map(palettes[col]).to_numpy()[order]
            ax.scatter(xy[:, 0], xy[:, 1], c=list(colours), s=size, lw=0, rasterized=True)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("UMAP 1", fontsize=7, labelpad=1)
            if p == 0:
                ax.set_ylabel("UMAP 2", fontsize=7, labelpad=1)
            ax.set_title(f"colour: {label}", fontsize=7.5)
    for k in range(len(names), n_rows * per_row):
        r, c = divmod(k, per_row)
        cells[r, c].set_visible(False)
    for lax, (col, label) in zip(np.atleast_1d(bottom.subplots(1, n_panels)), colour_by):
        lax.axis("off")
        handles = [Line2D([], [], marker="o", ls="", color=v, label=k) for k, v in palettes[col].items()]
        lax.legend(handles=handles, title=label, loc="upper center", ncol=min(4, len(handles)), fontsize=7,
                   title_fontsize=8, frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    save_figure(fig, paths)
    return fig
