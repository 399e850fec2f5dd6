"""One tiny end-to-end workflow run on simulated data: every expected output exists and holds sane values."""

from __future__ import annotations

import json
import re

import anndata as ad
import numpy as np
import pandas as pd
from conftest import TINY_CONFIG, copy_of_run, load_yaml, planned_jobs, run_snakemake

from sysvi_bench import contracts as C


def test_every_expected_output_exists(tiny_run):
    results = tiny_run / "results"
    for rel in ["metrics.tsv", "summary.tsv", "best_settings.tsv", "completeness.tsv", "datasets.tsv",
                "sim/preprocessed.h5ad", "sim/runs.tsv", "sim/evaluation_reference.h5ad", "sim/metrics_info.json",
                "sim/metrics.tsv", "sim/summary.tsv", "sim/best_settings.tsv",
                "figures/sim/results_table.png", "figures/sim/results_table.pdf"]:
        assert (results / rel).stat().st_size > 0, rel
    run_ids = {p.name for p in (results / "sim" / "runs").iterdir()}
    assert run_ids == {"sysvi__prior=standard_normal__seed=0", "sysvi__prior=vamp__seed=0", "unintegrated", "broken__seed=0"}
    for run_id in run_ids:
        for name in ["embedding.h5ad", "history.tsv", "run_info.json", "metrics.tsv"]:
            assert (results / "sim" / "runs" / run_id / name).exists(), (run_id, name)
    assert (tiny_run / "resources" / "sim" / "raw.h5ad").exists()
    # a UMAP only for the runs the figure draws: each model's best run (the failed model has none)
    best = C.read_table(results / "sim" / "best_settings.tsv", C.BEST_SETTINGS)
    drawn = {p.parent.name for p in (results / "sim" / "runs").glob("*/umap.tsv")}
    assert drawn == set(best["median_run_id"]) and len(drawn) == 2, drawn
    umap = C.read_table(results / "sim" / "runs" / "unintegrated" / "umap.tsv", C.UMAP)
    assert len(umap) == ad.read_h5ad(results / "sim" / "preprocessed.h5ad", backed="r").n_obs  # < 5,000 cells: all
    assert (results / "figures" / "sim" / "umap_best_runs.png").stat().st_size > 0
    report = pd.read_csv(results / "sim" / "preprocess_report.tsv", sep="\t")
    assert list(report.columns) == C.PREPROCESS_REPORT_COLUMNS
    assert (report["step"].iloc[0], report["step"].iloc[-1], report["system"].iloc[-1]) == ("input", "output", "all")


def test_runs_hold_embeddings_losses_and_parameters(tiny_run):
    pre = ad.read_h5ad(tiny_run / "results" / "sim" / "preprocessed.h5ad")
    run_dir = tiny_run / "results" / "sim" / "runs" / "sysvi__prior=vamp__seed=0"
    emb = ad.read_h5ad(run_dir / "embedding.h5ad")
    assert list(emb.obs_names) == list(pre.obs_names)
    assert emb.obsm[C.EMBEDDING_KEY].shape == (pre.n_obs, 8)
    assert np.isfinite(emb.obsm[C.EMBEDDING_KEY]).all() and emb.obsm[C.EMBEDDING_KEY].std() > 0
    history = pd.read_csv(run_dir / "history.tsv", sep="\t")
    assert len(history) == 3
    assert {"cycle_loss_train", "reconstruction_loss_train", "kl_local_train"} <= set(history.columns)
    assert (history["cycle_loss_train"] > 0).all()
    manifest = C.read_table(tiny_run / "results" / "sim" / "runs.tsv", C.MANIFEST).set_index("run_id")
    params = json.loads(manifest.loc["sysvi__prior=vamp__seed=0", "params"])
    assert params["prior"] == "vamp" and params["max_epochs"] == 3
    assert set(manifest.index) == {p.name for p in run_dir.parent.iterdir()}
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["status"] == C.STATUS_OK and info["wall_time_s"] > 0 and info["peak_memory_mb"] > 0
    assert "run_id" not in info and "params" not in info  # the outcome only: identity lives in runs.tsv


