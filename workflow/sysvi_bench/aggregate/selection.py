"""The selection policy: scaled metrics, the aggregate scores, each model's best setting and the recommendation.

Only numpy/pandas/scipy here (the report environment of the aggregate rule). The tables are assembled by
:mod:`sysvi_bench.aggregate.tables`.

* Raw values stay as they are (``results/metrics.tsv`` and the metric columns of the summary).
* :func:`scale_metrics`: min-max scaling per dataset, embedding variant and metric over the dataset's
  compared runs (or within each model's runs), direction-aware, so 1 is always the best compared run and 0 the
  worst; controls are scaled on that range but never set it (they may fall outside [0, 1]).
* :func:`aggregated_metrics`: which metrics enter ``bio``/``batch`` on a dataset, and why the others do not
  (the catalogue's exclusions, and metrics saturated over the compared runs).
* :func:`summarize`: one row per run with raw and scaled metrics, the ``bio``/``batch`` means of the scaled
  metrics, ``total = bio_weight * bio + (1 - bio_weight) * batch``, the effective weight of each term
  (:func:`effective_weights`), the paper's ``selection_score``, mean/sd over the seeds of the run's setting,
  and the run's ``convergence``/``converged``.
* :func:`best_settings`: the best setting per dataset and model by mean over seeds, its median run, and
  whether it is ahead of the runner-up setting, and of the next model, by more than seed-to-seed noise
  (:func:`compare_seeds`); :func:`recommendation` says it in one sentence.
"""

from __future__ import annotations

import json
from typing import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.convergence import CONVERGENCE_COLUMNS
from sysvi_bench.score.catalogue import SELECTION_BATCH, SELECTION_BIO, SELECTION_BIO_WEIGHT, exclusion_reason

SCORES = ("bio", "batch", "total", "selection_score")
SCALINGS = ("across_runs", "within_model")
# a best setting is separable from the next when the difference of means exceeds this many sds of it
SEPARATION_SDS = 2.0
P_PAIRED_MIN_SEEDS = 3  # the paired t-test needs at least this many seeds in common
# a metric whose compared runs all lie within this of each other is saturated on the dataset: not aggregated
SATURATION_TOLERANCE = 0.001
DEFAULT_BEST_BY = "selection_score"  # the paper's (the schema's evaluation.best_by default)


def control_runs(runs: pd.DataFrame) -> frozenset[tuple[str, str]]:
    """``(dataset, run_id)`` of the runs that are controls (column ``control`` of the run manifest or table;
    none when it has no such column)."""
    flags = C.is_control(runs)
    return frozenset(zip(runs.loc[flags, "dataset"].astype(str), runs.loc[flags, "run_id"].astype(str)))


def _compared(metrics: pd.DataFrame, controls: Collection[tuple[str, str]]) -> pd.Series:
    """True for the rows of ``metrics`` that belong to a compared run (not a control)."""
    keys = zip(metrics["dataset"].astype(str), metrics["run_id"].astype(str))
    return pd.Series([key not in controls for key in keys], index=metrics.index, dtype=bool)


