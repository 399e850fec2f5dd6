"""Self-contained HTML pages for the Snakemake report: result tables, the diagnostic, configuration and versions.

The report (``snakemake --report results/report.html``) shows images and HTML pages inline; TSVs only as
downloads. These pages render the benchmark's tables as HTML (inline CSS, no external resources), so they read
in the report itself. Pure pandas/stdlib: runs in the report environment.
"""

from __future__ import annotations

import html
import importlib.metadata as md
import platform
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import compared_scored, recommendation, variant_disagreements
from sysvi_bench.aggregate.tables import VERSION_COLUMNS
from sysvi_bench.provenance import version_mix
from sysvi_bench.io import atomic_path

# packages whose versions the report lists (those not installed in the report's environment say so)
VERSION_PACKAGES = [
    "snakemake", "scvi-tools", "torch", "lightning", "jax", "scib-metrics", "scanpy", "anndata", "numpy",
    "pandas", "scipy", "scikit-learn", "statsmodels", "umap-learn", "pynndescent", "harmonypy", "igraph",
    "leidenalg", "matplotlib", "seaborn",
]

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 13px; margin: 16px;
       color: #222; }
h1 { font-size: 18px; margin: 0 0 8px 0; }
h2 { font-size: 15px; margin: 20px 0 6px 0; border-bottom: 1px solid #ddd; padding-bottom: 2px; }
p.note { color: #555; margin: 4px 0 8px 0; max-width: 70em; }
p.verdict { font-size: 14px; max-width: 70em; padding: 8px 12px; border-left: 5px solid #4c72b0;
            background: #f3f6fb; }
p.verdict.strong { border-color: #c44e52; background: #fbf1f1; }
p.verdict.moderate { border-color: #dd8452; background: #fdf5ee; }
p.verdict.weak { border-color: #55a868; background: #f1f8f2; }
div.verdict { max-width: 70em; padding: 2px 12px; border-left: 5px solid #dd8452; background: #fdf5ee; }
table { border-collapse: collapse; margin: 4px 0 12px 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
tr.failed td { background: #fdecea; }
tr.best td { font-weight: 600; }
tr.control td { color: #777; font-style: italic; background: #f7f7f7; }
pre { background: #f7f7f7; padding: 8px; border: 1px solid #e3e3e3; overflow-x: auto; }
.scroll { overflow-x: auto; }
"""


def _cell(value, digits: int = 3) -> tuple[str, bool]:
    """(escaped text, is_text) of one table cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "", False
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)), True
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", False
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 1e6):
            return f"{v:.{digits - 1}e}", False
        return f"{v:.{digits}f}", False
    return html.escape(str(value)), True


def table_html(df: pd.DataFrame, row_classes: Sequence[str] | None = None, digits: int = 3) -> str:
    """An HTML table of ``df`` (numbers right-aligned and rounded, text left-aligned, NA blank)."""
    if df.empty:
        return '<p class="note">(none)</p>'
    cols = list(df.columns)
    text_cols = {c for c in cols if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])}
    head = "".join(f'<th class="{"text" if c in text_cols else ""}">{html.escape(str(c))}</th>' for c in cols)
    rows = []
    for i, (_, row) in enumerate(df.iterrows()):
        cells = []
        for c in cols:
            text, is_text = _cell(row[c], digits)
            cells.append(f'<td class="{"text" if (is_text or c in text_cols) else ""}">{text}</td>')
        cls = f' class="{row_classes[i]}"' if row_classes is not None and row_classes[i] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def page(title: str, sections: Iterable[tuple[str, str]]) -> str:
    """A standalone HTML page: title, then (heading, html body) sections."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{b}" if h else b for h, b in sections)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def failed_runs(summary: pd.DataFrame) -> pd.DataFrame:
    """Runs with ``status == failed`` and their reason."""
    failed = summary[summary["status"] == C.STATUS_FAILED]
    return failed[["run_id", "model", "kind", "reason", "wall_time_s"]]


CONTROL_NOTE = ("Controls (grey, tagged \"(control)\", listed after the compared models) are never a candidate: "
                "the cell-type control (the labels as the embedding) and the shuffled control show each metric's "
                "usable range on this dataset, so they are scaled with the runs but never ranked or recommended.")


def controls_last(table: pd.DataFrame, by: Sequence[str], ascending: Sequence[bool]) -> pd.DataFrame:
    """``table`` sorted by ``by`` with the controls (column ``control``) after every compared model, and their
    model name tagged ``"(control)"``."""
    control = C.is_control(table)
    ordered = table.assign(_control=control).sort_values(
        ["_control", *by], ascending=[True, *ascending], na_position="last", kind="stable")
    ordered["model"] = [f"{m} (control)" if c else m for m, c in zip(ordered["model"], ordered["_control"])]
    return ordered.drop(columns="_control")


def variants_section(ranking: pd.DataFrame, dataset: str) -> tuple[str, str]:
    """The section on the embedding variants (``ranking_by_variant.tsv``): where they disagree on a model's best
    setting or on the model order, and each model's best setting, score and rank under each."""
    variants = list(dict.fromkeys(ranking["embedding_variant"]))
    notes = variant_disagreements(ranking, dataset)
    if len(variants) < 2:
        text = f'<p class="note">One embedding variant scored ({", ".join(variants)}): nothing to compare.</p>'
    elif notes:
        text = ('<div class="verdict moderate"><p>The embedding variants disagree (the summary and the '
                f"recommendation use {html.escape(variants[0])}: evaluation.summary_variant):</p><ul>"
                + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul></div>")
    else:
        text = ('<p class="note">The embedding variants agree on each model\'s best setting and on the model '
                "order.</p>")
    wide = ranking.pivot_table(index=["model", "control"], columns="embedding_variant",
                               values=["setting", "score", "model_rank"], aggfunc="first", sort=False)
    wide = wide.reindex(columns=[(k, v) for v in variants for k in ("setting", "score", "model_rank")])
    wide.columns = [f"{k} ({v})" for k, v in wide.columns]
    wide = wide.reset_index()
    first_rank = f"model_rank ({variants[0]})" if variants else "model"
    wide = controls_last(wide, [first_rank], [True])
    classes = ["control" if c else "" for c in C.is_control(wide)]
    return ("Embedding variants: " + " and ".join(variants),
            text + '<p class="note">ranking_by_variant.tsv: each model\'s best setting, the mean of its ranking '
            "score (score: ranked_by) and rank when the summary is made from each embedding variant (the paper scores both). "
            + CONTROL_NOTE + "</p>" + table_html(wide.drop(columns="control").reset_index(drop=True), classes))


def aggregate_section(summary: pd.DataFrame, aggregated: pd.DataFrame) -> str:
    """What ``bio``/``batch``/``total`` weigh on the dataset: the span of each term and its effective weight over
    the compared runs (summary.tsv), and the metrics left out of them with the reason (aggregated_metrics.tsv)."""
    compared = compared_scored(summary)
    parts = []
    if len(compared):
        first = compared.iloc[0]
        spans = {t: float(compared[t].max() - compared[t].min()) for t in ("bio", "batch")}
        parts.append(
            f"Over the {len(compared)} compared runs (controls left out), bio spans {spans['bio']:.3f} and batch "
            f"{spans['batch']:.3f}; their shares of the variance of total (effective weights, cov(weight · term, "
            f"total) / var(total), summing to 1) are bio {_cell(first['effective_weight_bio'])[0] or 'NA'} and "
            f"batch {_cell(first['effective_weight_batch'])[0] or 'NA'} (nominal: evaluation.bio_weight). "
            "Metrics are min-max scaled over the compared runs; controls are scored on that scale (outside "
            "0..1 where they lie beyond the compared runs) and never ranked.")
    left_out = aggregated[~C.as_bool(aggregated["in_aggregate"]).fillna(False).astype(bool)]
    # the dataset's own decisions (saturated, rewards no integration) first, the catalogue's routine ones after
    routine = ~left_out["reason"].astype(str).str.startswith(("saturated", "rewards no integration"))
    left_out = left_out.assign(routine=routine).sort_values(["routine", "embedding_variant"], kind="stable")
    left_out = left_out[["embedding_variant", "metric", "type", "reason", "min_compared", "max_compared"]]
    parts.append("Left out of bio, batch and total (raw and scaled values stay in the tables; the paper's "
                 "selection_score is as the paper defines it):")
    return ('<p class="note">' + "</p><p class=\"note\">".join(html.escape(p) for p in parts) + "</p>"
            + table_html(left_out.reset_index(drop=True)))


def results_page(
    summary: pd.DataFrame, best: pd.DataFrame, metric_types: Mapping[str, str], dataset: str,
    preprocess_report: pd.DataFrame, ranking: pd.DataFrame | None = None, aggregated: pd.DataFrame | None = None,
) -> str:
    """The dataset's tables: the recommendation, where the embedding variants disagree (``ranking``:
    ``ranking_by_variant.tsv``), failed runs, best settings, what the aggregate weighs (``aggregated``: the
    dataset's aggregated_metrics.tsv, :func:`aggregate_section`), every run's scores and parameters, raw
    metrics, and the cells and genes that preprocessing kept and removed (all checked against their contracts
    on reading). Controls are marked and listed after the compared models in every table."""
    sections = [("Recommendation", f"<p>{html.escape(recommendation(best, dataset))}</p>"
                 '<p class="note">Which model, then which setting of it. A choice is safe when it was already '
                 "first at the previous checkpoint, its runs converged and, with 2 or more seeds, it is ahead "
                 "beyond seed noise (the difference of means over seeds exceeds twice its sd; paired t-test p "
                 "with 3 or more seeds); otherwise the sentence says why, or names the settings that are a "
                 "toss-up. See best_settings.tsv for every model.</p>")]
    if ranking is not None and len(ranking):
        sections.append(variants_section(ranking, dataset))
    mixed = version_mix(summary, VERSION_COLUMNS)
    if mixed:
        sections.append(("Versions differ between runs",
                         '<p class="verdict strong">' + "<br>".join(html.escape(n) for n in mixed)
                         + '</p><p class="note">Runs made by different code are not comparable. Retrain or rescore '
                         "the older runs (README: Reruns and provenance).</p>"))
    failed = failed_runs(summary)
    if len(failed):
        sections.append((f"Failed runs ({len(failed)})",
                         '<p class="note">These runs raised or diverged; they are kept as results with NA scores. '
                         "Reason as recorded in run_info.json; the full traceback is in the run's log under "
                         "logs/.</p>" + table_html(failed.reset_index(drop=True))))
    else:
        sections.append(("Failed runs", '<p class="note">None: every run finished.</p>'))
    if len(best):
        ranked = controls_last(best, ["model_rank"], [True])
        sections.append(("Best setting per model",
                         '<p class="note">Compared models by rank (model_rank, by the mean ranked_by score of '
                         "their best setting), then the controls. The best setting is chosen by the mean of best_by over "
                         "seeds; the median run is the one shown in the UMAP figure. " + CONTROL_NOTE + "</p>"
                         + table_html(ranked.drop(columns=["dataset"]).reset_index(drop=True),
                                      ["control" if c else "" for c in C.is_control(ranked)])))
    if aggregated is not None:
        sections.append(("What the aggregate weighs", aggregate_section(summary, aggregated)))
    best_runs = set(best["median_run_id"])
    scores = ["bio", "batch", "total", "selection_score"]
    seeds = [c for c in summary.columns if c.startswith(("mean_", "sd_")) or c == "n_seeds"]
    params = [c for c in summary.columns if c.startswith("param_")]
    info = ["status", "wall_time_s", "peak_memory_mb", "device", "n_epochs"]
    ranked_by = next((s for s in best.get("ranked_by", pd.Series(dtype=str)).dropna().astype(str)
                      if s in summary.columns), "total")  # (best_settings.tsv of an older version: none)
    ordered = controls_last(summary, [ranked_by], [False])
    classes = ["failed" if s == C.STATUS_FAILED else ("control" if c else ("best" if r in best_runs else ""))
               for r, s, c in zip(ordered["run_id"], ordered["status"], C.is_control(ordered))]
    runs = ordered[["run_id", "model"] + scores + seeds + info + params]
    runs = runs.rename(columns=lambda c: c.removeprefix("param_"))
    sections.append(("All runs: scores, seeds, resources and parameters",
                     '<p class="note">Sorted by the ranking score (best_settings.tsv: ranked_by), the controls (grey) '
                     "after every compared model; bold = median run of its model's best setting; red = failed. bio/batch are means of min-max "
                     "scaled metrics over this dataset's compared runs (controls on that scale); total = weighted "
                     "mean; selection_score = the paper's "
                     "0.6·mean(NMI, Moran's I) + 0.4·iLISI.</p>"
                     + table_html(runs.reset_index(drop=True), classes)))
    metric_cols = [m for t in ("bio", "batch") for m in sorted(k for k, v in metric_types.items() if v == t)
                   if m in summary.columns]
    header = pd.DataFrame({"metric": metric_cols, "type": [metric_types[m] for m in metric_cols]})
    sections.append(("Raw metric values",
                     '<p class="note">Unscaled values of every metric (columns grouped: bio conservation, then '
                     "batch correction); see docs/metrics.md for what each measures.</p>"
                     + table_html(ordered[["run_id"] + metric_cols].reset_index(drop=True), classes)
                     + '<p class="note">Metric types:</p>' + table_html(header)))
    warned = preprocess_report["note"].str.contains("max_qc_loss|WARNING", regex=True)
    sections.append(("Preprocessing: cells and genes kept at every step",
                     '<p class="note">preprocess_report.tsv: cells and genes left after each step, per system '
                     "(all = the whole dataset), with what was removed and why; red = a system that lost more than "
                     "preprocess.max_qc_loss of its cells.</p>"
                     + table_html(preprocess_report, ["failed" if w else "" for w in warned])))
    return page(f"{dataset}: results tables", sections)


def diagnostic_page(summary: pd.DataFrame, per_cell_type: pd.DataFrame, dataset: str, settings: str = "") -> str:
    """The diagnostic's verdict (plain words), its numbers and the per-cell-type tests."""
    s = summary.iloc[0]
    numbers = summary.drop(columns=["dataset", "verdict"], errors="ignore").T.reset_index()
    numbers.columns = ["quantity", "value"]
    numbers["value"] = [_cell(v)[0] for v in numbers["value"]]
    sections = [
        ("Verdict", f'<p class="verdict {html.escape(str(s["strength"]))}">{html.escape(str(s["verdict"]))}</p>'),
        ("Summary", table_html(numbers)),
        ("Per cell type: pseudobulk distances within vs across systems",
         '<p class="note">One-sided Mann-Whitney U (across-system distances greater than within-system ones), '
         "Benjamini-Hochberg q over the tested cell types; auc = P(across distance > within distance).</p>"
         + table_html(per_cell_type.drop(columns=["dataset"], errors="ignore").reset_index(drop=True))),
    ]
    if settings:
        sections.append(("Settings", f"<pre>{html.escape(settings)}</pre>"))
    return page(f"{dataset}: pre-integration diagnostic", sections)


def package_versions(packages: Sequence[str] = VERSION_PACKAGES) -> pd.DataFrame:
    """Installed versions in this environment (python first)."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            rows.append({"package": name, "version": md.version(name)})
        except md.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed here"})
    return pd.DataFrame(rows)


def versions_table(metrics_infos: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """Versions of the report's environment and, per dataset, those the metrics were computed with."""
    table = package_versions().assign(environment="report (this job)")
    frames = [table]
    for dataset, info in (metrics_infos or {}).items():
        versions = info.get("versions", {}) if isinstance(info, Mapping) else {}
        if versions:
            frames.append(pd.DataFrame({"package": list(versions), "version": [str(v) for v in versions.values()],
                                        "environment": f"metrics ({dataset})"}))
    return pd.concat(frames, ignore_index=True)[["environment", "package", "version"]]


def config_page(
    config: Mapping, versions: pd.DataFrame, datasets: pd.DataFrame, platform_info: str | None = None
) -> str:
    """Each dataset's status (``datasets.tsv``), the effective configuration (defaults filled in by the
    schema) and the package versions."""
    text = yaml.safe_dump(plain(config), sort_keys=False, default_flow_style=None, width=110)
    plat = platform_info or f"{platform.platform()}, Python {platform.python_version()}"
    failed = datasets["status"] != C.DATASET_COMPLETE
    sections = [
        ("Datasets", f'<p class="note">{int((~failed).sum())} of {len(datasets)} datasets completed; a failed '
         "dataset is listed with the reason and log of the job that failed.</p>"
         + table_html(datasets, row_classes=["failed" if f else "" for f in failed])),
        ("Package versions", f'<p class="note">Platform of the report job: {html.escape(plat)}. One column per '
         "environment: the report job's own, and the one each dataset's metrics were computed in.</p>"
         + table_html(_versions_wide(versions))),
        ("Configuration", '<p class="note">The configuration the benchmark ran with, after schema validation '
         "(defaults filled in).</p>" + f"<pre>{html.escape(text)}</pre>"),
    ]
    return page("Configuration and package versions", sections)


def _versions_wide(versions: pd.DataFrame) -> pd.DataFrame:
    """package x environment table of versions (blank where an environment does not record a package)."""
    if versions.empty:
        return versions
    order = list(dict.fromkeys(versions["package"]))
    wide = versions.pivot_table(index="package", columns="environment", values="version", aggfunc="first")
    wide = wide.reindex(index=order, columns=list(dict.fromkeys(versions["environment"]))).fillna("")
    wide.columns.name = None
    return wide.reset_index()


def plain(obj):
    """Snakemake's config objects (and numpy scalars) as plain YAML-dumpable Python."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_text(text: str, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
