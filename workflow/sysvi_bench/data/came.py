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
import pandas as pd

from sysvi_bench.data.accounting import Accounting
from sysvi_bench.data.sources import (
    TABLE_READ_OPTIONS,
    MatrixOptions,
    OrthologSpec,
    combine_systems,
    counts_matrix,
)
from sysvi_bench.io import atomic_path, sha256_of, table_separator

CAME_VERSION = "0.1.13"
CAME_WHEEL = f"came-{CAME_VERSION}-py3-none-any.whl"
CAME_WHEEL_SHA256 = "7fdb1a65006ca668e0cab51576a09bf540f074346e5f120ec654cd4f91627f7d"
SAMPLE_ZIP = "came/sample_data.zip"
ORTHOLOGS = "gene_matches_1v1_human2mouse.csv"
SPECIES_FILES = {"human": "raw-Baron_human.h5ad", "mouse": "raw-Baron_mouse.h5ad"}
ORTHOLOG_COLUMNS = {"human": "human.gene.name", "mouse": "gene.name"}
ORTHOLOG_FILTER = {"human.homology.type": "ortholog_one2one"}


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


def load_came_pancreas(wheel: Path, accounting: Accounting | None = None) -> ad.AnnData:
    """Build the human+mouse pancreas AnnData from the wheel: a ``per_system`` source read from a zip.

    The two species' files and the ortholog table go through the same code as a user's ``per_system``
    source (:func:`sysvi_bench.data.sources.combine_systems`): strict one-to-one orthologs (Ensembl type
    ``ortholog_one2one``) measured in both matrices, human symbols kept.

    Returns
    -------
    AnnData with raw counts in ``X`` over one-to-one orthologs (human symbols as var names), and
    obs ``species`` (system), ``donor`` (covariate), ``cell_type`` (``cell_ontology_class``, harmonised
    across species) and ``cell_type_fine`` (the authors' ``cell_type1``).
    """
    accounting = accounting if accounting is not None else Accounting()
    where = str(wheel)
    with zipfile.ZipFile(wheel) as outer, outer.open(SAMPLE_ZIP) as inner_handle:
        with zipfile.ZipFile(io.BytesIO(inner_handle.read())) as inner:
            parts = {
                species: counts_matrix(_read_h5ad_member(inner, name), MatrixOptions(), where=f"{where}:{name}",
                                       system=species, accounting=accounting)
                for species, name in SPECIES_FILES.items()
            }
            with inner.open(ORTHOLOGS) as handle:
                table = pd.read_csv(handle, sep=table_separator(ORTHOLOGS), **TABLE_READ_OPTIONS)
    orthologs = OrthologSpec(table, ORTHOLOG_COLUMNS, keep="human", filter=ORTHOLOG_FILTER)
    adata = combine_systems(parts, "species", orthologs=orthologs, where=where, accounting=accounting)
    obs = adata.obs
    adata.obs = pd.DataFrame(
        {
            "species": obs["species"].astype(str).to_numpy(),
            "donor": obs["donor"].astype(str).to_numpy(),
            "cell_type": obs["cell_ontology_class"].astype(str).to_numpy(),
            "cell_type_fine": obs["cell_type1"].astype(str).to_numpy(),
        },
        index=obs.index,
    )
    for col in adata.obs:
        adata.obs[col] = adata.obs[col].astype("category")
    adata.uns["source"] = {"kind": "came_pancreas", "wheel": CAME_WHEEL, "sha256": CAME_WHEEL_SHA256}
    return adata
