"""Faults are survived and recorded: failed runs, NaN losses, a SIGKILLed job, determinism, no stray files."""

from __future__ import annotations

from dataclasses import replace

import json
import os
import signal
import subprocess
import sys
import time

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY_CONFIG, load_yaml, local_env, run_snakemake, with_test_cache
from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys
from sysvi_bench.train.plan import expand_model
from sysvi_bench.io import write_h5ad
from sysvi_bench.score.suite import expected_metrics, score_run
from sysvi_bench.train.models.base import FitResult
from sysvi_bench.data.preprocess import PreprocessParams, preprocess
from sysvi_bench.train import execute_run

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")


@pytest.fixture(scope="module")
def pre_path(small_sim, tmp_path_factory):
    path = tmp_path_factory.mktemp("pre") / "preprocessed.h5ad"
    write_h5ad(preprocess(small_sim, KEYS, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10), where="t"), path)
    return path


def _run(**params):
    return expand_model("sim", "sysvi", {"params": {"max_epochs": 1, **params}}, [0])[0]


def test_a_run_that_raises_is_recorded_as_failed(pre_path, tmp_path):
    run = _run(n_prior_components=2, pseudoinputs=[0, 10**6])  # index out of range: raises in the fit
    info = execute_run(run, pre_path, tmp_path, KEYS, accelerator="cpu")
    assert info["status"] == C.STATUS_FAILED and "pseudoinputs" in info["reason"]
    on_disk = json.loads((tmp_path / "run_info.json").read_text())
    assert on_disk["status"] == C.STATUS_FAILED
    assert ad.read_h5ad(tmp_path / "embedding.h5ad").obsm[C.EMBEDDING_KEY].shape[1] == 0
    # its metrics are NA rows, one per expected metric
    table = score_run(run, on_disk, tmp_path / "embedding.h5ad", None, {"variants": ["raw"]})
    assert len(table) == len(expected_metrics(["raw"])) > 0
    assert table["value"].isna().all() and table["reason"].str.contains("run failed: .*pseudoinputs").all()


def test_a_nan_loss_is_recorded_as_failed(pre_path, tmp_path, monkeypatch):
    import sysvi_bench.train.models as models

    def diverging_fit(adata, params, seed, context):
        history = pd.DataFrame({"epoch": [0, 1], "reconstruction_loss_train": [1.0, np.nan]})
        return FitResult(np.zeros((adata.n_obs, 3), dtype=np.float32), history)

    monkeypatch.setitem(models.MODEL_SPECS, "sysvi", replace(models.MODEL_SPECS["sysvi"], fitter=diverging_fit))
    info = execute_run(_run(), pre_path, tmp_path, KEYS, accelerator="cpu")
    assert info["status"] == C.STATUS_FAILED and "NaN" in info["reason"]


@pytest.mark.parametrize("epochs, dims, reason", [(0, 3, "zero epochs"), (2, 0, "no dimensions")])
def test_zero_epochs_or_a_zero_width_embedding_is_failed_not_ok(pre_path, tmp_path, monkeypatch, epochs, dims, reason):
    import sysvi_bench.train.models as models

    def empty_fit(adata, params, seed, context):
        history = pd.DataFrame({"epoch": range(epochs), "reconstruction_loss_train": [1.0] * epochs})
        return FitResult(np.ones((adata.n_obs, dims), dtype=np.float32), history)

    monkeypatch.setitem(models.MODEL_SPECS, "sysvi", replace(models.MODEL_SPECS["sysvi"], fitter=empty_fit))
    info = execute_run(_run(), pre_path, tmp_path, KEYS, accelerator="cpu")
    assert info["status"] == C.STATUS_FAILED and reason in info["reason"]


def test_nothing_is_written_outside_results_resources_and_logs(tiny_run):
    allowed = {"results", "resources", "logs", ".snakemake", "config.yaml"}
    assert {p.name for p in tiny_run.iterdir()} <= allowed


def test_sigkill_mid_training_then_rerun_completes_with_identical_metrics(tiny_run, tmp_path):
    """Kill the whole workflow while a training job runs; the rerun finishes and matches a clean run exactly."""
    config = load_yaml(TINY_CONFIG)
    # one run of the tiny config (the same run id as in the clean run): killed while it trains
    config["models"] = {"sysvi": config["models"]["sysvi"]}
    config["models"]["sysvi"]["grid"]["prior"] = ["vamp"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(with_test_cache(config)))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "--cores", "1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=local_env())
    train_logs = tmp_path / "logs" / "sim" / "train"
    deadline = time.time() + 300
    while time.time() < deadline and not any(p.stat().st_size > 0 for p in train_logs.glob("sysvi*.log")):
        time.sleep(0.5)
    assert proc.poll() is None, "the workflow ended before a training job started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # nothing that looks complete is left half-written: every run_info.json has a readable embedding beside it
    for info in (tmp_path / "results").rglob("run_info.json"):
        assert ad.read_h5ad(info.parent / "embedding.h5ad").n_obs > 0
    assert not (tmp_path / "results" / "metrics.tsv").exists()
    # a killed Snakemake leaves its lock behind: users run --unlock, then rerun
    assert run_snakemake(tmp_path, "--unlock", config=config).returncode == 0
    resumed = run_snakemake(tmp_path, "results/metrics.tsv", "--cores", "2", "--rerun-incomplete", config=config)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # same settings and seed on CPU: the run's metrics identical to the clean run's
    clean = C.read_table(tiny_run / "results" / "metrics.tsv", C.METRICS)
    again = C.read_table(tmp_path / "results" / "metrics.tsv", C.METRICS)
    assert set(again["run_id"]) == {"sysvi__prior=vamp__seed=0"}
    pd.testing.assert_frame_equal(clean[clean["run_id"] == "sysvi__prior=vamp__seed=0"].reset_index(drop=True), again)