def test_metric_tables_are_complete_and_in_range(tiny_run):
    metrics = pd.read_csv(tiny_run / "results" / "metrics.tsv", sep="\t")
    assert list(metrics.columns) == C.METRIC_COLUMNS
    assert metrics["run_id"].nunique() == 4
    assert set(metrics["embedding_variant"]) == {"raw", "standardized"}
    ok = metrics[metrics["run_id"] != "broken__seed=0"]
    assert ok["value"].notna().all()
    # Moran's I preservation is a ratio to the unintegrated data (uncapped, as in the paper); the rest lie in [-1, 1]
    ratio = ok["metric"] == "moransi_preservation"
    assert ok.loc[ratio, "value"].between(0, 2).all()
    assert ok.loc[~ratio, "value"].between(-1, 1.0000001).all()
    # every run, the failed one included, has the same set of metric rows
    per_run = metrics.groupby("run_id")["metric"].apply(frozenset)
    assert per_run.nunique() == 1
    summary = pd.read_csv(tiny_run / "results" / "summary.tsv", sep="\t")
    assert len(summary) == 4
    good = summary[summary["run_id"] != "broken__seed=0"]
    assert (good["status"] == C.STATUS_OK).all()
    assert good[["bio", "batch", "total"]].notna().all().all()


def test_a_failing_run_is_recorded_and_the_rest_completes(tiny_run):
    results = tiny_run / "results"
    info = json.loads((results / "sim" / "runs" / "broken__seed=0" / "run_info.json").read_text())
    assert info["status"] == C.STATUS_FAILED and "pseudoinputs" in info["reason"]
    metrics = pd.read_csv(results / "metrics.tsv", sep="\t")
    assert metrics.loc[metrics["run_id"] == "broken__seed=0", "value"].isna().all()
    summary = pd.read_csv(results / "summary.tsv", sep="\t").set_index("run_id")
    assert summary.loc["broken__seed=0", "status"] == C.STATUS_FAILED
    # the completeness check lists exactly the failed run's values, with the reason
    gaps = pd.read_csv(results / "completeness.tsv", sep="\t")
    assert set(gaps["run_id"]) == {"broken__seed=0"}
    assert len(gaps) == len(metrics[metrics["run_id"] == "broken__seed=0"])
    assert gaps["problem"].str.startswith("NA: run failed: ValueError").all()
    datasets = C.read_table(results / "datasets.tsv", C.DATASETS)
    assert datasets.to_dict("records") == [{"dataset": "sim", "status": "complete", "n_runs": 4, "n_failed_runs": 1,
                                            "reason": ""}]


