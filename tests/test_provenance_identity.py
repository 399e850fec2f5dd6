"""Run identity from the manifest (long ids), canonical params, evaluation vs aggregation settings, provenance
and column collisions: the pieces that make results follow their inputs (workflow-level checks:
tests/test_reruns.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import summarize
from sysvi_bench.aggregate.tables import chain_status, dataset_chain, run_table
from sysvi_bench.config import ConfigError, DatasetKeys, aggregation_keys, aggregation_settings, scoring_settings
from sysvi_bench.config_check import check_config
from sysvi_bench.grid import MAX_RUN_ID_LENGTH, Run
from sysvi_bench.train.plan import expand_runs, manifest_table
from sysvi_bench.data.preprocess import PreprocessParams, keep_user_columns, preprocess
from sysvi_bench.provenance import LIBRARIES, version_mix, versions

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")


LONG_MODEL = "a_model_entry_with_a_deliberately_long_name_to_make_ids_of_130_chars"


def long_config(tiny_config: dict) -> dict:
    tiny_config["seeds"] = [0, 1, 2]
    tiny_config["models"] = {LONG_MODEL: {
        "kind": "sysvi", "grid": {"prior": ["standard_normal", "vamp"], "n_hidden": [32],
                                  "n_prior_components": [5], "embed_categorical_covariates": [False]},
        "params": {"max_epochs": 1}}}
    return tiny_config


def test_a_long_id_keeps_its_seeds_in_one_setting(tiny_config, validated):
    config = validated(long_config(tiny_config))
    runs = expand_runs(config)
    full = f"{LONG_MODEL}__prior=standard_normal__n_hidden=32__npc=5__embed=false__seed=0"
    assert len(full) >= 130  # the id has to be shortened (hashed)
    assert all(len(r.run_id) <= MAX_RUN_ID_LENGTH for r in runs) and full not in {r.run_id for r in runs}
    manifest = manifest_table(runs, config)
    assert manifest["setting"].nunique() == 2 and manifest["run_id"].nunique() == 6
    assert manifest["run_id"].str.endswith(tuple(f"__seed={s}" for s in (0, 1, 2))).all()
    # the setting is carried by the manifest, never parsed back from the id
    assert {r.setting for r in runs} == set(manifest["setting"])
    infos = [{"status": C.STATUS_OK, "reason": "", "wall_time_s": 1.0, "peak_memory_mb": 1.0, "device": "cpu",
              "n_epochs": 1} for _ in runs]
    table = run_table(manifest, infos)
    metrics = pd.DataFrame([{"dataset": r.dataset, "run_id": r.run_id, "model": r.model, "kind": r.kind,
                             "seed": r.seed, "metric": m, "type": t, "embedding_variant": "raw",
                             "value": float(np.random.default_rng(i).random()), "higher_is_better": True, "reason": ""}
                            for i, r in enumerate(runs) for m, t in (("nmi_leiden", "bio"), ("ilisi_system", "batch"))])
    summary = summarize(metrics, table)
    assert summary["setting"].nunique() == 2
    assert (summary["n_seeds"] == 3).all()


def test_run_json_round_trip_is_canonical(tiny_config, validated):
    run = expand_runs(validated(tiny_config))[0]
    text = run.to_json()
    assert Run.from_json(text) == run and Run.from_json(text).params == run.params
    reordered = Run(**{k: v for k, v in reversed(list(json.loads(text).items()))})
    assert reordered.to_json() == text  # key order never changes the text Snakemake compares
    keys = DatasetKeys(("species", "tech"), ("donor",), "cell_type", "donor", ("unknown",))
    assert DatasetKeys.from_json(keys.to_json()) == keys


def test_aggregation_settings_are_marked_in_the_schema_and_kept_apart():
    assert aggregation_keys() == {"bio_weight", "best_by", "selection_scaling", "convergence_tolerance",
                                  "summary_variant"}
    evaluation = {"bio_weight": 0.5, "n_neighbors": 30}
    scoring, aggregation = scoring_settings(evaluation), aggregation_settings(evaluation)
    assert not set(scoring) & set(aggregation)
    assert scoring["n_neighbors"] == 30 and "bio_weight" not in scoring
    assert aggregation["bio_weight"] == 0.5 and aggregation["best_by"] == "selection_score"  # defaults filled in


def test_versions_name_the_pipeline_and_every_library():
    record = versions()
    assert set(record) == {"sysvi-bench", *LIBRARIES}
    assert record["torch"].startswith("2.") and record["scvi-tools"] == "1.4.2"
    summary = pd.DataFrame({"run_id": ["a", "b", "c"], "train_versions": ["x=1", "x=1", "x=2"],
                            "score_versions": ["y=1"] * 3})
    (note,) = version_mix(summary, {"train_versions": "trained", "score_versions": "scored"})
    assert "trained by 2 different versions" in note and "x=2" in note
    assert version_mix(summary.assign(train_versions="x=1"), {"train_versions": "trained"}) == []


@pytest.mark.parametrize("change, field", [
    ({"system_key": "species", "covariate_keys": ["system"]}, "covariate_keys"),  # e.g. the sequencer
    ({"system_key": "species", "label_key": "system"}, "label_key"),
    ({"covariate_keys": ["cell_type"], "label_key": "celltype_fine"}, "covariate_keys"),
    ({"covariate_keys": [C.SAMPLE]}, "covariate_keys"),
    ({"label_key": "n_genes"}, "label_key"),
])
def test_a_configured_key_that_collides_with_a_pipeline_column_is_refused(tiny_config, validated, change, field):
    tiny_config["datasets"]["sim"].update(change)
    with pytest.raises(ConfigError, match=rf"datasets\.sim\.{field}: obs column .* the pipeline writes"):
        check_config(validated(tiny_config))


def test_an_unconfigured_user_column_with_a_pipeline_name_is_kept(small_sim):
    adata = small_sim.copy()
    adata.obs["cell_type_fine"] = adata.obs["cell_type"].astype(str)
    adata.obs["cell_type"] = "lumped"  # the user's coarse column: not the configured label
    adata.obs[C.SAMPLE] = "mine"
    keys = DatasetKeys("system", ("sample",), "cell_type_fine", "sample")
    out = preprocess(adata, keys, PreprocessParams(min_cells_per_gene=5, min_genes_per_cell=20, n_hvg=200), where="d")
    assert (out.obs["user_cell_type"] == "lumped").all() and (out.obs["user_system_sample"] == "mine").all()
    assert set(out.obs[C.LABEL].dropna()) == set(adata.obs["cell_type_fine"])
    # the covariate is the user's own column, untouched; the pipeline's sample is the sample within its system
    assert out.obs["sample"].astype(str).equals(adata.obs.loc[out.obs_names, "sample"].astype(str))
    assert (out.obs[C.SAMPLE].astype(str) == out.obs["system"].astype(str) + ":" + out.obs["sample"].astype(str)).all()
    report = out.uns["preprocess_report"]
    assert report["note"].str.contains("'cell_type' kept as 'user_cell_type'").any()
    assert keep_user_columns(small_sim.copy(), KEYS) == {}  # the configured system/label columns are not renamed


def test_dataset_status_comes_from_its_own_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chain = dataset_chain("d", ["r1"])
    assert "is missing" in chain_status(chain) and "prepare_dataset.log" in chain_status(chain)
    for path, _ in chain:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert chain_status(chain) == ""
    figure_log = tmp_path / "logs" / "d" / "figures" / "umap_best_runs.log"
    figure_log.parent.mkdir(parents=True)
    figure_log.write_text("Traceback (most recent call last):\nValueError: a figure failed\n")
    assert chain_status(chain) == ""  # a failed figure job does not make the dataset failed
    (tmp_path / "results" / "d" / "runs" / "r1" / "metrics.tsv").unlink()
    assert chain_status(chain).startswith("results/d/runs/r1/metrics.tsv is missing")
