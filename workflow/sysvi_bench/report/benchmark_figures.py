"""Benchmark-wide figures over every completed dataset, as in the paper's results figures
(theislab/cross_system_integration, ``notebooks/results/performance/performance.py``), and the pairwise
model tests behind them (``results/benchmark_tests.tsv``).

* :func:`top_settings_figure` -- one row per dataset, one column per key metric, models on the y axis, a dot
  per seed of each model's best setting and a bar at the mean (the paper's ``performance-score_topsettings``);
* :func:`pairwise_tests` -- per dataset x metric x model pair: difference of means over seeds, paired t-test
  where the seeds match (Welch otherwise), Benjamini-Hochberg adjusted p-values per dataset x metric over the
  pairs of compared models (pairs with a control are tested, marked, and left out of the family);
* :func:`all_settings_figure` -- every setting of every model with its seeds (``performance-score_all``);
* :func:`parameter_correlation_figure` -- Spearman correlation of each tuned numeric parameter with each
  metric, per model and dataset (the paper's ``HP_metric_corr``).

All read ``results/summary.tsv`` (one row per run, a raw column per metric) and ``results/best_settings.tsv``.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from sysvi_bench import contracts as C
from sysvi_bench.score.catalogue import SELECTION_BATCH, SELECTION_BIO
from sysvi_bench.report.plotting import CONTROL_LABEL, compared_first, controls_of, save_figure, with_shows

# The metrics of the paper's selection score, the default columns of the top-settings figure and tests
KEY_METRICS: tuple[str, ...] = (*SELECTION_BIO, *SELECTION_BATCH)
TEST_COLUMNS = ["dataset", "metric", "model_a", "model_b", "n_a", "n_b", "mean_a", "mean_b", "diff", "test",
                "statistic", "p_value", "p_adjusted", "control_pair"]


def failed_datasets(datasets: pd.DataFrame) -> list[str]:
    """Datasets of ``results/datasets.tsv`` that did not complete (left out of the figures, named)."""
    return sorted(datasets.loc[datasets["status"].astype(str) != "complete", "dataset"].astype(str))


def best_setting_runs(summary: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The successful runs (every seed) of each dataset's and model's best setting."""
    keys = best[["dataset", "model", "setting"]].astype(str).drop_duplicates()
    runs = summary.assign(**{c: summary[c].astype(str) for c in ("dataset", "model", "setting")})
    runs = runs[runs["status"].astype(str) == "ok"] if "status" in runs else runs
    return runs.merge(keys, on=["dataset", "model", "setting"], how="inner")


def _compare(a: pd.Series, b: pd.Series) -> tuple[str, float, float]:
    """Test of two models' values indexed by seed: paired t-test over the seeds both have when their seeds
    match (>= 2 shared), else Welch's t-test (>= 2 values each); NaN p when neither applies."""
    a, b = a.dropna(), b.dropna()
    shared = a.index.intersection(b.index)
    if len(shared) >= 2 and len(shared) == len(a) == len(b):
        res = stats.ttest_rel(a.loc[shared], b.loc[shared])
        return "paired", float(res.statistic), float(res.pvalue)
    if len(a) >= 2 and len(b) >= 2:
        res = stats.ttest_ind(a, b, equal_var=False)
        return "welch", float(res.statistic), float(res.pvalue)
    return "none", float("nan"), float("nan")


