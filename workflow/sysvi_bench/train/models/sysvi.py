"""SysVI (scvi-tools' ``scvi.external.SysVI``): every SysVAE argument and loss weight as a parameter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from sysvi_bench import contracts as C
from sysvi_bench.train.budget import trainer_kwargs
from sysvi_bench.train.models.base import (
    NEURAL_RANGES, NON_NEGATIVE, POSITIVE_INT, FitContext, FitResult, ModelSpec, Range, categorical_covariates,
    seed_everything,
)
from sysvi_bench.train.models.neural import train_and_embed

SYSVI_DEFAULTS: dict[str, Any] = {
    # SysVI(...) / SysVAE architecture
    "prior": "vamp",
    "n_prior_components": 5,
    "trainable_priors": True,
    "pseudoinputs": "random",  # random | balanced (equal per system) | list of cell indices
    "n_latent": 15,
    "n_hidden": 256,
    "n_layers": 2,
    "dropout_rate": 0.1,
    "out_var_mode": "feature",
    "embed_categorical_covariates": False,
    "embedding_kwargs": None,
    "encoder_decoder_kwargs": None,
    # SysVI.setup_anndata(...); None = the dataset's covariate_keys
    "categorical_covariate_keys": None,
    "continuous_covariate_keys": None,
    "weight_batches": False,
    # training plan (plan_kwargs); kl_weight reaches the plan as max_kl_weight (warm-up is 0 in SysVI)
    "kl_weight": 1.0,
    "reconstruction_weight": 1.0,
    "z_distance_cycle_weight": 2.0,
    "lr": 1e-3,
    "weight_decay": 1e-6,
    "optimizer": "Adam",
    "reduce_lr_on_plateau": False,
    # trainer; max_epochs "auto": sysvi_bench.train.budget
    "max_epochs": "auto",
    "batch_size": 128,
    "train_size": 0.9,  # the rest is the validation split (early stopping)
    "early_stopping": False,
    "early_stopping_patience": 45,  # scvi-tools' default, epochs without improvement of elbo_validation
    "check_val_every_n_epoch": None,
    "save_model": False,
}

# The paper's ablation (Hrovatin et al. 2025): each preset fixes the prior and whether the cycle loss is on.
SYSVI_PRESETS: dict[str, dict[str, Any]] = {
    "cvae": {"prior": "standard_normal", "z_distance_cycle_weight": 0.0},
    "vamp": {"prior": "vamp", "z_distance_cycle_weight": 0.0},
    "cyc": {"prior": "standard_normal", "z_distance_cycle_weight": 2.0},
    "sysvi": {"prior": "vamp", "z_distance_cycle_weight": 2.0},
}

SYSVI_RANGES: dict[str, Range] = {
    **NEURAL_RANGES, "n_prior_components": POSITIVE_INT, "reconstruction_weight": NON_NEGATIVE,
    "z_distance_cycle_weight": NON_NEGATIVE, "weight_decay": NON_NEGATIVE, "check_val_every_n_epoch": POSITIVE_INT,
}

# run params -> where they go in scvi-tools
INIT_KEYS = (
    "prior", "n_prior_components", "trainable_priors", "n_latent", "n_hidden", "n_layers", "dropout_rate",
    "out_var_mode", "embed_categorical_covariates", "embedding_kwargs", "encoder_decoder_kwargs",
)
PLAN_KEYS = ("reconstruction_weight", "z_distance_cycle_weight", "lr", "weight_decay", "optimizer", "reduce_lr_on_plateau")


def pseudoinput_indices(spec: Any, systems: pd.Series, n_components: int, seed: int) -> np.ndarray | None:
    """Cell indices that initialise the VampPrior's pseudo-inputs.

    ``"random"`` returns None (scvi-tools draws from numpy's seeded global RNG); ``"balanced"``
    draws an equal share from each system; a list is used as given.
    """
    if spec == "random":
        return None
    if spec == "balanced":
        rng = np.random.default_rng(seed)
        codes = systems.astype("category").cat.codes.to_numpy()
        groups = [np.flatnonzero(codes == c) for c in np.unique(codes)]
        share = np.array_split(np.arange(n_components), len(groups))
        return np.concatenate([rng.choice(g, len(s), replace=len(s) > len(g)) for g, s in zip(groups, share)])
    indices = np.asarray(spec, dtype=int)
    if indices.ndim != 1 or len(indices) != n_components:
        raise ValueError(f"pseudoinputs: {len(indices)} indices given but n_prior_components={n_components}")
    if indices.min() < 0 or indices.max() >= len(systems):
        raise ValueError(f"pseudoinputs: indices must lie in [0, {len(systems)})")
    return indices


def build_sysvi(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext):
    """Register ``adata`` and build the (untrained) SysVI model. Returns (model, setup AnnData)."""
    from scvi.external import SysVI

    seed_everything(seed)
    # weight_batches writes obs["batch_weights"]: never touch the caller's object
    adata = adata.copy()
    SysVI.setup_anndata(
        adata,
        batch_key=C.SYSTEM,
        categorical_covariate_keys=categorical_covariates(params, context),
        continuous_covariate_keys=params["continuous_covariate_keys"] or None,
        weight_batches=params["weight_batches"],
    )
    init = {k: params[k] for k in INIT_KEYS}
    if init["prior"] == "vamp":
        init["pseudoinputs_data_indices"] = pseudoinput_indices(
            params["pseudoinputs"], adata.obs[C.SYSTEM], params["n_prior_components"], seed
        )
    model = SysVI(adata, **init)
    return model, adata


def train_kwargs(params: dict[str, Any], accelerator: str, n_cells: int) -> dict[str, Any]:
    """Arguments of ``SysVI.train``. The KL weight goes in as ``max_kl_weight``: the plan overwrites ``kl_weight``.

    ``n_cells``: the preprocessed dataset's cells, for ``max_epochs: auto`` (:mod:`sysvi_bench.train.budget`).
    """
    plan = {k: params[k] for k in PLAN_KEYS}
    plan["max_kl_weight"] = params["kl_weight"]
    kwargs = trainer_kwargs(params, n_cells)
    return {"plan_kwargs": plan, "accelerator": accelerator, "enable_progress_bar": False, **kwargs}


def fit_sysvi(adata: AnnData, params: dict[str, Any], seed: int, context: FitContext) -> FitResult:
    model, _ = build_sysvi(adata, params, seed, context)
    return train_and_embed(model, train_kwargs(params, context.accelerator, adata.n_obs), params, context)


SPEC = ModelSpec("sysvi", fit_sysvi, SYSVI_DEFAULTS, libraries=("scvi",), seeded=True, uses_accelerator=True,
                 trains_over_epochs=True, presets=SYSVI_PRESETS, ranges=SYSVI_RANGES)
