"""Profiles (profiles/default, slurm, slurm-gpu): what they set and what jobs ask for, by dry runs.

The real SLURM runs are in test_slurm.py; these need no cluster.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, load_yaml, run_snakemake

PROFILES = ROOT / "profiles"
# keys that must stay out of profiles/default: it is applied on top of every --profile and would
# replace the cluster profile's value
CLUSTER_KEYS = {"executor", "jobs", "cores", "retries", "default-resources", "set-resources", "set-threads",
                "latency-wait"}


def profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def test_default_profile_is_local_and_safe_to_stack():
    default = profile("default")
    assert default["resources"] == {"gpu": 1}
    assert default["keep-going"] is True and default["rerun-incomplete"] is True
    assert not CLUSTER_KEYS & set(default), CLUSTER_KEYS & set(default)


@pytest.mark.parametrize("name", ["slurm", "slurm-gpu"])
def test_slurm_profiles_retry_and_set_no_cluster_names(name):
    prof = profile(name)
    assert prof["executor"] == "slurm" and prof["retries"] >= 1
    # partitions and accounts are the user's to set (commented out): the cluster's defaults apply
    assert not (prof.get("default-resources") or {}), prof.get("default-resources")


def dry_run_resources(tmp_path: Path, *args: str, accelerator: str) -> dict[str, dict[str, str]]:
    """job label (rule or rule:run_id) -> its resources, from a dry run of the tiny config."""
    config = load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")
    config["accelerator"] = accelerator
    proc = run_snakemake(tmp_path, "-n", *args, config=config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", proc.stdout + proc.stderr):
        head = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.+)$", block, flags=re.M)
        if not head or not res:
            continue
        run_id = re.search(r"run_id=([^,\s]+)", block)
        label = head.group(1) + (f":{run_id.group(1)}" if run_id else "")
        jobs[label] = dict(item.split("=", 1) for item in res.group(1).split(", ") if "=" in item)
    return jobs


def test_gpu_profile_asks_one_gpu_per_neural_run(tmp_path):
    jobs = dry_run_resources(tmp_path, "--profile", str(PROFILES / "slurm-gpu"), accelerator="gpu")
    assert jobs["train:sysvi__prior=vamp__seed=0"]["gpu"] == "1"
    assert jobs["train:sysvi__prior=standard_normal__seed=0"]["gpu"] == "1"
    assert jobs["train:unintegrated"]["gpu"] == "0"  # PCA
    assert "gpu" not in jobs["preprocess"]
    assert not any("gpu" in job for label, job in jobs.items() if label.startswith("score"))
    # sized by the rules: prepare_dataset knows its size before anything exists (simulated 600 x 400)
    assert jobs["prepare_dataset"]["mem_mb"] == str(int(1000 + 10 * 8 * 600 * 400 / 1e6))
    assert jobs["prepare_dataset"]["runtime"] == str(int(15 + 8 * 600 * 400 / 1e6 / 10))


def test_cpu_slurm_profile_asks_no_gpu(tmp_path):
    jobs = dry_run_resources(tmp_path, "--profile", str(PROFILES / "slurm"), accelerator="gpu")
    assert {j["gpu"] for label, j in jobs.items() if label.startswith("train:")} == {"0"}


def test_local_auto_without_gpu_asks_none(tmp_path):
    from sysvi_bench.train.devices import local_gpu_visible

    if local_gpu_visible():
        pytest.skip("this machine has a GPU")
    jobs = dry_run_resources(tmp_path, "--cores", "2", accelerator="auto")
    assert {j["gpu"] for label, j in jobs.items() if label.startswith("train:")} == {"0"}
