"""What each model kind accepts: valid parameters, defaults, presets. Light (no torch import).

Defaults follow scvi-tools 1.4.2 except ``max_epochs``, whose default ``"auto"`` is resolved at training time
from the preprocessed dataset's size (:mod:`sysvi_bench.training_budget`), and scVI's KL warm-up, which is the
paper's (1,600 steps, not scvi-tools' 400 epochs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from sysvi_bench.config import ConfigError
from sysvi_bench.training_budget import AUTO




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


@dataclass(frozen=True)
class ModelSpec:
    """Parameters a model kind accepts (with defaults and numeric ranges), and whether its output depends on a seed.

    ``reads_pca``: the kind starts from the preprocessing PCA, so its ``n_comps`` may not exceed ``preprocess.n_pcs``.
    ``uses_accelerator``: it trains on a GPU when one is available. ``trains_over_epochs``: it learns over epochs,
    so a fit that logged no epoch failed.
    """

    kind: str
    defaults: dict[str, Any]
    seeded: bool = True
    uses_accelerator: bool = False
    trains_over_epochs: bool = False
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    ranges: dict[str, Range] = field(default_factory=dict)
    reads_pca: bool = False
    nullable: frozenset[str] = frozenset()  # parameters that may be None although their default is not


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
    # trainer; max_epochs "auto": sysvi_bench.training_budget
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

SCVI_DEFAULTS: dict[str, Any] = {
    "n_latent": 15,
    "n_hidden": 128,
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

# Valid ranges of the numeric parameters (what scvi-tools, torch and harmonypy accept, and what is meaningful)
POSITIVE_INT = Range(1, integer=True)
NON_NEGATIVE = Range(0)
NEURAL_RANGES: dict[str, Range] = {
    "n_latent": POSITIVE_INT, "n_hidden": POSITIVE_INT, "n_layers": POSITIVE_INT,
    "dropout_rate": Range(0, 1, high_open=True), "kl_weight": NON_NEGATIVE, "lr": Range(0, low_open=True),
    "max_epochs": POSITIVE_INT, "batch_size": Range(2, integer=True), "train_size": Range(0, 1, low_open=True),
    "early_stopping_patience": POSITIVE_INT,
}
SYSVI_RANGES: dict[str, Range] = {
    **NEURAL_RANGES, "n_prior_components": POSITIVE_INT, "reconstruction_weight": NON_NEGATIVE,
    "z_distance_cycle_weight": NON_NEGATIVE, "weight_decay": NON_NEGATIVE, "check_val_every_n_epoch": POSITIVE_INT,
}
SCVI_RANGES: dict[str, Range] = {**NEURAL_RANGES, "n_epochs_kl_warmup": Range(0, integer=True),
                                  "n_steps_kl_warmup": Range(0, integer=True)}
N_COMPS_RANGE = {"n_comps": POSITIVE_INT}

MODEL_SPECS: dict[str, ModelSpec] = {
    "sysvi": ModelSpec("sysvi", SYSVI_DEFAULTS, seeded=True, uses_accelerator=True, trains_over_epochs=True,
                       presets=SYSVI_PRESETS, ranges=SYSVI_RANGES),
    "scvi": ModelSpec("scvi", SCVI_DEFAULTS, seeded=True, uses_accelerator=True, trains_over_epochs=True,
                      ranges=SCVI_RANGES, nullable=frozenset({"n_steps_kl_warmup"})),
    "pca": ModelSpec("pca", {"n_comps": 15}, seeded=False, ranges=N_COMPS_RANGE, reads_pca=True),
    "harmony": ModelSpec("harmony", {"n_comps": 15, "theta": 2.0, "max_iter_harmony": 20}, seeded=True,
                         ranges={**N_COMPS_RANGE, "theta": NON_NEGATIVE, "max_iter_harmony": POSITIVE_INT},
                         reads_pca=True),
    "shuffled": ModelSpec("shuffled", {"n_comps": 15}, seeded=True, ranges=N_COMPS_RANGE, reads_pca=True),
    "celltype": ModelSpec("celltype", {"n_comps": 15, "noise": 0.1}, seeded=True,
                          ranges={**N_COMPS_RANGE, "noise": NON_NEGATIVE}),
    # path: h5ad (with obsm_key) or TSV/CSV keyed by cell name
    "external": ModelSpec("external", {"path": None, "obsm_key": None}, seeded=False),
}


def resolve_params(
    kind: str, given: Mapping[str, Any], *, where: str, preset: str | None = None
) -> dict[str, Any]:
    """Merge defaults, preset and given values; refuse unknown names with the valid list.

    Parameters
    ----------
    kind
        Model kind (a key of :data:`MODEL_SPECS`).
    given
        The user's fixed and grid values for one run.
    where
        Config path used in error messages, e.g. ``models.sysvi``.
    preset
        Optional preset name; its values may not be overridden (that would silently change it).

    Raises
    ------
    ConfigError
        For an unknown parameter or preset, a value contradicting the preset, or a numeric value outside
        the kind's :attr:`ModelSpec.ranges` (the message names the parameter and its valid range).
    """
    spec = MODEL_SPECS[kind]
    unknown = sorted(set(given) - set(spec.defaults))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {unknown} for model kind {kind!r}; valid: {sorted(spec.defaults)}")
    preset_values: dict[str, Any] = {}
    if preset is not None:
        if preset not in spec.presets:
            raise ConfigError(f"{where}.preset: unknown preset {preset!r}; valid: {sorted(spec.presets)}")
        preset_values = spec.presets[preset]
        clash = sorted(k for k in set(given) & set(preset_values) if k != "z_distance_cycle_weight" or preset_values[k] == 0)
        if clash:
            raise ConfigError(f"{where}: {clash} contradict preset {preset!r}, which sets {preset_values}")
    params = {**spec.defaults, **preset_values, **given}
    if "n_steps_kl_warmup" in spec.defaults:
        params = kl_warmup_params(params, given, where)
    if params.get("early_stopping") and params.get("train_size") == 1:
        raise ConfigError(f"{where}.early_stopping: early stopping watches the validation loss of the held-out "
                          "1 - train_size of the cells, but train_size is 1; set train_size < 1 (e.g. 0.9)")
    for name, valid in spec.ranges.items():
        value = params[name]
        if value is None and (spec.defaults[name] is None or name in spec.nullable):
            continue
        if name == "max_epochs" and value == AUTO:
            continue
        if not valid.admits(value):
            raise ConfigError(f"{where}.{name}: {value!r} is out of range; must be {valid.describe()}")
    return params


def kl_warmup_params(params: dict[str, Any], given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """scVI's KL warm-up: at most one of ``n_epochs_kl_warmup`` and ``n_steps_kl_warmup``.

    Giving ``n_epochs_kl_warmup`` alone replaces the default step warm-up; giving both (not None) is refused.
    An epoch warm-up longer than an explicit ``max_epochs`` is refused: the KL weight would never reach its
    maximum (with ``max_epochs: auto`` or a step warm-up this is only known at training time, and
    ``kl_warmup_complete`` in ``run_info.json`` and ``summary.tsv`` says it).
    """
    epochs, steps = given.get("n_epochs_kl_warmup"), given.get("n_steps_kl_warmup")
    if epochs is not None and steps is not None:
        raise ConfigError(f"{where}: n_epochs_kl_warmup ({epochs}) and n_steps_kl_warmup ({steps}) are both set; "
                          "set exactly one of them (the other null)")
    if epochs is not None and "n_steps_kl_warmup" not in given:
        params = {**params, "n_steps_kl_warmup": None}
    max_epochs = params["max_epochs"]
    if (isinstance(params["n_epochs_kl_warmup"], int) and isinstance(max_epochs, int)
            and not isinstance(max_epochs, bool) and params["n_epochs_kl_warmup"] > max_epochs):
        raise ConfigError(f"{where}.n_epochs_kl_warmup: {params['n_epochs_kl_warmup']} epochs of KL warm-up exceed "
                          f"max_epochs {max_epochs}: the KL weight would never reach its maximum; shorten the "
                          "warm-up or use n_steps_kl_warmup")
    return params
