# Config validation, the run grid and input functions. Everything else calls the sysvi_bench package.
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The package lives in workflow/; make it importable here and in every job (scripts inherit the env).
PACKAGE_DIR = str(Path(workflow.basedir) / "workflow")
if PACKAGE_DIR not in sys.path:
    sys.path.insert(0, PACKAGE_DIR)
# (set, not read: the workflow asserts no environment variable, hence update() and no envvars:)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p
    )
)

from sysvi_bench import contracts as C
from sysvi_bench.config_check import check_config
from sysvi_bench.config import (
    ConfigError,
    aggregation_settings,
    canonical_json,
    dataset_keys,
    download_filename,
    scoring_settings,
    source_files,
)
from sysvi_bench.train.plan import manifest_table, runs_by_id
from sysvi_bench.fingerprint import code_param, train_code_param

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


def runs_of(dataset):
    return [run for (d, _), run in RUNS.items() if d == dataset]


# Every param is canonical JSON text (sorted keys): Snakemake reruns a job when a param's text changes, so
# re-saving or reordering the config must not change it. Scripts read them back with json.loads.


def manifest_rows(dataset):
    """The dataset's runs as the rows of its manifest (the plan_runs step writes them to runs.tsv)."""
    return canonical_json(manifest_table(runs_of(dataset), config).to_dict(orient="records"))


def run_param(wildcards):
    """The run (identity, model kind, seed and parameters): a change retrains and rescores that run only.

    A param, not the manifest: Snakemake does not check the params of jobs below one that must run (here
    plan_runs, whenever the grid changes) when the file between them is ancient, so a run whose parameters
    changed would retrain one invocation late.
    """
    return run_of(wildcards).to_json()


def train_code(wildcards):
    """A training job's code param: the train script's code and libraries as its model kind runs them (a change
    in train/models/sysvi.py retrains the SysVI runs only; sysvi_bench.fingerprint)."""
    from sysvi_bench.train.models import MODEL_SPECS

    return train_code_param(MODEL_SPECS[run_of(wildcards).kind], MODEL_SPECS.values())


def dataset_keys_of(dataset):
    return dataset_keys(config["datasets"][dataset]).to_json()


def dataset_config(dataset):
    """The dataset's whole entry (what preprocessing reads)."""
    return canonical_json(config["datasets"][dataset])


def scoring_config():
    """The evaluation settings that change scores (the evaluation_reference job's; metrics_info.json)."""
    return canonical_json(scoring_settings(config["evaluation"]))


def aggregation_config():
    """The evaluation settings that only change aggregation (the aggregate job's)."""
    return canonical_json(aggregation_settings(config["evaluation"]))


def source_inputs(wildcards):
    """The files a dataset's source reads: the user's files (a manual source's once it is in place) and
    the downloads (jobs of their own). Replacing one re-prepares the dataset and reruns what follows."""
    source = config["datasets"][wildcards.dataset]["source"]
    # A download is sha256-verified against the checksum in the config (or, for came, in the code): fetched again,
    # it holds the same bytes, so its new mtime and its job's rerun must not make the dataset out of date
    # (ancient). A changed checksum or url changes this job's params (fetch_config) or the file's name.
    if source["kind"] == "url":
        return [ancient(f"resources/downloads/{download_filename(source)}")]
    if source["kind"] == "came_pancreas":
        return [ancient(came_wheel())]
    files = list(source_files(source).values())
    if source["kind"] == "manual":
        return [f for f in files if os.path.isfile(f)]
    return files


def came_wheel():
    from sysvi_bench.data.came import CAME_WHEEL

    return f"resources/came/{CAME_WHEEL}"


def url_source(filename):
    """The url source whose download is ``resources/downloads/{filename}``."""
    for dataset_cfg in config["datasets"].values():
        source = dataset_cfg["source"]
        if source["kind"] == "url" and download_filename(source) == filename:
            return source
    raise WorkflowError(f"no url source downloads {filename!r}")


URL_FILENAMES = sorted(
    {
        download_filename(d["source"])
        for d in config["datasets"].values()
        if d["source"]["kind"] == "url"
    }
)


def external_inputs(wildcards):
    """An external embedding's file (the ``external`` model kind): replacing it rescores that run."""
    run = run_of(wildcards)
    return [run.params["path"]] if run.kind == "external" else []


