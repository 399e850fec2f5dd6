"""Shared fixtures: the repo root, the config schema, small simulated datasets."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY_CONFIG = ROOT / "tests" / "configs" / "tiny.yaml"


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


@pytest.fixture
def tiny_config() -> dict:
    return copy.deepcopy(load_yaml(TINY_CONFIG))


@pytest.fixture
def validated():
    """Validate a config dict against the schema (filling defaults), as the workflow does at start-up."""
    from snakemake.utils import validate

    def _validate(config: dict) -> dict:
        config = copy.deepcopy(config)
        validate(config, str(SCHEMA))
        return config

    return _validate


# One JAX/numba compile cache for every workflow run of the tests (values do not depend on it): each scoring
# process would otherwise compile scib-metrics' and umap's kernels anew in every fresh working directory.
COMPILE_CACHE = Path(tempfile.gettempdir()) / "sysvi-bench-tests-compile-cache"


def with_test_cache(config: dict) -> dict:
    """``config`` with the tests' shared compile cache (unless it names its own)."""
    return {"compile_cache": str(COMPILE_CACHE), **config}


def local_env() -> dict[str, str]:
    """The environment of a Snakemake run that executes locally (every test run but the SLURM test's).

    When Snakemake starts, snakemake-executor-plugin-slurm asks ``scontrol show config`` for MinJobAge
    (only for its help text): with SLURM installed but no controller running (as after the SLURM test tears
    its loopback cluster down), that is a 10 s timeout in every start. An ``scontrol`` that fails at once,
    first on the PATH, answers it; local runs use no other SLURM command.
    """
    shim = Path(tempfile.gettempdir()) / "sysvi-bench-tests-no-slurm"
    scontrol = shim / "scontrol"
    if not scontrol.exists():
        shim.mkdir(exist_ok=True)
        scontrol.write_text("#!/bin/sh\nexit 1\n")
        scontrol.chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_snakemake(
    workdir: Path, *args: str, config: dict | None = None, config_path: str | Path = "config.yaml", timeout: int = 900,
    config_text: str | None = None, snakefile: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow of this repo with ``workdir`` as working directory (outputs land there).

    ``config`` is written to ``config_path`` (relative to ``workdir``) and passed as the config file;
    ``config_text``: the config file's text as given (e.g. keys in an order of its own); ``snakefile``: another
    copy of the workflow (default: this repo's).
    """
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile or ROOT / "Snakefile"), "--directory", str(workdir), *args]
    if config is not None or config_text is not None:
        cfg = workdir / config_path
        cfg.write_text(config_text if config_text is not None else yaml.safe_dump(with_test_cache(config)))
        cmd += ["--configfile", str(cfg)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=local_env())


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts of a dry run ({} when nothing is to be done)."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    if "Job stats:" not in proc.stdout:
        assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-2000:]
        return {}
    stats = proc.stdout.split("Job stats:")[1]
    return {name: int(n) for name, n in re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M) if name != "total"}


def copy_of_run(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of a finished workflow directory to change (keeps mtimes and Snakemake's records)."""
    workdir = tmp_path / "work"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    return workdir


@pytest.fixture(scope="session")
def small_sim():
    """A small simulated raw dataset (deterministic)."""
    from sysvi_bench.data.simulate import SimulationParams, simulate

    return simulate(SimulationParams(n_cells=600, n_genes=400, n_cell_types=4, n_samples_per_system=2, seed=1))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny config run once end to end (shared by the workflow, resume and determinism tests)."""
    workdir = tmp_path_factory.mktemp("tiny")
    proc = run_snakemake(workdir, "--cores", "2", config=load_yaml(TINY_CONFIG))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir
