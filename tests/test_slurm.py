"""The workflow on a real SLURM: a single-node cluster on loopback, brought up by tests/cluster/.

Proves (issue 6): the tiny end-to-end config runs through ``--profile profiles/slurm``; every job goes
through sbatch; the outputs equal those of a local run with the same seeds (bit for bit: CPU, same
threads); a failing job is reported as failed, retried with more memory, and does not hang.

Needs root and Debian's apt (slurm-wlm, munge), as on CI (.ci/run); skipped with the reason otherwise,
or when SYSVI_BENCH_SKIP_SLURM=1. Runtime on 2 cores: ~4 min alone (the local run goes in parallel with
the SLURM runs), less in the full suite, where the local run is shared with other tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY_CONFIG, load_yaml, with_test_cache

pytestmark = pytest.mark.slow

CLUSTER = ROOT / "tests" / "cluster"
SLURM_PROFILES = ["--profile", str(ROOT / "profiles" / "slurm"), "--profile", str(CLUSTER / "profile")]
# the benchmark's tables: every computing rule, without the figure and report rules (local run makes those)
SLURM_TARGETS = ["results/metrics.tsv", "results/summary.tsv", "results/best_settings.tsv", "results/datasets.tsv"]
# trivial bookkeeping rules that Snakemake runs itself (Snakefile: localrules)
LOCAL_RULES = {"plan_runs": 1, "benchmark_tables": 1}
RUN_TIMEOUT_S = 540  # a hang fails the test instead of the suite
# The plugin backs off by 10 s per status check without a success (failures included, up to 180 s) and
# finishes its last wait before exiting: 3 failing attempts took 70-110 s, the exit up to 60 s more.
FAIL_TIMEOUT_S = 420
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
# fields and columns that describe the machine and timing, not the result
VOLATILE = re.compile(r"_time_s|peak_memory|host|seconds|elapsed")


def tiny_jobs() -> dict[str, int]:
    """Jobs of the tiny config by rule (`all` is local: it runs nothing)."""
    from sysvi_bench.train.plan import expand_runs

    config = load_yaml(TINY_CONFIG)
    n_datasets, n_runs = len(config["datasets"]), len(expand_runs(config))
    return {"prepare_dataset": n_datasets, "preprocess": n_datasets, "train": n_runs,
            "evaluation_reference": n_datasets, "score": n_runs, "aggregate": n_datasets}


def why_slurm_cannot_start() -> str | None:
    if os.environ.get("SYSVI_BENCH_SKIP_SLURM") == "1":
        return "SYSVI_BENCH_SKIP_SLURM=1"
    if not sys.platform.startswith("linux"):
        return "a loopback SLURM needs Linux"
    if os.geteuid() != 0:
        return "bringing up SLURM (apt-get install slurm-wlm munge, daemons) needs root"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it (Debian/Ubuntu only)"
    return None


def squeue_jobs() -> dict[str, dict[str, str]]:
    """Every job slurmctld still knows (MinJobAge=3600): id -> state, comment, min memory."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%k|%m"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    jobs = {}
    for line in out.splitlines():
        job_id, state, comment, memory = line.strip().split("|")
        jobs[job_id] = {"state": state, "comment": comment, "memory": memory}
    return jobs


def memory_mb(text: str) -> float:
    value, unit = float(text[:-1]), text[-1]
    return value * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit]


