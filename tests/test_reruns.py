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


# ---- code and libraries are inputs too (sysvi_bench.fingerprint): what a job runs decides, not file times

import ast
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from sysvi_bench import fingerprint as F

TINY_RUNS = 4  # the tiny config's runs: two SysVI settings, the broken SysVI run and the PCA
SYSVI_RUNS = {"sysvi__prior=standard_normal__seed=0", "sysvi__prior=vamp__seed=0", "broken__seed=0"}


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """A copy of the workflow (Snakefile, workflow/, profiles/, config/, envs/) to touch and edit."""
    repo = tmp_path / "repo"
    for name in ("workflow", "profiles", "config", "envs"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "Snakefile", repo / "Snakefile")
    return repo


def dry_run(tiny_run, repo, **kwargs):
    return run_snakemake(tiny_run, "-n", config=load_yaml(TINY_CONFIG), snakefile=repo / "Snakefile", **kwargs)


def planned_run_ids(proc, rule: str) -> set[str]:
    """The run ids of the planned jobs of ``rule`` in a dry run's output."""
    blocks = re.split(r"^(?=rule \w+:)", proc.stdout, flags=re.M)
    return {m.group(1) for b in blocks if b.startswith(f"rule {rule}:") for m in [re.search(r"run_id=(\S+)", b)] if m}


def edit_function(path: Path, name: str) -> None:
    """A real change to function ``name`` of ``path``: one statement more at the start of its body."""
    lines = path.read_text().splitlines(keepends=True)
    node = next(n for n in ast.walk(ast.parse("".join(lines))) if isinstance(n, ast.FunctionDef) and n.name == name)
    first = node.body[1] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body[0]
    lines.insert(first.lineno - 1, " " * first.col_offset + "changed_here = 1  # a changed statement\n")
    path.write_text("".join(lines))


def test_touching_every_workflow_and_config_file_reruns_nothing(tiny_run, repo_copy):
    later = Path(tiny_run / "results" / "sim" / "summary.tsv").stat().st_mtime + 3600
    for path in [*(repo_copy / "workflow").rglob("*"), *(repo_copy / "config").rglob("*")]:
        if path.is_file():
            os.utime(path, (later, later))
    assert planned_jobs(dry_run(tiny_run, repo_copy)) == {}


def test_comments_docstrings_and_formatting_in_a_metric_module_rerun_nothing(tiny_run, repo_copy):
    paper = repo_copy / "workflow" / "sysvi_bench" / "score" / "paper.py"
    text = paper.read_text()
    text = "# a comment\n" + text.replace('"""', '"""Reworded. ', 1).replace("def clisi(", "def  clisi (", 1)
    text = text.replace("\n\n\ndef ", "\n\n\n# another comment\ndef ")
    paper.write_text(text)
    assert planned_jobs(dry_run(tiny_run, repo_copy)) == {}


def test_a_changed_metric_rescores_without_retraining(tiny_run, repo_copy):
    assert "sysvi_bench.score.paper.clisi" in F.reach(F.SCRIPTS_DIR / "score.py").code  # scoring runs it
    edit_function(repo_copy / "workflow" / "sysvi_bench" / "score" / "paper.py", "clisi")
    proc = dry_run(tiny_run, repo_copy)
    jobs = planned_jobs(proc)
    assert jobs["score"] == TINY_RUNS and jobs["aggregate"] == 1 and jobs["batch_vs_bio"] == 1, jobs
    assert not {"train", "preprocess", "prepare_dataset"} & set(jobs), jobs
    assert '"step": "score"' in proc.stdout  # the reason names the step whose code changed


def test_a_changed_sysvi_fitter_retrains_the_sysvi_runs_only(tiny_run, repo_copy):
    edit_function(repo_copy / "workflow" / "sysvi_bench" / "train" / "models" / "sysvi.py", "fit_sysvi")
    proc = dry_run(tiny_run, repo_copy)
    jobs = planned_jobs(proc)
    assert planned_run_ids(proc, "train") == planned_run_ids(proc, "score") == SYSVI_RUNS, proc.stdout[-3000:]
    assert not {"preprocess", "evaluation_reference"} & set(jobs), jobs


