"""Figures (matplotlib). Each public function draws one figure family and writes it to the given path(s).

Every function takes plain tables (``results/summary.tsv``, ``results/best_settings.tsv``, per-run histories),
so it can be tested on small hand-made frames; the path suffix picks the format (PNG for the report, PDF or
SVG for papers). Columns are read defensively: the summary gains metric columns over time
(:mod:`sysvi_bench.contracts`), and anything missing is skipped rather than an error.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import DEFAULT_BEST_BY
from sysvi_bench.score.catalogue import in_aggregate, is_auxiliary
from sysvi_bench.report.plotting import (
    CONTROL_LABEL,
    compared_first,
    controls_of,
    message_figure,
    model_colours,
    save_figure,
    usable_range,
    with_shows,
)

AGGREGATES = ["bio", "batch", "total", "selection_score"]
AGGREGATE_LABELS = {
    "bio": "bio conservation (scaled mean)",
    "batch": "batch correction (scaled mean)",
    "total": "total score",
    "selection_score": "paper's selection score",
}
# SysVI parameters a sweep figure can put on its x axis, in this order, when the runs vary them
SWEEP_AXES = {
    "z_distance_cycle_weight": "cycle-consistency weight",
    "kl_weight": "KL weight",
    "n_prior_components": "VampPrior components",
}
FACET = "embed_categorical_covariates"
HUE = "prior"
# loss families of the training-curve figure: (title, column prefix)
LOSSES = [("reconstruction", "reconstruction_loss"), ("KL (local)", "kl_local"), ("cycle consistency", "cycle_loss"),
          ("KL weight (warm-up)", "kl_weight")]


# ---------------------------------------------------------------------------------------------- helpers


def _ok(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["status"] == C.STATUS_OK]


def not_converged(summary: pd.DataFrame) -> set[str]:
    """Run ids whose training did not converge (summary column ``converged`` False; NA = not applicable)."""
    return set(summary.loc[C.as_bool(summary["converged"]).eq(False).fillna(False), "run_id"].astype(str))


def _fmt(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def _as_label(values: pd.Series) -> pd.Series:
    """Parameter values as readable labels: booleans read back from TSV as True/False, floats as %g."""
    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "n/a"
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        s = str(v)
        if s.lower() in ("true", "false"):
            return s.capitalize()
        return _fmt(v)

    return values.map(one)


def _best_by(best: pd.DataFrame, best_by: str | None) -> str | None:
    """``best_by`` as given, else the score ``best_settings.tsv`` chose the settings by."""
    return best_by or (str(best["best_by"].iloc[0]) if len(best) and "best_by" in best else None)


def best_setting_run_ids(summary: pd.DataFrame, best: pd.DataFrame) -> set[str]:
    """Every run (all seeds) of each model's best setting (``best_settings.tsv``)."""
    keys = set(zip(best["model"].astype(str), best["setting"].astype(str)))
    mask = [(str(m), str(s)) in keys for m, s in zip(summary["model"], summary["setting"])]
    return set(summary.loc[mask, "run_id"])


# ----------------------------------------------------------------------------------------- results table


def metrics_in_aggregate(metrics: Sequence[str], left_out: Sequence[str] | None = None) -> set[str]:
    """The metrics of ``metrics`` that enter the bio/batch aggregates: the one place a figure decides it.

    ``left_out``: the dataset's metrics that did not enter its aggregates, where the aggregate step records
    them; without it, the catalogue's rule (:func:`sysvi_bench.score.catalogue.in_aggregate`)."""
    if left_out is not None:
        return set(metrics) - set(left_out)
    return {m for m in metrics if in_aggregate(m)}


def ranking_order(summary: pd.DataFrame, score: str) -> pd.DataFrame:
    """The summary's rows as a ranking shows them: the compared runs by ``score`` (best first; failed and
    unscored last), then the controls (``control`` column) in their own block, by the same score."""
    key = score if score in summary.columns else "total"
    controls = controls_of(summary)
    is_control = summary["model"].astype(str).isin(controls)
    ranked = summary.sort_values(key, ascending=False, na_position="last", kind="stable")
    return pd.concat([ranked[~is_control.loc[ranked.index]], ranked[is_control.loc[ranked.index]]])