def run_files(dataset, name):
    """One file of every run of ``dataset``, in manifest order."""
    return [
        f"{RUN_DIR.format(dataset=dataset, run_id=run.run_id)}/{name}"
        for run in runs_of(dataset)
    ]


def aggregated_table(wildcards, name, contract):
    """One of the dataset's aggregated tables, once the aggregate checkpoint has run (input functions of the
    figures whose runs it chooses)."""
    return C.read_table(getattr(checkpoints.aggregate.get(dataset=wildcards.dataset).output, name), contract)


def mixing_tables(wildcards):
    """The cell_type_mixing.tsv of the mixing figure's panels (sysvi_bench.report.panels.mixing_panels)."""
    from sysvi_bench.report.panels import mixing_panels

    panels = mixing_panels(aggregated_table(wildcards, "best_settings", C.BEST_SETTINGS))
    return [
        f"{RUN_DIR.format(dataset=wildcards.dataset, run_id=run_id)}/cell_type_mixing.tsv"
        for run_id in panels.values()
        if run_id
    ]


def umap_tables(wildcards):
    """The UMAP tables of the UMAP figure's panels (sysvi_bench.report.panels.umap_panels), in panel order."""
    from sysvi_bench.report.panels import umap_panels

    panels = umap_panels(
        aggregated_table(wildcards, "summary", C.SUMMARY),
        aggregated_table(wildcards, "best_settings", C.BEST_SETTINGS),
    )
    return [
        f"{RUN_DIR.format(dataset=wildcards.dataset, run_id=run_id)}/umap.tsv"
        if run_id
        else f"results/{wildcards.dataset}/umap_unintegrated.tsv"
        for run_id in panels.values()
    ]


def train_gpus(wildcards):
    """GPUs one training job asks for: 1 for neural models unless the config forces the CPU.

    Locally, with ``accelerator: auto`` on a machine without a GPU, the job runs on the CPU and asks
    for none, so the ``gpu`` limit of profiles/default does not serialise CPU training. On a cluster
    the compute node, not this host, has the GPU: there the request always goes to the scheduler.
    """
    from sysvi_bench.train.devices import local_gpu_visible
    from sysvi_bench.train.models import MODEL_SPECS

    needs = MODEL_SPECS[run_of(wildcards).kind].uses_accelerator
    accelerator = config["accelerator"]
    if accelerator == "auto" and workflow.local_exec:
        return int(needs and local_gpu_visible())
    return int(needs and accelerator != "cpu")


# A GPU belongs to a node: on a cluster the `gpu` limit of --resources (profiles/default) applies
# per job, not to the sum over all submitted jobs. Local runs still count it globally.
resource_scopes:
    gpu="local",


# ---- Resources that scale with the dataset (MB, minutes), multiplied by the attempt: a job killed
# for memory or time is retried (profiles/slurm: retries) with proportionally more of both.


def fetch_config(dataset):
    """What fetching a dataset depends on: its entry less what only preprocessing reads (must not refetch)."""
    entry = config["datasets"][dataset]
    return canonical_json(
        {k: v for k, v in entry.items() if k not in ("preprocess", "unlabeled")}
    )


def raw_size_mb(dataset):
    """Rough in-memory size (MB) of a dataset's raw counts, known before it is fetched."""
    source = config["datasets"][dataset]["source"]
    if source["kind"] == "h5ad":
        return 3 * os.path.getsize(source["path"]) / 1e6  # compressed on disk
    if source["kind"] == "per_system":  # every file is in memory at once while they are joined
        paths = [f if isinstance(f, str) else f["path"] for f in source["system_files"].values()]
        return 3 * sum(os.path.getsize(p) for p in paths) / 1e6
    if source["kind"] == "manual" and os.path.isfile(source["path"]):
        return 3 * os.path.getsize(source["path"]) / 1e6
    if source["kind"] == "simulate":
        from sysvi_bench.data.simulate import SimulationParams

        sim = SimulationParams(**{k: v for k, v in source.items() if k != "kind"})
        return 8 * sim.n_cells * sim.n_genes / 1e6  # CSR float32 + int32 index at full density: an upper bound
    return 500  # came_pancreas: ~4k cells, read from a 16 MB wheel