def test_a_preprocessing_change_reruns_preprocessing_but_not_the_fetch(tiny_run, tmp_path):
    config = load_yaml(TINY_CONFIG)
    config["datasets"]["sim"]["preprocess"]["n_hvg"] = 150
    proc = run_snakemake(tiny_run, "--dry-run", config=config, config_path=tmp_path / "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = planned_jobs(proc)
    assert {"preprocess", "train", "score"} <= set(jobs)
    assert "prepare_dataset" not in jobs


def test_adding_a_run_plans_only_its_training_and_scoring(tiny_run, tmp_path):
    config = load_yaml(TINY_CONFIG)
    config["models"]["sysvi"]["grid"]["prior"].append("vamp")  # duplicates are no new setting
    config["models"]["sysvi"]["grid"]["z_distance_cycle_weight"] = [2, 5]
    del config["models"]["sysvi"]["params"]["z_distance_cycle_weight"]
    config["models"]["sysvi"]["grid"]["prior"] = ["standard_normal", "vamp"]
    proc = run_snakemake(tiny_run, "--dry-run", config=config, config_path=tmp_path / "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # a grid axis renames every SysVI run: all four SysVI settings are new, PCA and broken are untouched
    jobs = planned_jobs(proc)
    assert jobs["train"] == jobs["score"] == 4 and jobs["plan_runs"] == jobs["aggregate"] == 1
    assert "preprocess" not in jobs and "evaluation_reference" not in jobs

    config = load_yaml(TINY_CONFIG)
    config["models"]["pca_more"] = {"kind": "pca", "params": {"n_comps": 6}}
    proc = run_snakemake(tiny_run, "--dry-run", config=config, config_path=tmp_path / "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = planned_jobs(proc)
    assert jobs["train"] == jobs["score"] == 1, jobs
    assert "preprocess" not in jobs and "evaluation_reference" not in jobs


def test_changing_the_evaluation_rescores_every_run_but_retrains_none(tiny_run, tmp_path):
    config = load_yaml(TINY_CONFIG)
    config["evaluation"]["n_neighbors"] = 60
    proc = run_snakemake(tiny_run, "--dry-run", config=config, config_path=tmp_path / "config.yaml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = planned_jobs(proc)
    assert jobs["score"] == 4 and jobs["evaluation_reference"] == 1 and "train" not in jobs


def test_a_broken_dataset_leaves_the_others_complete_and_is_listed_with_its_reason(tiny_run, tmp_path):
    workdir = copy_of_run(tiny_run, tmp_path)
    broken = workdir / "broken.h5ad"
    broken.write_bytes(b"this is not an AnnData")
    config = load_yaml(TINY_CONFIG)
    config["datasets"]["broken"] = {"source": {"kind": "h5ad", "path": str(broken)}, "system_key": "system",
                                    "label_key": "cell_type"}
    proc = run_snakemake(workdir, "--cores", "2", "--keep-going", config=config)
    assert proc.returncode != 0
    assert "Error in rule prepare_dataset" in proc.stderr
    results = workdir / "results"
    # the failure path writes its own files (results/partial/); results/datasets.tsv is benchmark_tables' alone
    datasets = C.read_table(results / "partial" / "datasets.tsv", C.DATASETS).set_index("dataset")
    assert datasets.loc["sim", "status"] == C.DATASET_COMPLETE and datasets.loc["sim", "n_runs"] == 4
    assert datasets.loc["broken", "status"] == C.DATASET_FAILED
    assert "resources/broken/raw.h5ad is missing" in datasets.loc["broken", "reason"]
    assert "logs/broken/prepare_dataset.log" in datasets.loc["broken", "reason"]
    assert "not a readable AnnData" in datasets.loc["broken", "reason"]  # the failed job's last log line
    # the partial global tables hold the dataset that completed
    summary = C.read_table(results / "partial" / "summary.tsv", C.SUMMARY)
    assert set(summary["dataset"]) == {"sim"} and len(summary) == 4
    for rel in ["sim/summary.tsv", "figures/sim/batch_vs_bio.png", "report/sim/tables.html"]:
        assert (results / rel).stat().st_size > 0, rel


def test_without_a_pca_run_the_umap_figure_draws_the_preprocessed_pca(tiny_run, tmp_path):
    workdir = copy_of_run(tiny_run, tmp_path)
    config = load_yaml(TINY_CONFIG)
    del config["models"]["unintegrated"]
    proc = run_snakemake(workdir, "results/figures/sim/umap_best_runs.png", "--cores", "2", config=config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", proc.stderr + proc.stdout, flags=re.M))
    assert {"aggregate", "umap_unintegrated", "umap_best_runs"} <= ran and not ran & {"train", "score", "umap"}, ran
    pca = C.read_table(workdir / "results" / "sim" / "umap_unintegrated.tsv", C.UMAP)
    (drawn,) = (workdir / "results" / "sim" / "runs").glob("sysvi*/umap.tsv")  # the best SysVI run's
    assert pca["cell"].equals(C.read_table(drawn, C.UMAP)["cell"])  # the same cells in every panel
    assert np.isfinite(pca[["umap1", "umap2"]].to_numpy()).all()


def test_training_over_epochs_is_scheduled_first(tmp_path):
    """Runs that train over epochs get a higher Snakemake priority than the cheap runs (PCA) and the score jobs,
    more epochs higher: with fewer cores than runs the long ones do not start last."""
    proc = run_snakemake(tmp_path, "-n", config=load_yaml(TINY_CONFIG))
    assert proc.returncode == 0, proc.stderr[-3000:]
    priorities = {}
    for block in re.split(r"\n(?=(?:local)?rule )", proc.stdout):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        run_id = re.search(r"run_id=(\S+)", block)
        if rule and run_id:
            found = re.search(r"priority: ([\d.]+)", block)
            priorities[(rule[1], run_id[1].rstrip(","))] = float(found[1]) if found else 0.0
    train = {run: p for (rule, run), p in priorities.items() if rule == "train"}
    assert train["unintegrated"] == 0 and train["broken__seed=0"] > 0  # PCA; a 1-epoch SysVI run
    assert train["sysvi__prior=vamp__seed=0"] == train["sysvi__prior=standard_normal__seed=0"] \
        == 3 * train["broken__seed=0"]  # 3 epochs vs 1 on one dataset
    assert all(p == 0 for (rule, _), p in priorities.items() if rule == "score")