def bh_adjust(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``) of the non-NA ones."""
    out = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok].to_numpy(), method="bh")
    return out


def pairwise_tests(runs: pd.DataFrame, metrics: Sequence[str] = KEY_METRICS) -> pd.DataFrame:
    """Per dataset x metric x pair of models: the models' best-setting runs (:func:`best_setting_runs`)
    compared over seeds (columns :data:`TEST_COLUMNS`; ``diff`` = ``mean_a - mean_b``; ``p_adjusted``:
    Benjamini-Hochberg over the pairs of compared models of one dataset and metric).

    A pair with a control (column ``control`` of ``runs``: the shuffled floor or the cell-type ceiling) is
    tested and kept, marked ``control_pair``, but is not in the Benjamini-Hochberg family (``p_adjusted`` NA):
    controls bound each metric's range by construction, so their tests would only inflate the family."""
    rows = []
    for (dataset, ), sub in runs.groupby(["dataset"], sort=False):
        models = list(dict.fromkeys(sub["model"]))
        controls = set(sub.loc[C.is_control(sub), "model"])
        for metric in (m for m in metrics if m in sub):
            values = {m: sub[sub["model"] == m].set_index("seed")[metric].astype(float) for m in models}
            block = []
            for a, b in combinations(models, 2):
                test, statistic, p = _compare(values[a], values[b])
                block.append({"dataset": dataset, "metric": metric, "model_a": a, "model_b": b,
                              "n_a": int(values[a].notna().sum()), "n_b": int(values[b].notna().sum()),
                              "mean_a": values[a].mean(), "mean_b": values[b].mean(),
                              "diff": values[a].mean() - values[b].mean(), "test": test,
                              "statistic": statistic, "p_value": p, "control_pair": bool({a, b} & controls)})
            if block:
                block_df = pd.DataFrame(block)
                family = ~block_df["control_pair"]
                block_df["p_adjusted"] = np.nan
                block_df.loc[family, "p_adjusted"] = bh_adjust(block_df.loc[family, "p_value"]).to_numpy()
                rows.append(block_df)
    return pd.concat(rows, ignore_index=True)[TEST_COLUMNS] if rows else pd.DataFrame(columns=TEST_COLUMNS)


def _caption(fig: plt.Figure, failed: Sequence[str], note: str = "") -> None:
    text = note + (f"  Left out (dataset failed): {', '.join(failed)}." if failed else "")
    if text.strip():
        fig.text(0.01, 0.005, text.strip(), fontsize=8, va="bottom", ha="left", wrap=True)


def _dots_and_bars(ax: plt.Axes, data: pd.DataFrame, x: str, y: str, order: list[str],
                   grey: set[str] = frozenset()) -> None:
    """A bar at the mean (no error bar) and one dot per run, horizontal (seaborn); the ``grey`` rows
    (controls) in grey."""
    colours = {v: ("0.8" if v in grey else "#c6dbef") for v in order}
    dots = {v: ("0.35" if v in grey else "#08306b") for v in order}
    sns.barplot(data=data, x=x, y=y, order=order, errorbar=None, hue=y, hue_order=order, palette=colours,
                legend=False, ax=ax)
    sns.stripplot(data=data, x=x, y=y, order=order, hue=y, hue_order=order, palette=dots, size=4, jitter=0.15,
                  legend=False, ax=ax)


def _grid(n_rows: int, n_cols: int, height: float) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols + 1.5, height * n_rows + 0.6),
                             squeeze=False, sharey="row")
    return fig, axes


def _swarm_grid(runs: pd.DataFrame, paths: Sequence[Path | str], metrics: Sequence[str], failed: Sequence[str], *,
                y: str, order_of, row_height: float, title: str, tick_size: float | None = None) -> plt.Figure:
    """Rows = datasets, columns = ``metrics``, y = the ``y`` column (in ``order_of(rows of one dataset)``, the
    controls' rows moved after the compared ones, grey and marked "(control)"), a dot per run and a bar at
    the mean; ``failed`` datasets are named under the figure."""
    datasets = list(dict.fromkeys(runs["dataset"])) or ["(no completed dataset)"]
    metrics = [m for m in metrics if m in runs] or list(metrics)
    fig, axes = _grid(len(datasets), len(metrics), row_height)
    any_control = False
    for i, dataset in enumerate(datasets):
        sub = runs[runs["dataset"] == dataset].assign(**{y: lambda t: t[y].astype(str)})
        controls = controls_of(sub)
        grey = set(sub.loc[sub["model"].astype(str).isin(controls), y]) if len(sub) else set()
        any_control |= bool(grey)
        order = compared_first(order_of(sub), grey)
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            if metric in sub and sub[metric].notna().any():
                _dots_and_bars(ax, sub, metric, y, order, grey)
                ax.set_yticks(range(len(order)), [f"{v} (control)" if v in grey else v for v in order])
                for tick, v in zip(ax.get_yticklabels(), order):
                    if v in grey:
                        tick.set_color("0.4")
                if grey and len(grey) < len(order):
                    ax.axhline(len(order) - len(grey) - 0.5, color="0.4", lw=0.8)
            ax.set_xlabel(metric if i == len(datasets) - 1 else "")
            ax.set_ylabel(dataset if j == 0 else "")
            if tick_size:
                ax.tick_params(axis="y", labelsize=tick_size)
            if i == 0:
                ax.set_title(metric)
    fig.suptitle(title)
    _caption(fig, failed, f"Grey, below the line: {CONTROL_LABEL}." if any_control else "")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, paths)
    return fig


