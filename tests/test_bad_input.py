"""Bad input is refused before training, with a message naming the field or file at fault."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from conftest import run_snakemake

from sysvi_bench import contracts as C
from sysvi_bench.data import read_user_h5ad
from sysvi_bench.data.validate import DataError, validate_raw
from sysvi_bench.config import DatasetKeys
from sysvi_bench.data.preprocess import PreprocessParams, preprocess

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")


def _with_x(adata, fn):
    adata = adata.copy()
    x = adata.X.toarray()
    fn(x)
    adata.X = sparse.csr_matrix(x)
    return adata


@pytest.mark.parametrize(
    "make_bad, keys, message",
    [
        (lambda a: a, DatasetKeys("tech", (), "cell_type", None), "system_key 'tech' is not a column of obs"),
        (lambda a: a, DatasetKeys("system", ("donor",), "cell_type", None), "covariate_keys 'donor' is not a column"),
        (lambda a: a, DatasetKeys("system", (), "celltype", None), "label_key 'celltype' is not a column"),
        (lambda a: a[a.obs["system"] == "system_0"].copy(), KEYS, "single system"),
        (lambda a: a[(a.obs["system"] == "system_0") | (np.arange(a.n_obs) < 40)].copy(), KEYS, "fewer than min_cells_per_system=50 cells"),
        (lambda a: _with_x(a, lambda x: x.__setitem__((0, 0), np.nan)), KEYS, "NaN or infinite"),
        (lambda a: _with_x(a, lambda x: x.__setitem__((0, 0), np.inf)), KEYS, "NaN or infinite"),
        (lambda a: _with_x(a, lambda x: x.__setitem__((0, 0), -1)), KEYS, "negative values"),
        (lambda a: _with_x(a, lambda x: x.__setitem__((0, 0), 0.5)), KEYS, "non-integer values"),
    ],
)
def test_raw_dataset_checks(small_sim, make_bad, keys, message):
    with pytest.raises(DataError, match=message) as err:
        validate_raw(make_bad(small_sim), keys, where="datasets.mine")
    assert str(err.value).startswith("datasets.mine")


def test_duplicate_names_are_refused(small_sim):
    cells = small_sim.copy()
    cells.obs_names = ["same"] * 2 + list(cells.obs_names[2:])
    with pytest.raises(DataError, match="duplicate cell names"):
        validate_raw(cells, KEYS, where="d")
    genes = small_sim.copy()
    genes.var_names = ["g"] * 2 + list(genes.var_names[2:])
    with pytest.raises(DataError, match="duplicate gene names"):
        validate_raw(genes, KEYS, where="d")


def test_missing_corrupt_and_truncated_files_name_the_file(tmp_path, small_sim):
    with pytest.raises(DataError, match="does not exist"):
        read_user_h5ad(tmp_path / "absent.h5ad", where="datasets.x.source.path")
    text = tmp_path / "table.h5ad"
    text.write_text("cell,gene\n")
    with pytest.raises(DataError, match="not a readable AnnData"):
        read_user_h5ad(text, where="datasets.x.source.path")
    good = tmp_path / "good.h5ad"
    small_sim.write_h5ad(good)
    truncated = tmp_path / "truncated.h5ad"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated.h5ad"):
        read_user_h5ad(truncated, where="datasets.x.source.path")


def test_label_with_too_few_cells_is_refused(small_sim):
    adata = small_sim.copy()
    adata.obs["cell_type"] = adata.obs["cell_type"].cat.add_categories(["rare"])
    adata.obs.iloc[0, adata.obs.columns.get_loc("cell_type")] = "rare"
    with pytest.raises(DataError, match=r"label\(s\) \{'rare': 1\}"):
        preprocess(adata, KEYS, PreprocessParams(min_cells_per_gene=5, min_genes_per_cell=20), where="d")


def test_h5ad_with_wrong_key_fails_before_training_and_writes_nothing(tmp_path, small_sim, tiny_config):
    path = tmp_path / "mine.h5ad"
    small_sim.write_h5ad(path)
    before = path.read_bytes()
    tiny_config["datasets"] = {"mine": {"source": {"kind": "h5ad", "path": str(path)}, "system_key": "tech", "label_key": "cell_type"}}
    proc = run_snakemake(tmp_path, "--cores", "1", config=tiny_config)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "mine" / "prepare_dataset.log").read_text()
    assert "system_key 'tech' is not a column of obs" in log
    assert not (tmp_path / "resources" / "mine" / "raw.h5ad").exists()
    assert not (tmp_path / "results" / "mine" / "preprocessed.h5ad").exists()
    assert not (tmp_path / "results" / "mine" / "runs").exists()  # nothing trained or scored
    # the failure is on record, in the failure path's own file (results/datasets.tsv belongs to a rule)
    assert not (tmp_path / "results" / "datasets.tsv").exists()
    status = C.read_table(tmp_path / "results" / "partial" / "datasets.tsv", C.DATASETS)
    assert status[["dataset", "status"]].values.tolist() == [["mine", C.DATASET_FAILED]]
    assert "system_key 'tech' is not a column of obs" in status["reason"].item()
    assert path.read_bytes() == before  # input untouched


def test_missing_h5ad_is_refused_at_startup(tmp_path, tiny_config):
    tiny_config["datasets"] = {"mine": {"source": {"kind": "h5ad", "path": str(tmp_path / "nope.h5ad")}, "system_key": "s", "label_key": "l"}}
    proc = run_snakemake(tmp_path, "-n", config=tiny_config)
    assert proc.returncode != 0
    assert "datasets.mine.source.path" in proc.stderr + proc.stdout
