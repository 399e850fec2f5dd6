"""Conda environments (envs/*.yaml, for --sdm conda) agree with requirements.lock; every rule declares one.

Also: `snakemake --lint` reports nothing (every rule has log: and conda:, no lint of the Snakefiles).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TINY_CONFIG, local_env

ENVS = sorted((ROOT / "envs").glob("*.yaml"))
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
# rule -> the env of its family
FAMILIES = {
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
    "report_tables": "report",
    "report_config": "report",
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
