"""Pre-integration diagnostic: how strong is the system effect, before any model is trained?

Two views of the preprocessed (unintegrated) data:

1. **Pseudobulk distances.** Cells are averaged per system x sample x cell type (mean log-normalised expression,
   groups with at least ``min_cells`` cells); the pseudobulks are projected on their first principal components.
   For every cell type, the distances between its pseudobulks from *different* systems are compared with the
   distances between its pseudobulks from different samples of the *same* system: a one-sided Mann-Whitney U
   test (alternative: across > within), Benjamini-Hochberg corrected over the cell types. The effect size is the
   probability that an across-system distance exceeds a within-system one (``auc`` = U / (n_across * n_within);
   0.5 = no system effect, 1 = every across-system pair is farther apart than every within-system pair).
   Within-system sample-to-sample variation is the yardstick: a system effect is only "strong" when it is
   larger than the differences between samples that any batch-correction method already handles.
   (Pairs share pseudobulks, so they are not independent; the p-values are a guide, as in Hrovatin et al.)
2. **Silhouette of the system** on the unintegrated PCA (``obsm["X_pca"]``): over all cells, and within each
   cell type (the cell-weighted mean of the per-cell silhouette computed inside the cell type, which is the one
   that matters: cell types separate anyway). 0 = systems mixed, 1 = systems fully apart.

:func:`run_diagnostic` returns the per-cell-type table, a one-row summary and a plain-words verdict:
a strong system effect calls for sysVI (or another cross-system method); a weak one may be served by scVI.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from scipy.stats import false_discovery_control, mannwhitneyu

from sysvi_bench import contracts as C
from sysvi_bench.subsample import seeded_subsample

ALL_CELL_TYPES = "(all cell types)"

CELL_TYPE_COLUMNS = [
    "dataset", "cell_type", "n_pseudobulks", "systems", "n_within_pairs", "n_across_pairs",
    "median_within", "median_across", "distance_ratio", "auc", "p_value", "tested", "q_value", "significant", "note",
]
SUMMARY_COLUMNS = [
    "dataset", "n_cells", "n_pseudobulks", "n_cell_types", "n_cell_types_tested", "n_cell_types_significant",
    "n_cell_types_underpowered", "median_auc_underpowered", "fraction_significant", "median_auc", "median_distance_ratio", "system_asw", "system_asw_within_cell_type",
    "strength", "recommendation", "verdict",
]


@dataclass(frozen=True)
class DiagnosticParams:
    min_cells: int = 10  # cells per pseudobulk (system x sample x cell type); smaller groups are dropped
    n_pcs: int = 10  # principal components of the pseudobulks the distances are measured in
    alpha: float = 0.05  # BH-adjusted significance level
    max_cells_silhouette: int = 10_000  # silhouettes on a seeded subsample above this
    seed: int = 0
    # Verdict thresholds. The test says whether systems differ more than samples do; the silhouette says by how
    # much. "strong": significant in at least strong_fraction of the tested cell types (or none testable) and a
    # within-cell-type silhouette of the system >= strong_asw; "weak": no significant cell type and a silhouette
    # < weak_asw; "moderate" otherwise. Calibrated on the demo (Baron human vs mouse: 0.46, which no cVAE
    # setting integrates fully) and the simulator (log-fold shifts sd 1.5: 0.50-0.55; sd 0.5, which every
    # setting integrates: 0.29-0.32; no system effect: 0.00).
    strong_fraction: float = 0.5
    strong_asw: float = 0.35
    weak_asw: float = 0.1


@dataclass
class Diagnostic:
    per_cell_type: pd.DataFrame  # CELL_TYPE_COLUMNS
    summary: pd.DataFrame  # one row, SUMMARY_COLUMNS
    pseudobulks: pd.DataFrame  # one row per pseudobulk: system, sample, cell_type, n_cells, PC1..PCk
    distances: pd.DataFrame  # one row per same-cell-type pair: cell_type, pair (within/across), distance
    params: DiagnosticParams = field(default_factory=DiagnosticParams)

    @property
    def verdict(self) -> str:
        return str(self.summary["verdict"].iloc[0])


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=np.float64)


def pseudobulk(adata: AnnData, min_cells: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Mean expression (``X``) per system x sample x cell type with at least ``min_cells`` cells.

    Returns the (pseudobulks x genes) matrix and its metadata (system, sample, cell_type, n_cells).
    Unlabelled cells (missing label) belong to no cell type and are left out.
    """
    obs = adata.obs[[C.SYSTEM, C.SAMPLE, C.LABEL]].astype(str)
    obs[C.LABEL] = obs[C.LABEL].where(adata.obs[C.LABEL].notna())  # missing keys are dropped by groupby
    groups = obs.groupby([C.SYSTEM, C.SAMPLE, C.LABEL], sort=True).indices
    rows, means = [], []
    for (system, sample, cell_type), idx in groups.items():
        if len(idx) >= min_cells:
            rows.append({"system": system, "sample": sample, "cell_type": cell_type, "n_cells": len(idx)})
            means.append(_dense(adata.X[idx]).mean(axis=0))
    meta = pd.DataFrame(rows, columns=["system", "sample", "cell_type", "n_cells"])
    matrix = np.vstack(means) if means else np.zeros((0, adata.n_vars))
    return matrix, meta


