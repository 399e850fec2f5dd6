"""What every figure shares: matplotlib's Agg backend (jobs have no display), saving one figure to each
requested path (the suffix picks the format: PNG for the report, PDF or SVG for papers), and a figure that
says why there is nothing to draw (so every report entry exists)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 150


def save_figure(fig, paths: Iterable[Path | str]) -> None:
    """Write ``fig`` to every path (folders made as needed), then close it."""
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def message_figure(paths: Iterable[Path | str], title: str, message: str) -> None:
    """A small figure that says why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(6, 1.8))
    ax.axis("off")
    ax.text(0.0, 0.5, message, ha="left", va="center", fontsize=10, wrap=True, transform=ax.transAxes)
    ax.set_title(title, loc="left", fontsize=10)
    save_figure(fig, paths)
