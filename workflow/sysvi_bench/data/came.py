"""Baron et al. 2016 pancreas, human vs mouse, from the ``came`` wheel on PyPI.

The wheel ships ``came/sample_data.zip`` with raw UMI counts for both species and Ensembl
ortholog tables. We never install ``came`` (it needs torch+dgl): we download the wheel with pip,
verify its sha256 and read the zip inside it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from sysvi_bench.io import atomic_path, sha256_of

CAME_VERSION = "0.1.13"
CAME_WHEEL = f"came-{CAME_VERSION}-py3-none-any.whl"
CAME_WHEEL_SHA256 = "7fdb1a65006ca668e0cab51576a09bf540f074346e5f120ec654cd4f91627f7d"
SAMPLE_ZIP = "came/sample_data.zip"
ORTHOLOGS = "gene_matches_1v1_human2mouse.csv"
SPECIES_FILES = {"human": "raw-Baron_human.h5ad", "mouse": "raw-Baron_mouse.h5ad"}


class ChecksumError(ValueError):
    """A downloaded file does not have the expected sha256."""


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError` naming ``path`` if its sha256 differs from ``expected``."""
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"{path}: sha256 {actual} does not match the expected {expected}; delete it and retry")


def download_came_wheel(dest: Path, expected_sha256: str = CAME_WHEEL_SHA256) -> Path:
    """Download the ``came`` wheel with pip (no dependencies, not installed) to ``dest``, checksum-verified."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", f"came=={CAME_VERSION}", "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pip download of came=={CAME_VERSION} failed:\n{proc.stderr[-2000:]}")
        wheel = Path(tmp) / CAME_WHEEL
        verify_sha256(wheel, expected_sha256)
        with atomic_path(dest) as tmp_dest:
            wheel.replace(tmp_dest)
    return dest


def _read_h5ad_member(archive: zipfile.ZipFile, name: str) -> ad.AnnData:
    with archive.open(name) as handle:
        return ad.read_h5ad(io.BytesIO(handle.read()))


def one_to_one_orthologs(table: pd.DataFrame, human_genes: pd.Index, mouse_genes: pd.Index) -> pd.DataFrame:
    """Human/mouse gene pairs that are one-to-one orthologs and measured in both matrices."""
    pairs = table.rename(columns={"human.gene.name": "human", "gene.name": "mouse"})
    if "human.homology.type" in pairs:
        pairs = pairs[pairs["human.homology.type"] == "ortholog_one2one"]
    pairs = pairs[pairs["human"].isin(human_genes) & pairs["mouse"].isin(mouse_genes)]
    # drop any gene that still appears twice on either side: only strict 1:1 pairs remain
    pairs = pairs[~pairs["human"].duplicated(keep=False) & ~pairs["mouse"].duplicated(keep=False)]
    return pairs[["human", "mouse"]].reset_index(drop=True)


def load_came_pancreas(wheel: Path) -> ad.AnnData:
    """Build the human+mouse pancreas AnnData from the wheel.

    Returns
    -------
    AnnData with raw counts in ``X`` over one-to-one orthologs (human symbols as var names), and
    obs ``species`` (system), ``donor`` (covariate), ``cell_type`` (``cell_ontology_class``, harmonised
    across species) and ``cell_type_fine`` (the authors' ``cell_type1``).
    """
    with zipfile.ZipFile(wheel) as outer, outer.open(SAMPLE_ZIP) as inner_handle:
        with zipfile.ZipFile(io.BytesIO(inner_handle.read())) as inner:
            parts = {species: _read_h5ad_member(inner, name) for species, name in SPECIES_FILES.items()}
            with inner.open(ORTHOLOGS) as handle:
                table = pd.read_csv(handle)
    pairs = one_to_one_orthologs(table, parts["human"].var_names, parts["mouse"].var_names)
    if pairs.empty:
        raise ValueError(f"{wheel}: no one-to-one orthologs are shared by the human and mouse matrices")
    human = parts["human"][:, pairs["human"].to_numpy()].copy()
    mouse = parts["mouse"][:, pairs["mouse"].to_numpy()].copy()
    mouse.var_names = pairs["human"].to_numpy()
    for species, part in (("human", human), ("mouse", mouse)):
        part.obs = pd.DataFrame(
            {
                "species": species,
                "donor": part.obs["donor"].astype(str).to_numpy(),
                "cell_type": part.obs["cell_ontology_class"].astype(str).to_numpy(),
                "cell_type_fine": part.obs["cell_type1"].astype(str).to_numpy(),
            },
            index=part.obs_names,
        )
        part.var = pd.DataFrame(index=part.var_names)
    adata = ad.concat([human, mouse], join="inner", merge="same")
    adata.X = adata.X.astype(np.float32)
    for col in ("species", "donor", "cell_type", "cell_type_fine"):
        adata.obs[col] = adata.obs[col].astype("category")
    adata.uns["source"] = {"kind": "came_pancreas", "wheel": CAME_WHEEL, "sha256": CAME_WHEEL_SHA256}
    return adata