class Run:
    """A snakemake run of this repo's workflow in ``workdir``, started in the background."""

    def __init__(self, workdir: Path, config: dict, *args: str, timeout_s: int):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "config.yaml"
        cfg.write_text(yaml.safe_dump(with_test_cache(config)))
        cmd = ["timeout", "-k", "10", str(timeout_s), sys.executable, "-m", "snakemake",
               "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(cfg), *args]
        self.stderr_path = workdir / "snakemake.err"
        self.start = time.monotonic()
        with open(workdir / "snakemake.out", "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=err)
        self.seconds = None
        self._waiter = threading.Thread(target=self._wait, daemon=True)  # records the time it really ended
        self._waiter.start()

    def _wait(self) -> None:
        self.returncode = self.proc.wait()
        self.seconds = time.monotonic() - self.start

    def wait(self) -> "Run":
        self._waiter.join()
        self.log = self.stderr_path.read_text()
        return self

    def stop(self) -> None:
        """Terminate (timeout passes SIGTERM on, and kills 10 s later: Snakemake may ignore SIGTERM)."""
        self.proc.terminate()
        self.proc.wait()


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = why_slurm_cannot_start()
    if reason:
        pytest.skip(f"no SLURM: {reason}")
    # two jobs per CPU: the tiny workflow's 3 trainings (and a failing job) run at once on a 2-core machine
    env = {**os.environ, "BASE": str(tmp_path_factory.mktemp("slurm-ci")), "OVERSUBSCRIBE": "FORCE:2"}
    start = time.monotonic()
    proc = subprocess.run(["bash", str(CLUSTER / "setup-single-node.sh")], env=env, capture_output=True, text=True,
                          timeout=600)
    seconds = time.monotonic() - start
    try:
        if proc.returncode == 3:  # a real or foreign SLURM holds this machine: never touch it
            pytest.skip(f"no SLURM: {proc.stderr.strip()}")
        assert proc.returncode == 0, f"SLURM did not start:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        print(f"SLURM cluster up in {seconds:.1f} s")
        yield {"setup_s": seconds}
    finally:
        subprocess.run(["bash", str(CLUSTER / "teardown.sh")], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def runs(slurm_cluster, request, tmp_path_factory):
    """The tiny config through SLURM and a failing config through SLURM (in the background), and the
    tiny config locally (conftest's session fixture `tiny_run`: reused when an earlier test ran it)."""
    base = tmp_path_factory.mktemp("runs")
    broken = base / "broken.h5ad"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"not an AnnData file" * 50)  # an HDF5 signature, then junk
    failing = {
        "accelerator": "cpu",
        "datasets": {"broken": {"source": {"kind": "h5ad", "path": str(broken)},
                                "system_key": "system", "label_key": "cell_type"}},
        "models": {"unintegrated": {"kind": "pca"}},
    }
    fail = Run(base / "fail", failing, *SLURM_PROFILES, timeout_s=FAIL_TIMEOUT_S)
    slurm = Run(base / "slurm", load_yaml(TINY_CONFIG), *SLURM_PROFILES, *SLURM_TARGETS, timeout_s=RUN_TIMEOUT_S)
    start = time.monotonic()
    try:
        local = request.getfixturevalue("tiny_run")  # local run (--cores 2), meanwhile SLURM works
    except BaseException:
        fail.stop(), slurm.stop()
        raise
    local_s = time.monotonic() - start
    fail.wait(), slurm.wait()
    print(f"SLURM tiny run {slurm.seconds:.0f} s, failing run {fail.seconds:.0f} s, local run {local_s:.0f} s "
          "(0: reused)")
    return {"slurm": slurm, "local": local, "fail": fail, "jobs": squeue_jobs()}


def test_tiny_config_runs_through_the_slurm_profile(runs):
    slurm = runs["slurm"]
    assert slurm.returncode == 0, f"exit {slurm.returncode} after {slurm.seconds:.0f} s:\n{slurm.log[-4000:]}"
    assert "Using profiles" in slurm.log and "profiles/slurm" in slurm.log
    assert (slurm.workdir / "results" / "metrics.tsv").exists()


def test_every_job_went_through_sbatch(runs):
    slurm, jobs = runs["slurm"], runs["jobs"]
    submitted = SUBMITTED.findall(slurm.log)
    # Snakemake ran no computing rule itself
    local_rules = Counter(re.findall(r"^localrule (\w+):", slurm.log, flags=re.M))
    assert dict(local_rules) == LOCAL_RULES, f"rules run outside SLURM: {local_rules}"
    expected = tiny_jobs()
    scheduled = Counter(re.findall(r"^(?:rule|checkpoint) (\w+):", slurm.log, flags=re.M))  # aggregate: a checkpoint
    assert scheduled["score"] == scheduled["train"] > 1  # every run is scored by a SLURM job of its own
    assert dict(scheduled) == expected
    assert len(submitted) == sum(expected.values()), submitted
    by_rule = Counter()
    for _, slurm_id, log in submitted:
        job = jobs.get(slurm_id)
        assert job is not None, f"SLURM does not know job {slurm_id}"
        assert job["state"] == "COMPLETED", (slurm_id, job)
        rule = re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job["comment"]).group(1)
        by_rule[rule] += 1
        # the job's SLURM log: snakemake ran that very rule inside the allocation
        text = Path(log).read_text()
        assert f"Finished jobid: 0 (Rule: {rule})" in text, (slurm_id, text[-2000:])
        assert "--executor slurm-jobstep" in text
    assert dict(by_rule) == expected


def test_outputs_equal_those_of_a_local_run(runs):
    local, slurm = runs["local"] / "results", runs["slurm"].workdir / "results"
    for rel in ["metrics.tsv", "sim/metrics.tsv"]:
        a, b = (pd.read_csv(d / rel, sep="\t") for d in (local, slurm))
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=rel)
    a, b = (pd.read_csv(d / "summary.tsv", sep="\t") for d in (local, slurm))
    keep = [c for c in a.columns if not VOLATILE.search(c)]
    pd.testing.assert_frame_equal(a[keep], b[keep], check_exact=True, obj="summary.tsv")

    pa, pb = (ad.read_h5ad(d / "sim" / "preprocessed.h5ad") for d in (local, slurm))
    assert list(pa.obs_names) == list(pb.obs_names) and list(pa.var_names) == list(pb.var_names)
    xa, xb = (x.toarray() if hasattr(x, "toarray") else np.asarray(x) for x in (pa.X, pb.X))
    assert np.array_equal(xa, xb)

    run_dirs = sorted(p.name for p in (local / "sim" / "runs").iterdir())
    assert run_dirs == sorted(p.name for p in (slurm / "sim" / "runs").iterdir())
    assert len(run_dirs) == tiny_jobs()["train"]
    for run_id in run_dirs:
        ea, eb = (ad.read_h5ad(d / "sim" / "runs" / run_id / "embedding.h5ad") for d in (local, slurm))
        assert set(ea.obsm) == set(eb.obsm) and ea.obsm
        for key in ea.obsm:
            assert np.array_equal(ea.obsm[key], eb.obsm[key]), (run_id, key)  # same seed, CPU: bit-identical
        for name in ["history.tsv", "metrics.tsv"]:  # losses per epoch (empty for PCA), the run's scores
            ta, tb = ((d / "sim" / "runs" / run_id / name).read_bytes() for d in (local, slurm))
            assert ta == tb, (run_id, name)
        ia, ib = (json.loads((d / "sim" / "runs" / run_id / "run_info.json").read_text()) for d in (local, slurm))
        assert {k: v for k, v in ia.items() if not VOLATILE.search(k)} == {k: v for k, v in ib.items() if not VOLATILE.search(k)}