def pca_coordinates(matrix: np.ndarray, n_pcs: int) -> np.ndarray:
    """Principal component scores of the rows of ``matrix`` (genes centred), at most n_rows - 1 components."""
    if len(matrix) < 2:
        return np.zeros((len(matrix), 1))
    centred = matrix - matrix.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    k = max(1, min(n_pcs, len(matrix) - 1))
    return u[:, :k] * s[:k]


def pair_distances(coords: np.ndarray, meta: pd.DataFrame) -> pd.DataFrame:
    """Euclidean distance of every pair of pseudobulks of the same cell type, labelled within/across system."""
    rows = []
    for cell_type, idx in meta.groupby("cell_type", sort=True).indices.items():
        for i, j in combinations(idx, 2):
            same = meta["system"].iloc[i] == meta["system"].iloc[j]
            rows.append({"cell_type": cell_type, "pair": "within" if same else "across",
                         "distance": float(np.linalg.norm(coords[i] - coords[j]))})
    return pd.DataFrame(rows, columns=["cell_type", "pair", "distance"])


def distance_tests(
    distances: pd.DataFrame, meta: pd.DataFrame, alpha: float, dataset: str = "", all_cell_types: list[str] = ()
) -> pd.DataFrame:
    """One-sided Mann-Whitney U (across > within) per cell type, BH-corrected over the tested cell types.

    A cell type is *tested* when it has within- and across-system pairs and enough of them that a perfect
    separation could reach ``p < alpha``; with fewer (e.g. two samples per system: two within-system pairs),
    its p-value is kept but it is marked underpowered and left out of the correction and the verdict's count.
    Cell types in ``all_cell_types`` without any pseudobulk get an untested row."""
    rows = []
    for cell_type, sub in meta.groupby("cell_type", sort=True):
        d = distances[distances["cell_type"] == cell_type]
        within = d.loc[d["pair"] == "within", "distance"].to_numpy()
        across = d.loc[d["pair"] == "across", "distance"].to_numpy()
        row = {"dataset": dataset, "cell_type": cell_type, "n_pseudobulks": len(sub),
               "systems": ",".join(sorted(sub["system"].unique())),
               "n_within_pairs": len(within), "n_across_pairs": len(across),
               "median_within": np.median(within) if len(within) else np.nan,
               "median_across": np.median(across) if len(across) else np.nan,
               "auc": np.nan, "p_value": np.nan, "note": ""}
        if len(within) and len(across):
            test = mannwhitneyu(across, within, alternative="greater", method="auto")
            row["auc"] = float(test.statistic) / (len(across) * len(within))
            row["p_value"] = float(test.pvalue)
            best_p = _best_possible_p(len(across), len(within))
            if best_p >= alpha:
                row["note"] = (f"underpowered: with {len(within)} within- and {len(across)} across-system pairs even "
                               f"a perfect separation gives p = {best_p:.2g}")
        elif not len(across):
            row["note"] = "not tested: pseudobulks from one system only"
        else:
            row["note"] = "not tested: fewer than 2 samples with enough cells in every system"
        rows.append(row)
    for cell_type in sorted(set(all_cell_types) - set(meta["cell_type"])):
        rows.append({"dataset": dataset, "cell_type": cell_type, "n_pseudobulks": 0, "systems": "",
                     "n_within_pairs": 0, "n_across_pairs": 0, "median_within": np.nan, "median_across": np.nan,
                     "auc": np.nan, "p_value": np.nan, "note": "not tested: no pseudobulk with enough cells"})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=CELL_TYPE_COLUMNS)
    table["distance_ratio"] = table["median_across"] / table["median_within"].where(table["median_within"] > 0)
    tested = table["p_value"].notna() & ~table["note"].str.startswith("underpowered")
    table["tested"] = tested
    table["q_value"] = np.nan
    if tested.any():
        table.loc[tested, "q_value"] = false_discovery_control(table.loc[tested, "p_value"].to_numpy(), method="bh")
    table["significant"] = tested & (table["q_value"] < alpha)
    return table[CELL_TYPE_COLUMNS]


