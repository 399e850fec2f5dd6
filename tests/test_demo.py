"""The demo config covers prior, cycle weight and covariate embedding; its docs' tables come from results files."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil

import pandas as pd
import pytest
import torch

from conftest import ROOT, load_yaml
from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys
from sysvi_bench.train.models.base import FitContext
from sysvi_bench.train.plan import expand_runs

DEMO = ROOT / "config" / "config.yaml"
KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")


def _demo_tables():
    spec = importlib.util.spec_from_file_location("demo_tables", ROOT / "benchmarks" / "demo_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_sysvi_runs(validated):
    return [r for r in expand_runs(validated(load_yaml(DEMO))) if r.kind == "sysvi"]


def test_the_demo_covers_prior_cycle_weight_and_embedding(demo_sysvi_runs):
    axes = {(r.params["prior"], r.params["z_distance_cycle_weight"], r.params["embed_categorical_covariates"])
            for r in demo_sysvi_runs}
    # one axis at a time around sysVI (vamp, 2, one-hot): the prior at cycle 0, cycle weights 0/2/10, embedding
    assert {("standard_normal", 0.0, False), ("vamp", 0.0, False), ("vamp", 2.0, False), ("vamp", 10.0, False),
            ("vamp", 2.0, True)} <= axes
    # the recommendation compares sysVI's cycle weights 2 and 10 as one model's settings
    assert sorted(r.params["z_distance_cycle_weight"] for r in demo_sysvi_runs if r.model == "sysvi") == [2, 10]
    embedded = [r for r in demo_sysvi_runs if r.params["embed_categorical_covariates"]]
    assert [r.run_id for r in embedded] == ["sysvi_embed__embed=true__seed=0"]
    assert all(r.params["early_stopping"] and r.params["max_epochs"] == "auto" for r in demo_sysvi_runs)


def test_the_demo_embedding_run_trains_an_embedding_of_the_covariates(demo_sysvi_runs, small_sim):
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess
    from sysvi_bench.train.models.sysvi import build_sysvi, train_kwargs

    pre = preprocess(small_sim, KEYS, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20,
                                                       n_pcs=10), where="t")
    run = next(r for r in demo_sysvi_runs if r.model == "sysvi_embed")
    params = {**run.params, "max_epochs": 1, "early_stopping": False, "n_hidden": 32}  # the demo's setting, small
    model, _ = build_sysvi(pre, params, run.seed, FitContext(keys=KEYS))
    embedding = model.module.get_embedding("cov0")  # the dataset's covariate (here 'sample'), not one-hot
    assert (embedding.num_embeddings, embedding.embedding_dim) == (pre.obs["sample"].nunique(), 5)
    before = embedding.weight.detach().clone()
    torch.set_num_threads(1)
    model.train(**train_kwargs(params, "cpu", pre.n_obs))
    assert not torch.equal(before, model.module.get_embedding("cov0").weight.detach())  # trained: it is used


# -------------------------------------------------------------------------------- benchmarks/demo_tables.py


def _runs_table(block: str) -> dict[str, str]:
    """run id -> its line in the block's table of runs."""
    lines = block.split("#### Runs")[1].split("####")[0].splitlines()
    return {line.split("`")[1]: line for line in lines if line.startswith("| `")}


