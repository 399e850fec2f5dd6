"""Training length: convergence of plateau / early-stopped / 1-epoch runs, scores at checkpoints, the
recommendation's warning, and the tiny workflow's checkpoint outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.aggregate.selection import add_setting_values, best_settings, recommendation, summarize
from sysvi_bench.aggregate.convergence import run_convergence
from sysvi_bench.aggregate.training_length import (
    add_training_columns, previous_best, scores_by_epoch, stage_metrics, stage_summaries,
)

EVALUATION = {"summary_variant": "raw", "bio_weight": 0.6, "selection_scaling": "across_runs", "best_by": "total"}


def history(loss) -> pd.DataFrame:
    return pd.DataFrame({"epoch": np.arange(len(loss)), "train_loss_epoch": loss})


def test_plateau_converges_and_one_epoch_or_still_falling_does_not():
    plateau = history(400.0 + 100.0 * np.exp(-np.arange(200) / 10.0))
    assert run_convergence(plateau) [1] is True
    one_epoch = history([500.0])
    change, converged = run_convergence(one_epoch, stopped_early=False)
    assert np.isnan(change) and converged is False  # a trained model with one epoch: not converged (not NA)
    falling = history(500.0 - 2.0 * np.arange(50))
    assert run_convergence(falling)[1] is False
    # early stopping ended it: the validation loss did not improve for `patience` epochs -> converged
    assert run_convergence(falling, stopped_early=True)[1] is True
    assert run_convergence(None) == (pytest.approx(np.nan, nan_ok=True), None)
    # the aggregate step passes run_info's stopped_early per run
    from sysvi_bench.aggregate.convergence import convergence_table

    table = convergence_table({("d", "a"): falling, ("d", "b"): falling}, stopped_early={("d", "b"): True})
    assert table["converged"].tolist() == [False, True]


def test_real_runs_early_stopped_converge_and_a_one_epoch_run_does_not(small_sim):
    from sysvi_bench.config import DatasetKeys
    from sysvi_bench.train.models import MODEL_SPECS
    from sysvi_bench.train.models.base import FitContext
    from sysvi_bench.train.models import resolve_params
    from sysvi_bench.data.preprocess import PreprocessParams, preprocess

    keys = DatasetKeys("system", ("sample",), "cell_type", "sample")
    pre = preprocess(small_sim, keys, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10), where="t")
    fit = MODEL_SPECS["sysvi"].fitter
    context = FitContext(keys=keys, accelerator="cpu")
    stopped = fit(pre, resolve_params("sysvi", {"n_hidden": 32, "n_latent": 4, "early_stopping": True,
                                                "early_stopping_patience": 2, "max_epochs": 200, "lr": 0.02}, where="t"),
                  0, context)
    assert stopped.record["stopped_early"]
    assert run_convergence(stopped.history, stopped_early=stopped.record["stopped_early"])[1] is True
    one = fit(pre, resolve_params("sysvi", {"n_hidden": 32, "n_latent": 4, "early_stopping": True, "max_epochs": 1},
                                  where="t"), 0, context)
    assert len(one.history) == 1 and not one.record["stopped_early"]
    assert run_convergence(one.history, stopped_early=one.record["stopped_early"])[1] is False


def by_epoch_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two models x two settings; at the checkpoint (epoch 50) setting a leads, at the end (100) setting b."""
    values = {  # run -> {epoch: (ilisi, nmi)}
        "m__s=a__seed=0": {50: (0.6, 0.6), 100: (0.5, 0.5)},
        "m__s=b__seed=0": {50: (0.3, 0.3), 100: (0.9, 0.9)},
        "pca__seed=0": {0: (0.1, 0.4)},
    }
    rows = []
    for run_id, epochs in values.items():
        model = run_id.split("__")[0]
        for epoch, (batch, bio) in epochs.items():
            for metric, typ, value in (("ilisi", "batch", batch), ("nmi", "bio", bio)):
                rows.append({"epoch": epoch, "dataset": "d", "run_id": run_id, "model": model, "kind": model,
                             "seed": 0, "metric": metric, "type": typ, "embedding_variant": "raw", "value": value,
                             "higher_is_better": True, "reason": ""})
    table = pd.DataFrame(rows)[C.METRICS_BY_EPOCH.columns]
    runs = pd.DataFrame([{"dataset": "d", "run_id": r, "model": r.split("__")[0], "kind": r.split("__")[0], "control": False,
                          "seed": 0, "status": C.STATUS_OK, "setting": r.rsplit("__seed=", 1)[0]} for r in values])
    return table, runs