def n_epochs(wildcards, preprocessed=None):
    """The most epochs a run can train (``auto``: resolved from the preprocessed dataset's cells when it
    exists, else the cap of sysvi_bench.train.budget)."""
    from sysvi_bench.train.budget import h5ad_n_obs, max_epochs_upper_bound

    n_cells = h5ad_n_obs(preprocessed) if preprocessed and os.path.isfile(preprocessed) else None
    params = run_of(wildcards).params
    return max_epochs_upper_bound(params.get("max_epochs"), n_cells, params)


def train_priority(wildcards):
    """A train job's scheduling priority: its most epochs (n_epochs, before preprocessing) times its dataset's raw
    size, so that runs that train over epochs start before the cheap runs and the score jobs, larger datasets
    first (Snakemake starts ready jobs of higher priority first). Only the order of jobs changes, not a result."""
    return n_epochs(wildcards) * raw_size_mb(wildcards.dataset)


def checkpoints_of(wildcards):
    """Fractions of max_epochs at which a neural run keeps its embedding (evaluation.checkpoints), sorted;
    empty for models that do not train over epochs (a new checkpoint list must not refit PCA or Harmony)."""
    from sysvi_bench.train.models import MODEL_SPECS

    if not MODEL_SPECS[run_of(wildcards).kind].trains_over_epochs:
        return []
    return sorted(float(f) for f in config["evaluation"].get("checkpoints", []))


def prepare_mem_mb(wildcards, attempt):
    return int((1000 + 10 * raw_size_mb(wildcards.dataset)) * attempt)


def prepare_runtime(wildcards, attempt):
    return int((15 + raw_size_mb(wildcards.dataset) / 10) * attempt)


def preprocess_mem_mb(wildcards, input, attempt):
    return int((1000 + 10 * input.size_mb) * attempt)


def preprocess_runtime(wildcards, input, attempt):
    return int((10 + input.size_mb / 10) * attempt)


def train_mem_mb(wildcards, input, attempt):
    return int((1500 + 10 * input.size_mb) * attempt)


def train_runtime(wildcards, input, attempt):
    """Calibrated on CPU (~3,000 cells/s); a GPU is faster."""
    minutes = 10 + input.size_mb / 10 + n_epochs(wildcards, input.preprocessed) * input.size_mb / 200
    return int(minutes * attempt)


def score_mem_mb(wildcards, input, attempt):
    """One process with JAX loaded (~1 GB) plus the embedding and the reference (3.6 GB at 100k cells)."""
    return int((1500 + 10 * input.size_mb) * attempt)


def score_runtime(wildcards, input, attempt):
    return int((15 + input.size_mb / 2) * attempt)


def small_mem_mb(wildcards, attempt):
    return 1000 * attempt


def small_runtime(wildcards, attempt):
    return 10 * attempt


def all_outputs():
    return [
        *(f"results/{table}.tsv" for table in BENCHMARK_TABLES),
        *REPORT_TARGETS,  # figures, diagnostic and report pages: workflow/rules/report.smk
    ]


# The benchmark-wide tables: each the concatenation of the datasets' own (rule benchmark_tables).
BENCHMARK_TABLES = ("metrics", "summary", "best_settings", "completeness", "datasets")


# With --keep-going, a dataset that failed does not hold up the others: their tables, figures and report
# pages complete, but benchmark_tables (which needs every dataset) cannot run. The failure path then writes
# files of its own, which no job writes: results/partial/ holds the benchmark-wide tables of the datasets that
# completed and datasets.tsv with every dataset's status, judged from the dataset's own files (chain_status).
PARTIAL = "results/partial"


onerror:
    from sysvi_bench.aggregate.tables import TABLE_CONTRACTS, chain_status, dataset_chain, write_benchmark_tables

    write_benchmark_tables(
        {d: {t: f"results/{d}/{t}.tsv" for t in TABLE_CONTRACTS} for d in DATASETS},
        {t: f"{PARTIAL}/{t}.tsv" for t in BENCHMARK_TABLES},
        problems={
            d: chain_status(dataset_chain(d, [r.run_id for r in runs_of(d)]))
            for d in DATASETS
        },
    )
    print(f"Some jobs failed: the status of every dataset is in {PARTIAL}/datasets.tsv")


onsuccess:
    import shutil

    shutil.rmtree(PARTIAL, ignore_errors=True)  # the failure path's files are stale once everything ran