def scale_metrics(metrics: pd.DataFrame, scaling: str = "across_runs",
                  controls: Collection[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """Add a ``scaled`` column: min-max scaling per (dataset, embedding_variant, metric) over the compared runs.

    ``scaling="across_runs"``: over the dataset's compared runs; ``"within_model"``: over each model's runs of
    the dataset alone (the paper's ``eval_summary.py``, before it picks each model's best setting).
    ``controls``: ``(dataset, run_id)`` of the control runs (:func:`control_runs`). They never set the range:
    they are scaled on the compared runs' range (within_model: on the range of every compared run of the
    dataset, a control having no model of its own), so their scaled values may fall outside [0, 1] (below 0:
    worse than every compared run; above 1: better); they are not clipped.
    Direction-aware: 1 = the best compared run and 0 the worst, also for metrics where lower is better.
    A metric with the same value in every compared run (or with one compared run) scales to 0.5; NA stays NA.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"evaluation.selection_scaling: unknown {scaling!r}; valid: {list(SCALINGS)}")
    base = ["dataset", "embedding_variant", "metric"]
    out = metrics.copy()
    compared = _compared(out, controls)
    reference = out["value"].astype(float).where(compared)  # controls never set the range

    def value_range(keys: list[str]) -> tuple[pd.Series, pd.Series]:
        groups = reference.groupby([out[k] for k in keys])
        return groups.transform("min"), groups.transform("max")

    lo, hi = value_range(base)
    if scaling == "within_model":
        lo_model, hi_model = value_range(base + ["model"])
        lo, hi = lo_model.where(compared, lo), hi_model.where(compared, hi)
    span = hi - lo
    frac = ((out["value"] - lo) / span.where(span > 0)).where(span > 0, 0.5).where(out["value"].notna())
    out["scaled"] = frac.where(C.as_bool(out["higher_is_better"]).fillna(False).astype(bool), 1.0 - frac)
    return out


def aggregated_metrics(metrics: pd.DataFrame, controls: Collection[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """Which metric enters the ``bio``/``batch`` aggregates on each dataset and embedding variant, and why not.

    One row per (dataset, embedding_variant, metric) (:data:`contracts.AGGREGATED_METRICS`): ``type``,
    ``in_aggregate``, ``reason`` ("" when in), ``min_compared``/``max_compared`` (the metric's range over the
    compared runs, controls left out: :func:`scale_metrics`) and ``n_compared`` (compared runs with a value).
    Left out: the catalogue's exclusions (:func:`sysvi_bench.score.catalogue.exclusion_reason`: scib-metrics
    twins, Leiden sds, per-system rows, cell-type metrics, a metric that rewards no integration by
    construction), and a metric *saturated* on the dataset and variant: at least two compared runs have a value
    and all lie within :data:`SATURATION_TOLERANCE` (it cannot tell the compared runs apart; scaled to 0..1 it
    would only amplify noise). Raw and scaled values stay in the tables either way.
    """
    keys = ["dataset", "embedding_variant", "metric"]
    if metrics.empty:
        return pd.DataFrame(columns=C.AGGREGATED_METRICS.columns)
    values = metrics.assign(compared_value=metrics["value"].astype(float).where(_compared(metrics, controls)))
    table = values.groupby(keys, sort=False).agg(
        type=("type", "first"), min_compared=("compared_value", "min"), max_compared=("compared_value", "max"),
        n_compared=("compared_value", "count")).reset_index()
    reasons = []
    for row in table.itertuples(index=False):
        reason = exclusion_reason(row.metric)
        # (+1e-12: values printed as 0.999 and 1.000 differ by 0.0010000000000000009 in floating point)
        if not reason and row.n_compared >= 2 and row.max_compared - row.min_compared <= SATURATION_TOLERANCE + 1e-12:
            reason = (f"saturated: every compared run within {SATURATION_TOLERANCE:g} "
                      f"({row.min_compared:.4f} to {row.max_compared:.4f})")
        reasons.append(reason)
    table["reason"] = reasons
    table["in_aggregate"] = table["reason"] == ""
    table["n_compared"] = table["n_compared"].astype(int)
    return table[C.AGGREGATED_METRICS.columns]


def effective_weights(summary: pd.DataFrame, bio_weight: float) -> pd.DataFrame:
    """Each term's share of the variance of ``total`` over the compared runs of each dataset.

    ``total = w * bio + (1 - w) * batch`` (``w`` = ``bio_weight``), so ``var(total) = cov(w * bio, total) +
    cov((1 - w) * batch, total)``: the shares ``effective_weight_bio = cov(w * bio, total) / var(total)`` and
    ``effective_weight_batch = cov((1 - w) * batch, total) / var(total)`` sum to 1 (a share may fall outside
    [0, 1] when bio and batch are anti-correlated). Over the compared runs (controls left out) with a
    ``total``; NaN for fewer than two such runs or no spread of ``total``. Index: dataset.
    """
    columns = ["effective_weight_bio", "effective_weight_batch"]
    compared = compared_scored(summary)
    rows = {}
    for dataset, sub in compared.groupby("dataset", sort=False):
        var = sub["total"].var()
        ok = len(sub) >= 2 and var > 0
        rows[dataset] = [float((bio_weight * sub["bio"]).cov(sub["total"]) / var) if ok else np.nan,
                         float(((1 - bio_weight) * sub["batch"]).cov(sub["total"]) / var) if ok else np.nan]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("dataset")


def _mean_of(table: pd.DataFrame, cols: Iterable[str]) -> pd.Series:
    cols = [c for c in cols if c in table.columns]
    return table[cols].mean(axis=1, skipna=True) if cols else pd.Series(np.nan, index=table.index)


def compared_scored(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's compared runs (controls left out) that have a ``total``."""
    return summary[~C.is_control(summary) & summary["total"].notna()]


def _wide(metrics: pd.DataFrame, variant: str, scaling: str, controls: Collection[tuple[str, str]]
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Raw and scaled values of ``variant`` as runs x metrics tables, and each metric's type."""
    # scaling groups by variant: scale the chosen one only
    chosen = scale_metrics(metrics[metrics["embedding_variant"] == variant], scaling, controls)
    index = ["dataset", "run_id"]
    raw = chosen.pivot_table(index=index, columns="metric", values="value", aggfunc="first", dropna=False)
    scaled = chosen.pivot_table(index=index, columns="metric", values="scaled", aggfunc="first", dropna=False)
    return raw, scaled, chosen.drop_duplicates("metric").set_index("metric")["type"]


def selection_score(scaled: pd.DataFrame) -> pd.Series:
    """The paper's selection score of each run: 0.6 * mean(scaled NMI, Moran's I) + 0.4 * scaled iLISI."""
    bio = scaled.reindex(columns=list(SELECTION_BIO)).mean(axis=1, skipna=False)
    batch = scaled.reindex(columns=list(SELECTION_BATCH)).mean(axis=1, skipna=False)
    return SELECTION_BIO_WEIGHT * bio + (1 - SELECTION_BIO_WEIGHT) * batch


def summarize(
    metrics: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    variant: str = "raw",
    bio_weight: float = 0.6,
    selection_scaling: str = "across_runs",
    convergence: pd.DataFrame | None = None,
    aggregated: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per run: run info, raw and scaled metrics (of ``variant``), aggregates and seed statistics.

    Columns added to ``runs``: one per metric (raw value), ``scaled_<metric>`` (see :func:`scale_metrics`,
    across the dataset's compared runs: controls, column ``control`` of ``runs``, never set the range and may
    scale outside [0, 1]), ``bio`` and ``batch`` (mean of the run's scaled metrics of that type, for the
    metrics that enter the aggregates on the dataset: :func:`aggregated_metrics`, or ``aggregated`` when
    given; a type with no metric left is 0.5 for every scored run, a constant that ranks nothing),
    ``total = bio_weight * bio + (1 - bio_weight) * batch``, ``effective_weight_bio`` and
    ``effective_weight_batch`` (each term's share of the variance of ``total`` over the dataset's compared
    runs: :func:`effective_weights`), ``selection_score`` (the paper's: 0.6 * mean(scaled NMI, scaled Moran's
    I) + 0.4 * scaled iLISI, scaled as ``selection_scaling`` says: ``across_runs`` or ``within_model``; no
    metric left out), over the seeds of the run's setting ``n_seeds``, ``mean_<score>`` and ``sd_<score>`` for
    each score, and ``convergence``/``converged`` from ``convergence``
    (:func:`sysvi_bench.aggregate.convergence.convergence_table`; NA where not given or not applicable).
    Failed runs keep NA scores.
    """
    index = ["dataset", "run_id"]
    controls = control_runs(runs)
    raw, scaled, types = _wide(metrics, variant, "across_runs", controls)
    if aggregated is None:
        aggregated = aggregated_metrics(metrics, controls)
    chosen = aggregated[aggregated["embedding_variant"] == variant]
    included = chosen.assign(in_aggregate=C.as_bool(chosen["in_aggregate"]).fillna(False).astype(bool)).pivot_table(
        index="dataset", columns="metric", values="in_aggregate", aggfunc="first")
    datasets = scaled.index.get_level_values("dataset")
    mask = included.reindex(index=datasets, columns=scaled.columns).fillna(False).astype(bool).to_numpy()
    kept = scaled.where(mask)
    scored = scaled.notna().any(axis=1)
    scores = pd.DataFrame(index=raw.index)
    for metric_type in ("bio", "batch"):
        columns = [m for m in kept.columns if types.get(m) == metric_type]
        term = _mean_of(kept, columns)
        scores[metric_type] = term.where(term.notna() | ~scored, 0.5)
    scores["total"] = bio_weight * scores["bio"] + (1 - bio_weight) * scores["batch"]
    selection_scaled = (scaled if selection_scaling == "across_runs"
                        else _wide(metrics, variant, selection_scaling, controls)[1])
    scores["selection_score"] = selection_score(selection_scaled.reindex(scaled.index))
    wide = raw.join(scaled.add_prefix("scaled_")).join(scores).reset_index()
    wide.columns.name = None
    summary = runs.merge(wide, on=index, how="left")
    summary = summary.merge(effective_weights(summary, bio_weight).reset_index(), on="dataset", how="left")
    by_setting = summary.groupby(["dataset", "model", "setting"], dropna=False)
    summary["n_seeds"] = by_setting["total"].transform("count")
    for score in SCORES:
        summary[f"mean_{score}"] = by_setting[score].transform("mean")
        summary[f"sd_{score}"] = by_setting[score].transform("std")
    if convergence is None:
        convergence = pd.DataFrame(columns=CONVERGENCE_COLUMNS)
    summary = summary.merge(convergence[CONVERGENCE_COLUMNS], on=index, how="left")
    summary["convergence"] = summary["convergence"].astype(float)
    summary["converged"] = summary["converged"].astype("boolean")
    return summary


def compare_seeds(best: pd.Series, other: pd.Series) -> dict[str, float | bool | None]:
    """Is ``best`` ahead of ``other`` by more than seed-to-seed noise? Both: per-seed scores indexed by seed.

    Returns
    -------
    ``diff``: difference of the means; ``sd_diff``: its sd, ``sqrt(sd_best² / n_best + sd_other² / n_other)``
    (NaN unless both have >= 2 seeds); ``p_paired``: two-sided p-value of the paired t-test over the seeds in
    common (``scipy.stats.ttest_rel``; NaN for fewer than :data:`P_PAIRED_MIN_SEEDS` or no spread of the
    differences); ``separable``: ``diff > SEPARATION_SDS * sd_diff`` (None when ``sd_diff`` is NaN).
    """
    from scipy.stats import ttest_rel

    best, other = best.dropna(), other.dropna()
    diff = float(best.mean() - other.mean())
    sd_diff = float("nan")
    if min(len(best), len(other)) > 1:
        sd_diff = float(np.sqrt(best.var() / len(best) + other.var() / len(other)))
    common = best.index.intersection(other.index)
    p = float("nan")
    if len(common) >= P_PAIRED_MIN_SEEDS and np.ptp((best[common] - other[common]).to_numpy()) > 0:
        p = float(ttest_rel(best[common], other[common]).pvalue)
    separable = None if np.isnan(sd_diff) else bool(diff > SEPARATION_SDS * sd_diff)
    return {"diff": diff, "sd_diff": sd_diff, "p_paired": p, "separable": separable}


MARGIN_KEYS = ("diff", "sd_diff", "p_paired", "separable")


def _per_seed(sub: pd.DataFrame, setting: str, score: str) -> pd.Series:
    """``score`` of each seed of a setting (index: seed)."""
    return sub[sub["setting"] == setting].groupby("seed", dropna=False)[score].mean()


def _best_of_model(sub: pd.DataFrame, score: str) -> dict:
    """One model's best setting on a dataset, its median run and its margin over the runner-up setting."""
    means = sub.groupby("setting", sort=True)[score].mean()
    order = means.index[np.argsort(-means.to_numpy(), kind="stable")]
    best = order[0]
    runs = sub[sub["setting"] == best].sort_values([score, "seed"], kind="stable")
    runner_up = order[1] if len(order) > 1 else None
    margin = compare_seeds(_per_seed(sub, best, score), _per_seed(sub, runner_up, score)) if runner_up else {}
    return {
        "kind": runs["kind"].iloc[0], "control": bool(runs["control"].iloc[0]),
        "setting": best, "best_by": score, "n_seeds": len(runs),
        "mean_total": runs["total"].mean(), "sd_total": runs["total"].std(),
        "mean_selection_score": runs["selection_score"].mean(), "sd_selection_score": runs["selection_score"].std(),
        "median_run_id": runs["run_id"].iloc[(len(runs) - 1) // 2],
        "runner_up_setting": runner_up,
        **{f"{k}_runner_up": margin.get(k) for k in MARGIN_KEYS},
    }


def ranking_score(best_by: str, selection_scaling: str) -> str:
    """The score that ranks models against each other: ``best_by`` when it is comparable across models, else
    ``total``. ``total`` is (its metrics are scaled across the dataset's compared runs); ``selection_score``
    is when scaled ``across_runs``, not ``within_model`` (each model on its own 0..1 range)."""
    return best_by if best_by == "total" or selection_scaling == "across_runs" else "total"


def _model_ranking(best: pd.DataFrame, per_seed: list[pd.Series], score: str) -> pd.DataFrame:
    """``model_rank``, ``next_model`` and the margin over it (``*_next_model``) of each row of ``best``.

    Per dataset, the models that are not controls, ranked by ``mean_<score>``; ``per_seed``: per-seed
    ``score`` of each row's best setting.
    """
    rows = {}
    for _, sub in best.groupby("dataset", sort=False):
        ranked = sub[~sub["control"].astype(bool)].sort_values(f"mean_{score}", ascending=False, kind="stable")
        for rank, (i, j) in enumerate(zip(ranked.index, [*ranked.index[1:], None]), start=1):
            margin = compare_seeds(per_seed[i], per_seed[j]) if j is not None else {}
            rows[i] = {"model_rank": rank, "next_model": best.at[j, "model"] if j is not None else None,
                       **{f"{k}_next_model": margin.get(k) for k in MARGIN_KEYS}}
    columns = ["model_rank", "next_model", *(f"{k}_next_model" for k in MARGIN_KEYS)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).reindex(best.index)


def best_settings(summary: pd.DataFrame, score: str = DEFAULT_BEST_BY,
                  selection_scaling: str = "across_runs") -> pd.DataFrame:
    """The best setting per (dataset, model) by mean ``score`` over seeds, its median run, and its margins.

    Ties go to the first setting in sort order. The median run is the setting's run whose ``score`` is the
    median over its seeds (the lower middle one for an even number; ties by seed). Runs without a score
    (failed) are ignored; a model without any scored run gets no row.

    Margins (:func:`compare_seeds`, per-seed values paired by seed): ``*_runner_up``: the best setting vs the
    model's second-best setting, on ``score``; ``*_next_model``: the model vs the next model in the dataset's
    ranking (``model_rank`` 1 = the winner; controls, column ``control`` from the run manifest, are not
    ranked) by the mean over seeds of ``ranked_by`` (:func:`ranking_score`: ``score`` where it is comparable
    across models, i.e. ``total`` or ``selection_score`` scaled ``across_runs``; ``total`` when
    ``selection_scaling`` is ``within_model``), on that score.
    Returns columns :data:`contracts.BEST_SETTINGS_COLUMNS`.
    """
    scored = summary[summary[score].notna()]
    groups = list(scored.groupby(["dataset", "model"], sort=True))
    if not groups:
        return pd.DataFrame(columns=C.BEST_SETTINGS_COLUMNS)
    table = pd.DataFrame([{"dataset": d, "model": m, **_best_of_model(sub, score)} for (d, m), sub in groups])
    rank_by = ranking_score(score, selection_scaling)
    per_seed = [_per_seed(sub, setting, rank_by) for (_, sub), setting in zip(groups, table["setting"])]
    table = table.join(_model_ranking(table, per_seed, rank_by))
    table["ranked_by"] = rank_by
    table["model_rank"] = table["model_rank"].astype("Int64")
    for where in ("runner_up", "next_model"):
        table[f"separable_{where}"] = table[f"separable_{where}"].astype("boolean")
        for k in ("diff", "sd_diff", "p_paired"):
            table[f"{k}_{where}"] = table[f"{k}_{where}"].astype(float)
    return table[C.BEST_SETTINGS_COLUMNS]


# ---------------------------------------------------------------------------------------- the recommendation

# best_settings.tsv's setting columns -> the column naming the grid values that set that setting apart
VALUES_COLUMNS = {"setting": "setting_values", "runner_up_setting": "runner_up_values",
                  "setting_at_previous_checkpoint": "values_at_previous_checkpoint"}


def _plain_value(value):
    """A parameter value as plain JSON (numpy scalars unwrapped; whole floats as ints, since a column of ints
    with NA reads as floats; NA as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if np.isnan(value) else (int(value) if value.is_integer() else value)
    return value


def setting_values(summary: pd.DataFrame) -> dict[tuple[str, str, str], dict]:
    """(dataset, model, setting) -> the parameter values that set the setting apart from the model's other
    settings: the summary's ``param_*`` columns (every grid axis and the key SysVI parameters) whose value
    differs between the model's settings. Empty for a model with one setting."""
    params = [c for c in summary.columns if c.startswith("param_")]
    out = {}
    for (dataset, model), sub in summary.groupby(["dataset", "model"], sort=False):
        per_setting = sub.drop_duplicates("setting").set_index("setting")[params]
        plain = per_setting.apply(lambda col: col.map(lambda v: json.dumps(_plain_value(v), sort_keys=True,
                                                                           default=str)))
        varied = [c for c in params if plain[c].nunique() > 1]
        for setting, row in per_setting.iterrows():
            out[(dataset, model, setting)] = {c.removeprefix("param_"): _plain_value(row[c]) for c in varied}
    return out


def add_setting_values(best: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """``best`` with the columns of :data:`VALUES_COLUMNS`: for each setting it names (the best, the runner-up
    and, where present, the best at the previous checkpoint) the values that set it apart from the model's
    other settings (:func:`setting_values`), as a JSON object; NA where the setting column is empty."""
    values = setting_values(summary)
    best = best.copy()
    for column, values_column in VALUES_COLUMNS.items():
        if column not in best.columns:
            continue
        best[values_column] = [
            json.dumps(values.get((d, m, s), {}), default=str) if _text(s) else None
            for d, m, s in zip(best["dataset"], best["model"], best[column])]
    return best


def _text(value) -> str:
    """A text cell: '' for NA (read back through :func:`contracts.read_table` an absent value is '', in memory
    NA or None)."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _number(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _margin(verdicts: tuple[str, str, str], other: str, separable, diff: float, sd: float, p: float) -> str:
    """``"<verdict> <other> by diff ± sd (paired t-test: p = ...)"``; verdicts: separable, not, unknown (NA:
    fewer than 2 seeds, then the text says the noise is unknown)."""
    verdict = {True: verdicts[0], False: verdicts[1], None: verdicts[2]}[C.flag(separable)]
    text = f"{verdict} {other} by {diff:.3f}"
    if not np.isnan(sd):
        text += f" ± {sd:.3f}"
    if not np.isnan(p):
        text += f" (paired t-test over seeds: p = {p:.2g})"
    if C.flag(separable) is None:
        text += ", noise unknown (one seed)"
    return text


def _values(row: pd.Series, column: str) -> dict:
    text = _text(row.get(VALUES_COLUMNS[column]))
    return json.loads(text) if text else {}


def _setting_labels(row: pd.Series, columns: Sequence[str]) -> tuple[list[str], list[dict]]:
    """The ids of the settings in ``row``'s ``columns`` and, for each, the values that differ between them
    (from :func:`add_setting_values`; empty where not known)."""
    values = [_values(row, c) for c in columns]
    keys = [k for k in dict.fromkeys(k for v in values for k in v) if len({str(v.get(k)) for v in values}) > 1]
    return [_text(row[c]) for c in columns], [{k: v.get(k) for k in keys} for v in values]


def _setting_name(setting: str, values: dict) -> str:
    """``"z_distance_cycle_weight=10 (sysvi__cyc=10)"``; the id alone where the values are not known."""
    return f"{', '.join(f'{k}={v}' for k, v in values.items())} ({setting})" if values else setting


def _setting_names(row: pd.Series, columns: Sequence[str]) -> str:
    """The settings in ``row``'s ``columns`` named together by what differs between them, e.g.
    ``"z_distance_cycle_weight 10 and 2 (sysvi__cyc=10, sysvi__cyc=2)"``."""
    ids, values = _setting_labels(row, columns)
    keys = list(values[0])
    if len(keys) != 1:
        return _enumerate([_setting_name(i, v) for i, v in zip(ids, values)])
    return f"{keys[0]} {_enumerate([str(v[keys[0]]) for v in values])} ({', '.join(ids)})"


def _enumerate(items: Sequence[str]) -> str:
    """``"a, b and c"``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def safety_warning(top: pd.Series, ranked: pd.DataFrame | None = None) -> str:
    """Why the choice of ``top``'s model (the rank-1 row of ``best_settings``) is not safe; '' when it is: its
    runs did not converge, it was not first at the previous checkpoint (``ranked``: the dataset's ranked rows,
    to name the model that was), or with >= 2 seeds it is not ahead of the next model beyond seed noise."""
    reasons = []
    if C.flag(top.get("converged")) is False:
        reasons.append("its runs did not converge (summary.tsv: converged)")
    rank = top.get("rank_at_previous_checkpoint")
    before = ("" if ranked is None or "rank_at_previous_checkpoint" not in ranked.columns else ", ".join(
        ranked.loc[pd.to_numeric(ranked["rank_at_previous_checkpoint"]) == 1, "model"].astype(str)))
    if pd.notna(rank) and int(rank) != 1:
        reasons.append(f"it was {_ordinal(int(rank))} at the previous checkpoint"
                       + (f", behind {before}" if before else ""))
    elif pd.isna(rank) and before and before != str(top["model"]):  # it has no checkpoints; another led then
        reasons.append(f"{before} was first at the previous checkpoint")
    if C.flag(top.get("separable_next_model")) is False:
        reasons.append(f"it is not ahead of {_text(top['next_model'])} beyond seed noise")
    return "; ".join(reasons)


def _model_verdict(top: pd.Series, ranked: pd.DataFrame) -> str:
    """Which model: safe when first at the last two checkpoints, converged and (>= 2 seeds) ahead of the next
    model beyond noise; otherwise provisional, with the reasons."""
    n, score = int(top["n_seeds"]), _text(top.get("ranked_by")) or "total"
    numbers = (f"{score} {top[f'mean_{score}']:.3f}"
               + (f" ± {top[f'sd_{score}']:.3f}" if pd.notna(top[f"sd_{score}"]) else "")
               + f" over {n} seed{'s' if n != 1 else ''}")
    if _text(top.get("next_model")):
        numbers += ", " + _margin(("clearly ahead of", "not separable from", "ahead of"), _text(top["next_model"]),
                                  top["separable_next_model"], _number(top["diff_next_model"]),
                                  _number(top["sd_diff_next_model"]), _number(top["p_paired_next_model"]))
    else:
        numbers += ", the only model compared"
    rank = top.get("rank_at_previous_checkpoint")
    both = " at both of the last two checkpoints" if pd.notna(rank) and int(rank) == 1 else ""
    warning = safety_warning(top, ranked)
    if warning:
        return f"Model: no safe choice yet ({warning}); provisionally {top['model']}: {numbers}."
    return f"Model: {top['model']} is the best{both}: {numbers}."


def _setting_verdict(top: pd.Series) -> str:
    """Which setting of the model: safe when it was best at the previous checkpoint too (or there is none) and
    (>= 2 seeds) ahead of the runner-up setting beyond noise; otherwise a toss-up among the named settings."""
    runner_up, before = _text(top.get("runner_up_setting")), _text(top.get("setting_at_previous_checkpoint"))
    if not runner_up:
        return f"Setting: its only one ({top['setting']})."
    changed = bool(before) and before != top["setting"]
    noisy = C.flag(top.get("separable_runner_up")) is False
    head = f"Setting (by {top['best_by']})" if _text(top.get("best_by")) else "Setting"
    if not changed and not noisy:
        ids, values = _setting_labels(top, ["setting", "runner_up_setting"])
        return (f"{head}: {_setting_name(ids[0], values[0])}, "
                + _margin(("clearly ahead of", "not separable from", "ahead of"), _setting_name(ids[1], values[1]),
                          top["separable_runner_up"], _number(top["diff_runner_up"]),
                          _number(top["sd_diff_runner_up"]), _number(top["p_paired_runner_up"]))
                + (", and the best at the previous checkpoint too" if before else "") + ".")
    # a toss-up: the best and each setting it does not safely beat, with their difference
    others = {}
    if noisy:
        others["runner_up_setting"] = (f"{_number(top['diff_runner_up']):.3f} ± "
                                       f"{_number(top['sd_diff_runner_up']):.3f} apart, not separable over seeds")
    if changed:
        diff = _number(top.get("diff_setting_at_previous_checkpoint"))
        if before == runner_up:
            diff = _number(top["diff_runner_up"])
        text = f"{diff:.3f} apart and changed order between the last two checkpoints"
        if before == runner_up and noisy:
            others["runner_up_setting"] += " and changed order between the last two checkpoints"
        elif before == runner_up:
            others["runner_up_setting"] = text
        else:
            others["setting_at_previous_checkpoint"] = text
            # a runner-up closer than the previous best is as much in question
            if not noisy and _number(top["diff_runner_up"]) <= diff:
                others = {"runner_up_setting": f"{_number(top['diff_runner_up']):.3f} apart", **others}
    if len(others) == 1:
        (column, why), = others.items()
        return f"{head}: a toss-up: {_setting_names(top, ['setting', column])} are {why}: either."
    return (f"{head}: a toss-up among {_setting_names(top, ['setting', *others])}: the first and the second are "
            f"{others['runner_up_setting']}; the first and the third are {others['setting_at_previous_checkpoint']}"
            ": any of them.")


def rank_changes(ranked: pd.DataFrame) -> list[str]:
    """Every compared model whose rank differs from its rank at the previous checkpoint, e.g. ``"cyc 3rd (was
    4th)"``, in the order of the current ranking (models without checkpoints have no previous rank)."""
    if "rank_at_previous_checkpoint" not in ranked.columns:
        return []
    rows = ranked.sort_values("model_rank", key=pd.to_numeric, kind="stable")
    return [f"{r['model']} {_ordinal(int(r['model_rank']))} (was {_ordinal(int(r['rank_at_previous_checkpoint']))})"
            for _, r in rows.iterrows() if pd.notna(r["rank_at_previous_checkpoint"])
            and int(r["rank_at_previous_checkpoint"]) != int(r["model_rank"])]


def recommendation(best: pd.DataFrame, dataset: str) -> str:
    """The benchmark's recommendation for ``dataset`` at two levels, with the numbers behind it.

    ``best``: :func:`best_settings` with the columns of
    :func:`sysvi_bench.aggregate.training_length.add_training_columns` and :func:`add_setting_values` (in memory
    or read back from ``best_settings.tsv``; without them the checkpoint clauses are left out). Says

    * which **model** (the rank-1 model; controls are never ranked): safe when it was first at the last two
      checkpoints too, its runs converged and, with >= 2 seeds, it is ahead of the next model beyond seed noise
      (:func:`safety_warning`); its mean ± sd of the ranking score (``ranked_by``) and the margin over the next
      model;
    * which **setting** of it, named by what differs (:func:`add_setting_values`): safe when it was the best at
      the previous checkpoint too and, with >= 2 seeds, ahead of the runner-up beyond noise; otherwise a toss-up
      among the settings it does not safely beat, with their difference;
    * every rank change between the last two checkpoints among the compared models (:func:`rank_changes`).
    """
    sub = best[(best["dataset"].astype(str) == str(dataset)) & best["model_rank"].notna()]
    if sub.empty:
        return f"{dataset}: no scored run to recommend."
    top = sub.loc[pd.to_numeric(sub["model_rank"]).idxmin()]
    parts = [f"On {dataset}:", _model_verdict(top, sub), _setting_verdict(top)]
    changes = rank_changes(sub)
    if changes:
        parts.append(f"Rank changes between the last two checkpoints: {', '.join(changes)}.")
    elif "rank_at_previous_checkpoint" in sub.columns and sub["rank_at_previous_checkpoint"].notna().any():
        parts.append("No model changed rank between the last two checkpoints.")
    return " ".join(parts)


def ranking_by_variant(bests: Mapping[str, pd.DataFrame], summary: pd.DataFrame) -> pd.DataFrame:
    """Each model's best setting and rank under every embedding variant (:data:`contracts.RANKING_BY_VARIANT`).

    ``bests``: variant -> :func:`best_settings` of the summary made from that variant's metrics; ``summary``:
    any variant's summary (for the parameter values that set the settings apart: :func:`setting_values`).
    Variants in the order of ``bests`` (the aggregate job: the summary's first); ``score`` is the best setting's
    mean of the score that ``model_rank`` orders (``ranked_by``); controls (never ranked) last.
    """
    frames = [add_setting_values(best, summary).assign(  # one ranking score per table (best_settings)
        embedding_variant=variant, score=best[f"mean_{best['ranked_by'].iat[0]}"])
        for variant, best in bests.items() if len(best)]
    if not frames:
        return pd.DataFrame(columns=C.RANKING_BY_VARIANT.columns)
    table = pd.concat(frames, ignore_index=True)
    table["control"] = table["control"].astype(bool)
    order = {v: i for i, v in enumerate(bests)}
    table = table.assign(_variant=table["embedding_variant"].map(order)).sort_values(
        ["dataset", "_variant", "control", "model_rank", "score"], ascending=[True, True, True, True, False],
        na_position="last", kind="stable")
    table["model_rank"] = table["model_rank"].astype("Int64")
    return table[C.RANKING_BY_VARIANT.columns].reset_index(drop=True)


def variant_disagreements(ranking: pd.DataFrame, dataset: str) -> list[str]:
    """Where the embedding variants of :func:`ranking_by_variant` disagree on ``dataset``: a model's best setting
    (named by its values), and the rank of every compared model whose rank differs. Empty when they agree
    (or there is one variant)."""
    sub = ranking[ranking["dataset"].astype(str) == str(dataset)]
    variants = list(dict.fromkeys(sub["embedding_variant"]))
    notes = []
    for model, rows in sub.groupby("model", sort=False):
        rows = rows.set_index("embedding_variant").reindex(variants)
        if rows["setting"].nunique() > 1:
            ids = rows["setting"].astype(str).tolist()
            values = [json.loads(_text(v)) if _text(v) else {} for v in rows["setting_values"]]
            notes.append(f"{model}'s best setting: " + "; ".join(
                f"{_setting_name(i, v)} on {variant}" for i, v, variant in zip(ids, values, variants)))
        ranks = rows["model_rank"]
        if not C.is_control(rows).any() and ranks.nunique(dropna=False) > 1:
            notes.append(f"{model} ranks " + ", ".join(f"{_ordinal(int(r)) if pd.notna(r) else 'unranked'} on {v}"
                                                       for r, v in zip(ranks, variants)))
    return notes