def _best_possible_p(n_across: int, n_within: int) -> float:
    """The one-sided Mann-Whitney p-value when every across-system distance exceeds every within-system one."""
    within = np.arange(n_within, dtype=float)
    across = np.arange(n_within, n_within + n_across, dtype=float)
    return float(mannwhitneyu(across, within, alternative="greater", method="auto").pvalue)


def system_silhouettes(adata: AnnData, params: DiagnosticParams) -> tuple[float, float]:
    """Silhouette of the system on the unintegrated PCA: over all cells, and within cell types (cell-weighted).

    Unlabelled cells count in the overall silhouette only.
    """
    from sklearn.metrics import silhouette_samples

    idx = seeded_subsample(adata.n_obs, params.max_cells_silhouette, params.seed)
    emb = np.asarray(adata.obsm[C.PCA_KEY])[idx]
    system = adata.obs[C.SYSTEM].astype(str).to_numpy()[idx]
    labelled = adata.obs[C.LABEL].notna().to_numpy()[idx]
    label = adata.obs[C.LABEL].astype(str).to_numpy()[idx]
    overall = float(np.mean(silhouette_samples(emb, system))) if len(set(system)) > 1 else np.nan
    values, weights = [], []
    for cell_type in np.unique(label[labelled]):
        mask = (label == cell_type) & labelled
        counts = pd.Series(system[mask]).value_counts()
        if len(counts) < 2 or counts.min() < 2:
            continue  # silhouette needs two systems with at least two cells each
        values.append(float(np.mean(silhouette_samples(emb[mask], system[mask]))))
        weights.append(int(mask.sum()))
    within = float(np.average(values, weights=weights)) if values else np.nan
    return overall, within


def verdict(summary: dict, params: DiagnosticParams) -> tuple[str, str, str]:
    """(strength, recommendation, plain-words verdict) from the summary numbers."""
    n_tested, n_sig = summary["n_cell_types_tested"], summary["n_cell_types_significant"]
    asw = summary["system_asw_within_cell_type"]
    frac = n_sig / n_tested if n_tested else np.nan
    asw_txt = "not computable" if np.isnan(asw) else f"{asw:.2f}"
    if n_tested:
        test_txt = (f"pseudobulks of the same cell type are significantly farther apart across systems than "
                    f"between samples of one system in {n_sig} of {n_tested} tested cell types "
                    f"(one-sided Mann-Whitney U, BH q < {params.alpha:g}; median effect size AUC "
                    f"{summary['median_auc']:.2f}, where 0.5 means no difference)")
    else:
        test_txt = ("no cell type could be tested (each needs pseudobulks of at least "
                    f"{params.min_cells} cells from enough samples: e.g. 3 samples in one system and 2 in another)")
    n_under = summary.get("n_cell_types_underpowered", 0)
    if n_under:
        test_txt += (f"; {n_under} {'further ' if n_tested else ''}cell type(s) had too few samples for a "
                     f"significant test (median AUC "
                     f"{summary.get('median_auc_underpowered', np.nan):.2f})")
    asw_part = f"the silhouette of the system within cell types on the unintegrated PCA is {asw_txt} (0 = mixed, 1 = apart)"
    high_asw = not np.isnan(asw) and asw >= params.strong_asw
    low_asw = np.isnan(asw) or asw < params.weak_asw
    if high_asw and (not n_tested or frac >= params.strong_fraction):
        strength, recommendation = "strong", "sysVI"
        advice = ("This is a strong system effect" + (", larger than the sample-to-sample variation within a system"
                                                       if n_tested else "") +
                  ": the regime sysVI (VampPrior + cycle-consistency) was made for. Expect plain cVAEs such as scVI "
                  "to leave the systems apart or to mix them only at the cost of biology; compare the sysVI runs "
                  "against them.")
    elif n_sig > 0 or not low_asw:
        strength, recommendation = "moderate", "scVI or sysVI (compare both)"
        advice = ("This is a moderate system effect: the systems differ beyond the sample-to-sample variation, "
                  "but are not far apart. scVI may suffice; check in the benchmark whether sysVI integrates better "
                  "without losing biology.")
    else:
        strength, recommendation = "weak", "scVI"
        advice = ("The system effect is weak, no larger than the variation between samples of one system: "
                  "a standard batch-correction model such as scVI (or Harmony) may serve; sysVI's extra losses "
                  "are not needed and may over-correct.")
    text = f"{strength.upper()} system effect: {test_txt}; {asw_part}. {advice}"
    return strength, recommendation, text


