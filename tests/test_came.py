"""The came_pancreas loader, on a small wheel built here with the same structure as came==0.1.13."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sysvi_bench.data import load_source
from sysvi_bench.data.came import CAME_WHEEL, ChecksumError, load_came_pancreas, verify_sha256
from sysvi_bench.io import sha256_of

HUMAN_GENES = ["INS", "GCG", "SST", "KRT19", "PRSS1", "ONLY_HUMAN", "DUP_H"]
MOUSE_GENES = ["Ins2", "Gcg", "Sst", "Krt19", "Prss2", "Only_mouse", "Dup_m1", "Dup_m2"]
ORTHOLOGS = pd.DataFrame(
    {
        "human.gene.name": ["INS", "GCG", "SST", "KRT19", "PRSS1", "DUP_H", "DUP_H", "MISSING"],
        "gene.name": ["Ins2", "Gcg", "Sst", "Krt19", "Prss2", "Dup_m1", "Dup_m2", "Missing"],
        "human.homology.type": ["ortholog_one2one"] * 5 + ["ortholog_one2many"] * 2 + ["ortholog_one2one"],
    }
)


def _species(n_cells: int, genes: list[str], donors: list[str], prefix: str, seed: int) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    types = ["type B pancreatic cell", "pancreatic A cell"]
    obs = pd.DataFrame(
        {
            "cell_ontology_class": [types[i % 2] for i in range(n_cells)],
            "cell_type1": [["beta", "alpha"][i % 2] for i in range(n_cells)],
            "donor": [donors[i % len(donors)] for i in range(n_cells)],
            "organism": prefix,
        },
        index=[f"{prefix}_cell_{i}" for i in range(n_cells)],
    )
    x = rng.poisson(3, (n_cells, len(genes))).astype(np.float32)
    return ad.AnnData(sparse.csr_matrix(x), obs=obs, var=pd.DataFrame(index=genes))


def build_wheel(path: Path, orthologs: pd.DataFrame = ORTHOLOGS) -> tuple[ad.AnnData, ad.AnnData]:
    human = _species(12, HUMAN_GENES, ["human1", "human2"], "human", 0)
    mouse = _species(10, MOUSE_GENES, ["mouse1"], "mouse", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name, part in (("raw-Baron_human.h5ad", human), ("raw-Baron_mouse.h5ad", mouse)):
            part.write_h5ad(path.parent / name)
            z.write(path.parent / name, name)
        z.writestr("gene_matches_1v1_human2mouse.csv", orthologs.to_csv(index=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("came/__init__.py", "")
        wheel.writestr("came/sample_data.zip", inner.getvalue())
    return human, mouse


def test_loader_maps_mouse_genes_to_human_one_to_one_orthologs(tmp_path):
    wheel = tmp_path / CAME_WHEEL
    human, mouse = build_wheel(wheel)
    adata = load_came_pancreas(wheel)
    # only strict 1:1 orthologs measured in both species; mouse genes renamed to human symbols
    assert list(adata.var_names) == ["INS", "GCG", "SST", "KRT19", "PRSS1"]
    assert adata.n_obs == 22
    assert adata.obs["species"].value_counts().to_dict() == {"human": 12, "mouse": 10}
    assert set(adata.obs["cell_type"]) == {"type B pancreatic cell", "pancreatic A cell"}
    assert set(adata.obs["donor"]) == {"human1", "human2", "mouse1"}
    # counts travel with their genes: mouse Ins2 is now INS
    np.testing.assert_array_equal(
        adata[mouse.obs_names, "INS"].X.toarray().ravel(), mouse[:, "Ins2"].X.toarray().ravel()
    )
    np.testing.assert_array_equal(
        adata[human.obs_names, "PRSS1"].X.toarray().ravel(), human[:, "PRSS1"].X.toarray().ravel()
    )


def test_cached_wheel_is_used_without_download(tmp_path):
    build_wheel(tmp_path / "came" / CAME_WHEEL)
    cfg = {"source": {"kind": "came_pancreas"}, "min_cells_per_system": 5}
    adata = load_source("pancreas", cfg, tmp_path)
    assert adata.obs["species"].nunique() == 2


def test_checksum_mismatch_names_the_file(tmp_path):
    wheel = tmp_path / CAME_WHEEL
    build_wheel(wheel)
    verify_sha256(wheel, sha256_of(wheel))
    with pytest.raises(ChecksumError, match=CAME_WHEEL):
        verify_sha256(wheel, "0" * 64)


def test_no_shared_orthologs_is_an_error_naming_the_file(tmp_path):
    wheel = tmp_path / CAME_WHEEL
    unrelated = pd.DataFrame({"human.gene.name": ["AAA"], "gene.name": ["Bbb"], "human.homology.type": ["ortholog_one2one"]})
    build_wheel(wheel, orthologs=unrelated)
    with pytest.raises(ValueError, match=f"{CAME_WHEEL}: no one-to-one orthologs"):
        load_came_pancreas(wheel)


def test_strict_one_to_one_filter():
    from sysvi_bench.data.came import ORTHOLOG_COLUMNS, ORTHOLOG_FILTER
    from sysvi_bench.data.sources import OrthologSpec, one_to_one_pairs
    from sysvi_bench.data.validate import DataError

    spec = OrthologSpec(ORTHOLOGS, ORTHOLOG_COLUMNS, keep="human", filter=ORTHOLOG_FILTER)
    pairs, note = one_to_one_pairs(spec, {"human": pd.Index(HUMAN_GENES), "mouse": pd.Index(MOUSE_GENES)}, where="t")
    assert list(pairs["human"]) == ["INS", "GCG", "SST", "KRT19", "PRSS1"]
    assert "8 rows, 6 after filter" in note and "5 measured in every file" in note
    # with no measured gene in common, nothing is left: refused, with the counts
    with pytest.raises(DataError, match="no one-to-one orthologs.*0 measured"):
        one_to_one_pairs(spec, {"human": pd.Index(["X"]), "mouse": pd.Index(["y"])}, where="t")