def top_settings_figure(runs: pd.DataFrame, paths: Sequence[Path | str], metrics: Sequence[str] = KEY_METRICS,
                        failed: Sequence[str] = (), best_by: str | None = None, variant: str | None = None
                        ) -> plt.Figure:
    """Rows = datasets, columns = ``metrics``, y = models (best setting each, chosen by ``best_by``; controls
    last), a dot per seed, a bar at the mean (``runs``: :func:`best_setting_runs`); ``failed`` datasets are
    named under the figure; ``variant`` and ``best_by`` in the title."""
    n_models = max(1, runs["model"].nunique())
    return _swarm_grid(runs, paths, metrics, failed, y="model", order_of=lambda sub: list(dict.fromkeys(sub["model"])),
                       row_height=0.35 * n_models + 1.0,
                       title=with_shows("Best setting of each model: a dot per seed, the bar at the mean", variant,
                                        best_by))


def all_settings_figure(summary: pd.DataFrame, paths: Sequence[Path | str], metrics: Sequence[str] = KEY_METRICS,
                        failed: Sequence[str] = (), variant: str | None = None) -> plt.Figure:
    """Rows = datasets, columns = ``metrics``, y = every setting (``model`` and its parameter values, the run
    id without the seed) of every model, a dot per seed, the bar at the mean."""
    runs = summary[summary["status"].astype(str) == "ok"] if "status" in summary else summary
    n_settings = max(1, runs.groupby("dataset")["setting"].nunique().max() if len(runs) else 1)
    return _swarm_grid(runs, paths, metrics, failed, y="setting",
                       order_of=lambda sub: sorted(dict.fromkeys(sub["setting"]), key=_natural_key),
                       row_height=0.28 * n_settings + 1.0, tick_size=7,
                       title=with_shows("Every setting of every model: a dot per seed, the bar at the mean",
                                        variant))


def _natural_key(text: str) -> list:
    """Sort key that orders numbers inside a setting id by value (cyc=2 before cyc=10); hand-written, a
    one-line regular expression (no sorting library is a dependency here)."""
    return [(0, float(part), "") if re.fullmatch(r"\d+(\.\d+)?", part) else (1, 0.0, part)
            for part in re.split(r"(\d+(?:\.\d+)?)", text) if part]


def tuned_parameters(runs: pd.DataFrame) -> list[str]:
    """``param_*`` columns of one model's runs that are numeric (not boolean) and take more than one value."""
    out = []
    for col in (c for c in runs.columns if c.startswith("param_")):
        values = runs[col].dropna()
        if values.dtype == bool or values.astype(str).str.lower().isin(["true", "false"]).all():
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all() and numeric.nunique() > 1:
            out.append(col)
    return out