def test_scores_at_each_checkpoint_and_whether_the_best_was_best_before():
    by_epoch, runs = by_epoch_table()
    final, epochs = stage_metrics(by_epoch, 0)
    assert epochs.to_dict() == {("d", "m__s=a__seed=0"): 100, ("d", "m__s=b__seed=0"): 100, ("d", "pca__seed=0"): 0}
    scores = scores_by_epoch(stage_summaries(by_epoch, runs, EVALUATION))
    # stage 0 is exactly the summary's total
    summary = summarize(final, runs)
    merged = scores[scores["stage"] == 0].merge(summary[["run_id", "total"]], on="run_id")
    np.testing.assert_allclose(merged["total_x"], merged["total_y"])
    assert scores.loc[scores["stage"] == 1, "epoch"].tolist() == [50, 50, 0]
    summary["converged"] = pd.array([True, False, pd.NA], dtype="boolean")
    best = add_training_columns(best_settings(summary, EVALUATION["best_by"]), summary, previous_best(stage_summaries(by_epoch, runs, EVALUATION), EVALUATION["best_by"]))
    m = best.set_index("model").loc["m"]
    assert m["setting"] == "m__s=b" and m["best_at_previous_checkpoint"] == False  # noqa: E712 (a led at epoch 50)
    assert m["converged"] == False and pd.isna(best.set_index("model").loc["pca", "converged"])  # noqa: E712
    assert m["setting_at_previous_checkpoint"] == "m__s=a" and m["rank_at_previous_checkpoint"] == 1
    pca = best.set_index("model").loc["pca"]  # no checkpoints: unknown, not "the same as before"
    assert pd.isna(pca["best_at_previous_checkpoint"]) and pd.isna(pca["rank_at_previous_checkpoint"])
    text = recommendation(best, "d")
    assert text.startswith("On d: Model: no safe choice yet (its runs did not converge (summary.tsv: converged)); "
                           "provisionally m: total")
    assert "a toss-up: m__s=b and m__s=a are" in text and "changed order between the last two checkpoints" in text


def test_a_converged_stable_winner_is_recommended_flatly():
    by_epoch, runs = by_epoch_table()
    by_epoch = by_epoch[by_epoch["epoch"] != 50]  # no checkpoints: nothing to compare
    summary = summarize(stage_metrics(by_epoch, 0)[0], runs)
    summary["converged"] = pd.array([True, True, pd.NA], dtype="boolean")
    best = add_training_columns(best_settings(summary, EVALUATION["best_by"]), summary, previous_best(stage_summaries(by_epoch, runs, EVALUATION), EVALUATION["best_by"]))
    assert best["best_at_previous_checkpoint"].isna().all()
    assert recommendation(best, "d").startswith("On d: Model: m is the best: total")


def test_a_model_with_one_setting_read_back_has_no_runner_up_clause(tmp_path):
    by_epoch, runs = by_epoch_table()
    keep = ~by_epoch["run_id"].str.startswith("m__s=a")
    summary = summarize(stage_metrics(by_epoch[keep], 0)[0], runs[runs["run_id"] != "m__s=a__seed=0"])
    best = add_setting_values(add_training_columns(best_settings(summary, EVALUATION["best_by"]), summary, None), summary)
    C.write_table(best, tmp_path / "best.tsv", C.BEST_SETTINGS)
    text = recommendation(C.read_table(tmp_path / "best.tsv", C.BEST_SETTINGS), "d")
    assert "Setting: its only one (m__s=b)." in text and "nan" not in text, text


