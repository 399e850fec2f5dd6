"""h5ad source options (layer, counts, gene_key) and per-system files joined over orthologs, on users' shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.data import load_source
from sysvi_bench.data.simulate import SimulationParams, simulate
from sysvi_bench.data.validate import DataError

N_GENES = 60


@pytest.fixture(scope="module")
def species():
    """Two simulated "species": human symbols upper case, mouse symbols capitalised, partly different genes."""
    sim = simulate(SimulationParams(n_cells=240, n_genes=N_GENES, n_cell_types=3, n_samples_per_system=2, seed=3))
    human = sim[sim.obs["system"] == "system_0"].copy()
    mouse = sim[sim.obs["system"] == "system_1"].copy()
    human.var_names = [f"GENE{i}" for i in range(N_GENES)]
    mouse.var_names = [f"Gene{i}" for i in range(N_GENES - 5)] + [f"Mouseonly{i}" for i in range(5)]
    for part in (human, mouse):
        part.obs = part.obs.drop(columns="system")
    return human, mouse


def _orthologs() -> pd.DataFrame:
    rows = [(f"GENE{i}", f"Gene{i}", "ortholog_one2one") for i in range(N_GENES)]
    rows += [("GENE0", "Gene0b", "ortholog_one2many"),  # GENE0 has two mouse orthologs: not one-to-one
             ("NOTMEASURED", "Notmeasured", "ortholog_one2one")]
    return pd.DataFrame(rows, columns=["human.gene.name", "gene.name", "type"])


def _per_system(tmp_path, human, mouse, *, orthologs=True, sep=",", **extra) -> dict:
    human.write_h5ad(tmp_path / "human.h5ad")
    mouse.write_h5ad(tmp_path / "mouse.h5ad")
    source = {"kind": "per_system", "system_files": {"human": str(tmp_path / "human.h5ad"),
                                                     "mouse": str(tmp_path / "mouse.h5ad")}, **extra}
    if orthologs:
        path = tmp_path / ("orthologs.tsv" if sep == "\t" else "orthologs.csv")
        _orthologs().to_csv(path, sep=sep, index=False)
        source["orthologs"] = {"path": str(path), "columns": {"human": "human.gene.name", "mouse": "gene.name"},
                               "keep": "human"}
    return {"source": source, "system_key": "species", "label_key": "cell_type", "covariate_keys": ["sample"],
            "min_cells_per_system": 20}


@pytest.mark.parametrize("sep", [",", "\t"])
def test_per_system_files_keep_strict_one_to_one_orthologs(tmp_path, species, sep):
    human, mouse = species
    adata = load_source("two", _per_system(tmp_path, human, mouse, sep=sep), tmp_path)
    # GENE0 (one-to-many), GENE55-59 (their mouse partners are not measured) and NOTMEASURED are gone
    assert list(adata.var_names) == [f"GENE{i}" for i in range(1, N_GENES - 5)]
    assert adata.obs["species"].value_counts().to_dict() == {"human": human.n_obs, "mouse": mouse.n_obs}
    assert list(adata.obs.columns)[0] == "species"
    np.testing.assert_array_equal(adata[mouse.obs_names, "GENE7"].X.toarray().ravel(),
                                  mouse[:, "Gene7"].X.toarray().ravel())
    report = adata.uns[C.SOURCE_REPORT_KEY]
    assert list(report.columns) == C.PREPROCESS_REPORT_COLUMNS
    orth = report[report["step"] == "orthologs"].set_index("system")
    assert orth.loc["mouse", "n_genes"] == N_GENES - 6
    assert "dropped 6 gene(s)" in orth.loc["mouse", "note"]
    assert "62 rows" in orth.loc["all", "note"] and "60 strict one-to-one" in orth.loc["all", "note"]
    assert report["step"].iloc[0] == "input" and report["step"].iloc[-1] == "prepared"


def test_per_system_without_orthologs_intersects_and_counts_the_dropped_genes(tmp_path, species):
    human, mouse = species
    mouse = mouse.copy()
    mouse.var_names = [f"GENE{i}" for i in range(N_GENES - 5)] + [f"Mouseonly{i}" for i in range(5)]
    adata = load_source("two", _per_system(tmp_path, human, mouse, orthologs=False), tmp_path)
    assert adata.n_vars == N_GENES - 5
    report = adata.uns[C.SOURCE_REPORT_KEY].set_index(["step", "system"])
    assert report.loc[("gene_intersection", "mouse"), "note"] == "dropped 5 gene(s) of this file"
    assert report.loc[("gene_intersection", "human"), "note"] == "dropped 5 gene(s) of this file"


def test_per_system_files_take_their_own_options_and_shared_cell_names_are_prefixed(tmp_path, species):
    human, mouse = species
    mouse = mouse.copy()
    mouse.layers["counts"] = mouse.X.copy()
    mouse.X = mouse.X.multiply(1 / (mouse.X.sum(1) + 1)).tocsr()  # normalised X, counts in a layer
    human, mouse = human.copy(), mouse.copy()
    for part in (human, mouse):  # 10x barcodes repeat across files
        part.obs_names = [f"AAACCTG-{i}" for i in range(part.n_obs)]
    cfg = _per_system(tmp_path, human, mouse)
    cfg["source"]["system_files"]["mouse"] = {"path": cfg["source"]["system_files"]["mouse"], "layer": "counts"}
    adata = load_source("two", cfg, tmp_path)
    assert adata.obs_names.is_unique
    assert adata.obs_names[0] == "human:AAACCTG-0" and adata.obs_names[-1].startswith("mouse:")
    assert "cell names prefixed" in adata.uns[C.SOURCE_REPORT_KEY]["note"].iloc[-4]


def test_system_key_list_is_combined_into_one_label(tmp_path, species):
    from sysvi_bench.data.validate import system_labels
    from sysvi_bench.config import dataset_keys

    human, mouse = species
    for part, tech in ((human, "10x"), (mouse, "smartseq")):
        part.obs["tech"] = pd.Categorical([tech] * part.n_obs)
    cfg = _per_system(tmp_path, human, mouse)
    cfg["system_key"] = ["species", "tech"]
    adata = load_source("two", cfg, tmp_path)
    labels = system_labels(adata.obs, dataset_keys(cfg))
    assert set(labels) == {"human+10x", "mouse+smartseq"}


def test_counts_in_a_layer_with_normalised_x(tmp_path, small_sim):
    adata = small_sim.copy()
    adata.layers["raw_counts"] = adata.X.copy()
    adata.X = sparse.csr_matrix(np.log1p(adata.X.toarray()))
    path = tmp_path / "atlas.h5ad"
    adata.write_h5ad(path)
    cfg = {"source": {"kind": "h5ad", "path": str(path)}, "system_key": "system", "label_key": "cell_type"}
    with pytest.raises(DataError, match=r"X has non-integer values.*layer\(s\) in this file: \['raw_counts'\].*counts: round"):
        load_source("atlas", cfg, tmp_path)
    cfg["source"]["layer"] = "raw_counts"
    out = load_source("atlas", cfg, tmp_path)
    assert abs(out.X - small_sim.X).max() == 0 and not out.layers
    cfg["source"]["layer"] = "spliced"
    with pytest.raises(DataError, match=r"layer 'spliced' is not in the file \(layers: \['raw_counts'\]\)"):
        load_source("atlas", cfg, tmp_path)


def test_non_integer_counts_are_rounded_and_the_fraction_recorded(tmp_path, small_sim):
    adata = small_sim.copy()
    x = adata.X.copy()
    x.data[::4] += 0.25  # a quarter of the stored values off by 0.25 (e.g. ambient-corrected counts)
    adata.X = x
    path = tmp_path / "soupx.h5ad"
    adata.write_h5ad(path)
    cfg = {"source": {"kind": "h5ad", "path": str(path), "counts": "round"}, "system_key": "system",
           "label_key": "cell_type"}
    out = load_source("soupx", cfg, tmp_path)
    assert abs(out.X - small_sim.X).max() == 0
    fraction = out.uns["count_rounding"]["all"]
    assert fraction == pytest.approx(np.ceil(x.nnz / 4) / x.nnz)
    note = out.uns[C.SOURCE_REPORT_KEY].set_index("step").loc["counts", "note"]
    assert f"{fraction:.2%} of the non-zero values changed" in note
    cfg["source"]["counts"] = "integer"
    with pytest.raises(DataError, match="non-integer values.*counts: round"):
        load_source("soupx", cfg, tmp_path)


def test_ensembl_var_names_with_a_symbol_column_and_odd_dtypes(tmp_path, small_sim):
    adata = small_sim.copy()
    symbols = [f"SYM{i}" for i in range(adata.n_vars)]
    symbols[1] = symbols[0]  # two Ensembl ids for one symbol: the more-counted one stays
    symbols[2] = None  # no symbol: dropped
    adata.var["symbol"] = symbols
    adata.var_names = [f"ENSG{i:011d}" for i in range(adata.n_vars)]
    adata.X = sparse.csr_matrix(adata.X.toarray().astype(np.int64))  # int64 counts
    adata.obs = adata.obs.astype({"system": object, "sample": object})  # object columns, label stays categorical
    path = tmp_path / "ensembl.h5ad"
    adata.write_h5ad(path)
    cfg = {"source": {"kind": "h5ad", "path": str(path), "gene_key": "symbol"}, "system_key": "system",
           "label_key": "cell_type", "covariate_keys": ["sample"]}
    out = load_source("ens", cfg, tmp_path)
    assert out.X.dtype == np.float32 and out.n_vars == adata.n_vars - 2
    assert "SYM0" in out.var_names and out.var_names.is_unique
    totals = np.asarray(adata.X[:, :2].sum(0)).ravel()
    assert out.var.loc["SYM0", "source_var_name"] == adata.var_names[int(np.argmax(totals))]
    note = out.uns[C.SOURCE_REPORT_KEY].set_index("step").loc["gene_key", "note"]
    assert "dropped 1 gene(s) without a name and 1 sharing a name" in note
    cfg["source"]["gene_key"] = "gene_symbols"
    with pytest.raises(DataError, match=r"gene_key 'gene_symbols' is not a column of var \(columns: \['system_shift'"):
        load_source("ens", cfg, tmp_path)


def test_case_folding_collisions_are_warned(tmp_path, small_sim, capsys):
    adata = small_sim.copy()
    adata.var_names = ["Ins1", "INS1"] + list(adata.var_names[2:])
    path = tmp_path / "mixed.h5ad"
    adata.write_h5ad(path)
    load_source("mixed", {"source": {"kind": "h5ad", "path": str(path)}, "system_key": "system",
                          "label_key": "cell_type"}, tmp_path)
    assert "1 gene name(s) collide after case folding, e.g. [['Ins1', 'INS1']]" in capsys.readouterr().out


def test_manual_source_takes_the_same_options(tmp_path, small_sim):
    adata = small_sim.copy()
    adata.layers["umis"] = adata.X.copy()
    adata.X = adata.X * 0.5
    path = tmp_path / "placed.h5ad"
    adata.write_h5ad(path)
    cfg = {"source": {"kind": "manual", "path": str(path), "instructions": "get it", "layer": "umis"},
           "system_key": "system", "label_key": "cell_type"}
    assert abs(load_source("placed", cfg, tmp_path).X - small_sim.X).max() == 0


# ---- inputs that used to pass or mislead (each refused with the file and field, or handled and counted)


def _h5ad_cfg(path, **source) -> dict:
    return {"source": {"kind": "h5ad", "path": str(path), **source}, "system_key": "system", "label_key": "cell_type",
            "covariate_keys": ["sample"], "min_cells_per_system": 20}


def test_a_file_with_zero_cells_says_so(tmp_path, species):
    human, mouse = species
    empty = human[:0].copy()
    with pytest.raises(DataError, match=r"system_files\.human \(.*human\.h5ad\): X has 0 cells"):
        load_source("two", _per_system(tmp_path, empty, mouse), tmp_path)


def test_genes_without_a_name_are_dropped_and_counted(tmp_path, small_sim):
    adata = small_sim.copy()
    adata.var_names = ["", "nan", "NaN"] + list(adata.var_names[3:])
    path = tmp_path / "unnamed.h5ad"
    adata.write_h5ad(path)
    raw = load_source("mine", _h5ad_cfg(path), tmp_path)
    assert raw.n_vars == small_sim.n_vars - 3 and not {"", "nan", "NaN"} & set(raw.var_names)
    report = raw.uns[C.SOURCE_REPORT_KEY]
    row = report[report["step"] == "gene_names"].iloc[0]
    assert row["n_genes"] == small_sim.n_vars - 3 and "dropped 3 gene(s)" in row["note"]


def _log_normalised(adata):
    import scanpy as sc

    out = adata.copy()
    out.raw = adata  # counts kept in adata.raw, as scanpy tutorials do
    sc.pp.normalize_total(out, target_sum=1e4)
    sc.pp.log1p(out)
    return out


def test_rounding_log_normalised_values_is_refused_naming_adata_raw(tmp_path, small_sim):
    path = tmp_path / "lognorm.h5ad"
    _log_normalised(small_sim).write_h5ad(path)
    with pytest.raises(DataError, match=r"source\.path: counts: round would change (9\d|100)% .* look normalised.*adata\.raw\.X "
                                        r"holds integer counts"):
        load_source("mine", _h5ad_cfg(path, counts="round"), tmp_path)


def test_counts_in_adata_raw_are_named_when_x_is_normalised(tmp_path, small_sim):
    path = tmp_path / "lognorm.h5ad"
    _log_normalised(small_sim).write_h5ad(path)
    with pytest.raises(DataError, match=r"X has non-integer values.*adata\.raw\.X holds integer counts \(400 genes\)"):
        load_source("mine", _h5ad_cfg(path), tmp_path)


def test_a_per_system_file_without_the_label_column_is_named(tmp_path, species):
    human, mouse = species
    mouse = mouse.copy()
    mouse.obs = mouse.obs.drop(columns="cell_type")
    with pytest.raises(DataError, match=r"system_files\.mouse \(.*mouse\.h5ad\): obs has no column label_key 'cell_type'"):
        load_source("two", _per_system(tmp_path, human, mouse), tmp_path)


def test_labels_that_differ_only_by_case_or_spaces_across_systems_are_warned(capsys, small_sim):
    from sysvi_bench.config import DatasetKeys
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess

    adata = small_sim.copy()
    labels = adata.obs["cell_type"].astype(str)
    other = (adata.obs["system"] == "system_1").to_numpy()
    labels[other] = labels[other].str.upper() + " "  # "type_0" in one system, "TYPE_0 " in the other
    adata.obs["cell_type"] = labels.to_numpy()
    # a shared label remains, so the data are scorable; the near-duplicates are warned about
    adata.obs.loc[adata.obs_names[other][:30], "cell_type"] = labels[~other].iloc[0]
    out = preprocess(adata, DatasetKeys("system", ("sample",), "cell_type", "sample"),
                     PreprocessParams(min_cells_per_gene=5, min_genes_per_cell=20, n_hvg=200, min_cells_per_label=5),
                     where="datasets.mine")
    assert "differ across systems only by case or spaces" in capsys.readouterr().out
    report = out.uns["preprocess_report"]
    assert report.loc[report["step"] == "label_names", "note"].str.contains("only by case or spaces").all()
