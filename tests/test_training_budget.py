"""Training length: max_epochs auto, early stopping (SysVI and scVI), scVI's KL warm-up, embedding checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.train.checkpoints import checkpoint_epochs
from sysvi_bench.config import ConfigError, DatasetKeys
from sysvi_bench.train.models import MODEL_SPECS
from sysvi_bench.train.models.base import FitContext
from sysvi_bench.train.models import resolve_params
from sysvi_bench.data.preprocess import PreprocessParams, preprocess
from sysvi_bench.train.budget import AUTO_CAP, AUTO_FLOOR, AUTO_MIN_STEPS, resolve_max_epochs, steps_per_epoch

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")
SMALL = {"n_hidden": 32, "n_latent": 4}


@pytest.fixture(scope="module")
def pre(small_sim):
    return preprocess(small_sim, KEYS, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10), where="t")


def _fit(kind, pre, seed=0, checkpoints=(), **given):
    params = resolve_params(kind, {**SMALL, **given}, where="t")
    return MODEL_SPECS[kind].fitter(pre, params, seed, FitContext(keys=KEYS, accelerator="cpu", checkpoints=checkpoints))


@pytest.mark.parametrize("n_cells, epochs", [
    (600, 4000), (4_028, 690), (7_200, AUTO_CAP), (20_000, 400), (40_000, 200), (98_000, 82), (455_000, 18), (2_000_000, AUTO_FLOOR)])
def test_auto_epochs_follow_the_documented_rule(n_cells, epochs):
    assert resolve_max_epochs("auto", n_cells) == epochs
    assert resolve_max_epochs(7, n_cells) == 7  # an explicit max_epochs wins


def test_auto_gives_small_data_the_step_floor_and_leaves_big_data_alone():
    from sysvi_bench.train.budget import auto_epochs

    for n in (50, 500, 1_000, 1_200, 4_100, 6_900):  # 400 epochs are fewer steps than the floor here
        epochs = resolve_max_epochs("auto", n)
        assert epochs > AUTO_CAP and epochs * steps_per_epoch(n) >= AUTO_MIN_STEPS
        assert (epochs - 1) * steps_per_epoch(n) < AUTO_MIN_STEPS  # and not more than needed
    # the floor follows the run's batch size and split: 500 cells, batch 64, all cells: 8 steps per epoch
    assert steps_per_epoch(500, 64, 1.0) == 8 and resolve_max_epochs("auto", 500, 64, 1.0) == AUTO_MIN_STEPS // 8
    for n in (7_200, 20_000, 98_000, 455_000, 2_000_000):  # scvi-tools' rule already gives enough steps
        assert auto_epochs(n) == max(AUTO_FLOOR, min(round(20_000 / n * 400), 400))


def test_the_light_rule_equals_scvi_tools_and_sizes_the_job(pre, tmp_path):
    from sysvi_bench.train.budget import auto_epochs, h5ad_n_obs, max_epochs_upper_bound

    for n in (1, 600, 1_200, 7_111, 19_999, 20_000, 20_001, 33_333, 98_000, 455_000, 799_999, 800_001, 5_000_000):
        assert auto_epochs(n) == resolve_max_epochs("auto", n)
    pre.write_h5ad(tmp_path / "pre.h5ad")
    assert h5ad_n_obs(str(tmp_path / "pre.h5ad")) == pre.n_obs and h5ad_n_obs(str(tmp_path / "none")) is None
    assert max_epochs_upper_bound("auto", 100_000) == 80 and max_epochs_upper_bound("auto") == AUTO_CAP
    assert max_epochs_upper_bound(30, 100_000) == 30


def test_auto_is_the_default_and_reaches_the_trainer(pre):
    from sysvi_bench.train.models.sysvi import train_kwargs

    for kind in ("sysvi", "scvi"):
        assert resolve_params(kind, {}, where="t")["max_epochs"] == "auto"
    assert train_kwargs(resolve_params("sysvi", {}, where="t"), "cpu", pre.n_obs)["max_epochs"] == resolve_max_epochs(
        "auto", pre.n_obs) > AUTO_CAP
    with pytest.raises(ConfigError, match=r"models\.m\.max_epochs: 'often' is out of range"):
        resolve_params("sysvi", {"max_epochs": "often"}, where="models.m")


@pytest.mark.parametrize("kind", ["sysvi", "scvi"])
def test_early_stopping_stops_and_records_its_epoch(kind, pre):
    result = _fit(kind, pre, early_stopping=True, early_stopping_patience=1, max_epochs=60, lr=0.05)
    n = len(result.history)
    assert result.record["stopped_early"] and 1 < n < 60
    assert result.record["max_epochs"] == 60
    assert "validation_loss" in result.history.columns and result.history["validation_loss"].notna().all()


def test_early_stopping_keeps_the_best_state(pre):
    # a high learning rate: the validation ELBO is best early and worse after it (a few epochs in all)
    given = dict(early_stopping=True, early_stopping_patience=3, max_epochs=40, lr=0.05)
    long = _fit("sysvi", pre, **given)
    n, best = len(long.history), long.record["best_epoch"]
    assert long.record["stopped_early"] and best == n - 3
    assert best == int(np.argmin(long.history["elbo_validation"].to_numpy(dtype=float))) + 1
    # the embedding is the state at best_epoch: the same training cut there (its last epoch is its best)
    short = _fit("sysvi", pre, **{**given, "max_epochs": best})
    assert short.record["best_epoch"] == len(short.history) == best
    np.testing.assert_allclose(long.embedding, short.embedding, rtol=0, atol=1e-5)
    # and not the last epoch's (the same training, validated every epoch, without early stopping)
    last = _fit("sysvi", pre, **{**given, "early_stopping": False, "check_val_every_n_epoch": 1, "max_epochs": n})
    assert last.record["best_epoch"] == n
    np.testing.assert_allclose(last.history["elbo_validation"].to_numpy(dtype=float),
                               long.history["elbo_validation"].to_numpy(dtype=float), rtol=1e-5)
    assert not np.allclose(long.embedding, last.embedding, atol=1e-3)


def test_early_stopping_without_a_validation_split_is_refused():
    for kind in ("sysvi", "scvi"):
        with pytest.raises(ConfigError, match=r"models\.m\.early_stopping: .* train_size is 1"):
            resolve_params(kind, {"early_stopping": True, "train_size": 1}, where="models.m")


def test_same_seed_same_validation_split(pre):
    from sysvi_bench.train.models.scvi import build_scvi
    from sysvi_bench.train.budget import trainer_kwargs

    def split(seed):
        params = resolve_params("scvi", {**SMALL, "max_epochs": 1, "early_stopping": True}, where="t")
        model, _ = build_scvi(pre, params, seed, FitContext(keys=KEYS, accelerator="cpu"))
        model.train(**trainer_kwargs(params, pre.n_obs), accelerator="cpu", enable_progress_bar=False)
        return np.sort(model.validation_indices)

    assert np.array_equal(split(3), split(3)) and not np.array_equal(split(3), split(4))


def test_step_warmup_reaches_the_plan_and_its_maximum(pre):
    # 600 cells x 0.9 / batch 128 = 5 steps per epoch; scvi-tools logs kl_weight every 10 steps (9, 19, ...)
    result = _fit("scvi", pre, max_epochs=10, kl_weight=0.5, n_steps_kl_warmup=30)
    kl = result.history["kl_weight"].dropna().to_numpy(dtype=float)
    np.testing.assert_allclose(kl, [0.5 * 9 / 30, 0.5 * 19 / 30, 0.5 * 29 / 30, 0.5, 0.5], rtol=1e-6)
    assert result.record["kl_weight_reached"] == pytest.approx(0.5) and result.record["kl_warmup_complete"]
    short = _fit("scvi", pre, max_epochs=2, kl_weight=0.5, n_steps_kl_warmup=1000)
    assert short.record["kl_weight_reached"] == pytest.approx(0.5 * 9 / 1000)  # the weight of its last (10th) step
    assert not short.record["kl_warmup_complete"]


def test_kl_warmup_exactly_one():
    with pytest.raises(ConfigError, match=r"models\.s: n_epochs_kl_warmup \(5\) and n_steps_kl_warmup \(100\)"):
        resolve_params("scvi", {"n_epochs_kl_warmup": 5, "n_steps_kl_warmup": 100}, where="models.s")
    # an epoch warm-up alone replaces the default step warm-up
    params = resolve_params("scvi", {"n_epochs_kl_warmup": 5, "max_epochs": 10}, where="models.s")
    assert (params["n_epochs_kl_warmup"], params["n_steps_kl_warmup"]) == (5, None)
    assert resolve_params("scvi", {}, where="t")["n_steps_kl_warmup"] == 1600
    with pytest.raises(ConfigError, match=r"models\.s\.n_epochs_kl_warmup: 400 epochs .* exceed max_epochs 50"):
        resolve_params("scvi", {"n_epochs_kl_warmup": 400, "max_epochs": 50}, where="models.s")


def test_checkpoint_epochs():
    assert checkpoint_epochs([0.25, 0.5, 1.0], 400) == [100, 200]
    assert checkpoint_epochs([0.01, 0.5], 10) == [1, 5]
    assert C.checkpoint_obsm(["X_emb", "X_emb_epoch20", "X_emb_epoch5"]) == {5: "X_emb_epoch5", 20: "X_emb_epoch20"}


@pytest.mark.parametrize("kind", ["sysvi", "scvi"])
def test_checkpoints_do_not_change_training(kind, pre):
    plain = _fit(kind, pre, max_epochs=4)
    with_checkpoints = _fit(kind, pre, max_epochs=4, checkpoints=(0.5, 1.0))
    assert list(with_checkpoints.checkpoints) == [2]
    assert plain.record["best_epoch"] == 4  # without early stopping the model is its last epoch's
    np.testing.assert_array_equal(plain.embedding, with_checkpoints.embedding)
    # the checkpoint at epoch 2 is the embedding of the same run trained for 2 epochs
    two = _fit(kind, pre, max_epochs=2)
    np.testing.assert_allclose(with_checkpoints.checkpoints[2], two.embedding, rtol=0, atol=1e-6)


def test_the_demo_trains_its_neural_runs_to_convergence(validated):
    from conftest import ROOT, load_yaml
    from sysvi_bench.train.plan import expand_runs

    demo = validated(load_yaml(ROOT / "config" / "config.yaml"))
    neural = [r for r in expand_runs(demo) if r.kind in ("sysvi", "scvi")]
    assert len(neural) == 6  # cVAE, VAMP, sysVI at cycle weight 2 and 10, sysVI with embedded covariates, scVI
    assert all(r.params["max_epochs"] == "auto" and r.params["early_stopping"] for r in neural)
    scvi = next(r for r in neural if r.kind == "scvi")
    assert (scvi.params["n_steps_kl_warmup"], scvi.params["n_epochs_kl_warmup"]) == (1600, None)
    assert demo["evaluation"]["checkpoints"] == [0.2, 0.4, 1.0]  # the recommendation reads the last two stages
