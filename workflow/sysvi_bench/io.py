"""Small I/O helpers: atomic writes (so a killed job never leaves a file that looks complete), and how a user's
table file is read (CSV or TSV by its name). Pipeline files are read against their contract: :mod:`sysvi_bench.contracts`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pandas as pd


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix so libraries that dispatch on it (h5ad, tsv.gz) still work
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(obj: Any, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def write_tsv(df: pd.DataFrame, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)


def write_h5ad(adata: Any, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp)


def sha256_of(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_history(path: Path | str) -> pd.DataFrame | None:
    """A run's ``history.tsv``; None when it holds no epochs (PCA, Harmony and controls write an empty one)."""
    try:
        history = pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return None
    return history if len(history) else None


def table_separator(name: str) -> str:
    """Tab for names ending in .tsv/.txt/.tab (optionally compressed, e.g. .tsv.gz), comma otherwise: the one
    rule for a user's table (gene tables, ortholog tables, external embeddings)."""
    return "\t" if {".tsv", ".txt", ".tab"} & set(Path(name).suffixes) else ","