def run_diagnostic(adata: AnnData, params: DiagnosticParams = DiagnosticParams(), dataset: str = "") -> Diagnostic:
    """The pre-integration diagnostic of a preprocessed dataset (see the module docstring)."""
    matrix, meta = pseudobulk(adata, params.min_cells)
    coords = pca_coordinates(matrix, params.n_pcs)
    distances = pair_distances(coords, meta)
    per_type = distance_tests(distances, meta, params.alpha, dataset,
                              sorted(adata.obs[C.LABEL].dropna().astype(str).unique()))
    asw, asw_within = system_silhouettes(adata, params)
    tested = per_type[per_type["tested"].astype(bool)]
    underpowered = per_type[per_type["note"].str.startswith("underpowered")]
    summary = {
        "dataset": dataset, "n_cells": adata.n_obs, "n_pseudobulks": len(meta),
        "n_cell_types": adata.obs[C.LABEL].nunique(), "n_cell_types_tested": len(tested),
        "n_cell_types_significant": int(tested["significant"].sum()),
        "n_cell_types_underpowered": len(underpowered),
        "median_auc_underpowered": underpowered["auc"].median() if len(underpowered) else np.nan,
        "fraction_significant": tested["significant"].mean() if len(tested) else np.nan,
        "median_auc": tested["auc"].median() if len(tested) else np.nan,
        "median_distance_ratio": tested["distance_ratio"].median() if len(tested) else np.nan,
        "system_asw": asw, "system_asw_within_cell_type": asw_within,
    }
    summary["strength"], summary["recommendation"], summary["verdict"] = verdict(summary, params)
    pcs = pd.DataFrame(coords, columns=[f"PC{i + 1}" for i in range(coords.shape[1])])
    return Diagnostic(per_cell_type=per_type, summary=pd.DataFrame([summary], columns=SUMMARY_COLUMNS),
                      pseudobulks=pd.concat([meta, pcs], axis=1), distances=distances, params=params)


def verdict_text(diag: Diagnostic) -> str:
    """The verdict as a short plain-text document (diagnostic.txt)."""
    s = diag.summary.iloc[0]
    lines = [f"Pre-integration diagnostic: {s['dataset']}", "",
             textwrap.fill(str(s["verdict"]), 100), "",
             f"Suggested model family: {s['recommendation']}", "",
             "Numbers:"]
    for col in SUMMARY_COLUMNS[1:-3]:
        value = s[col]
        lines.append(f"  {col}: {value:.3f}" if isinstance(value, float) else f"  {col}: {value}")
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in asdict(diag.params).items())]
    return "\n".join(lines) + "\n"


