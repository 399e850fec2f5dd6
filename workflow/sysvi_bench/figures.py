"""Figures (matplotlib/seaborn). Each function writes one figure family to the given path(s)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

AGGREGATES = ["bio", "batch", "total"]


def results_table(summary: pd.DataFrame, metric_types: dict[str, str], paths: list[Path | str], title: str = "") -> None:
    """scIB-style results table: rows = runs (best total first), columns = metrics then aggregates.

    Each column is coloured by its min-max scaled value (darker = better), with the raw value printed.
    """
    metrics = [m for t in ("bio", "batch") for m in sorted(k for k, v in metric_types.items() if v == t)]
    cols = [c for c in metrics + AGGREGATES if c in summary.columns]
    table = summary.sort_values("total", ascending=False, na_position="last").set_index("run_id")[cols]
    values = table.to_numpy(dtype=float)
    lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    scaled = (values - lo) / np.where(hi > lo, hi - lo, 1.0)
    fig_w = 2.5 + 0.9 * len(cols) + 0.06 * max(len(i) for i in table.index)
    fig, ax = plt.subplots(figsize=(fig_w, 0.8 + 0.32 * len(table)))
    ax.imshow(np.ma.masked_invalid(scaled), cmap="YlGnBu", aspect="auto", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "NA" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if scaled[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(cols)), [c.replace("_", " ") for c in cols], rotation=45, ha="left", fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(table)), table.index, fontsize=7)
    for j, col in enumerate(cols):
        if col in AGGREGATES and (j == 0 or cols[j - 1] not in AGGREGATES):
            ax.axvline(j - 0.5, color="black", lw=1.5)
    ax.set_title(title, fontsize=10, pad=10, loc="left")
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
