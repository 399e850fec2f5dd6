"""What every figure shares: matplotlib's Agg backend (jobs have no display), saving one figure to each
requested path (the suffix picks the format: PNG for the report, PDF or SVG for papers), a figure that
says why there is nothing to draw (so every report entry exists), the colours (one hue per model family,
controls in grey; systems in colours no cell type gets) and the line that names what a figure shows (the
embedding variant and the ranking score)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sysvi_bench import contracts as C  # noqa: E402

DPI = 150

# One hue per model family (the model's kind), shades within a family; controls grey (CONTROL_SHADES)
FAMILY_CMAPS = {"sysvi": "Blues", "scvi": "Greens", "harmony": "Purples", "pca": "Oranges", "external": "RdPu"}
OTHER_FAMILY_CMAP = "YlOrBr"  # a kind not listed (a new baseline)
CONTROL_SHADES = ("0.55", "0.35", "0.7", "0.45", "0.8")
CONTROL_LABEL = "control (metric range, not a candidate)"
# Systems: dark and muted colours that no cell-type palette below uses (hand-picked: no library palette
# is disjoint from matplotlib's qualitative ones); beyond them, shades of cividis
SYSTEM_PALETTE = ("#1a1a1a", "#c9a227", "#5f4b8b", "#2a9d8f", "#8d6e63", "#b5179e", "#6b8e23", "#708090")


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


def shows(variant: str | None = None, best_by: str | None = None) -> str:
    """The line a figure's title carries to say what it shows: the embedding variant its metrics are of
    (``evaluation.summary_variant``) and the score that picks and ranks (``evaluation.best_by``)."""
    parts = []
    if variant:
        parts.append(f"embedding: {variant} (evaluation.summary_variant)")
    if best_by:
        parts.append(f"best setting and ranking by: {best_by} (evaluation.best_by)")
    return "; ".join(parts)


def with_shows(title: str, variant: str | None = None, best_by: str | None = None) -> str:
    """``title`` and, on a second line, :func:`shows`."""
    line = shows(variant, best_by)
    return f"{title}\n{line}" if title and line else title or line


def controls_of(table: pd.DataFrame) -> set[str]:
    """Models that are metric-scaling controls (the ``control`` column of summary.tsv / best_settings.tsv)."""
    return set(table.loc[C.is_control(table).to_numpy(), "model"].astype(str))


def compared_first(models: Sequence[str], controls: Iterable[str]) -> list[str]:
    """``models`` (unique, in their order) with the controls moved to the end: drawn after the compared
    models, never at the top of a ranking."""
    models = list(dict.fromkeys(map(str, models)))
    controls = set(controls)
    return [m for m in models if m not in controls] + [m for m in models if m in controls]


def model_colours(table: pd.DataFrame) -> dict[str, tuple]:
    """One colour per model of ``table`` (columns ``model``, ``kind``, ``control``): a hue per model family
    (:data:`FAMILY_CMAPS` by kind), shades within a family, every control grey (:data:`CONTROL_SHADES`).
    Stable for a given table order."""
    rows = table.drop_duplicates("model") if len(table) else table
    controls = controls_of(table)
    kinds = dict(zip(rows["model"].astype(str), rows["kind"].astype(str))) if "kind" in rows else {}
    colours: dict[str, tuple] = {}
    families: dict[str, list[str]] = {}
    for model in rows["model"].astype(str):
        if model not in controls:
            families.setdefault(kinds.get(model, "?"), []).append(model)
    for kind, members in families.items():
        cmap = plt.get_cmap(FAMILY_CMAPS.get(kind, OTHER_FAMILY_CMAP))
        # darkest first; shades spaced over the readable part of the sequential map
        shades = np.linspace(0.85, 0.45, len(members)) if len(members) > 1 else [0.75]
        colours.update({m: cmap(s) for m, s in zip(members, shades)})
    grey = [m for m in rows["model"].astype(str) if m in controls]
    colours.update({m: matplotlib.colors.to_rgba(CONTROL_SHADES[i % len(CONTROL_SHADES)]) for i, m in enumerate(grey)})
    return colours


def category_palette(categories: Sequence[str]) -> dict[str, tuple]:
    """Cell-type colours: tab10 / tab20, beyond 20 types seaborn's husl circle."""
    cats = list(dict.fromkeys(categories))
    if len(cats) <= 20:
        cmap = plt.get_cmap("tab10" if len(cats) <= 10 else "tab20")
        return {c: cmap(i) for i, c in enumerate(cats)}
    import seaborn as sns

    return {c: (*rgb, 1.0) for c, rgb in zip(cats, sns.color_palette("husl", len(cats)))}


def system_palette(systems: Sequence[str]) -> dict[str, tuple]:
    """System colours, apart from every cell-type colour of :func:`category_palette` (:data:`SYSTEM_PALETTE`,
    then shades of cividis for more systems)."""
    systems = list(dict.fromkeys(systems))
    if len(systems) <= len(SYSTEM_PALETTE):
        return {s: matplotlib.colors.to_rgba(c) for s, c in zip(systems, SYSTEM_PALETTE)}
    cmap = plt.get_cmap("cividis")
    return {s: cmap(x) for s, x in zip(systems, np.linspace(0.0, 0.95, len(systems)))}


def usable_range(values: Iterable[float], min_span: float = 0.1, bounds: tuple[float, float] | None = None
                 ) -> tuple[float, float]:
    """A y range for a metric that shows its usable range rather than its noise: the span of ``values`` (the
    metric over the dataset's runs, controls included), widened to at least ``min_span`` around its middle,
    kept inside ``bounds`` (e.g. (0, 1) for a bounded metric) and padded by 5%."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return (0.0, 1.0)
    low, high = float(v.min()), float(v.max())
    if high - low < min_span:
        mid = (low + high) / 2
        low, high = mid - min_span / 2, mid + min_span / 2
        if bounds is not None:  # shift inside the bounds rather than cut the span
            if low < bounds[0]:
                low, high = bounds[0], bounds[0] + min_span
            if high > bounds[1]:
                low, high = bounds[1] - min_span, bounds[1]
    pad = 0.05 * (high - low)
    return low - pad, high + pad