def test_demo_tables_are_written_from_the_results_files(tiny_run, tmp_path):
    tables = _demo_tables()
    results = tiny_run / "results"
    summary = C.read_table(results / "sim" / "summary.tsv", C.SUMMARY)
    log = sorted((tiny_run / ".snakemake" / "log").glob("*.snakemake.log"))[0]
    block = tables.build(results, snakemake_log=log)
    assert tables.cpu_name() in block and f"{os.cpu_count()} cores" in block  # stamped with the machine
    assert re.search(r"End to end: \*\*\d+ min \d+ s\*\* for \d+ jobs", block)
    cut = tmp_path / "interrupted.snakemake.log"  # an invocation that did not finish has no end-to-end time
    cut.write_text(log.read_text().split("(100%) done")[0])
    with pytest.raises(SystemExit, match="not the log of a complete Snakemake invocation"):
        tables.end_to_end(cut)
    rows = _runs_table(block)
    assert set(rows) == set(summary["run_id"])
    ok = summary[summary["status"] == C.STATUS_OK]
    for run in ok.itertuples():  # the numbers are the results files' numbers
        assert f" {run.total:.3f} | {run.selection_score:.3f} | {run.ilisi_system:.3f} |" in rows[run.run_id]
    sysvi = ok[ok["kind"] == "sysvi"].iloc[0]
    # epochs trained / max_epochs (run_info.json); its score job scored one checkpoint besides the final embedding
    assert f"| {int(sysvi.n_epochs)} / 3 |" in rows[sysvi.run_id] and re.search(r"\) \| 1 \| \d", rows[sysvi.run_id])
    failed = summary.loc[summary["status"] != C.STATUS_OK, "run_id"].item()
    assert "| failed |" in rows[failed] and f"- `{failed}` failed: " in block
    assert "| `train` | 4 |" in block and "| `score` | 4 |" in block  # stages: Snakemake's benchmark files
    best = C.read_table(results / "sim" / "best_settings.tsv", C.BEST_SETTINGS)
    assert tables.recommendation(best, "sim") in block

    doc = tmp_path / "performance.md"
    doc.write_text(f"# before\n\n{tables.BEGIN}\nhand-written\n{tables.END}\n\nafter\n")
    tables.main(["--results", str(results), "--doc", str(doc)])
    first = doc.read_text()
    assert first.startswith(f"# before\n\n{tables.BEGIN}\n") and first.endswith(f"{tables.END}\n\nafter\n")
    assert "hand-written" not in first and "| `score` | 4 |" in first
    tables.main(["--results", str(results), "--doc", str(doc)])  # rerun: replaced in place, not appended
    assert doc.read_text() == first
    doc.write_text("no markers\n")
    with pytest.raises(SystemExit, match="demo-tables:begin"):
        tables.main(["--results", str(results), "--doc", str(doc)])


def test_demo_tables_put_another_versions_demo_side_by_side(tiny_run, tmp_path):
    tables = _demo_tables()
    results = tiny_run / "results"
    log = sorted((tiny_run / ".snakemake" / "log").glob("*.snakemake.log"))[0]
    baseline = tmp_path / "baseline"  # another version's results: one run fewer, a slower invocation
    (baseline / "sim").mkdir(parents=True)
    summary = pd.read_csv(results / "sim" / "summary.tsv", sep="\t")
    dropped = summary.loc[summary["kind"] == "sysvi", "run_id"].iloc[0]
    summary[summary["run_id"] != dropped].drop(columns=["best_epoch"]).to_csv(  # an older contract's columns
        baseline / "sim" / "summary.tsv", sep="\t", index=False)
    shutil.copytree(results / "sim" / "runs", baseline / "sim" / "runs")
    shutil.rmtree(baseline / "sim" / "runs" / dropped)
    shutil.copytree(results / "sim" / "benchmarks", baseline / "sim" / "benchmarks")
    seconds = tables.invocation(log)[0]
    baseline_log = tmp_path / "baseline.snakemake.log"
    baseline_log.write_text(re.sub(r"^Elapsed time: .*$", "", log.read_text(), flags=re.M)
                            + f"\nElapsed time: 0:{(2 * seconds) // 60:02d}:{(2 * seconds) % 60:02d}\n")
    block = tables.build(results, snakemake_log=log, baseline=baseline, baseline_log=baseline_log,
                         labels=("new", "old"))
    side = block.split("#### Side by side: new against old")[1]
    assert f"old **{seconds * 2 // 60} min {seconds * 2 % 60} s**" in side and "(-50.0%)" in side
    row = next(line for line in side.splitlines() if line.startswith(f"| `{dropped}` |"))
    train = tables.read_benchmark(results / "sim" / "runs" / dropped / "benchmark_train.tsv")
    assert row.startswith(f"| `{dropped}` | — | — | ") and f"{train['s']:,.0f}" in row  # in the new demo only
    assert "| `train` | 3 |" in side and "| 4 |" in side  # per stage: the baseline trained one run fewer
    with pytest.raises(SystemExit, match="--baseline needs"):
        tables.build(results, baseline=baseline, baseline_log=baseline_log)
