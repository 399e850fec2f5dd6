"""Conda environments (envs/*.yaml, for --sdm conda) agree with requirements.lock; every rule declares one.

Also: `snakemake --lint` reports nothing (every rule has log: and conda:, no lint of the Snakefiles).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest
import yaml

from conftest import ROOT, TINY_CONFIG, local_env

ENVS = sorted((ROOT / "envs").glob("*.yaml"))
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
# rule -> the env of its family
FAMILIES = {
    "download_came": "data",
    "download_url": "data",
    "prepare_dataset": "data",
    "preprocess": "data",
    "train": "train",
    "plan_runs": "report",
    "evaluation_reference": "metrics",
    "score": "metrics",
    "benchmark_tables": "report",
    "aggregate": "report",
    "results_table": "report",
    # workflow/rules/report.smk
    "diagnostic": "report",
    "batch_vs_bio": "report",
    "parameter_sweep": "report",
    "umap": "report",  # and umap_unintegrated, its `use rule` twin
    "umap_best_runs": "report",
    "training_curves": "report",
    "runtime_memory": "report",
    "training_length": "report",
    "report_tables": "report",
    "report_config": "report",
    # (across datasets)
    "cell_type_mixing_figure": "report",
    "benchmark_figures": "report",
}


def normalize(name: str) -> str:
    """PEP 503 name normalisation (PyYAML == pyyaml, scikit_learn == scikit-learn)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.lock: unpinned line {line!r}"
            pins[normalize(name)] = version.strip()
    return pins


def env_pins(path: Path) -> list[tuple[str, str, str]]:
    """(kind, name, version) of every dependency of a conda env file; kind is conda or pip."""
    env = yaml.safe_load(path.read_text())
    pins = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep["pip"]:
                name, sep, version = spec.partition("==")
                assert sep and version, f"{path.name}: pip dependency {spec!r} is not pinned with =="
                pins.append(("pip", name.strip(), version.strip()))
        else:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:==?\s*(\S+))?", dep.strip())
            assert match, f"{path.name}: cannot read conda dependency {dep!r}"
            pins.append(("conda", match.group(1), match.group(2) or ""))
    return pins


def rules_in(path: Path) -> dict[str, str]:
    """rule (or checkpoint) name -> its text (rule files are snakefmt-formatted: a rule ends at the next
    top-level line; ``use rule`` twins inherit their rule's directives)."""
    text = path.read_text()
    blocks = re.split(r"^(?=(?:rule|checkpoint) \w+:)", text, flags=re.M)
    rules = {}
    for block in blocks:
        match = re.match(r"(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", block)
        if match:
            rules[match.group(1)] = match.group(2)
    return rules


def all_rules() -> dict[str, tuple[Path, str]]:
    rules = {}
    for path in RULE_FILES:
        for name, body in rules_in(path).items():
            rules[name] = (path, body)
    return rules


def test_there_is_one_env_per_rule_family():
    assert {p.stem for p in ENVS} == set(FAMILIES.values())


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_env_pins_equal_the_lock_file(env):
    lock = lock_versions()
    pins = env_pins(env)
    assert any(kind == "pip" for kind, _, _ in pins), f"{env.name}: no pinned packages"
    for kind, name, version in pins:
        if kind == "conda" and name == "pip":
            continue  # the installer itself (pip's own version does not matter)
        if kind == "conda" and name == "python":
            assert version == "3.11", f"{env.name}: python={version}, but pyproject.toml requires 3.11"
            continue
        assert normalize(name) in lock, f"{env.name}: {name} is not in requirements.lock"
        assert version == lock[normalize(name)], (
            f"{env.name}: {name}=={version} but requirements.lock pins {lock[normalize(name)]}"
        )


def test_env_pins_are_unique():
    for env in ENVS:
        names = [normalize(n) for _, n, _ in env_pins(env)]
        assert len(names) == len(set(names)), f"{env.name}: a package is listed twice"


def test_every_rule_declares_log_and_its_family_env():
    rules = all_rules()
    assert set(FAMILIES) <= set(rules), f"rules without a family here: {set(FAMILIES) - set(rules)}"
    for name, (path, body) in rules.items():
        if name == "all":
            continue
        assert name in FAMILIES, f"rule {name} ({path.name}): give it a family (env) in FAMILIES of tests/test_envs.py"
        assert re.search(r"^    log:\n", body, flags=re.M), f"rule {name} ({path.name}) has no log:"
        conda = re.search(r"^    conda:\n\s+\"([^\"]+)\"", body, flags=re.M)
        assert conda, f"rule {name} ({path.name}) has no conda:"
        env = (path.parent / conda.group(1)).resolve()
        assert env.is_file(), f"rule {name}: conda env {conda.group(1)} does not exist"
        assert env.parent == (ROOT / "envs").resolve()
        assert env.stem == FAMILIES.get(name), f"rule {name} uses envs/{env.name}, expected envs/{FAMILIES.get(name)}.yaml"


