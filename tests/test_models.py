"""Model kinds: presets, every SysVI axis reaching the built model/plan, baselines, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from sysvi_bench import contracts as C
from sysvi_bench.config import DatasetKeys
from sysvi_bench.train.models.base import FitContext
from sysvi_bench.config import ConfigError
from sysvi_bench.train.models import MODEL_SPECS, resolve_params
from sysvi_bench.train.models.sysvi import SYSVI_PRESETS
from sysvi_bench.data.preprocess import PreprocessParams, preprocess

KEYS = DatasetKeys("system", ("sample",), "cell_type", "sample")


@pytest.fixture(scope="module")
def pre(small_sim):
    return preprocess(small_sim, KEYS, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10), where="t")


@pytest.mark.parametrize(
    "preset, prior, cycle",
    [("cvae", "standard_normal", 0.0), ("vamp", "vamp", 0.0), ("cyc", "standard_normal", 2.0), ("sysvi", "vamp", 2.0)],
)
def test_presets_map_to_the_papers_ablation(preset, prior, cycle, pre):
    from sysvi_bench.train.models.sysvi import build_sysvi, train_kwargs

    params = resolve_params("sysvi", {"max_epochs": 1}, where="models.x", preset=preset)
    assert (params["prior"], params["z_distance_cycle_weight"]) == (prior, cycle)
    model, _ = build_sysvi(pre, params, 0, FitContext(keys=KEYS))
    prior_cls = {"standard_normal": "StandardPrior", "vamp": "VampPrior"}[prior]
    assert type(model.module.prior).__name__ == prior_cls
    assert train_kwargs(params, "cpu", pre.n_obs)["plan_kwargs"]["z_distance_cycle_weight"] == cycle


def test_preset_contradiction_is_refused():
    with pytest.raises(ConfigError, match="contradict preset 'cvae'"):
        resolve_params("sysvi", {"prior": "vamp"}, where="models.x", preset="cvae")
    assert set(SYSVI_PRESETS) == {"cvae", "vamp", "cyc", "sysvi"}


def test_every_sysvi_axis_reaches_the_model_and_plan(pre):
    from sysvi_bench.train.models.sysvi import build_sysvi, train_kwargs

    pre = pre.copy()
    pre.obs["depth"] = np.log1p(np.asarray(pre.layers[C.COUNTS_LAYER].sum(1)).ravel())
    given = {
        "prior": "vamp", "n_prior_components": 3, "trainable_priors": False, "pseudoinputs": "balanced",
        "n_latent": 7, "n_hidden": 24, "n_layers": 3, "dropout_rate": 0.25, "out_var_mode": "sample_feature",
        "embed_categorical_covariates": True, "embedding_kwargs": {"embedding_dim": 4},
        "categorical_covariate_keys": ["sample"], "continuous_covariate_keys": ["depth"], "weight_batches": True,
        "kl_weight": 1.7, "reconstruction_weight": 0.8, "z_distance_cycle_weight": 5.0, "lr": 3e-3,
        "weight_decay": 1e-5, "max_epochs": 1, "batch_size": 64,
    }
    params = resolve_params("sysvi", given, where="models.x")
    model, setup = build_sysvi(pre, params, 0, FitContext(keys=KEYS))
    module = model.module
    assert module.prior.u.shape[0] == 3 and not module.prior.u.requires_grad
    assert module.embed_categorical_covariates is True
    assert "batch_weights" in setup.obs and "batch_weights" not in pre.obs  # caller's data untouched
    text = repr(module)
    assert "out_features=24" in text  # n_hidden
    assert "p=0.25" in text  # dropout_rate
    assert "Embedding(4, 4)" in text  # 4 samples embedded in 4 dims
    assert len(module.encoder.decoder_y.fc_layers) == 3  # n_layers
    assert module.encoder.mean_encoder.out_features == 7  # n_latent
    assert module.decoder.var_encoder.mode == "sample_feature"  # out_var_mode
    assert model.summary_stats.n_extra_continuous_covs == 1
    # the plan: train one epoch and read the Lightning module scvi-tools actually used
    model.train(**train_kwargs(params, "cpu", pre.n_obs))
    plan = model.trainer.lightning_module
    assert plan.max_kl_weight == pytest.approx(1.7) and plan.kl_weight == pytest.approx(1.7)
    assert plan.loss_kwargs["reconstruction_weight"] == 0.8
    assert plan.loss_kwargs["z_distance_cycle_weight"] == 5.0
    assert plan.lr == 3e-3 and plan.weight_decay == 1e-5
    assert model.trainer.max_epochs == 1
    assert model.trainer.train_dataloader.sampler.batch_size == 64
    assert model.get_latent_representation().shape[1] == 7


def test_balanced_pseudoinputs_draw_equally_from_each_system(pre):
    from sysvi_bench.train.models.sysvi import pseudoinput_indices

    idx = pseudoinput_indices("balanced", pre.obs[C.SYSTEM], 6, seed=0)
    systems = pre.obs[C.SYSTEM].to_numpy()[idx]
    assert len(idx) == 6 and (systems == "system_0").sum() == 3
    assert pseudoinput_indices("random", pre.obs[C.SYSTEM], 6, seed=0) is None
    with pytest.raises(ValueError, match="n_prior_components"):
        pseudoinput_indices([1, 2], pre.obs[C.SYSTEM], 3, seed=0)


def _fit(kind, pre, seed, **given):
    params = resolve_params(kind, given, where="t")
    return MODEL_SPECS[kind].fitter(pre, params, seed, FitContext(keys=KEYS, accelerator="cpu")).embedding


def test_same_seed_gives_identical_embedding_on_cpu(pre):
    a = _fit("sysvi", pre, 3, max_epochs=2, n_hidden=32)
    b = _fit("sysvi", pre, 3, max_epochs=2, n_hidden=32)
    c = _fit("sysvi", pre, 4, max_epochs=2, n_hidden=32)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_scvi_baseline_uses_counts_and_kl_weight(pre):
    from sysvi_bench.train.models.scvi import build_scvi

    params = resolve_params("scvi", {"max_epochs": 1, "kl_weight": 0.5, "n_latent": 6}, where="t")
    model, setup = build_scvi(pre, params, 0, FitContext(keys=KEYS))
    assert model.adata_manager.data_registry["X"].attr_key == C.COUNTS_LAYER
    emb = MODEL_SPECS["scvi"].fitter(pre, params, 0, FitContext(keys=KEYS, accelerator="cpu")).embedding
    assert emb.shape == (pre.n_obs, 6) and np.isfinite(emb).all()


def test_harmony_theta_changes_its_output(pre):
    low = _fit("harmony", pre, 0, theta=0.0, n_comps=10)
    high = _fit("harmony", pre, 0, theta=4.0, n_comps=10)
    again = _fit("harmony", pre, 0, theta=4.0, n_comps=10)
    assert low.shape == (pre.n_obs, 10)
    assert np.abs(low - high).max() > 1e-3
    np.testing.assert_allclose(high, again)


class _CapturedHarmony:
    """Stands in for harmonypy.run_harmony: records its arguments, returns the input as the correction."""

    def __init__(self):
        self.calls = []

    def __call__(self, data_mat, meta_data, vars_use, **kwargs):
        self.calls.append({"meta_data": meta_data.copy(), "vars_use": list(vars_use), **kwargs})
        return type("Result", (), {"Z_corr": np.asarray(data_mat).T, "objective_harmony": [3.0, 2.0, 1.9]})()


def test_harmony_corrects_the_system_and_covariates_with_its_lamb(pre, monkeypatch):
    import harmonypy

    captured = _CapturedHarmony()
    monkeypatch.setattr(harmonypy, "run_harmony", captured)
    params = resolve_params("harmony", {"n_comps": 10}, where="t")
    result = MODEL_SPECS["harmony"].fitter(pre, params, 7, FitContext(keys=KEYS, accelerator="cpu"))
    emb = result.embedding
    assert result.record == {"harmony_iterations": 2, "harmony_converged": True}  # run_info.json
    call = captured.calls[-1]
    # the system and the dataset's covariate_keys (KEYS: sample), as SysVI and scVI condition on them
    assert call["vars_use"] == [C.SYSTEM, "sample"]
    assert list(call["meta_data"].columns) == [C.SYSTEM, "sample"]
    assert call["meta_data"]["sample"].equals(pre.obs["sample"])
    # R harmony's defaults: lambda 1, sigma 0.1, nclust chosen by the library; the run's seed
    assert (call["lamb"], call["sigma"], call["nclust"], call["theta"]) == (1.0, 0.1, None, 2.0)
    assert call["max_iter_harmony"] == 50
    assert call["random_state"] == 7 and emb.shape == (pre.n_obs, 10)
    _fit("harmony", pre, 0, n_comps=10, lamb=None, nclust=12, sigma=0.2, categorical_covariate_keys=[])
    call = captured.calls[-1]
    assert call["lamb"] is None  # null: harmonypy estimates lambda per cluster
    assert (call["nclust"], call["sigma"]) == (12, 0.2)
    assert call["vars_use"] == [C.SYSTEM]  # [] corrects the system only


def test_harmony_with_covariates_runs_with_harmonypy(pre):
    """The real harmonypy takes two batch variables and lamb null; lamb changes the correction."""
    fixed = _fit("harmony", pre, 0, n_comps=10)
    estimated = _fit("harmony", pre, 0, n_comps=10, lamb=None)
    assert fixed.shape == estimated.shape == (pre.n_obs, 10) and np.isfinite(fixed).all()
    assert np.abs(fixed - estimated).max() > 1e-3


def test_controls(pre):
    shuffled = _fit("shuffled", pre, 0, n_comps=10)
    pca = _fit("pca", pre, 0, n_comps=10)
    assert sorted(map(tuple, shuffled.round(5))) == sorted(map(tuple, pca.round(5)))  # same rows, new order
    assert not np.allclose(shuffled, pca)
    celltype = _fit("celltype", pre, 0, n_comps=10)
    codes = pre.obs[C.LABEL].cat.codes.to_numpy()
    # within-type spread is small compared with between-type distances
    within = np.mean([celltype[codes == c].std(0).mean() for c in np.unique(codes)])
    assert within < 0.2 < celltype.std(0).mean()


def test_saved_model_reloads_with_scvi_tools(small_sim, tmp_path):
    """save_model keeps the trained model in the run folder; scvi-tools reloads it and gives the same latent."""
    import anndata as ad
    from scvi.external import SysVI

    from sysvi_bench.train.plan import expand_model
    from sysvi_bench.io import write_h5ad
    from sysvi_bench.train import execute_run

    pre = preprocess(small_sim, KEYS, PreprocessParams(n_hvg=150, min_cells_per_gene=5, min_genes_per_cell=20, n_pcs=10), where="t")
    write_h5ad(pre, tmp_path / "pre.h5ad")
    run = expand_model("sim", "sysvi", {"params": {"max_epochs": 1, "save_model": True, "n_hidden": 32}}, [0])[0]
    info = execute_run(run, tmp_path / "pre.h5ad", tmp_path / "run", KEYS, accelerator="cpu")
    assert info["status"] == C.STATUS_OK and info["device"] == "cpu"
    model = SysVI.load(str(tmp_path / "run" / "model"), adata=ad.read_h5ad(tmp_path / "pre.h5ad"))
    saved = ad.read_h5ad(tmp_path / "run" / "embedding.h5ad").obsm[C.EMBEDDING_KEY]
    np.testing.assert_allclose(model.get_latent_representation(), saved, rtol=1e-5, atol=1e-5)


def test_external_embedding_is_realigned_and_checked(pre, tmp_path):
    import pandas as pd

    from sysvi_bench.train.models.external import align_to_cells

    emb = np.random.default_rng(0).normal(size=(pre.n_obs, 5)).astype(np.float32)
    table = pd.DataFrame(emb, index=pre.obs_names)
    shuffled = table.sample(frac=1.0, random_state=0)
    path = tmp_path / "emb.tsv.gz"
    shuffled.to_csv(path, sep="\t")
    out = _fit("external", pre, 0, path=str(path))
    np.testing.assert_allclose(out, emb, rtol=1e-6)  # reordered cells are re-aligned
    h5 = tmp_path / "emb.h5ad"
    import anndata as ad

    ad.AnnData(obs=pd.DataFrame(index=pre.obs_names[::-1]), obsm={"X_glue": emb[::-1]}).write_h5ad(h5)
    np.testing.assert_allclose(_fit("external", pre, 0, path=str(h5), obsm_key="X_glue"), emb, rtol=1e-6)
    with pytest.raises(ValueError, match="1 missing"):
        align_to_cells(table.iloc[1:], pre.obs_names, where="e")
    extra = pd.concat([table, pd.DataFrame(np.zeros((1, 5)), index=["stranger"])])
    with pytest.raises(ValueError, match="1 extra.*stranger"):
        align_to_cells(extra, pre.obs_names, where="e")


def test_the_schema_lists_exactly_the_registered_model_kinds():
    from sysvi_bench.config import schema

    kinds = schema()["$defs"]["model"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(MODEL_SPECS)
    for kind, spec in MODEL_SPECS.items():
        assert spec.kind == kind and callable(spec.fitter)
    assert {k for k, s in MODEL_SPECS.items() if s.is_control} == {"shuffled", "celltype"}
