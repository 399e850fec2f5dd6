"""What every model kind shares: the :class:`ModelSpec` that declares a kind, what a fit gets and returns.

Light (no torch import): the config check imports the registry at workflow start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sysvi_bench.config import DatasetKeys


@dataclass(frozen=True)
class Range:
    """The valid values of a numeric parameter: bounds (inclusive unless ``*_open``), integer or not.

    ``None`` passes where the parameter's default is ``None`` (e.g. ``check_val_every_n_epoch``).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return f"{kind} {' and '.join(bounds)}".strip()

    def admits(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.integer and not float(value).is_integer():
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


# Valid ranges of the numeric parameters (what scvi-tools, torch and harmonypy accept, and what is meaningful)
POSITIVE_INT = Range(1, integer=True)
NON_NEGATIVE = Range(0)
NEURAL_RANGES: dict[str, Range] = {
    "n_latent": POSITIVE_INT, "n_hidden": POSITIVE_INT, "n_layers": POSITIVE_INT,
    "dropout_rate": Range(0, 1, high_open=True), "kl_weight": NON_NEGATIVE, "lr": Range(0, low_open=True),
    "max_epochs": POSITIVE_INT, "batch_size": Range(2, integer=True), "train_size": Range(0, 1, low_open=True),
    "early_stopping_patience": POSITIVE_INT,
}
N_COMPS_RANGE = {"n_comps": POSITIVE_INT}


@dataclass
class FitContext:
    """What a fit needs beyond its parameters: dataset keys, device choice, where to save a model."""

    keys: DatasetKeys
    accelerator: str = "auto"
    model_dir: Path | None = None
    # fractions of max_epochs at which to keep the embedding (sysvi_bench.train.checkpoints); neural models only
    checkpoints: tuple[float, ...] = ()


@dataclass
class FitResult:
    embedding: np.ndarray
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    device: str = "cpu"
    # epoch -> embedding at that epoch (sysvi_bench.train.checkpoints); neural models only
    checkpoints: dict[int, np.ndarray] = field(default_factory=dict)
    # training length and KL weight reached (sysvi_bench.train.budget.training_record), added to run_info
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """One model kind: its fitter, the parameters it accepts (defaults, presets, numeric ranges), and how it runs.

    ``fitter(adata, params, seed, context) -> FitResult`` makes the embedding. ``libraries``: modules the fitter
    imports when it runs (imported first by the train job, so that their import time is not fit time).
    ``is_control``: a metric-scaling control (shuffled embedding, cell-type embedding), never ranked or
    recommended. ``seeded``: its output depends on the seed.

    ``reads_pca``: the kind starts from the preprocessing PCA, so its ``n_comps`` may not exceed ``preprocess.n_pcs``.
    ``uses_accelerator``: it trains on a GPU when one is available. ``trains_over_epochs``: it learns over epochs,
    so a fit that logged no epoch failed.

    What a kind corrects or conditions on (the manifest's ``covariates``, :func:`corrected_covariates`) follows
    from its parameters: a kind with ``categorical_covariate_keys`` corrects the system and those covariates; one
    with ``covariates`` (external) declares them; any other corrects nothing.
    """

    kind: str
    fitter: Callable[..., FitResult]
    defaults: dict[str, Any]
    libraries: tuple[str, ...] = ()
    is_control: bool = False
    seeded: bool = True
    uses_accelerator: bool = False
    trains_over_epochs: bool = False
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    ranges: dict[str, Range] = field(default_factory=dict)
    reads_pca: bool = False
    nullable: frozenset[str] = frozenset()  # parameters that may be None although their default is not


def covariate_columns(params: dict[str, Any], keys: DatasetKeys) -> list[str]:
    """The run's categorical covariate keys; ``None`` in the params means the dataset's ``covariate_keys``."""
    chosen = params["categorical_covariate_keys"]
    return list(keys.covariate_keys if chosen is None else chosen)


def categorical_covariates(params: dict[str, Any], context: FitContext) -> list[str] | None:
    """The run's categorical covariate keys as scvi-tools takes them (None for none)."""
    return covariate_columns(params, context.keys) or None


UNKNOWN_COVARIATES = "unknown (made elsewhere)"


def corrected_covariates(spec: ModelSpec, params: dict[str, Any], keys: DatasetKeys) -> str:
    """What a run corrects or conditions on (the manifest's ``covariates``): obs columns joined by ``+``.

    The system column(s) as configured (``system_key``) and the categorical and continuous covariates for the
    kinds that use them; ``none`` for PCA and the controls; for an external embedding the ``covariates`` its
    params declare, else :data:`UNKNOWN_COVARIATES`.
    """
    if "covariates" in spec.defaults:
        declared = [params["covariates"]] if isinstance(params["covariates"], str) else params["covariates"]
        return UNKNOWN_COVARIATES if declared is None else "+".join(declared) or "none"
    if "categorical_covariate_keys" not in spec.defaults:
        return "none"
    columns = [*keys.system_columns, *covariate_columns(params, keys), *(params.get("continuous_covariate_keys") or ())]
    return "+".join(columns)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (via scvi-tools, which also seeds Lightning)."""
    import scvi

    scvi.settings.seed = seed


def device_name(accelerator_used: Any) -> str:
    import torch

    if str(accelerator_used).startswith("cuda") and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return "cpu"
