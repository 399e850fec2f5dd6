# Config validation, the run grid and input functions. Everything else calls the sysvi_bench package.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The package lives in workflow/; make it importable here and in every job (scripts inherit the env).
PACKAGE_DIR = str(Path(workflow.basedir) / "workflow")
if PACKAGE_DIR not in sys.path:
    sys.path.insert(0, PACKAGE_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p
)

from sysvi_bench import contracts as C
from sysvi_bench.config_check import check_config
from sysvi_bench.grid import ConfigError, runs_by_id

validate(config, "../schemas/config.schema.yaml")
try:
    RUNS = runs_by_id(config)
    check_config(config)
except ConfigError as exc:
    raise WorkflowError(f"Invalid config: {exc}") from None

DATASETS = sorted(config["datasets"])
RUN_DIR = "results/{dataset}/runs/{run_id}"


wildcard_constraints:
    dataset="|".join(DATASETS),
    run_id=r"[A-Za-z0-9][A-Za-z0-9_.=-]*",


def run_of(wildcards):
    return RUNS[(wildcards.dataset, wildcards.run_id)]


def run_dirs(dataset=None):
    return [
        RUN_DIR.format(dataset=d, run_id=r)
        for (d, r) in RUNS
        if dataset is None or d == dataset
    ]


def train_gpus(wildcards):
    """1 GPU for neural models unless the config forces the CPU; lets schedulers place jobs."""
    from sysvi_bench.models.specs import MODEL_SPECS

    needs = MODEL_SPECS[run_of(wildcards).kind].uses_accelerator
    return int(needs and config["accelerator"] != "cpu")


def runs_of(dataset):
    return [run for (d, _), run in RUNS.items() if d == dataset]


def all_outputs():
    return [
        "results/metrics.tsv",
        "results/summary.tsv",
        *expand("results/figures/{dataset}/results_table.png", dataset=DATASETS),
    ]
