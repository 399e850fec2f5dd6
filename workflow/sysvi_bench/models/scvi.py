"""scVI baseline (``scvi.model.SCVI``) on raw counts, system as batch key, covariates as categorical covariates."""

from __future__ import annotations

from typing import Any

import numpy as np
from anndata import AnnData
from scvi.model import SCVI

from sysvi_bench import contracts as C
from sysvi_bench.models import FitContext, FitResult, categorical_covariates, device_name, seed_everything
from sysvi_bench.models.sysvi import history_frame, train_with_checkpoints
from sysvi_bench.training_budget import kl_warmup_kwargs, trainer_kwargs, training_record


def build_scvi(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext):
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
    latents = train_with_checkpoints(model, kwargs, context.checkpoints)
    history = history_frame(model.history)
    embedding = model.get_latent_representation()
    if context.model_dir is not None and params["save_model"]:
        model.save(str(context.model_dir), overwrite=True, save_anndata=False)
    return FitResult(np.asarray(embedding, dtype=np.float32), history, device=device_name(model.device),
                     checkpoints=latents, record=training_record(params, kwargs["max_epochs"], history, getattr(model, "training_plan", None)))