def test_the_final_rows_sit_at_the_kept_state_and_later_checkpoints_are_not_scored(tiny_run):
    """With early stopping the final embedding is the state of ``best_epoch``: metrics_by_epoch's last epoch is
    that epoch, and a checkpoint at or after it (a state trained past, not kept) is not scored."""
    from sysvi_bench.grid import Run
    from sysvi_bench.score.by_epoch import score_by_epoch
    from sysvi_bench.score.suite import reference_from_adata

    results = tiny_run / "results" / "sim"
    run_dir = results / "runs" / "sysvi__prior=vamp__seed=0"
    info = json.loads((run_dir / "run_info.json").read_text())
    reference = reference_from_adata(C.read_h5ad_checked(results / "evaluation_reference.h5ad", C.REFERENCE))
    evaluation = json.loads((results / "metrics_info.json").read_text())["evaluation"]
    run = Run(dataset="sim", model="sysvi", kind="sysvi", seed=0, run_id="sysvi__prior=vamp__seed=0",
              setting="sysvi__prior=vamp", params={}, grid_values={"prior": "vamp"})
    scored = {}
    for best_epoch in (3, 2, None):  # no early stopping; the best state at the checkpoint's epoch; absent
        final, by_epoch = score_by_epoch(run, {**info, "best_epoch": best_epoch}, run_dir / "embedding.h5ad",
                                         reference, evaluation)
        scored[best_epoch] = sorted(by_epoch["epoch"].unique())
        last = by_epoch[by_epoch["epoch"] == by_epoch["epoch"].max()].drop(columns="epoch")
        pd.testing.assert_frame_equal(last.reset_index(drop=True), final)
    assert scored == {3: [2, 3], 2: [2], None: [2, 3]}


def test_the_tiny_workflow_scores_its_checkpoints(tiny_run):
    results = tiny_run / "results" / "sim"
    run_dir = results / "runs" / "sysvi__prior=vamp__seed=0"
    info = json.loads((run_dir / "run_info.json").read_text())
    assert (info["n_epochs"], info["max_epochs"], info["stopped_early"]) == (3, 3, False)
    assert info["kl_warmup_complete"] is True  # SysVI: no warm-up
    by_epoch = C.read_table(run_dir / "metrics_by_epoch.tsv", C.METRICS_BY_EPOCH)
    assert sorted(by_epoch["epoch"].unique()) == [2, 3]  # checkpoints: [0.5] of 3 epochs, and the final one
    metrics = C.read_table(run_dir / "metrics.tsv", C.METRICS)
    last = by_epoch[by_epoch["epoch"] == 3].drop(columns="epoch").reset_index(drop=True)
    pd.testing.assert_frame_equal(last, metrics)  # exactly metrics.tsv
    assert not by_epoch[by_epoch["epoch"] == 2]["value"].equals(last["value"])
    pca = C.read_table(results / "runs" / "unintegrated__seed=0" / "metrics_by_epoch.tsv", C.METRICS_BY_EPOCH) \
        if (results / "runs" / "unintegrated__seed=0").exists() else None
    if pca is not None:
        assert set(pca["epoch"]) == {0}
    best = C.read_table(results / "best_settings.tsv", C.BEST_SETTINGS).set_index("model")
    assert best.loc["sysvi", "setting_at_previous_checkpoint"].startswith("sysvi__prior=")
    assert best.loc["sysvi", "setting_values"] in ('{"prior": "standard_normal"}', '{"prior": "vamp"}')
    assert pd.isna(best.loc["unintegrated", "best_at_previous_checkpoint"])  # PCA has no checkpoints
    # every embedding variant's ranking (the default: raw and standardized), the summary's first
    ranking = C.read_table(results / "ranking_by_variant.tsv", C.RANKING_BY_VARIANT)
    assert list(dict.fromkeys(ranking["embedding_variant"])) == ["raw", "standardized"]
    assert set(ranking["model"]) == {"sysvi", "unintegrated"}
    scores = C.read_table(results / "scores_by_epoch.tsv", C.SCORES_BY_EPOCH)
    assert set(scores["stage"]) == {0, 1}
    assert (tiny_run / "results" / "figures" / "sim" / "training_length.png").stat().st_size > 0
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert {"max_epochs", "stopped_early", "kl_weight_reached"} <= set(summary.columns)