def diagnostic_figure(diag: Diagnostic, paths: list[Path | str], title: str = "") -> None:
    """Pseudobulk PCA (colour = cell type, marker = system) and within- vs across-system distances per cell type."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from sysvi_bench.report.plotting import save_figure

    pb, dist, table = diag.pseudobulks, diag.distances, diag.per_cell_type
    cell_types = sorted(pb["cell_type"].unique()) if len(pb) else []
    systems = sorted(pb["system"].unique()) if len(pb) else []
    colours = dict(zip(cell_types, _palette(len(cell_types))))
    markers = dict(zip(systems, "osD^vP*X"))
    n_rows = max(len(cell_types), 1)
    fig, (ax_pca, ax_d) = plt.subplots(1, 2, figsize=(13, max(5.5, 2.6 + 0.42 * n_rows)),
                                       gridspec_kw={"width_ratios": [1, 1.25]})
    for _, row in pb.iterrows():
        ax_pca.scatter(row["PC1"], row.get("PC2", 0.0), s=25 + 70 * np.sqrt(row["n_cells"] / pb["n_cells"].max()),
                       color=colours[row["cell_type"]], marker=markers[row["system"]], edgecolor="black", lw=0.4)
    ax_pca.set_xlabel("pseudobulk PC1")
    ax_pca.set_ylabel("pseudobulk PC2")
    ax_pca.set_title("Pseudobulks (system x sample x cell type)", fontsize=10)
    handles = [Line2D([], [], marker=markers[s], ls="", color="grey", markeredgecolor="black", label=s) for s in systems]
    system_legend = ax_pca.legend(handles=handles, title="system (marker)", fontsize=8, title_fontsize=8, loc="best")
    ax_pca.add_artist(system_legend)
    type_handles = [Line2D([], [], marker="o", ls="", color=colours[c], markeredgecolor="black", label=c)
                    for c in cell_types]
    ax_pca.legend(handles=type_handles, title="cell type (colour; size = cells)", fontsize=8, title_fontsize=8,
                  loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=2, frameon=False)

    order = [c for c in cell_types]
    y = {c: i for i, c in enumerate(order)}
    rng = np.random.default_rng(0)
    for pair, colour, offset in (("within", "#4c72b0", -0.17), ("across", "#dd8452", 0.17)):
        sub = dist[dist["pair"] == pair]
        ys = sub["cell_type"].map(y).to_numpy(dtype=float) + offset + rng.uniform(-0.07, 0.07, len(sub))
        label = "within a system (between its samples)" if pair == "within" else "across systems"
        ax_d.scatter(sub["distance"], ys, s=12, color=colour, alpha=0.8, label=label)
        for cell_type, vals in sub.groupby("cell_type")["distance"]:
            ax_d.plot([vals.median()] * 2, [y[cell_type] + offset - 0.15, y[cell_type] + offset + 0.15],
                      color=colour, lw=2.5)
    ax_d.set_yticks(range(len(order)), order, fontsize=8)
    ax_d.set_ylim(len(order) - 0.5, -0.5)
    ax_d.set_xlabel("distance between pseudobulks of the same cell type (pseudobulk PCA)")
    ax_d.set_title("Within vs across systems (bar = median; right: one-sided test, BH q)", fontsize=10)
    ax_d.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=2, frameon=False,
                title="pairs of pseudobulks of one cell type", title_fontsize=8)
    qs = table.set_index("cell_type")
    trans = ax_d.get_yaxis_transform()
    for cell_type in order:
        q = qs.loc[cell_type, "q_value"] if cell_type in qs.index else np.nan
        p = qs.loc[cell_type, "p_value"] if cell_type in qs.index else np.nan
        if not np.isnan(q):
            txt = f"q={q:.1e}" + (" *" if q < diag.params.alpha else "")
        elif not np.isnan(p):
            txt = f"p={p:.1e}\n(few samples)"
        else:
            txt = "n.t."
        ax_d.text(1.01, y[cell_type], txt, transform=trans, va="center", fontsize=7)
    s = diag.summary.iloc[0]
    head = (f"{title}\nSystem effect: {str(s['strength']).upper()} - {int(s['n_cell_types_significant'])} of "
            f"{int(s['n_cell_types_tested'])} tested cell types significant; system silhouette on unintegrated PCA "
            f"{s['system_asw']:.2f} (all cells), {s['system_asw_within_cell_type']:.2f} (within cell types); "
            f"suggests {s['recommendation']}")
    fig.suptitle(head.strip(), fontsize=10, x=0.01, ha="left")
    fig.tight_layout()
    save_figure(fig, paths)


def _palette(n: int) -> list:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]
