"""Model kinds: each turns the preprocessed dataset into a latent embedding.

Every ``fit_*`` function has the signature ``fit(adata, params, seed, context) -> FitResult``;
:func:`get_fitter` imports a kind's module (and its heavy libraries) only when that kind is run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
from anndata import AnnData

if TYPE_CHECKING:  # grid imports models.specs: a runtime import here would be circular
    from sysvi_bench.config import DatasetKeys


@dataclass
class FitContext:
    """What a fit needs beyond its parameters: dataset keys, device choice, where to save a model."""

    keys: DatasetKeys
    accelerator: str = "auto"
    model_dir: Path | None = None
    # fractions of max_epochs at which to keep the embedding (sysvi_bench.checkpoints); neural models only
    checkpoints: tuple[float, ...] = ()


@dataclass
class FitResult:
    embedding: np.ndarray
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    device: str = "cpu"
    # epoch -> embedding at that epoch (sysvi_bench.checkpoints); neural models only
    checkpoints: dict[int, np.ndarray] = field(default_factory=dict)
    # training length and KL weight reached (sysvi_bench.training_budget.training_record), added to run_info
    record: dict[str, Any] = field(default_factory=dict)


# kind -> "module:function"; modules are imported lazily (torch/scvi take seconds to import)
FITTERS: dict[str, str] = {
    "sysvi": "sysvi_bench.models.sysvi:fit_sysvi",
    "scvi": "sysvi_bench.models.scvi:fit_scvi",
    "pca": "sysvi_bench.models.baselines:fit_pca",
    "harmony": "sysvi_bench.models.baselines:fit_harmony",
    "shuffled": "sysvi_bench.models.baselines:fit_shuffled",
    "celltype": "sysvi_bench.models.baselines:fit_celltype",
    "external": "sysvi_bench.models.external:fit_external",
}


def get_fitter(kind: str) -> Callable[..., FitResult]:
    module, func = FITTERS[kind].split(":")
    return getattr(importlib.import_module(module), func)


def categorical_covariates(params: dict[str, Any], context: FitContext) -> list[str] | None:
    """The run's categorical covariate keys; ``None`` in the params means the dataset's ``covariate_keys``."""
    keys = params["categorical_covariate_keys"]
    if keys is None:
        keys = list(context.keys.covariate_keys)
    return list(keys) or None


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (via scvi-tools, which also seeds Lightning)."""
    import scvi

    scvi.settings.seed = seed


def device_name(accelerator_used: Any) -> str:
    import torch

    if str(accelerator_used).startswith("cuda") and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return "cpu"
