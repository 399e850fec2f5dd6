"""Preprocessing accounting (preprocess_report.tsv), unlabelled cells, and the data checks before training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sysvi_bench import contracts as C
from sysvi_bench.data import load_source
from sysvi_bench.data.validate import DataError
from sysvi_bench.config import DatasetKeys
from sysvi_bench.data.preprocess import PREPROCESS_REPORT_UNS, PreprocessParams, preprocess

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")
PARAMS = PreprocessParams(n_hvg=100, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=5)


def _with_labels(adata, labels):
    adata = adata.copy()
    adata.obs["cell_type"] = labels
    return adata


def test_report_rows_from_input_to_output_with_the_prepare_steps_first(tmp_path, small_sim):
    path = tmp_path / "sim.h5ad"
    small_sim.write_h5ad(path)
    raw = load_source("sim", {"source": {"kind": "h5ad", "path": str(path)}, "system_key": "system",
                              "label_key": "cell_type", "covariate_keys": ["sample"]}, tmp_path)
    out = preprocess(raw, KEYS, PARAMS, where="datasets.sim")
    report = out.uns[PREPROCESS_REPORT_UNS]
    assert list(report.columns) == C.PREPROCESS_REPORT_COLUMNS
    assert report["step"].iloc[0] == "input" and report["step"].iloc[-1] == "output"
    assert list(dict.fromkeys(report["step"])) == ["input", "counts", "prepared", "min_genes_per_cell",
                                                   "min_cells_per_gene", "hvg", "hvg_intersection", "output"]
    rows = report.set_index(["step", "system"])
    assert rows.loc[("output", "all"), "n_cells"] == out.n_obs and rows.loc[("output", "all"), "n_genes"] == out.n_vars
    assert rows.loc[("hvg_intersection", "all"), "n_genes"] == out.n_vars
    assert {s for s in report["system"]} == {"all", "system_0", "system_1"}
    # every removed gene is counted: QC removals add up
    genes = rows.loc[("prepared", "all"), "n_genes"] - rows.loc[("min_cells_per_gene", "all"), "n_genes"]
    assert f"removed {genes} genes" in rows.loc[("min_cells_per_gene", "all"), "note"]


def test_unlabelled_cells_are_kept_with_a_missing_label(small_sim):
    labels = small_sim.obs["cell_type"].astype(object).to_numpy().copy()
    labels[:30] = None
    labels[30:40] = ""
    labels[40:50] = "unknown"
    keys = DatasetKeys("system", ("sample",), "cell_type", "sample", unlabeled=("unknown",))
    out = preprocess(_with_labels(small_sim, labels), keys, PARAMS, where="d")
    kept = out.obs_names.isin(small_sim.obs_names[:50])
    assert out.obs[C.LABEL].isna().to_numpy()[kept].all()
    assert out.obs[C.LABEL].notna().sum() == out.n_obs - kept.sum()
    assert out.uns["preprocess"][C.N_UNLABELED_KEY] == kept.sum()
    assert "unknown" not in out.obs[C.LABEL].cat.categories
    output = out.uns[PREPROCESS_REPORT_UNS].set_index(["step", "system"]).loc[("output", "all"), "note"]
    assert f"{kept.sum()} unlabelled cells" in output


def test_rare_label_check_ignores_unlabelled_cells_and_too_few_labels_are_refused(small_sim):
    labels = pd.Series(small_sim.obs["cell_type"].astype(object).to_numpy(), dtype=object)
    labels[labels != "type_0"] = np.nan  # one label left
    with pytest.raises(DataError, match=r"too few labelled cells to score: \d+ labelled cells in 1 label\(s\)"):
        preprocess(_with_labels(small_sim, labels.to_numpy()), KEYS, PARAMS, where="d")
    labels = small_sim.obs["cell_type"].astype(object).to_numpy().copy()
    labels[0] = "rare"
    with pytest.raises(DataError, match=r"\{'rare': 1\}.*or list them under d.unlabeled"):
        preprocess(_with_labels(small_sim, labels), KEYS, PARAMS, where="d")


def test_labels_shared_by_no_two_systems_are_refused_with_the_labels_per_system(small_sim):
    labels = small_sim.obs["system"].astype(str) + "_" + small_sim.obs["cell_type"].astype(str)
    with pytest.raises(DataError, match=r"label_key 'cell_type': no label is shared by two systems.*'system_0': \['system_0_type_0'"):
        preprocess(_with_labels(small_sim, labels.to_numpy()), KEYS, PARAMS, where="d")


def test_qc_loss_above_max_is_noted_and_a_system_left_too_small_is_refused(small_sim):
    adata = small_sim.copy()
    x = adata.X.toarray()
    s1 = np.flatnonzero((adata.obs["system"] == "system_1").to_numpy())
    x[s1[: len(s1) // 2], 30:] = 0  # half of system_1's cells detect only 30 genes
    adata.X = sparse.csr_matrix(x)
    params = PreprocessParams(n_hvg=100, min_cells_per_gene=5, min_genes_per_cell=40, n_pcs=5)
    out = preprocess(adata, KEYS, params, where="d", min_cells_per_system=20)
    rows = out.uns[PREPROCESS_REPORT_UNS].set_index(["step", "system"])
    note = rows.loc[("min_genes_per_cell", "system_1"), "note"]
    assert f"removed {len(s1) // 2} of {len(s1)} cells" in note and "preprocess.max_qc_loss=0.2" in note
    assert "lower preprocess.min_genes_per_cell" in note
    assert rows.loc[("min_genes_per_cell", "system_0"), "note"] == ""
    with pytest.raises(DataError, match=rf"'system_1': {len(s1)} cells before QC, {len(s1) - len(s1) // 2} after.*"
                                        r"min_genes_per_cell \(now 40\) or d.min_cells_per_system"):
        preprocess(adata, KEYS, params, where="d", min_cells_per_system=len(s1) - 1)


def test_case_collisions_reach_the_report(small_sim):
    adata = small_sim.copy()
    adata.var_names = ["Ins1", "INS1"] + list(adata.var_names[2:])
    out = preprocess(adata, KEYS, PARAMS, where="d")
    rows = out.uns[PREPROCESS_REPORT_UNS].set_index("step")
    assert "collide after case folding" in rows.loc["gene_names", "note"]


def test_downstream_consumers_accept_unlabelled_cells(small_sim):
    from sysvi_bench.report.diagnostic import DiagnosticParams, pseudobulk, run_diagnostic
    from sysvi_bench.train.models import MODEL_SPECS
    from sysvi_bench.train.models.base import FitContext

    labels = small_sim.obs["cell_type"].astype(object).to_numpy().copy()
    labels[::5] = None
    out = preprocess(_with_labels(small_sim, labels), KEYS, PARAMS, where="d")
    _, meta = pseudobulk(out, 5)
    assert 0 < meta["n_cells"].sum() <= out.obs[C.LABEL].notna().sum()  # unlabelled cells are in no pseudobulk
    assert "nan" not in set(meta["cell_type"])
    diag = run_diagnostic(out, DiagnosticParams(min_cells=5))
    assert "nan" not in set(diag.per_cell_type["cell_type"])
    emb = MODEL_SPECS["celltype"].fitter(out, {"n_comps": 4, "noise": 0.0}, 0, FitContext(keys=KEYS)).embedding
    unlabelled = out.obs[C.LABEL].isna().to_numpy()
    assert np.all(emb[unlabelled] == 0) and np.all(np.abs(emb[~unlabelled]).sum(1) > 0)