def results_table(
    summary: pd.DataFrame, metric_types: Mapping[str, str], paths: list[Path | str], title: str = "",
    best_by: str = DEFAULT_BEST_BY, variant: str | None = None, left_out: Sequence[str] | None = None,
) -> plt.Figure | None:
    """scIB-style results table: rows = runs, columns = bio metrics, batch metrics, metrics not aggregated,
    aggregates.

    Rows: the compared runs ranked by ``best_by`` (the score that picks the best settings), then the controls
    in a block of their own under a line, labelled grey: they show each metric's usable range and are never
    candidates (:func:`ranking_order`). Columns: the metrics that enter the bio/batch aggregates
    (:func:`metrics_in_aggregate`; ``left_out`` as there), then those reported but not aggregated, in a
    separate block with grey headers. The printed number is the raw value; the colour is the run's
    direction-aware scaled value from the summary (``scaled_<metric>``: 1 = the dataset's best run, darker =
    better) where it has one, else the column's min-max scaled raw value. Per-system and noise rows
    (:func:`~sysvi_bench.score.catalogue.is_auxiliary`) are not columns. Failed runs are listed last of their
    block, marked "(failed)", with NA; runs whose training did not converge (summary column ``converged``) are
    marked "(not converged)". ``variant`` (the embedding the metrics are of) is named in the title.
    """
    title = with_shows(title, variant, best_by)
    shown = [m for m in metric_types if not is_auxiliary(m) and m in summary.columns and summary[m].notna().any()]
    aggregated = metrics_in_aggregate(shown, left_out)
    blocks = [(f"bio conservation", sorted(m for m in shown if metric_types[m] == "bio" and m in aggregated)),
              ("batch correction", sorted(m for m in shown if metric_types[m] == "batch" and m in aggregated)),
              ("not in the aggregates", sorted((m for m in shown if m not in aggregated),
                                               key=lambda m: (metric_types[m] != "bio", m))),
              ("aggregates", [c for c in AGGREGATES if c in summary.columns and summary[c].notna().any()])]
    cols = [c for _, block in blocks for c in block]
    if summary.empty or not cols:
        message_figure(paths, title, "No scored run to tabulate.")
        return None
    order = ranking_order(summary, best_by)
    controls = controls_of(summary)
    is_control = order["model"].astype(str).isin(controls).to_numpy()
    unconverged = not_converged(order)
    labels = [
        f"{r} (failed)" if str(s) == C.STATUS_FAILED else f"{r} (not converged)" if str(r) in unconverged else str(r)
        for r, s in zip(order["run_id"], order["status"])
    ]
    labels = [f"{lab} (control)" if c else lab for lab, c in zip(labels, is_control)]
    values = order[cols].to_numpy(dtype=float)
    # colour: the summary's direction-aware scaled value where it exists, else min-max of the raw column
    scaled = np.full_like(values, np.nan)
    for j, col in enumerate(cols):
        if f"scaled_{col}" in order.columns:
            scaled[:, j] = order[f"scaled_{col}"].to_numpy(dtype=float)
        else:
            v = values[:, j]
            lo, hi = np.nanmin(v), np.nanmax(v)
            scaled[:, j] = (v - lo) / (hi - lo) if hi > lo else 0.5
    not_aggregated = np.array([c not in aggregated and c not in AGGREGATES for c in cols])
    fig_w = 2.5 + 0.62 * len(cols) + 0.065 * max(len(i) for i in labels)
    fig, ax = plt.subplots(figsize=(fig_w, 2.0 + 0.3 * len(order)))
    ax.imshow(np.ma.masked_invalid(scaled), cmap="YlGnBu", aspect="auto", vmin=0, vmax=1)
    # the blocks apart: non-aggregated columns and control rows under a light veil (their numbers stay)
    for j in np.flatnonzero(not_aggregated):
        ax.axvspan(j - 0.5, j + 0.5, color="white", alpha=0.45, lw=0)
    for i in np.flatnonzero(is_control):
        ax.axhspan(i - 0.5, i + 0.5, color="white", alpha=0.45, lw=0)
    for (i, j), v in np.ndenumerate(values):
        veiled = not_aggregated[j] or is_control[i]
        dark = not np.isnan(scaled[i, j]) and scaled[i, j] > 0.6 and not veiled
        ax.text(j, i, "NA" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if dark else "black", fontstyle="italic" if veiled else "normal")
    ax.set_xticks(range(len(cols)), [c.replace("_", " ") for c in cols], rotation=50, ha="left", fontsize=8)
    ax.xaxis.tick_top()
    for tick, grey in zip(ax.get_xticklabels(), not_aggregated):
        if grey:
            tick.set_color("0.45")
            tick.set_fontstyle("italic")
    ax.set_yticks(range(len(order)), labels, fontsize=7)
    for tick, control in zip(ax.get_yticklabels(), is_control):
        if control:
            tick.set_color("0.45")
    ax.set_ylabel(f"run (compared runs by {best_by}, best first; controls below the line)", fontsize=8)
    start = 0
    for name, block in blocks:
        if block:
            if start:
                ax.axvline(start - 0.5, color="black", lw=1.5)
            ax.text(start + len(block) / 2 - 0.5, len(order) - 0.5 + 0.25, name, ha="center", va="top",
                    fontsize=8, fontweight="bold", color="0.45" if name == "not in the aggregates" else "black")
            start += len(block)
    if is_control.any() and not is_control.all():
        first = int(np.flatnonzero(is_control)[0])
        ax.axhline(first - 0.5, color="0.3", lw=1.5)
        ax.text(len(cols) - 0.45, first - 0.45, CONTROL_LABEL, ha="left", va="top", fontsize=7, color="0.35")
    ax.set_ylim(len(order) - 0.5 + 0.9, -0.5)
    ax.set_title(title, fontsize=10, pad=10, loc="left")
    fig.tight_layout()
    save_figure(fig, paths)
    return fig