def test_snakemake_lint_reports_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(TINY_CONFIG)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=local_env(),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in out


# ---- every third-party module a rule's script imports, through the package, is in the rule's env (static)

PACKAGE = ROOT / "workflow"


def fitters() -> list[str]:
    """Every kind's fitter: the train job calls them (sysvi_bench.train.run: MODEL_SPECS[kind].fitter)."""
    from sysvi_bench.train.models import MODEL_SPECS

    return [f"{s.fitter.__module__}.{s.fitter.__name__}" for s in MODEL_SPECS.values()]


def third_party_imports(script: Path, calls: Sequence[str] = ()) -> set[str]:
    """Top-level third-party modules that ``script`` can import (sysvi_bench.fingerprint.reach: the analysis
    that also makes each rule's ``code`` param). Functions a script never reaches are not followed, so a
    library imported lazily by code of another step is not this step's dependency."""
    from sysvi_bench.fingerprint import reach

    return reach(script, tuple(calls)).libraries


def _with_requirements(names: set[str]) -> set[str]:
    """``names`` (distributions) and everything they require, transitively (as installed here)."""
    import importlib.metadata as md

    done, todo = set(), list(names)
    while todo:
        name = normalize(todo.pop())
        if name in done:
            continue
        done.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
    return done


def test_every_env_provides_what_its_rules_scripts_import():
    import importlib.metadata as md

    distributions = md.packages_distributions()
    provided = {env.stem: _with_requirements({n for kind, n, _ in env_pins(env) if kind == "pip"}) for env in ENVS}
    for rule, (path, body) in all_rules().items():
        script = re.search(r'^    script:\n\s+"([^"]+)"', body, flags=re.M)
        if not script or rule not in FAMILIES:
            continue
        env = FAMILIES[rule]
        calls = fitters() if rule == "train" else ()
        for module in sorted(third_party_imports((path.parent / script.group(1)).resolve(), calls)):
            dists = {normalize(d) for d in distributions.get(module, [module])}
            assert dists & provided[env], (
                f"rule {rule} imports {module!r} (distribution {sorted(dists)}) but envs/{env}.yaml provides "
                f"none of them")
    # the train env must provide the fitters' libraries; the other steps never import them
    assert {"scvi", "torch", "harmonypy"} <= third_party_imports(ROOT / "workflow" / "scripts" / "train.py", fitters())
    assert not {"scvi", "torch", "harmonypy"} & third_party_imports(ROOT / "workflow" / "scripts" / "aggregate.py")


def test_conda_jobs_keep_the_package_on_their_search_path():
    """Snakemake clears PYTHONPATH in conda jobs unless told not to; the default profile tells it, so jobs run
    with --sdm conda can import the package (common.smk puts workflow/ on PYTHONPATH)."""
    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    assert profile.get("conda-not-block-search-path-envvars") is True
    assert "PYTHONPATH" in (ROOT / "workflow" / "rules" / "common.smk").read_text()


# ---- the package is laid out like the workflow: a rule file's scripts import from the subpackage of its name

SHARED_MODULES = {"config", "config_check", "contracts", "io", "grid", "provenance", "subsample", "smk", "jit_cache",
                  "fingerprint"}
# the only scripts that reach into another step's subpackage, and why
CROSS_STEP = {"cell_type_mixing_figure": {"score"}}  # the unintegrated panel's mixing: score.cell_types
# scripts of no step's logic: plan_runs writes rows that sysvi_bench.train.plan made in the Snakefile (common.smk)
NO_STEP = {"plan_runs"}


def test_each_rule_files_scripts_import_from_the_subpackage_of_its_name():
    subpackages = {p.name for p in (PACKAGE / "sysvi_bench").iterdir() if (p / "__init__.py").is_file()}
    assert {p.stem for p in RULE_FILES} - {"common"} <= subpackages
    assert {p.stem for p in (PACKAGE / "sysvi_bench").glob("*.py")} - {"__init__"} == SHARED_MODULES
    for rule, (path, body) in all_rules().items():
        script = re.search(r'^    script:\n\s+"([^"]+)"', body, flags=re.M)
        if not script:
            continue
        text = (path.parent / script.group(1)).resolve().read_text()
        steps = {m.split(".")[1] for m in re.findall(r"^\s*from (sysvi_bench\.\w+)", text, flags=re.M)} - SHARED_MODULES
        expected = set() if rule in NO_STEP else {path.stem} | CROSS_STEP.get(rule, set())
        assert steps == expected, f"rule {rule} ({path.name}): its script imports from {sorted(steps)}"
