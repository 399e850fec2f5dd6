"""What code made a result: the pipeline's version (package version and git commit) and the versions of the
libraries that train and score, recorded in every ``run_info.json``, ``score_info.json`` and
``metrics_info.json``; and the check that one dataset's runs were all made by the same versions.

A job reruns when what it runs changes (its ``code`` param, :mod:`sysvi_bench.fingerprint`); these records say
which versions made each result, so that a table mixing runs of two versions (e.g. kept with ``--touch``) is
found (README: "Reruns and provenance").
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

PIPELINE = "sysvi-bench"
# the libraries whose versions decide what a run learns and how it scores
LIBRARIES = ("scvi-tools", "torch", "lightning", "scib-metrics", "scanpy", "anndata", "numpy")
REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` when tracked files under workflow/ differ from it), or None outside git."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--",
                                "workflow"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def _version(package: str) -> str:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return "not installed"


def versions(libraries: Iterable[str] = LIBRARIES) -> dict[str, str]:
    """``{"sysvi-bench": "<version> (<commit>)", library: version, ...}`` of this process's environment."""
    commit = git_commit()
    pipeline = _version(PIPELINE) + (f" ({commit})" if commit else "")
    return {PIPELINE: pipeline, **{name: _version(name) for name in libraries}}


def versions_text(record: Mapping[str, str] | None) -> str:
    """One line for a table cell: ``sysvi-bench=0.1.0 (abc); scvi-tools=1.4.2; ...`` ("" when not recorded)."""
    return "; ".join(f"{k}={v}" for k, v in (record or {}).items())


def version_mix(summary: pd.DataFrame, columns: Mapping[str, str]) -> list[str]:
    """Sentences naming each step (``columns``: summary column -> what it records, e.g. ``train_versions`` ->
    "trained") whose runs in ``summary`` were made by more than one set of versions; empty when none were."""
    notes = []
    for column, step in columns.items():
        if column not in summary.columns:
            continue
        groups = summary.groupby(summary[column].fillna("").astype(str))["run_id"].apply(list)
        if len(groups) > 1:
            detail = "; ".join(f"{len(runs)} run(s) with [{text or 'not recorded'}], e.g. {runs[0]}"
                               for text, runs in groups.items())
            notes.append(f"runs were {step} by {len(groups)} different versions: {detail}")
    return notes
