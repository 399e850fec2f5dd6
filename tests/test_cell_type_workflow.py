"""The cell-type mixing and label-transfer outputs, the controls, and the benchmark-wide figures on a tiny
workflow run (the tiny config with the two controls and one SysVI setting)."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, load_yaml, run_snakemake

from sysvi_bench import contracts as C
from sysvi_bench.report.benchmark_figures import TEST_COLUMNS
from sysvi_bench.score.cell_types import chance_same_type
from sysvi_bench.score.suite import reference_from_adata


@pytest.fixture(scope="module")
def control_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_controls")
    config = load_yaml(TINY_CONFIG)
    config["models"] = {
        "sysvi": {**config["models"]["sysvi"], "grid": {"prior": ["vamp"]}},
        "unintegrated": config["models"]["unintegrated"],
        "shuffled": {"kind": "shuffled", "params": {"n_comps": 8}},
        "celltype": {"kind": "celltype", "params": {"n_comps": 8}},
    }
    targets = ["results/figures/sim/cell_type_mixing.png", "results/figures/benchmark/top_settings.png",
               "results/benchmark_tests.tsv"]
    proc = run_snakemake(workdir, *targets, "--cores", "2", config=config)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir / "results"


def _metric(results, run_id, metric, variant="raw"):
    table = C.read_table(results / "sim" / "runs" / run_id / "metrics.tsv", C.METRICS)
    return table.set_index(["embedding_variant", "metric"]).loc[(variant, metric), "value"]


def test_controls_score_one_and_chance(control_run):
    reference = reference_from_adata(C.read_h5ad_checked(control_run / "sim" / "evaluation_reference.h5ad",
                                                         C.REFERENCE))
    obs = reference.obs[reference.labelled]
    chance = chance_same_type(obs[C.SYSTEM], obs[C.LABEL])
    assert 0.15 < chance < 0.5
    assert _metric(control_run, "celltype__seed=0", "cross_system_same_type") > 0.95
    assert _metric(control_run, "shuffled__seed=0", "cross_system_same_type") == pytest.approx(chance, abs=0.05)
    assert _metric(control_run, "celltype__seed=0", "label_transfer_f1") >= 0.95
    assert _metric(control_run, "shuffled__seed=0", "label_transfer_f1") < 0.5


def test_per_run_tables_and_metric_catalogue(control_run):
    for run_id in ["unintegrated", "shuffled__seed=0", "celltype__seed=0", "sysvi__prior=vamp__seed=0"]:
        folder = control_run / "sim" / "runs" / run_id
        mixing = C.read_table(folder / "cell_type_mixing.tsv", C.CELL_TYPE_MIXING)
        transfer = C.read_table(folder / "label_transfer.tsv", C.LABEL_TRANSFER)
        assert set(mixing["embedding_variant"]) == set(transfer["embedding_variant"]) == {"raw", "standardized"}
        sums = mixing.groupby(["embedding_variant", "system", "cell_type", "other_system"])["fraction"].sum()
        assert np.allclose(sums, 1.0)
        assert (transfer["run_id"] == run_id).all() and transfer["scored"].astype(str).str.lower().eq("true").any()
    info = pd.read_json(control_run / "sim" / "metrics_info.json", typ="series")
    catalogue = pd.DataFrame(info["metrics"]).set_index("metric")
    for metric in ["cross_system_same_type", "label_transfer_f1"]:
        assert catalogue.loc[metric, "type"] == "bio" and not catalogue.loc[metric, "in_aggregate"]
    summary = C.read_table(control_run / "sim" / "summary.tsv", C.SUMMARY)
    assert "scaled_label_transfer_f1" in summary or "label_transfer_f1" in summary


def test_figures_and_tests_table(control_run):
    figures = control_run / "figures"
    for rel in ["sim/cell_type_mixing.png", "sim/cell_type_mixing.pdf", "benchmark/top_settings.png",
                "benchmark/top_settings.pdf", "benchmark/all_settings.png", "benchmark/all_settings.pdf",
                "benchmark/parameter_correlation.png", "benchmark/parameter_correlation.pdf"]:
        assert (figures / rel).stat().st_size > 1000, rel
    tests = C.read_table(control_run / "benchmark_tests.tsv", C.BENCHMARK_TESTS)
    assert list(tests.columns) == TEST_COLUMNS
    # one seed per model: every pair listed, no test possible
    assert len(tests) == 3 * 6 and (tests["test"] == "none").all()
