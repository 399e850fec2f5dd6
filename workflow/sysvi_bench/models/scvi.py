"""scVI baseline (``scvi.model.SCVI``) on raw counts, system as batch key, covariates as categorical covariates."""

from __future__ import annotations

from typing import Any

import numpy as np
from anndata import AnnData
from scvi.model import SCVI

from sysvi_bench import contracts as C
from sysvi_bench.models import FitContext, FitResult, categorical_covariates, device_name, seed_everything
from sysvi_bench.models.sysvi import history_frame


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
    model.train(
        max_epochs=params["max_epochs"],
        batch_size=params["batch_size"],
        train_size=params["train_size"],
        accelerator=context.accelerator,
        enable_progress_bar=False,
        plan_kwargs={"max_kl_weight": params["kl_weight"], "n_epochs_kl_warmup": params["n_epochs_kl_warmup"], "lr": params["lr"]},
    )
    embedding = model.get_latent_representation()
    if context.model_dir is not None and params["save_model"]:
        model.save(str(context.model_dir), overwrite=True, save_anndata=False)
    return FitResult(np.asarray(embedding, dtype=np.float32), history_frame(model.history), device=device_name(model.device))
