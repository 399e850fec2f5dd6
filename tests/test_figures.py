"""Figure functions on small hand-made tables, the report pages, and the pre-integration diagnostic."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.report import figures as F
from sysvi_bench.report import panels as P
from sysvi_bench.report import umap as U
from sysvi_bench.subsample import seeded_subsample
from sysvi_bench.report import html as R

METRIC_TYPES = {"nmi_leiden": "bio", "moransi_preservation": "bio", "ilisi_system": "batch", "kbet_per_label": "batch"}


def _summary(kl_weights=(1.0,)) -> pd.DataFrame:
    """A summary like results/summary.tsv: SysVI over prior x cycle x embed (x KL) x 2 seeds, PCA, one failure."""
    rng = np.random.default_rng(0)
    rows = []
    grid = itertools.product(["standard_normal", "vamp"], [0.0, 2.0, 10.0], [False, True], kl_weights, [0, 1])
    for prior, cyc, embed, kl, seed in grid:
        setting = f"sysvi__prior={prior}__cyc={cyc:g}__embed={str(embed).lower()}" + (
            f"__kl={kl:g}" if len(kl_weights) > 1 else "")
        rows.append({"model": "sysvi", "kind": "sysvi", "control": False, "seed": seed, "setting": setting,
                     "run_id": f"{setting}__seed={seed}", "param_prior": prior, "param_z_distance_cycle_weight": cyc,
                     "param_embed_categorical_covariates": embed, "param_kl_weight": kl,
                     "param_n_prior_components": 5})
    rows.append({"model": "unintegrated", "kind": "pca", "control": False, "seed": 0, "setting": "unintegrated",
                 "run_id": "unintegrated"})
    rows.append({"model": "broken", "kind": "sysvi", "control": False, "seed": 0, "setting": "broken", "run_id": "broken__seed=0",
                 "param_prior": "vamp", "param_z_distance_cycle_weight": 2.0,
                 "param_embed_categorical_covariates": False, "param_kl_weight": 1.0, "param_n_prior_components": 2})
    table = pd.DataFrame(rows)
    table.insert(0, "dataset", "toy")
    table["status"] = np.where(table["model"] == "broken", C.STATUS_FAILED, C.STATUS_OK)
    table["reason"] = np.where(table["model"] == "broken", "ValueError: pseudoinputs out of range", "")
    ok = table["status"] == C.STATUS_OK
    for metric in METRIC_TYPES:
        table[metric] = np.where(ok, rng.uniform(0, 1, len(table)), np.nan)
        table[f"scaled_{metric}"] = table[metric]
    table["bio"] = table[["scaled_nmi_leiden", "scaled_moransi_preservation"]].mean(axis=1, skipna=False)
    table["batch"] = table[["scaled_ilisi_system", "scaled_kbet_per_label"]].mean(axis=1, skipna=False)
    table["total"] = 0.6 * table["bio"] + 0.4 * table["batch"]
    table["selection_score"] = table["total"]
    # convergence: NA where not applicable (PCA) or failed; one SysVI run still training
    table["convergence"] = np.where(table["kind"] == "sysvi", 0.001, np.nan)
    table["converged"] = pd.array(np.where(table["kind"] == "sysvi", True, None), dtype="boolean")
    late = table.index[table["kind"] == "sysvi"][0]
    table.loc[late, ["convergence", "converged"]] = [0.08, False]
    table["wall_time_s"] = rng.uniform(1, 60, len(table))
    table["peak_memory_mb"] = rng.uniform(300, 900, len(table))
    table["device"] = "cpu"
    table["n_epochs"] = np.where(table["kind"] == "sysvi", 30, 0)
    table["best_epoch"] = pd.array(np.where(table["kind"] == "sysvi", 30, None), dtype="Int64")
    table["n_seeds"] = table.groupby("setting")["total"].transform("count")
    table["train_versions"] = table["score_versions"] = "sysvi-bench=0.1.0; scvi-tools=1.4.2"
    table["effective_weight_bio"], table["effective_weight_batch"] = 0.3, 0.7
    C.SUMMARY.check(table, "toy summary")  # shaped like the real one
    return table


def _best(summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model, sub in summary[summary["total"].notna()].groupby("model"):
        means = sub.groupby("setting")["total"].mean()
        best = means.idxmax()
        rows.append({"dataset": "toy", "model": model, "kind": sub["kind"].iloc[0], "control": False, "setting": best,
                     "best_by": "total", "n_seeds": 2, "mean_total": means.max(),
                     "sd_total": 0.1, "mean_selection_score": means.max(), "sd_selection_score": 0.1,
                     "median_run_id": sub.loc[sub["setting"] == best, "run_id"].iloc[0]})
    return pd.DataFrame(rows, columns=C.BEST_SETTINGS_COLUMNS)


def _assert_written(tmp_path, name):
    for ext in ("png", "pdf"):
        path = tmp_path / f"{name}.{ext}"
        assert path.is_file() and path.stat().st_size > 1000, f"{path.name} missing or empty"
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"


def _paths(tmp_path, name):
    return [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"]


def test_results_table(tmp_path):
    F.results_table(_summary(), METRIC_TYPES, _paths(tmp_path, "table"), title="toy")
    _assert_written(tmp_path, "table")


def test_unconverged_runs_are_found_in_memory_and_from_tsv(tmp_path):
    summary = _summary()
    late = {summary["run_id"].iloc[0]}
    assert F.not_converged(summary) == late
    summary.to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    assert F.not_converged(C.read_table(tmp_path / "summary.tsv", C.SUMMARY)) == late  # NA rows are not flagged
    # a summary without the column is refused on reading, naming the file and the column
    summary.drop(columns="converged").to_csv(tmp_path / "old_summary.tsv", sep="\t", index=False)
    with pytest.raises(C.ContractError, match=r"old_summary.tsv: summary lacks column\(s\) \['converged'\]"):
        C.read_table(tmp_path / "old_summary.tsv", C.SUMMARY)


def test_batch_bio_scatter(tmp_path):
    summary = _summary()
    F.batch_bio_scatter(summary, _paths(tmp_path, "scatter"), best=_best(summary), title="toy")
    _assert_written(tmp_path, "scatter")


def test_the_runs_drawn_are_the_median_runs_of_best_settings():
    summary = _summary()
    best = _best(summary)
    chosen = P.best_runs(best)
    assert chosen == dict(zip(best["model"], best["median_run_id"]))
    assert "broken" not in chosen  # no scored run: no row in best_settings, not drawn


def test_the_sweep_holds_its_other_axes_at_the_setting_best_by_the_configured_score():
    best = pd.DataFrame({"model": ["sysvi", "cyc", "pca"], "kind": ["sysvi", "sysvi", "pca"],
                         "setting": ["sysvi__a", "cyc__b", "pca"], "best_by": "total",
                         "mean_total": [0.6, 0.5, 0.9], "mean_selection_score": [0.4, 0.7, 0.9]})
    assert F.sweep_anchor(best) == "sysvi__a"  # pca's higher score does not count: not a SysVI model
    assert F.sweep_anchor(best.assign(best_by="selection_score")) == "cyc__b"
    assert F.sweep_anchor(best[best["kind"] == "pca"]) is None


def test_parameter_sweep_over_cycle_weight(tmp_path):
    summary = _summary()
    assert F.swept_axes(summary) == ["z_distance_cycle_weight"]  # the failed run's n_prior_components is ignored
    table = F.sweep_table(summary, ["total"], _best(summary))
    assert set(table["facet"]) == {"False", "True"} and set(table["prior"]) == {"standard_normal", "vamp"}
    assert (table["n"] == 2).all() and table["sd"].notna().all()  # mean +- sd over two seeds
    F.parameter_sweep(summary, _best(summary), F.AGGREGATES, _paths(tmp_path, "sweep"), title="toy")
    _assert_written(tmp_path, "sweep")
    F.parameter_sweep(summary, _best(summary), list(METRIC_TYPES), _paths(tmp_path, "sweep_metrics"), title="toy")
    _assert_written(tmp_path, "sweep_metrics")


def test_parameter_sweep_with_kl_weight_holds_the_other_axis(tmp_path):
    summary = _summary(kl_weights=(1.0, 2.0))
    assert F.swept_axes(summary) == ["z_distance_cycle_weight", "kl_weight"]
    table = F.sweep_table(summary, ["total"], _best(summary))
    assert set(table["axis"]) == {"z_distance_cycle_weight", "kl_weight"}
    # each line varies only its own axis: one KL weight per cycle-weight point, and vice versa
    assert (table.groupby(["axis", "prior", "facet", "x"]).size() == 1).all()
    F.parameter_sweep(summary, _best(summary), F.AGGREGATES, _paths(tmp_path, "sweep_kl"), title="toy")
    _assert_written(tmp_path, "sweep_kl")


def test_umap_grid(tmp_path):
    rng = np.random.default_rng(0)
    obs = pd.DataFrame({C.SYSTEM: rng.choice(["human", "mouse"], 300),
                        C.LABEL: rng.choice([f"type {i}" for i in range(12)], 300)})
    coords = {m: rng.normal(size=(300, 2)) for m in ("sysvi", "scvi", "unintegrated", "harmony")}
    U.umap_grid(coords, obs, _paths(tmp_path, "umap"), title="toy",
                subtitles={"sysvi": "sysvi__prior=vamp__cyc=2__embed=false__seed=0"})
    _assert_written(tmp_path, "umap")


def test_umap_draws_the_same_seeded_cells_and_the_pca_only_without_a_pca_run():
    assert np.array_equal(seeded_subsample(300, 5000, 0), np.arange(300))
    assert np.array_equal(seeded_subsample(300, None, 0), np.arange(300))
    cells = seeded_subsample(10_000, 500, seed=3)
    assert len(cells) == 500 and np.all(np.diff(cells) > 0) and np.array_equal(cells, seeded_subsample(10_000, 500, 3))
    assert not np.array_equal(cells, seeded_subsample(10_000, 500, seed=4))
    summary = pd.DataFrame({"model": ["sysvi", "sysvi", "pca"], "kind": ["sysvi", "sysvi", "pca"],
                            "run_id": ["sysvi__a__seed=0", "sysvi__b__seed=0", "pca"], "status": "ok",
                            "total": [0.4, 0.6, 0.2]})
    best = pd.DataFrame({"model": ["pca", "sysvi"], "median_run_id": ["pca", "sysvi__b__seed=0"]})
    assert P.umap_panels(summary, best) == {"sysvi": "sysvi__b__seed=0", "pca": "pca"}  # the summary's order
    assert P.umap_panels(summary.iloc[:2], best.iloc[1:]) == {P.UNINTEGRATED_PANEL: None, "sysvi": "sysvi__b__seed=0"}


def test_training_curves(tmp_path):
    epochs = np.arange(20)
    sysvi = pd.DataFrame({"epoch": epochs, "reconstruction_loss_train": 100 / (epochs + 1),
                          "reconstruction_loss_validation": 110 / (epochs + 1), "kl_local_train": np.log1p(epochs),
                          "cycle_loss_train": 5 / (epochs + 1)})
    scvi = sysvi.drop(columns=["cycle_loss_train", "reconstruction_loss_validation"])
    convergence = pd.DataFrame({"run_id": ["sysvi__seed=0", "scvi__seed=0"], "convergence": [0.05, 0.001],
                                "converged": [False, True]})
    F.training_curves({"sysvi__seed=0": sysvi, "scvi__seed=0": scvi, "pca": None}, _paths(tmp_path, "curves"),
                      title="toy", convergence=convergence)
    _assert_written(tmp_path, "curves")


def test_runtime_memory(tmp_path):
    F.runtime_memory(_summary(), _paths(tmp_path, "runtime"), title="toy")
    _assert_written(tmp_path, "runtime")


def test_figures_without_scores_say_so(tmp_path):
    summary = _summary()
    summary["status"] = C.STATUS_FAILED
    F.batch_bio_scatter(summary, _paths(tmp_path, "empty_scatter"), best=_best(summary), title="toy")
    F.parameter_sweep(summary, _best(summary), F.AGGREGATES, _paths(tmp_path, "empty_sweep"), title="toy")
    F.training_curves({}, _paths(tmp_path, "empty_curves"), title="toy")
    for name in ("empty_scatter", "empty_sweep", "empty_curves"):
        _assert_written(tmp_path, name)


def test_results_page_lists_failed_runs_with_their_reason():
    summary = _summary()
    report = pd.DataFrame({"step": ["input", "min_genes_per_cell", "output"], "system": ["all", "human", "all"],
                           "n_cells": [100, 30, 70], "n_genes": [50, 50, 20],
                           "note": ["", "removed 20 of 50 cells (40%): more than preprocess.max_qc_loss=0.2", ""]})
    html = R.results_page(summary, _best(summary), METRIC_TYPES, "toy", report)
    assert "Failed runs (1)" in html
    assert "broken__seed=0" in html and "ValueError: pseudoinputs out of range" in html
    assert "Best setting per model" in html and "http" not in html  # self-contained
    assert "Preprocessing: cells and genes kept at every step" in html and "max_qc_loss=0.2" in html


# ---------------------------------------------------------------------------------------- diagnostic


def _preprocessed(**sim):
    from sysvi_bench.data.simulate import SimulationParams, simulate
    from sysvi_bench.config import DatasetKeys
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess

    raw = simulate(SimulationParams(n_cells=1200, n_genes=500, n_cell_types=4, n_samples_per_system=3, **sim))
    keys = DatasetKeys(system_key="system", covariate_keys=("sample",), label_key="cell_type", sample_key="sample")
    return preprocess(raw, keys, PreprocessParams(min_cells_per_gene=5, min_genes_per_cell=20, n_hvg=300, n_pcs=10),
                      where="test")


def test_diagnostic_calls_a_strong_system_effect_strong(tmp_path):
    from sysvi_bench.report.diagnostic import diagnostic_figure, run_diagnostic, verdict_text

    diag = run_diagnostic(_preprocessed(system_effect=1.5), dataset="strong")
    s = diag.summary.iloc[0]
    assert s["strength"] == "strong" and s["recommendation"] == "sysVI"
    assert s["n_cell_types_tested"] == 4 and s["n_cell_types_significant"] == 4
    tested = diag.per_cell_type[diag.per_cell_type["tested"]]
    assert (tested["q_value"] < 0.05).all() and (tested["median_across"] > tested["median_within"]).all()
    assert s["system_asw_within_cell_type"] > 0.35
    assert "STRONG system effect" in verdict_text(diag) and "sysVI" in s["verdict"]
    diagnostic_figure(diag, _paths(tmp_path, "diagnostic"), title="strong")
    _assert_written(tmp_path, "diagnostic")


def test_diagnostic_finds_no_effect_where_there_is_none():
    from sysvi_bench.report.diagnostic import run_diagnostic

    # no shifted genes and no system-specific genes (those alone are a real system difference): systems = samples
    diag = run_diagnostic(_preprocessed(system_effect=0.0, system_specific_gene_fraction=0.0, sample_effect=0.05),
                          dataset="none")
    s = diag.summary.iloc[0]
    assert s["strength"] == "weak" and s["recommendation"] == "scVI"
    assert s["n_cell_types_tested"] == 4 and s["n_cell_types_significant"] == 0
    assert abs(s["system_asw_within_cell_type"]) < 0.05
    assert "may serve" in s["verdict"]


def test_diagnostic_pseudobulks_and_power():
    import anndata as ad

    from sysvi_bench.report.diagnostic import distance_tests, pair_distances, pca_coordinates, pseudobulk

    obs = pd.DataFrame({C.SYSTEM: ["a"] * 6 + ["b"] * 6, C.SAMPLE: ["a1"] * 3 + ["a2"] * 3 + ["b1"] * 3 + ["b2"] * 3,
                        C.LABEL: ["t"] * 12}, index=[f"c{i}" for i in range(12)])
    x = np.vstack([np.full((3, 4), v) for v in (0.0, 0.1, 5.0, 5.1)])
    matrix, meta = pseudobulk(ad.AnnData(x, obs=obs), min_cells=3)
    assert len(meta) == 4 and np.allclose(matrix[:, 0], [0.0, 0.1, 5.0, 5.1])
    assert len(pseudobulk(ad.AnnData(x, obs=obs), min_cells=4)[1]) == 0  # groups below min_cells are dropped
    dist = pair_distances(pca_coordinates(matrix, 3), meta)
    assert sorted(dist["pair"].value_counts().to_dict().items()) == [("across", 4), ("within", 2)]
    table = distance_tests(dist, meta, alpha=0.05, all_cell_types=["t", "rare"])
    row = table.set_index("cell_type").loc["t"]
    # two samples per system: even perfect separation (auc 1) cannot reach p < 0.05 -> underpowered, not tested
    assert row["auc"] == 1.0 and not row["tested"] and row["note"].startswith("underpowered")
    assert table.set_index("cell_type").loc["rare", "note"].startswith("not tested")


# ------------------------------------------------------------------- controls, names, ranges, palettes (issue 28)


def _with_controls(summary: pd.DataFrame) -> pd.DataFrame:
    """The toy summary plus the two metric-scaling controls; the cell-type control scores highest of all."""
    extra = summary[summary["model"] == "unintegrated"].iloc[[0, 0]].copy()
    extra[["model", "kind", "setting", "run_id"]] = [["celltype"] * 4, ["shuffled"] * 4]
    extra["control"] = True
    scores = [*METRIC_TYPES, *(f"scaled_{m}" for m in METRIC_TYPES), "bio", "batch", "total", "selection_score"]
    extra[scores] = [[0.99] * len(scores), [0.01] * len(scores)]
    return pd.concat([summary, extra], ignore_index=True)


def _best_with_controls(summary):
    best = _best(summary)
    best["control"] = best["model"].isin(["celltype", "shuffled"])
    return best


def test_results_table_ranks_by_the_score_with_controls_last_and_names_what_it_shows(tmp_path):
    summary = _with_controls(_summary())
    summary["nmi_leiden_sd"] = 0.01  # noise row: not a column
    summary["clisi_knn"] = 0.9  # reported, not aggregated
    types = {**METRIC_TYPES, "clisi_knn": "bio", "nmi_leiden_sd": "bio"}
    order = F.ranking_order(summary, "selection_score")
    assert list(order["model"].iloc[-2:]) == ["celltype", "shuffled"]  # the top-scoring control is not at the top
    compared = order.iloc[:-2]
    assert compared["selection_score"].dropna().is_monotonic_decreasing
    fig = F.results_table(summary, types, _paths(tmp_path, "ranked"), title="toy", best_by="selection_score",
                          variant="standardized")
    _assert_written(tmp_path, "ranked")
    ax = fig.axes[0]
    assert "standardized" in ax.get_title(loc="left") and "selection_score" in ax.get_title(loc="left")
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[-2:] == ["celltype (control)", "shuffled (control)"]
    assert all(t.get_color() == "0.45" for t in ax.get_yticklabels()[-2:])
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert "nmi leiden sd" not in columns
    # the non-aggregated metric sits in its own block after the aggregated ones, its header grey
    assert columns.index("clisi knn") > max(columns.index(m.replace("_", " ")) for m in METRIC_TYPES)
    assert ax.get_xticklabels()[columns.index("clisi knn")].get_color() == "0.45"
    assert F.metrics_in_aggregate(["clisi_knn", "nmi_leiden"]) == {"nmi_leiden"}
    assert F.metrics_in_aggregate(["clisi_knn", "nmi_leiden"], left_out=["nmi_leiden"]) == {"clisi_knn"}


def test_batch_bio_scatter_draws_controls_grey_and_last(tmp_path):
    from matplotlib.colors import to_rgba

    summary = _with_controls(_summary())
    fig = F.batch_bio_scatter(summary, _paths(tmp_path, "scatter_controls"), best=_best_with_controls(summary),
                              title="toy", variant="raw", best_by="total")
    ax = fig.axes[0]
    assert "raw" in ax.get_title(loc="left") and "total" in ax.get_title(loc="left")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    models = [lab for lab in labels if not lab.startswith(("best setting", "equal total"))]
    assert models[-2:] == ["celltype (control)", "shuffled (control)"]
    # the last drawn point collections are the controls', in grey (r = g = b)
    from matplotlib.collections import PathCollection

    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections
               if isinstance(c, PathCollection) and len(c.get_offsets())]
    assert all(r == g == b for r, g, b, _ in colours[-2:]) and not any(r == g == b for r, g, b, _ in colours[:-2])
    assert to_rgba(colours[0]) != to_rgba(colours[-1])
    # scaled on the compared runs' range, a control can lie off the plane: the legend says where
    summary.loc[summary["model"] == "shuffled", ["batch", "bio"]] = [0.3, -4.9]
    fig = F.batch_bio_scatter(summary, _paths(tmp_path, "scatter_off"), best=_best_with_controls(summary))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "shuffled (control): off the plane (batch 0.30, bio -4.90)" in labels and "celltype (control)" in labels


def test_palette_one_hue_per_family_controls_grey_systems_apart():
    import colorsys

    from sysvi_bench.report import plotting as PL

    table = pd.DataFrame({"model": ["sysvi", "cyc", "scvi", "harmony", "unintegrated", "ext", "shuffled", "celltype"],
                          "kind": ["sysvi", "sysvi", "scvi", "harmony", "pca", "external", "shuffled", "celltype"],
                          "control": [False] * 6 + [True, True]})
    colours = PL.model_colours(table)
    hue = {m: colorsys.rgb_to_hsv(*colours[m][:3])[0] for m in colours}
    assert abs(hue["sysvi"] - hue["cyc"]) < 0.05 and colours["sysvi"] != colours["cyc"]  # one family, two shades
    families = ["sysvi", "scvi", "harmony", "unintegrated", "ext"]
    assert all(abs(hue[a] - hue[b]) > 0.05 for a, b in itertools.combinations(families, 2))
    assert all(colours[m][0] == colours[m][1] == colours[m][2] for m in ("shuffled", "celltype"))
    for n_systems, n_types in ((2, 12), (5, 20), (20, 30)):
        systems = PL.system_palette([f"s{i}" for i in range(n_systems)])
        types = PL.category_palette([f"t{i}" for i in range(n_types)])
        assert len(set(systems.values())) == n_systems
        assert not set(systems.values()) & set(types.values())


def test_sweep_axes_span_the_usable_range_not_the_noise(tmp_path):
    summary = _with_controls(_summary())
    sysvi = summary["kind"] == "sysvi"
    summary.loc[sysvi, "clisi"] = 0.9994 + 0.0006 * np.random.default_rng(1).uniform(size=sysvi.sum())
    summary.loc[summary["model"] == "shuffled", "clisi"] = 0.795  # the floor control
    fig = F.parameter_sweep(summary, _best_with_controls(summary), ["clisi"], _paths(tmp_path, "sweep_range"),
                            title="toy", best_by="total", variant="raw")
    low, high = fig.axes[0].get_ylim()
    assert low <= 0.795 and high >= 1.0
    assert "raw" in fig._suptitle.get_text() and "total" in fig._suptitle.get_text()
    # without the control: still at least 0.1 wide
    fig = F.parameter_sweep(summary[~summary["model"].isin(["shuffled", "celltype"])], _best(summary), ["clisi"],
                            _paths(tmp_path, "sweep_range2"))
    low, high = fig.axes[0].get_ylim()
    assert high - low >= 0.1
    # a scaled score: the compared runs' range; a control scaled far outside it is named, not squashing the lines
    summary.loc[summary["model"] == "shuffled", "total"] = -3.0
    fig = F.parameter_sweep(summary, _best_with_controls(summary), ["total"], _paths(tmp_path, "sweep_total"))
    low, high = fig.axes[0].get_ylim()
    compared = summary.loc[~summary["model"].isin(["shuffled", "celltype"]), "total"]
    assert low > -1.0 and low <= compared.min() and high >= compared.max()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "shuffled (control: the range; off the axis where not drawn)" in labels


def test_training_curve_ticks_do_not_run_together(tmp_path):
    epochs = np.arange(400)
    history = pd.DataFrame({"epoch": epochs, "reconstruction_loss_train": 100 / (epochs + 1)})
    fig = F.training_curves({"sysvi__seed=0": history, "scvi__seed=0": history}, _paths(tmp_path, "ticks"))
    for ax in fig.axes:
        if ax.lines:
            ticks = [t for t in ax.get_xticks() if 0 <= t <= 400]
            assert 2 <= len(ticks) <= 5


def test_umap_controls_last_and_titled():
    rng = np.random.default_rng(0)
    obs = pd.DataFrame({C.SYSTEM: rng.choice(["human", "mouse"], 200), C.LABEL: rng.choice(["a", "b"], 200)})
    coords = {m: rng.normal(size=(200, 2)) for m in ("celltype", "sysvi", "scvi")}
    fig = U.umap_grid(coords, obs, [], controls=["celltype"])
    heads = [sf._suptitle.get_text() for sf in fig.subfigs[0].subfigs if sf._suptitle]
    assert heads == ["sysvi", "scvi", "celltype (control)"]


def test_training_curves_one_row_per_model_with_the_summary(tmp_path):
    summary = _summary()
    epochs = np.arange(30)
    history = pd.DataFrame({"epoch": epochs, "reconstruction_loss_train": 100 / (epochs + 1),
                            "kl_local_train": np.log1p(epochs)})
    runs = summary.loc[(summary["kind"] == "sysvi") & (summary["status"] == C.STATUS_OK), "run_id"]
    fig = F.training_curves({r: history for r in runs}, _paths(tmp_path, "curves_by_model"), convergence=summary)
    _assert_written(tmp_path, "curves_by_model")
    drawn = [ax for ax in fig.axes if ax.lines]
    assert len(drawn) == 1 * 2  # one model (24 runs) x two losses, not 24 rows
    assert len(drawn[0].lines) == len(runs)
    heads = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "sysvi (24 runs): 1 not converged" in heads


def test_training_length_draws_the_ranking_score_on_the_compared_models_range(tmp_path):
    """The y axis is the score that ranks (selection_score here, not total), spanning the compared models; a
    control far below is named with its value instead of squashing the lines."""
    rows = []
    for model, finals in {"sysvi": (0.70, 0.80), "cvae": (0.65, 0.60)}.items():
        for stage, (epoch, value) in enumerate([(290, finals[1]), (138, finals[0])]):
            rows.append({"dataset": "d", "run_id": f"{model}__seed=0", "model": model, "setting": model, "seed": 0,
                         "stage": stage, "epoch": epoch, "total": 5.0, "selection_score": value})
    for model, value in {"pca": 0.3, "shuffled": -2.9}.items():
        rows += [{"dataset": "d", "run_id": model, "model": model, "setting": model, "seed": 0, "stage": stage,
                  "epoch": 0, "total": value, "selection_score": value} for stage in (0, 1)]
    scores = pd.DataFrame(rows)
    best = pd.DataFrame({"dataset": "d", "model": ["sysvi", "cvae", "pca", "shuffled"],
                         "setting": ["sysvi", "cvae", "pca", "shuffled"], "best_by": "selection_score",
                         "median_run_id": ["sysvi__seed=0", "cvae__seed=0", "pca", "shuffled"],
                         "control": [False, False, False, True], "kind": ["sysvi", "sysvi", "pca", "shuffled"]})
    fig = F.training_length(scores, best, _paths(tmp_path, "length"), title="toy", variant="raw")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low < 0.3 and 0.8 < high < 1.0  # the compared models (not total = 5, not the control at -2.9)
    assert "selection score" in ax.get_ylabel() and "selection_score" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1] == "shuffled (shuffled) (control): -2.90, off the axis"
    sysvi = next(line for line in ax.get_lines() if line.get_label() == "sysvi (sysvi)")
    assert list(sysvi.get_xdata()) == [138, 290] and list(sysvi.get_ydata()) == [0.70, 0.80]
