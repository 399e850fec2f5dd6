"""config/paper.yaml plans the whole study; manual sources explain what to place where."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT, load_yaml, local_env
from sysvi_bench.data import load_source
from sysvi_bench.data.validate import DataError
from sysvi_bench.train.plan import expand_runs

PAPER = ROOT / "config" / "paper.yaml"


def test_paper_config_expands_to_the_papers_grids(validated):
    config = validated(load_yaml(PAPER))
    runs = expand_runs(config)
    # sweeps x 3 seeds, Harmony's 5 thetas x 3 seeds, then the PCA (unseeded) and the two seeded controls
    # (sysvi_cyc: its 4 cycle weights at one-hot and at embedded covariates)
    per_dataset = 4 * 3 + 6 * 3 + 4 * 3 + 4 * 3 + 8 * 3 + 4 * 3 + 5 * 3 + 1 + 3 + 3
    assert len(config["datasets"]) == 4
    assert len(runs) == 4 * per_dataset == 448
    npc = sorted({r.params["n_prior_components"] for r in runs if r.model == "vamp_npc"})
    assert npc == [1, 2, 5, 10, 100, 5000]
    cyc = sorted({r.params["z_distance_cycle_weight"] for r in runs if r.model == "sysvi_cyc"})
    assert cyc == [2, 5, 10, 50]
    cyc_embed = {(r.params["z_distance_cycle_weight"], r.params["embed_categorical_covariates"])
                 for r in runs if r.model == "sysvi_cyc"}
    assert cyc_embed == {(c, e) for c in (2, 5, 10, 50) for e in (False, True)}
    assert not any(r.params["embed_categorical_covariates"] for r in runs if r.kind == "sysvi" and r.model != "sysvi_cyc")
    assert sorted({r.params["kl_weight"] for r in runs if r.model == "scvi"}) == [0.5, 1, 1.5, 2]
    assert sorted({r.params["theta"] for r in runs if r.model == "harmony"}) == [0.1, 1, 5, 10, 100]
    scvi = {(r.params["n_hidden"], r.params["n_layers"], r.params["n_epochs_kl_warmup"], r.params["n_steps_kl_warmup"])
            for r in runs if r.model == "scvi"}
    assert scvi == {(256, 2, None, 1600)}  # the paper's scvi_kl_anneal: 1,600 warm-up steps, no epoch warm-up
    assert {r.seed for r in runs if r.kind in ("sysvi", "scvi", "harmony")} == {1, 2, 3}
    for model in ("sysvi_kl", "scvi"):
        epochs = {r.dataset: r.params["max_epochs"] for r in runs if r.model == model}
        assert epochs == {"pancreas_mouse_human": 20, "retina_organoid_tissue": 100, "adipose_cells_nuclei": 110,
                          "skin_mouse_human": 50}
    evaluation = config["evaluation"]
    assert evaluation["subsample"] == 100_000
    assert (evaluation["moran_min_cells"], evaluation["moran_pool_small"]) == (500, False)
    assert (evaluation["selection_scaling"], evaluation["best_by"]) == ("within_model", "selection_score")
    assert evaluation["leiden_graph"] == "both_directions"


def test_paper_config_dry_run_plans_every_job():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(PAPER)], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=local_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the planned jobs are the expanded grid (checked above); rule names belong to the workflow
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, flags=re.M))
    assert int(counts["total"]) > 400
    assert counts["score"] == counts["train"]  # every run is scored by a job of its own
    assert counts["prepare_dataset"] == counts["preprocess"] == counts["evaluation_reference"] == "4"


def test_manual_source_says_what_to_place_where(tmp_path):
    cfg = load_yaml(PAPER)["datasets"]["adipose_cells_nuclei"]
    cfg["source"]["path"] = str(tmp_path / "absent.h5ad")
    with pytest.raises(DataError, match=r"absent.h5ad' is missing\. Emont et al\. 2022.*SCP1376"):
        load_source("adipose_cells_nuclei", cfg, tmp_path)