def test_failing_job_is_reported_failed_and_does_not_hang(runs):
    fail, jobs = runs["fail"], runs["jobs"]
    assert fail.returncode not in (0, 124, 137), f"exit {fail.returncode} after {fail.seconds:.0f} s:\n{fail.log[-4000:]}"
    assert "Error in rule prepare_dataset" in fail.log
    log = (fail.workdir / "logs" / "broken" / "prepare_dataset.log").read_text()
    assert "is not a readable AnnData" in log
    # profiles/slurm: retries 2, each attempt asks for more memory (mem_mb grows with the attempt)
    attempts = [slurm_id for _, slurm_id, _ in SUBMITTED.findall(fail.log)]
    assert len(attempts) == 3, attempts
    assert [jobs[a]["state"] for a in attempts] == ["FAILED"] * 3
    for a in attempts:
        assert re.search(rf"SLURM-job '{a}' failed", fail.log), a
    memory = [memory_mb(jobs[a]["memory"]) for a in attempts]
    assert memory[1] == pytest.approx(2 * memory[0], abs=2) and memory[2] == pytest.approx(3 * memory[0], abs=3)
    assert not (fail.workdir / "resources" / "broken" / "raw.h5ad").exists()


def test_no_job_is_left_in_the_queue(runs):
    mine = {slurm_id for r in ("slurm", "fail") for _, slurm_id, _ in SUBMITTED.findall(runs[r].log)}
    left = {j: info["state"] for j, info in squeue_jobs().items() if j in mine and info["state"] in ("PENDING", "RUNNING")}
    assert not left
