"""Benchmark-wide figures and the pairwise model tests on a constructed two-dataset aggregate."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from sysvi_bench import contracts as C
from sysvi_bench.report.benchmark_figures import (
    TEST_COLUMNS,
    all_settings_figure,
    best_setting_runs,
    failed_datasets,
    pairwise_tests,
    parameter_correlation_figure,
    parameter_correlations,
    top_settings_figure,
)

METRICS = ["nmi_leiden", "moransi_preservation", "ilisi_system"]


def _aggregate(seed_sets=None):
    """Two datasets; sysvi tuned over cycle weight (4 values, 3 seeds), scvi over kl (2 values), pca fixed.
    sysvi's ilisi_system rises with the cycle weight; sysvi's best setting is cyc=10."""
    rng = np.random.default_rng(0)
    rows = []
    for d_i, dataset in enumerate(["d1", "d2"]):
        grids = {"sysvi": ("cyc", [1.0, 2.0, 5.0, 10.0]), "scvi": ("kl", [0.5, 1.0]), "pca": (None, [None])}
        for model, (param, values) in grids.items():
            seeds = (seed_sets or {}).get((dataset, model), [0, 1, 2])
            for value in values:
                setting = model if param is None else f"{model}__{param}={value:g}"
                for seed in seeds:
                    base = {"sysvi": 0.6, "scvi": 0.4, "pca": 0.1}[model]
                    ilisi = base + (0.02 * value if model == "sysvi" else 0.0) + rng.normal(0, 0.01)
                    rows.append({"dataset": dataset, "model": model, "setting": setting, "seed": seed,
                                 "run_id": f"{setting}__seed={seed}", "kind": model, "control": False, "status": "ok",
                                 "param_cyc": value if model == "sysvi" else np.nan,
                                 "param_kl": value if model == "scvi" else np.nan,
                                 "nmi_leiden": 0.7 + rng.normal(0, 0.01) - 0.1 * d_i,
                                 "moransi_preservation": 0.8 + rng.normal(0, 0.01),
                                 "ilisi_system": ilisi})
    summary = pd.DataFrame(rows)
    best = pd.DataFrame({"dataset": ["d1", "d1", "d1", "d2", "d2", "d2"],
                         "model": ["sysvi", "scvi", "pca"] * 2,
                         "setting": ["sysvi__cyc=10", "scvi__kl=1", "pca"] * 2})
    return summary, best


def test_pairwise_tests_columns_tests_and_bh():
    summary, best = _aggregate()
    runs = best_setting_runs(summary, best)
    tests = pairwise_tests(runs, METRICS)
    assert list(tests.columns) == TEST_COLUMNS
    C.BENCHMARK_TESTS.check(tests, "tests")
    # 2 datasets x 3 metrics x 3 model pairs
    assert len(tests) == 18 and set(tests["test"]) == {"paired"}
    row = tests[(tests["dataset"] == "d1") & (tests["metric"] == "ilisi_system")
                & (tests["model_a"] == "sysvi") & (tests["model_b"] == "pca")].iloc[0]
    assert row["diff"] == pytest.approx(row["mean_a"] - row["mean_b"]) and row["diff"] > 0.6
    assert row["p_value"] < 0.01
    for _, block in tests.groupby(["dataset", "metric"]):
        expected = multipletests(block["p_value"], method="fdr_bh")[1]
        assert np.allclose(block["p_adjusted"], expected)
        assert (block["p_adjusted"] >= block["p_value"] - 1e-12).all()


def test_pairwise_tests_welch_when_seeds_differ_and_na_with_one_seed():
    summary, best = _aggregate({("d1", "scvi"): [0, 1, 5], ("d1", "pca"): [0]})
    tests = pairwise_tests(best_setting_runs(summary, best), ["ilisi_system"])
    d1 = tests[tests["dataset"] == "d1"].set_index(["model_a", "model_b"])
    assert d1.loc[("sysvi", "scvi"), "test"] == "welch"
    assert d1.loc[("sysvi", "pca"), "test"] == "none" and np.isnan(d1.loc[("sysvi", "pca"), "p_value"])
    # BH over the one testable pair of d1 equals its p-value; NA stays NA
    assert d1.loc[("sysvi", "scvi"), "p_adjusted"] == pytest.approx(d1.loc[("sysvi", "scvi"), "p_value"])
    assert np.isnan(d1.loc[("sysvi", "pca"), "p_adjusted"])


def test_figures_on_two_datasets(tmp_path):
    summary, best = _aggregate()
    runs = best_setting_runs(summary, best)
    assert set(runs["setting"]) == {"sysvi__cyc=10", "scvi__kl=1", "pca"} and len(runs) == 18
    paths = [tmp_path / "top.png", tmp_path / "top.pdf"]
    fig = top_settings_figure(runs, paths, METRICS, failed=["d3"])
    assert all(p.stat().st_size > 1000 for p in paths)
    assert len(fig.axes) == 6  # 2 datasets x 3 metrics
    assert "d3" in " ".join(t.get_text() for t in fig.texts)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["sysvi", "scvi", "pca"]
    fig = all_settings_figure(summary, [tmp_path / "all.png", tmp_path / "all.pdf"], METRICS)
    assert len(fig.axes) == 6
    settings = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(settings) == 7  # 4 sysvi + 2 scvi + 1 pca settings
    assert settings.index("sysvi__cyc=2") < settings.index("sysvi__cyc=5") < settings.index("sysvi__cyc=10")
    fig = parameter_correlation_figure(summary, [tmp_path / "corr.png", tmp_path / "corr.pdf"], METRICS)
    assert (tmp_path / "corr.pdf").stat().st_size > 1000


def test_parameter_correlations():
    summary, _ = _aggregate()
    corr = parameter_correlations(summary, METRICS).set_index(["dataset", "model", "parameter", "metric"])
    # tuned numeric parameters only: sysvi's cyc and scvi's kl; pca has none
    assert {(m, p) for _, m, p, _ in corr.index} == {("sysvi", "cyc"), ("scvi", "kl")}
    assert corr.loc[("d1", "sysvi", "cyc", "ilisi_system"), "rho"] > 0.8
    assert corr.loc[("d1", "sysvi", "cyc", "ilisi_system"), "n_runs"] == 12


def test_failed_datasets():
    datasets = pd.DataFrame({"dataset": ["a", "b"], "status": ["complete", "failed"]})
    assert failed_datasets(datasets) == ["b"]


def test_benchmark_metrics_are_configurable(validated, tiny_config):
    from snakemake.exceptions import WorkflowError

    assert validated(tiny_config)["figures"]["benchmark_metrics"] == METRICS  # default: the paper's selection
    config = validated({**tiny_config, "figures": {"benchmark_metrics": ["label_transfer_f1"]}})
    assert config["figures"]["benchmark_metrics"] == ["label_transfer_f1"]
    with pytest.raises(WorkflowError):
        validated({**tiny_config, "figures": {"benchmark_metrics": []}})


def test_correlation_drawn_only_from_three_values_else_a_note(tmp_path):
    summary, _ = _aggregate()
    fig = parameter_correlation_figure(summary, [tmp_path / "corr.png"], METRICS, variant="raw")
    rows = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert "sysvi: cyc" in rows and "scvi: kl" not in rows  # scvi's kl took two values
    assert "raw" in fig._suptitle.get_text()
    two = summary[summary["param_cyc"].isin([2.0, 10.0]) | (summary["model"] != "sysvi")]
    fig = parameter_correlation_figure(two, [tmp_path / "corr2.png"], METRICS)
    notes = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "No parameter took 3 or more values" in notes and "sysvi: cyc (2 values)" in notes
    assert (tmp_path / "corr2.png").stat().st_size > 1000


def test_top_settings_put_controls_last_in_grey(tmp_path):
    summary, best = _aggregate()
    control = summary[summary["model"] == "pca"].assign(model="celltype", setting="celltype", kind="celltype",
                                                        control=True, ilisi_system=0.99, nmi_leiden=0.99)
    summary = pd.concat([control, summary], ignore_index=True)  # first in the table
    best = pd.concat([pd.DataFrame({"dataset": ["d1", "d2"], "model": "celltype", "setting": "celltype"}), best])
    fig = top_settings_figure(best_setting_runs(summary, best), [tmp_path / "top.png"], METRICS,
                              best_by="selection_score", variant="raw")
    ticks = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in ticks] == ["sysvi", "scvi", "pca", "celltype (control)"]
    assert ticks[-1].get_color() == "0.4"
    assert "selection_score" in fig._suptitle.get_text() and "raw" in fig._suptitle.get_text()
    bars = [p for p in fig.axes[0].patches]
    assert bars[-1].get_facecolor()[:3] == (0.8, 0.8, 0.8) and bars[0].get_facecolor()[:3] != (0.8, 0.8, 0.8)
