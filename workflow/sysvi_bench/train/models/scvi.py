"""scVI baseline (``scvi.model.SCVI``) on raw counts, system as batch key, covariates as categorical covariates."""

from __future__ import annotations

from typing import Any

from anndata import AnnData

from sysvi_bench import contracts as C
from sysvi_bench.train.models.base import (
    NEURAL_RANGES, FitContext, FitResult, ModelSpec, Range, categorical_covariates, seed_everything,
)
from sysvi_bench.train.models.neural import train_and_embed
from sysvi_bench.train.budget import kl_warmup_kwargs, trainer_kwargs


# Architecture: the paper's scVI (run_integration_scvi.py: SCVI(n_layers=2, n_hidden=256, n_latent=15,
# gene_likelihood="nb")), which is also SysVI's size here; scvi-tools' SCVI defaults are 1 layer of 128, 10 latent
# dimensions and "zinb". The rest are scvi-tools 1.4.2's defaults except the KL warm-up and max_epochs (README,
# "Baseline defaults").
SCVI_DEFAULTS: dict[str, Any] = {
    "n_latent": 15,
    "n_hidden": 256,
    "n_layers": 2,
    "dropout_rate": 0.1,
    "gene_likelihood": "nb",
    "dispersion": "gene",
    "kl_weight": 1.0,  # max_kl_weight of the plan
    # KL warm-up: exactly one of the two (or neither: no warm-up). The paper's scVI (scvi_kl_anneal in its
    # seml configs, run_integration_scvi.py): 1,600 steps, which completes within training
    "n_epochs_kl_warmup": None,
    "n_steps_kl_warmup": 1600,
    "lr": 1e-3,
    "max_epochs": "auto",
    "batch_size": 128,
    "train_size": 0.9,
    "early_stopping": False,
    "early_stopping_patience": 45,
    "categorical_covariate_keys": None,
    "save_model": False,
}
SCVI_RANGES: dict[str, Range] = {**NEURAL_RANGES, "n_epochs_kl_warmup": Range(0, integer=True),
                                  "n_steps_kl_warmup": Range(0, integer=True)}


def build_scvi(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext):
    from scvi.model import SCVI

    seed_everything(seed)
    adata = adata.copy()
    SCVI.setup_anndata(
        adata, layer=C.COUNTS_LAYER, batch_key=C.SYSTEM, categorical_covariate_keys=categorical_covariates(params, context)
    )
    model = SCVI(
        adata,
        n_latent=params["n_latent"],
        n_hidden=params["n_hidden"],
        n_layers=params["n_layers"],
        dropout_rate=params["dropout_rate"],
        gene_likelihood=params["gene_likelihood"],
        dispersion=params["dispersion"],
    )
    return model, adata


def fit_scvi(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    model, _ = build_scvi(adata, params, seed, context)
    kwargs = {
        **trainer_kwargs(params, adata.n_obs),
        "accelerator": context.accelerator,
        "enable_progress_bar": False,
        "plan_kwargs": {"max_kl_weight": params["kl_weight"], **kl_warmup_kwargs(params), "lr": params["lr"]},
    }
    return train_and_embed(model, kwargs, params, context)


SPEC = ModelSpec("scvi", fit_scvi, SCVI_DEFAULTS, libraries=("scvi",), seeded=True, uses_accelerator=True,
                 trains_over_epochs=True, ranges=SCVI_RANGES, nullable=frozenset({"n_steps_kl_warmup"}))