def parameter_correlations(summary: pd.DataFrame, metrics: Sequence[str] = KEY_METRICS) -> pd.DataFrame:
    """Spearman correlation (``scipy.stats.spearmanr``, over all seeds) of each tuned numeric parameter with
    each metric, per dataset and model: ``dataset, model, parameter, metric, rho, p_value, n_runs, n_values``
    (``n_values``: the parameter's distinct values among those runs)."""
    runs = summary[summary["status"].astype(str) == "ok"] if "status" in summary else summary
    rows = []
    for (dataset, model), sub in runs.groupby(["dataset", "model"], sort=False):
        for param in tuned_parameters(sub):
            for metric in (m for m in metrics if m in sub):
                pair = pd.DataFrame({"p": pd.to_numeric(sub[param], errors="coerce"),
                                     "m": pd.to_numeric(sub[metric], errors="coerce")}).dropna()
                rho, p = (stats.spearmanr(pair["p"], pair["m"]) if len(pair) >= 3 and pair["p"].nunique() > 1
                          and pair["m"].nunique() > 1 else (np.nan, np.nan))
                rows.append({"dataset": dataset, "model": model, "parameter": param.removeprefix("param_"),
                             "metric": metric, "rho": float(rho), "p_value": float(p), "n_runs": len(pair),
                             "n_values": int(pair["p"].nunique())})
    return pd.DataFrame(rows, columns=["dataset", "model", "parameter", "metric", "rho", "p_value", "n_runs",
                                       "n_values"])


# A rank correlation over two values of a parameter only says which of them scored higher: drawn from three
MIN_CORRELATION_VALUES = 3


def correlation_note(corr: pd.DataFrame) -> str:
    """Why a dataset's correlation panel is empty: no parameter took :data:`MIN_CORRELATION_VALUES` distinct
    values (naming those that took fewer), or none was tuned at all."""
    if corr.empty:
        return "No numeric parameter was tuned: no correlation to draw."
    few = corr.drop_duplicates(["model", "parameter"])
    named = ", ".join(f"{m}: {p} ({n} values)" for m, p, n in zip(few["model"], few["parameter"], few["n_values"]))
    return (f"No parameter took {MIN_CORRELATION_VALUES} or more values ({named}): a rank correlation over two "
            "values only says which scored higher; see the all-settings figure.")


def parameter_correlation_figure(summary: pd.DataFrame, paths: Sequence[Path | str],
                                 metrics: Sequence[str] = KEY_METRICS, failed: Sequence[str] = (),
                                 variant: str | None = None) -> plt.Figure:
    """One heatmap per dataset (rows of the figure): rows = model and tuned parameter with at least
    :data:`MIN_CORRELATION_VALUES` distinct values, columns = metrics, colour = Spearman's rho (-1 blue .. 1
    red), the value printed; where no parameter qualifies, a note says why (:func:`correlation_note`)."""
    all_corr = parameter_correlations(summary, metrics)
    corr = all_corr[all_corr["n_values"] >= MIN_CORRELATION_VALUES]
    datasets = list(dict.fromkeys(summary["dataset"])) or ["(no completed dataset)"]
    n_rows = max(1, corr.groupby("dataset")[["model", "parameter"]].apply(lambda d: len(d.drop_duplicates())).max()
                 if len(corr) else 1)
    fig, axes = plt.subplots(len(datasets), 1, figsize=(1.4 * len(metrics) + 3.5, (0.4 * n_rows + 1.2) * len(datasets)),
                             squeeze=False)
    for i, dataset in enumerate(datasets):
        ax = axes[i, 0]
        sub = corr[corr["dataset"] == dataset]
        if sub.empty:
            ax.text(0.0, 0.5, correlation_note(all_corr[all_corr["dataset"] == dataset]), ha="left",
                    va="center", wrap=True, fontsize=9)
            ax.set_axis_off()
        else:
            grid = sub.assign(row=sub["model"] + ": " + sub["parameter"]).pivot(
                index="row", columns="metric", values="rho")[[m for m in metrics if m in set(sub["metric"])]]
            sns.heatmap(grid, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".2f", ax=ax,
                        cbar_kws={"label": "Spearman rho"})
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.tick_params(axis="y", rotation=0)
        ax.set_title(dataset)
    fig.suptitle(with_shows("Spearman correlation of each tuned parameter with each metric (all runs of the "
                            "model)", variant))
    _caption(fig, failed)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, paths)
    return fig