# -------------------------------------------------------------------------------- batch vs bio scatter


def _seed_error_bars(ax, ok: pd.DataFrame, colours: Mapping[str, tuple]) -> bool:
    """Mean ± sd over seeds of batch (x) and bio (y) for each setting of ``ok`` with >= 2 scored seeds."""
    if ok.empty:
        return False
    stats = ok.groupby(["model", "setting"], sort=False)[["batch", "bio"]].agg(["mean", "std", "count"])
    stats = stats[stats[("bio", "count")] >= 2]
    for (model, _), row in stats.iterrows():
        ax.errorbar(row[("batch", "mean")], row[("bio", "mean")], xerr=row[("batch", "std")],
                    yerr=row[("bio", "std")], fmt="+", ms=8, color=colours[str(model)], ecolor=colours[str(model)],
                    elinewidth=1.0, capsize=2.5, alpha=0.9, zorder=4)
    return len(stats) > 0


def batch_bio_scatter(
    summary: pd.DataFrame,
    paths: list[Path | str],
    best: pd.DataFrame,
    title: str = "",
    bio_weight: float = 0.6,
    best_by: str | None = None,
    variant: str | None = None,
) -> plt.Figure | None:
    """Batch correction (x) vs bio conservation (y), one point per run, coloured by model family.

    Runs of each model's best setting (``best_settings.tsv``, chosen by ``best_by``) are drawn large with a
    black outline, and (with >= 2 seeds) their mean over seeds with ± sd bars: the seed-to-seed noise; dashed
    grey lines are iso-lines of the total score (``bio_weight * bio + (1 - bio_weight) * batch``). Controls
    (``control`` column) are grey diamonds, listed last in the legend: they mark the scales' range, and the
    cell-type control sits near the upper right by construction (it is the labels), so that corner is not a
    goal to reach. ``variant`` and ``best_by`` are named in the title.
    """
    best_by = _best_by(best, best_by)
    title = with_shows(title, variant, best_by)
    ok = _ok(summary)
    ok = ok[ok[["bio", "batch"]].notna().all(axis=1)] if {"bio", "batch"} <= set(ok.columns) else ok.iloc[:0]
    if ok.empty:
        message_figure(paths, title, "No scored run: nothing to place on the batch-vs-bio plane.")
        return
    colours = model_colours(summary)
    controls = controls_of(summary)
    highlighted = best_setting_run_ids(summary, best)
    fig, ax = plt.subplots(figsize=(8.2, 5.6))
    grid = np.linspace(0, 1, 50)
    for level in np.arange(0.1, 1.0, 0.1):
        # bio = (level - (1 - w) * batch) / w
        ax.plot(grid, (level - (1 - bio_weight) * grid) / bio_weight, color="0.85", ls="--", lw=0.8, zorder=0)
    drawn = compared_first(ok["model"].astype(str), controls)
    for model in drawn:
        sub = ok[ok["model"].astype(str) == model]
        control = model in controls
        is_best = sub["run_id"].isin(highlighted)
        ax.scatter(sub.loc[~is_best, "batch"], sub.loc[~is_best, "bio"], s=40, color=colours[model],
                   marker="D" if control else "o", alpha=0.75, edgecolor="white", lw=0.5, zorder=2)
        ax.scatter(sub.loc[is_best, "batch"], sub.loc[is_best, "bio"], s=110 if control else 150,
                   color=colours[model], marker="D" if control else "o",
                   edgecolor="0.3" if control else "black", lw=1.0 if control else 1.6, zorder=3)
        if control:  # named on the plot (once, at its mean): a grey point without a name reads as a model
            x, y = sub["batch"].mean(), sub["bio"].mean()
            right = x > ok["batch"].min() + 0.6 * (ok["batch"].max() - ok["batch"].min())  # label inward
            ax.annotate(f"{model} (control)", (x, y), xytext=(-9 if right else 9, 0), textcoords="offset points",
                        fontsize=7, color="0.3", ha="right" if right else "left", va="center")
    compared = ok[~ok["model"].astype(str).isin(controls)]
    with_bars = _seed_error_bars(ax, compared[compared["run_id"].isin(highlighted)], colours)
    lo_x, hi_x = ok["batch"].min(), ok["batch"].max()
    lo_y, hi_y = ok["bio"].min(), ok["bio"].max()
    pad_x, pad_y = max(0.05, 0.08 * (hi_x - lo_x)), max(0.05, 0.08 * (hi_y - lo_y))
    (x_low, x_high), (y_low, y_high) = ((max(-0.02, lo_x - pad_x), min(1.02, hi_x + pad_x)),
                                        (max(-0.02, lo_y - pad_y), min(1.02, hi_y + pad_y)))
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("batch correction (mean of scaled batch metrics; system as batch)")
    ax.set_ylabel("bio conservation (mean of scaled bio metrics)")
    ax.set_title(title, loc="left", fontsize=10)

    def legend_label(model: str) -> str:
        if model not in controls:
            return model
        x, y = ok.loc[ok["model"].astype(str) == model, ["batch", "bio"]].mean()
        # scaled on the compared runs' range, a control can lie outside the plane: said, not silently cut
        inside = x_low <= x <= x_high and y_low <= y <= y_high
        return f"{model} (control)" + ("" if inside else f": off the plane (batch {x:.2f}, bio {y:.2f})")

    handles = [Line2D([], [], marker="D" if m in controls else "o", ls="", color=colours[m], label=legend_label(m))
               for m in drawn]
    handles += [
        Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.6,
               markersize=11, label=f"best setting of the model{f' (by {best_by})' if best_by else ''}"),
        *([Line2D([], [], marker="+", ls="-", color="0.3", markersize=8, label="best setting: mean ± sd over seeds")]
          if with_bars else []),
        Line2D([], [], color="0.7", ls="--", label=f"equal total ({bio_weight:g} bio + {1 - bio_weight:g} batch)"),
    ]
    ax.legend(handles=handles, title="model (controls grey: the scales' range)", fontsize=8, title_fontsize=9,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    save_figure(fig, paths)
    return fig


# ------------------------------------------------------------------------------------- parameter sweeps


def swept_axes(summary: pd.DataFrame) -> list[str]:
    """The :data:`SWEEP_AXES` that take more than one value among the successful SysVI runs."""
    sysvi = _ok(summary)
    sysvi = sysvi[sysvi["kind"] == "sysvi"]
    return [a for a in SWEEP_AXES if f"param_{a}" in sysvi.columns and sysvi[f"param_{a}"].dropna().nunique() > 1]


def sweep_anchor(best: pd.DataFrame) -> str | None:
    """The setting the sweep holds its other axes at: of the SysVI-kind models' best settings
    (``best_settings.tsv``), the one with the highest mean of the score they were chosen by (``best_by``)."""
    rows = best[best["kind"].astype(str) == "sysvi"]
    if rows.empty:
        return None
    means = rows[f"mean_{rows['best_by'].iloc[0]}"]
    return None if means.isna().all() else str(rows.loc[means.idxmax(), "setting"])


def sweep_table(summary: pd.DataFrame, quantities: Sequence[str], best: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of each quantity per SysVI setting and swept axis (long format).

    Columns: axis, x, prior, facet, quantity, mean, sd, n. For each axis, the other swept axes are held at the
    values of the best SysVI setting (:func:`sweep_anchor`), so that a line only varies its own axis.
    """
    sysvi = _ok(summary)
    sysvi = sysvi[sysvi["kind"] == "sysvi"]
    axes = swept_axes(summary) or [a for a in SWEEP_AXES if f"param_{a}" in sysvi.columns][:1]
    quantities = [q for q in quantities if q in sysvi.columns and sysvi[q].notna().any()]
    if sysvi.empty or not axes or not quantities:
        return pd.DataFrame(columns=["axis", "x", "prior", "facet", "quantity", "mean", "sd", "n", "held"])
    sysvi = sysvi.assign(
        _prior=_as_label(sysvi[f"param_{HUE}"]) if f"param_{HUE}" in sysvi.columns else "all",
        _facet=_as_label(sysvi[f"param_{FACET}"]) if f"param_{FACET}" in sysvi.columns else "all",
    )
    anchored = sysvi[sysvi["setting"].astype(str) == sweep_anchor(best)]
    anchor = (anchored if len(anchored) else sysvi).iloc[0]
    frames = []
    for axis in axes:
        sub = sysvi
        held = []
        for other in swept_axes(summary):
            if other != axis:
                sub = sub[sub[f"param_{other}"] == anchor[f"param_{other}"]]
                held.append(f"{SWEEP_AXES[other]} = {_fmt(anchor[f'param_{other}'])}")
        long = sub.melt(id_vars=["_prior", "_facet", f"param_{axis}"], value_vars=quantities,
                        var_name="quantity", value_name="value")
        stats = (long.groupby(["_prior", "_facet", f"param_{axis}", "quantity"])["value"]
                 .agg(["mean", "std", "count"]).reset_index())
        stats.columns = ["prior", "facet", "x", "quantity", "mean", "sd", "n"]
        stats["axis"] = axis
        stats["held"] = "; ".join(held)
        frames.append(stats)
    return pd.concat(frames, ignore_index=True)[["axis", "x", "prior", "facet", "quantity", "mean", "sd", "n", "held"]]


def parameter_sweep(
    summary: pd.DataFrame,
    best: pd.DataFrame,
    quantities: Sequence[str],
    paths: list[Path | str],
    title: str = "",
    max_cols: int = 4,
    labels: Mapping[str, str] | None = None,
    best_by: str | None = None,
    variant: str | None = None,
    bounded: Sequence[str] = AGGREGATES,
) -> plt.Figure | None:
    """Each quantity (metric or aggregate) vs each swept SysVI parameter, mean ± sd over seeds.

    One panel per quantity x swept axis x embedding setting (``embed_categorical_covariates``); lines are
    coloured by prior (``labels``: panel names per quantity). Axes that are not swept are skipped (with none swept, the cycle weight is shown, a
    single point per prior). The unintegrated PCA (kind ``pca``), when scored, is a dashed grey reference, and
    each control (``control`` column) a dotted grey one. A quantity's y axis spans its usable range, not the
    noise of the drawn points: its range over all the dataset's scored runs, at least 0.1 wide
    (:func:`~sysvi_bench.report.plotting.usable_range`): for a raw metric the controls included, for the
    ``bounded`` scaled scores (kept inside [0, 1] when widened) the compared runs only: controls scaled on the
    compared runs' range can lie far outside it, and the legend says when one is off the axis.
    ``variant`` and ``best_by`` (the score that chose the setting the other axes are held at) are named in
    the title.
    """
    best_by = _best_by(best, best_by)
    title = with_shows(title, variant, best_by)
    table = sweep_table(summary, quantities, best)
    if table.empty:
        message_figure(paths, title, "No scored SysVI run: no parameter sweep to draw.")
        return
    axes = list(dict.fromkeys(table["axis"]))
    facets = sorted(table["facet"].unique())
    priors = sorted(table["prior"].unique())
    quantities = [q for q in quantities if q in set(table["quantity"])]
    block = len(axes) * len(facets)
    per_row = min(max(1, max_cols // block), len(quantities))
    n_rows = math.ceil(len(quantities) / per_row)
    n_cols = per_row * block
    fig, grid = plt.subplots(n_rows, n_cols, figsize=(2.55 * n_cols + 1.6, 2.35 * n_rows + 0.9), squeeze=False)
    prior_colours = dict(zip(priors, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]))
    scored = _ok(summary)
    ref = scored[scored["kind"] == "pca"]
    reference = ref[[q for q in quantities if q in ref.columns]].mean() if len(ref) else None
    controls = controls_of(summary)
    control_means = {m: scored[scored["model"].astype(str) == m][[q for q in quantities if q in scored.columns]].mean()
                     for m in compared_first(scored["model"].astype(str), controls) if m in controls}
    control_styles = dict(zip(control_means, [":", "-.", (0, (1, 3)), (0, (5, 2, 1, 2))] * 4))
    off_axis: set[str] = set()  # controls outside some panel's y range
    for qi, quantity in enumerate(quantities):
        r, c0 = divmod(qi, per_row)
        panels = [grid[r, c0 * block + j] for j in range(block)]
        for ai, axis in enumerate(axes):
            for fi, facet in enumerate(facets):
                ax = grid[r, c0 * block + ai * len(facets) + fi]
                sub = table[(table["axis"] == axis) & (table["facet"] == facet) & (table["quantity"] == quantity)]
                xs = sorted(table.loc[table["axis"] == axis, "x"].dropna().unique())
                pos = {x: i for i, x in enumerate(xs)}
                for prior in priors:
                    line = sub[sub["prior"] == prior].sort_values("x")
                    if line.empty:
                        continue
                    ax.errorbar(line["x"].map(pos), line["mean"], yerr=line["sd"].fillna(0.0), marker="o",
                                ms=4, capsize=3, lw=1.4, color=prior_colours[prior], label=prior)
                if reference is not None and quantity in reference.index and not np.isnan(reference[quantity]):
                    ax.axhline(reference[quantity], color="0.5", ls="--", lw=1)
                for control, means in control_means.items():
                    if quantity in means.index and not np.isnan(means[quantity]):
                        ax.axhline(means[quantity], color="0.6", ls=control_styles[control], lw=1)
                ax.set_xticks(range(len(xs)), [_fmt(x) for x in xs], fontsize=8)
                ax.set_xlim(-0.4, len(xs) - 0.6)
                ax.tick_params(axis="y", labelsize=8)
                ax.set_xlabel(SWEEP_AXES[axis], fontsize=8)
                name = (labels or {}).get(quantity) or AGGREGATE_LABELS.get(quantity, quantity.replace("_", " "))
                ax.set_title(name if len(facets) == 1 else f"{name}\nembed covariates: {facet}", fontsize=8)
                if ai == 0 and fi == 0:
                    ax.set_ylabel("value (mean ± sd over seeds)", fontsize=8)
        # one y range per quantity, so that its panels (axes x embedding settings) compare directly: the
        # quantity's usable range over the dataset's runs, never autoscaled to the noise. A raw metric's range
        # includes the controls (they show it); a scaled score's is the compared runs' (the scale is theirs:
        # a control scaled on it can lie far outside and would squash the lines; named in the legend instead)
        drawn = table[table["quantity"] == quantity]
        pool = scored[~scored["model"].astype(str).isin(controls)] if quantity in bounded else scored
        spread = [*pool[quantity].dropna()] if quantity in pool.columns else []
        spread += [*(drawn["mean"] - drawn["sd"].fillna(0.0)), *(drawn["mean"] + drawn["sd"].fillna(0.0))]
        low, high = usable_range(spread, min_span=0.1, bounds=(0.0, 1.0) if quantity in bounded else None)
        for a in panels:
            a.set_ylim(low, high)
            a.ticklabel_format(axis="y", useOffset=False)
        off_axis.update(m for m, means in control_means.items()
                        if quantity in means.index and not low <= means[quantity] <= high)
    for k in range(len(quantities), n_rows * per_row):
        r, c0 = divmod(k, per_row)
        for j in range(block):
            grid[r, c0 * block + j].axis("off")
    handles = [Line2D([], [], color=prior_colours[p], marker="o", label=p) for p in priors]
    if reference is not None:
        handles.append(Line2D([], [], color="0.5", ls="--", label="unintegrated (PCA)"))
    handles += [Line2D([], [], color="0.6", ls=control_styles[m], label=f"{m} (control: the range"
                       + ("; off the axis where not drawn)" if m in off_axis else ")")) for m in control_means]
    held = "; ".join(h for h in table["held"].unique() if h)
    fig.tight_layout()
    # right of the panels, outside the axes (the saved figure's tight bounding box includes it)
    fig.legend(handles=handles, title="prior", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
               title_fontsize=9, frameon=False)
    # above the panels (the saved figure's tight bounding box includes it)
    fig.suptitle(title + (f"\nother swept parameters held at the best setting: {held}" if held else ""),
                 x=0.01, y=1.0, ha="left", va="bottom", fontsize=10)
    save_figure(fig, paths)
    return fig


# ------------------------------------------------------------------------------------- training curves


def training_curves(
    histories: Mapping[str, pd.DataFrame],
    paths: list[Path | str],
    title: str = "",
    runs_per_row: int = 2,
    convergence: pd.DataFrame | None = None,
) -> plt.Figure | None:
    """Per-epoch losses: reconstruction, KL, cycle consistency and the KL weight (train solid, validation dashed).

    ``histories``: run id -> its ``history.tsv`` (runs without a history, e.g. PCA, are skipped).
    ``convergence``: rows with ``run_id``, ``convergence``, ``converged`` (the summary, or
    :func:`sysvi_bench.aggregate.convergence.convergence_table`), and, where it has ``model`` and ``setting``
    (the summary), one row of panels per model with a line per run, coloured by setting, so that the figure
    grows with the models, not the runs; without them, a row per run (``runs_per_row`` runs side by side).
    Unconverged runs are named in red with their relative loss change over the last 10% of epochs.
    """
    histories = {k: v for k, v in histories.items() if v is not None and len(v) and "epoch" in v.columns}
    if not histories:
        message_figure(paths, title, "No run has a training history (no neural model trained).")
        return None
    losses = [(t, p) for t, p in LOSSES if any(any(c.startswith(p) for c in h.columns) for h in histories.values())]
    unconverged = not_converged(convergence) if convergence is not None else set()
    changes = dict(zip(convergence["run_id"].astype(str), pd.to_numeric(convergence["convergence"], errors="coerce"))) \
        if convergence is not None else {}
    by_model = convergence is not None and {"model", "setting"} <= set(convergence.columns)
    if by_model:
        info = convergence.drop_duplicates("run_id")
        info = info.set_index(info["run_id"].astype(str))
        groups: dict[str, list[str]] = {}
        for run in histories:
            groups.setdefault(str(info["model"].get(run, run)), []).append(run)
        setting_of = {run: str(info["setting"].get(run, run)) for run in histories}
        per_row = 1
    else:
        groups = {run: [run] for run in histories}
        setting_of = {run: run for run in histories}
        per_row = min(runs_per_row, len(groups))
    names = list(groups)
    n_rows = math.ceil(len(names) / per_row)
    n_cols = per_row * len(losses)
    fig, grid = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols + (2.2 if by_model else 0), 2.05 * n_rows + 0.8),
                             squeeze=False)
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        r, c0 = divmod(k, per_row)
        runs = groups[name]
        settings = list(dict.fromkeys(setting_of[run] for run in runs))
        colour = {s: cmap(i % 10) for i, s in enumerate(settings)} if len(settings) > 1 else {settings[0]: "#4c72b0"}
        for li, (loss_title, prefix) in enumerate(losses):
            ax = grid[r, c0 * len(losses) + li]
            drawn = False
            for run in runs:
                hist = histories[run]
                for col in sorted(c for c in hist.columns if c.startswith(prefix)):
                    y = pd.to_numeric(hist[col], errors="coerce")
                    logged = y.notna()  # scvi-tools logs kl_weight every log_every_n_steps steps: gaps
                    if logged.any():
                        valid = "valid" in col
                        ax.plot(hist["epoch"][logged], y[logged], lw=1.1, ls="--" if valid else "-", alpha=0.85,
                                color=colour[setting_of[run]])
                        drawn = True
            if not drawn:
                ax.text(0.5, 0.5, "not recorded", ha="center", va="center", fontsize=8, color="0.4",
                        transform=ax.transAxes)
            ax.tick_params(labelsize=7)
            # few ticks: a 2.5-inch panel over hundreds of epochs otherwise runs its labels together
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.set_title(loss_title, fontsize=8)
            ax.set_xlabel("epoch", fontsize=7)
            if li == 0:
                ax.set_ylabel("loss", fontsize=7)
                late = [run for run in runs if run in unconverged]
                if by_model:
                    label = f"{name} ({len(runs)} run{'s' if len(runs) > 1 else ''})"
                    if late:
                        label += f": {len(late)} not converged: " + ", ".join(
                            f"{run} ({changes.get(run, float('nan')):+.1%})" for run in late[:3]) + (
                            f" and {len(late) - 3} more" if len(late) > 3 else "")
                else:
                    label = f"{name}: not converged (last 10% of epochs: {changes.get(name, float('nan')):+.1%} " \
                            "of the loss range)" if late else name
                ax.annotate(label, xy=(0, 1), xycoords="axes fraction", xytext=(0, 17), textcoords="offset points",
                            fontsize=8, fontweight="bold", ha="left", va="bottom",
                            color="#c44e52" if late else "black").set_in_layout(False)
            if by_model and li == len(losses) - 1 and len(settings) > 1:
                prefix_len = len(f"{name}__")
                ax.legend(handles=[Line2D([], [], color=colour[s], label=s[prefix_len:] if s.startswith(f"{name}__")
                                          else s) for s in settings[:12]],
                          title="setting", fontsize=6, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                          frameon=False)
    for k in range(len(names), n_rows * per_row):
        r, c0 = divmod(k, per_row)
        for li in range(len(losses)):
            grid[r, c0 * len(losses) + li].axis("off")
    handles = [Line2D([], [], color="0.3", label="train")]
    if any("valid" in c for h in histories.values() for c in h.columns):
        handles.append(Line2D([], [], color="0.3", ls="--", label="validation"))
    fig.legend(handles=handles, loc="upper right", fontsize=8, frameon=False, ncol=2)
    fig.suptitle(title + ("\none row per model, a line per run (colour: setting; seeds share it)" if by_model else ""),
                 x=0.01, y=1.0, ha="left", va="bottom", fontsize=10)
    fig.tight_layout(h_pad=2.2)
    save_figure(fig, paths)
    return fig


# ------------------------------------------------------------------------------------- runtime and memory


def runtime_memory(summary: pd.DataFrame, paths: list[Path | str], title: str = "") -> plt.Figure | None:
    """Wall time and peak memory of every run (horizontal bars, coloured by model family; failed runs marked;
    controls grey, after the compared models)."""
    cols = ["wall_time_s", "peak_memory_mb"]
    if summary.empty:
        message_figure(paths, title, "No run timing recorded.")
        return
    controls = controls_of(summary)
    # compared models first, controls (grey) after them
    rank = {m: i for i, m in enumerate(compared_first(summary["model"].astype(str), controls))}
    table = summary.iloc[np.argsort([rank[m] for m in summary["model"].astype(str)], kind="stable")]
    table = table.reset_index(drop=True)
    colours = model_colours(summary)
    failed = table["status"] == C.STATUS_FAILED
    labels = [f"{r} (failed)" if f else str(r) for r, f in zip(table["run_id"], failed)]
    labels = [f"{lab} (control)" if m in controls else lab for lab, m in zip(labels, table["model"].astype(str))]
    fig, axes = plt.subplots(1, len(cols), figsize=(4.2 * len(cols) + 0.07 * max(map(len, labels)),
                                                    1.3 + 0.27 * len(table)), sharey=True, squeeze=False)
    units = {"wall_time_s": "wall time (s)", "peak_memory_mb": "peak memory (MB)"}
    y = np.arange(len(table))
    for ax, col in zip(axes[0], cols):
        values = pd.to_numeric(table[col], errors="coerce")
        ax.barh(y, values.fillna(0.0), color=[colours[m] for m in table["model"].astype(str)],
                hatch=None, edgecolor=["black" if f else "none" for f in failed], lw=0.8)
        top = float(np.nanmax(values)) if values.notna().any() else 1.0
        for yi, v in zip(y, values):
            ax.text((0 if np.isnan(v) else v) + top * 0.01, yi, "NA" if np.isnan(v) else f"{v:,.1f}",
                    va="center", fontsize=7)
        ax.set_xlim(0, top * 1.2 if top > 0 else 1.0)
        ax.set_xlabel(units.get(col, col), fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.9")
        ax.set_axisbelow(True)
    axes[0][0].set_yticks(y, labels, fontsize=7)
    axes[0][0].set_ylim(len(table) - 0.5, -0.5)
    handles = [Line2D([], [], marker="s", ls="", color=colours[m], label=f"{m} (control)" if m in controls else m)
               for m in rank]
    fig.legend(handles=handles, title="model", loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize=8,
               title_fontsize=9, frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    save_figure(fig, paths)
    return fig


def training_length(scores: pd.DataFrame, best: pd.DataFrame, paths: list[Path | str], title: str = "",
                    best_by: str | None = None, variant: str | None = None) -> plt.Figure | None:
    """The ranking score (``best_by``: what chose the settings and ranks the models) of each model's best setting
    (its median run) at every embedding checkpoint vs epoch.

    ``scores``: ``scores_by_epoch.tsv`` (:func:`sysvi_bench.aggregate.training_length.scores_by_epoch`); ``best``:
    ``best_settings.tsv``. Models without epochs (PCA, Harmony, controls) are drawn as horizontal lines at their
    final score. The last point of each line is the model's score in the summary, at the epoch of the state it
    kept (``best_epoch``). Controls (``control`` column) are grey and listed last. The y axis spans the compared
    models (controls are scaled on their range and can lie far outside it: such a control is named in the legend
    with its value, not drawn). ``best_by`` and ``variant`` are named in the title.
    """
    best_by = _best_by(best, best_by)
    title = with_shows(title, variant, best_by)
    score = best_by if best_by in scores.columns else "total"
    runs = best.dropna(subset=["median_run_id"])
    if scores.empty or runs.empty:
        message_figure(paths, title, "No scored run.")
        return
    controls = controls_of(runs)
    colours = model_colours(runs.sort_values("model"))
    order = {m: i for i, m in enumerate(compared_first(sorted(runs["model"].astype(str)), controls))}
    runs = runs.iloc[np.argsort([order[m] for m in runs["model"].astype(str)], kind="stable")]
    lines = {}
    for _, row in runs.iterrows():
        sub = scores[scores["run_id"].astype(str) == str(row["median_run_id"])].copy()
        sub["epoch"] = pd.to_numeric(sub["epoch"], errors="coerce")
        sub[score] = pd.to_numeric(sub[score], errors="coerce")
        sub = sub.dropna(subset=["epoch", score]).drop_duplicates("epoch").sort_values("epoch")
        if len(sub):
            lines[str(row["model"])] = (row, sub)
    compared = [sub[score] for model, (_, sub) in lines.items() if model not in controls]
    values = pd.concat(compared or [sub[score] for _, sub in lines.values()])
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    margin = max(0.05 * (high - low), 0.02)
    low, high = low - margin, high + margin
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    trained = scores[pd.to_numeric(scores["epoch"], errors="coerce") > 0]
    x_max = float(pd.to_numeric(trained["epoch"]).max()) if len(trained) else 1.0
    for model, (row, sub) in lines.items():
        label = f"{model} ({row['setting']})" + (" (control)" if model in controls else "")
        colour = colours[model]
        if (sub["epoch"] > 0).any():
            ax.plot(sub["epoch"], sub[score], marker="o", lw=1.5, color=colour, label=label)
            continue
        value = float(sub[score].iloc[-1])
        if not low <= value <= high:  # a control far off the compared models' range: named, not drawn
            label += f": {value:.2f}, off the axis"
        ax.axhline(value, ls=":", lw=1.2, color=colour, label=label)
    ax.set_xlim(0, x_max * 1.03)
    ax.set_ylim(low, high)
    ax.set_xlabel("epoch (checkpoints of the same training; last point: the state kept)")
    ax.set_ylabel(AGGREGATE_LABELS.get(score, score) + "\n(scaled at each checkpoint)", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, paths)
    return fig
