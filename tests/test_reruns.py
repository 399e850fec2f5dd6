"""Results follow their inputs (README: "Reruns and provenance"), checked by planning and running the tiny
workflow: a re-saved config reruns nothing it should not, a changed parameter retrains its runs in the same
invocation, a replaced input file re-prepares its dataset only, aggregation-only settings rescore nothing, and
a failing figure job does not mark its dataset failed."""

from __future__ import annotations

import json

import yaml
from conftest import TINY_CONFIG, copy_of_run, load_yaml, planned_jobs, run_snakemake, with_test_cache

from sysvi_bench import contracts as C


def reversed_keys(obj):
    """The same config with every mapping's keys in reverse order (what re-saving with other tools does)."""
    return {k: reversed_keys(obj[k]) for k in reversed(list(obj))} if isinstance(obj, dict) else obj


def test_a_resaved_config_with_one_more_setting_plans_only_that_setting(tiny_run):
    config = reversed_keys(with_test_cache(load_yaml(TINY_CONFIG)))
    assert planned_jobs(run_snakemake(tiny_run, "-n", config_text=yaml.safe_dump(config, sort_keys=False), config_path="resaved.yaml")) == {}
    config["models"]["sysvi_cyc5"] = {"kind": "sysvi", "params": {
        "n_latent": 8, "n_hidden": 32, "max_epochs": 3, "z_distance_cycle_weight": 5, "batch_size": 128}}
    jobs = planned_jobs(run_snakemake(tiny_run, "-n", config_text=yaml.safe_dump(config, sort_keys=False, indent=4),
                                       config_path="resaved.yaml"))
    assert jobs["train"] == jobs["score"] == 1, jobs
    assert not {"prepare_dataset", "preprocess", "evaluation_reference"} & set(jobs), jobs


def test_an_aggregation_setting_reaggregates_without_rescoring(tiny_run, tmp_path):
    config = load_yaml(TINY_CONFIG)
    config["evaluation"]["bio_weight"] = 0.4
    jobs = planned_jobs(run_snakemake(tiny_run, "-n", config=config, config_path=tmp_path / "config.yaml"))
    assert jobs["aggregate"] == 1 and not {"score", "train", "evaluation_reference"} & set(jobs), jobs


def test_a_changed_parameter_retrains_its_runs_before_aggregation(tiny_run, tmp_path):
    workdir = copy_of_run(tiny_run, tmp_path)
    config = load_yaml(TINY_CONFIG)
    config["models"]["sysvi"]["params"]["max_epochs"] = 4
    jobs = planned_jobs(run_snakemake(workdir, "-n", config=config))
    assert jobs["train"] == jobs["score"] == 2 and jobs["aggregate"] == 1, jobs  # the two SysVI runs
    proc = run_snakemake(workdir, "--cores", "2", config=config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = C.read_table(workdir / "results" / "sim" / "summary.tsv", C.SUMMARY).set_index("run_id")
    assert summary.loc[["sysvi__prior=standard_normal__seed=0", "sysvi__prior=vamp__seed=0"], "n_epochs"].tolist() == [4, 4]
    assert summary.loc["broken__seed=0", "n_epochs"] == 0  # its own max_epochs: untouched
    manifest = C.read_table(workdir / "results" / "sim" / "runs.tsv", C.MANIFEST).set_index("run_id")
    assert json.loads(manifest.loc["sysvi__prior=vamp__seed=0", "params"])["max_epochs"] == 4
    assert planned_jobs(run_snakemake(workdir, "-n", config=config)) == {}  # nothing left for a second invocation


def test_a_replaced_input_file_reprepares_its_dataset_only(tiny_run, tmp_path, small_sim):
    workdir = copy_of_run(tiny_run, tmp_path)
    data = workdir / "mine.h5ad"
    small_sim.write_h5ad(data)
    config = load_yaml(TINY_CONFIG)
    config["datasets"]["mine"] = {"source": {"kind": "h5ad", "path": str(data)}, "system_key": "system",
                                  "label_key": "cell_type", "covariate_keys": ["sample"], "min_cells_per_system": 20}
    targets = ("resources/mine/raw.h5ad", "results/sim/summary.tsv")
    proc = run_snakemake(workdir, "--cores", "1", targets[0], config=config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert planned_jobs(run_snakemake(workdir, "-n", *targets, config=config)) == {}
    fixed = small_sim.copy()
    fixed.obs["cell_type"] = fixed.obs["cell_type"].cat.rename_categories(lambda c: f"fixed_{c}")
    fixed.write_h5ad(data)  # the user fixes their labels
    proc = run_snakemake(workdir, "-n", *targets, config=config)
    assert planned_jobs(proc) == {"prepare_dataset": 1}
    assert "dataset=mine" in proc.stdout and "dataset=sim" not in proc.stdout


def test_a_failing_figure_job_leaves_its_dataset_complete(tiny_run, tmp_path):
    import os

    workdir = copy_of_run(tiny_run, tmp_path)
    results = workdir / "results"
    umap = sorted((results / "sim" / "runs").glob("*/umap.tsv"))[0]  # one drawn run's table
    stat = umap.stat()
    umap.write_text("not a table\n")
    os.utime(umap, (stat.st_atime, stat.st_mtime))  # as old as before: nothing reruns it
    proc = run_snakemake(workdir, "--cores", "1", "--keep-going", "--forcerun", "umap_best_runs",
                         config=load_yaml(TINY_CONFIG))
    assert proc.returncode != 0 and "Error in rule umap_best_runs" in proc.stderr
    assert C.read_table(results / "datasets.tsv", C.DATASETS)["status"].tolist() == [C.DATASET_COMPLETE]
    partial = C.read_table(results / "partial" / "datasets.tsv", C.DATASETS)
    assert partial["status"].tolist() == [C.DATASET_COMPLETE]


def test_every_run_records_the_versions_that_made_it(tiny_run):
    run_dir = tiny_run / "results" / "sim" / "runs" / "sysvi__prior=vamp__seed=0"
    trained = json.loads((run_dir / "run_info.json").read_text())["versions"]
    scored = json.loads((run_dir / "score_info.json").read_text())["versions"]
    for record in (trained, scored):
        assert {"sysvi-bench", "scvi-tools", "torch", "lightning", "scib-metrics", "scanpy", "anndata", "numpy"} <= set(record)
    info = json.loads((tiny_run / "results" / "sim" / "metrics_info.json").read_text())["versions"]
    assert info["scib-metrics"] == scored["scib-metrics"]
    summary = C.read_table(tiny_run / "results" / "sim" / "summary.tsv", C.SUMMARY)
    assert summary["train_versions"].str.contains("scvi-tools=1.4.2").all()
    assert summary["score_versions"].nunique() == 1