@pytest.mark.parametrize("library, expected", [
    ("scib-metrics", {"train": set(), "score": TINY_RUNS}),  # scoring's library: rescore, no retraining
    ("torch", {"train": SYSVI_RUNS, "score": len(SYSVI_RUNS)}),  # the neural kinds' library: not PCA
])
def test_a_library_upgrade_reruns_the_steps_that_use_it(tiny_run, repo_copy, tmp_path, monkeypatch, library, expected):
    # an installed distribution of another version, found first on the path (the fingerprint reads versions with
    # importlib.metadata; a dry run imports no library)
    fake = tmp_path / "site"
    info = fake / f"{library.replace('-', '_')}-999.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {library}\nVersion: 999.0\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    proc = dry_run(tiny_run, repo_copy)
    jobs = planned_jobs(proc)
    assert planned_run_ids(proc, "train") == expected["train"], jobs
    assert jobs.get("score") == expected["score"], jobs
    assert "preprocess" not in jobs and f'"{library}": "999.0"' in proc.stdout


# ---- the fingerprint itself


def digest_of(tmp_path, source: str) -> str:
    script = tmp_path / "script.py"
    script.write_text(source)
    return F.reach(script).digest()


def test_the_code_hash_ignores_comments_docstrings_and_formatting_not_constants(tmp_path):
    base = digest_of(tmp_path, '"""Doc."""\nfrom sysvi_bench.grid import make_run_id\n\nx = make_run_id("m", {}, 0)\n')
    same = digest_of(tmp_path, '# comment\n"""Other doc."""\nfrom sysvi_bench.grid import make_run_id\nx = make_run_id(\n    "m", {},  0)  # c\n')
    changed = digest_of(tmp_path, '"""Doc."""\nfrom sysvi_bench.grid import make_run_id\n\nx = make_run_id("m", {}, 1)\n')
    assert base == same != changed


def test_the_code_hash_follows_the_package_functions_a_script_uses():
    score = F.reach(F.SCRIPTS_DIR / "score.py")
    assert "sysvi_bench.score.paper.clisi" in score.code and "scib_metrics" in score.libraries
    assert not any(name.startswith("sysvi_bench.train.models") for name in score.code)
    assert not any(name.startswith("sysvi_bench.report") for name in score.code)


def test_each_model_kinds_training_code_is_its_own():
    from sysvi_bench.train.models import MODEL_SPECS

    def code(kind):
        spec = MODEL_SPECS[kind]
        return json.loads(F.train_code_param(spec, MODEL_SPECS.values()))

    pca, sysvi, harmony = code("pca"), code("sysvi"), code("harmony")
    assert len({pca["code"], sysvi["code"], harmony["code"]}) == 3
    assert "torch" in sysvi["libraries"] and "scvi-tools" in sysvi["libraries"]
    assert not {"torch", "scvi-tools", "harmonypy"} & set(pca["libraries"])
    assert "harmonypy" in harmony["libraries"] and "torch" not in harmony["libraries"]
    assert code("sysvi") == sysvi and sysvi["step"] == "train sysvi"


def test_the_import_name_table_agrees_with_the_installed_distributions():
    import importlib.metadata as md

    installed = md.packages_distributions()
    reached = set().union(*(F.reach(script).libraries for script in F.SCRIPTS_DIR.glob("*.py")))
    from sysvi_bench.train.models import MODEL_SPECS

    reached |= {lib for spec in MODEL_SPECS.values() for lib in F.reach(
        F.SCRIPTS_DIR / "train.py", (f"{spec.fitter.__module__}.{spec.fitter.__name__}",)).libraries}
    for name in reached:
        assert name in installed, f"{name} is imported but not installed"
        assert F.distribution_name(name) in {F.normalize(d) for d in installed[name]}, (
            f"import {name}: distribution {installed[name]}; add it to sysvi_bench.fingerprint.DISTRIBUTIONS")


def test_every_rule_fingerprints_the_script_it_runs():
    """A rule's ``code`` param names the script of its ``script:`` directive (a renamed or copied rule would
    otherwise fingerprint another script, and its code changes would rerun nothing)."""
    checked = 0
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=(?:rule|use rule) )", smk.read_text()):
            rule = re.match(r"(?:use )?rule (\w+)", block)
            script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block)
            code = re.search(r'code=code_param\("([\w.]+)"\)', block)
            if rule is None or script is None or rule[1].startswith("download_"):  # downloads: sha256-checked
                continue
            if rule[1] == "train":  # per model kind: sysvi_bench.fingerprint.train_code_param
                assert "code=train_code" in block
            else:
                assert code is not None and code[1] == script[1], f"{smk.name}: rule {rule[1]}"
            checked += 1
    assert checked >= 20
