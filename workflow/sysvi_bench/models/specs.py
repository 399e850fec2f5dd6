"""What each model kind accepts: valid parameters, defaults, presets. Light (no torch import).

Defaults follow scvi-tools 1.4.2 except ``max_epochs``, which is always explicit because
scvi-tools' ``None`` means up to 400 epochs on small data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


class ConfigError(ValueError):
    """A config value that the schema admits but the benchmark cannot run; names the field at fault."""


@dataclass(frozen=True)
class ModelSpec:
    """Parameters a model kind accepts (with defaults), and whether its output depends on a seed."""

    kind: str
    defaults: dict[str, Any]
    seeded: bool = True
    uses_accelerator: bool = False
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    # trainer
    "max_epochs": 50,
    "batch_size": 128,
    "train_size": 0.9,
    "early_stopping": False,
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
    "n_epochs_kl_warmup": 400,
    "lr": 1e-3,
    "max_epochs": 50,
    "batch_size": 128,
    "train_size": 0.9,
    "categorical_covariate_keys": None,
    "save_model": False,
}

MODEL_SPECS: dict[str, ModelSpec] = {
    "sysvi": ModelSpec("sysvi", SYSVI_DEFAULTS, seeded=True, uses_accelerator=True, presets=SYSVI_PRESETS),
    "scvi": ModelSpec("scvi", SCVI_DEFAULTS, seeded=True, uses_accelerator=True),
    "pca": ModelSpec("pca", {"n_comps": 15}, seeded=False),
    "harmony": ModelSpec("harmony", {"n_comps": 15, "theta": 2.0, "max_iter_harmony": 20}, seeded=True),
    "shuffled": ModelSpec("shuffled", {"n_comps": 15}, seeded=True),
    "celltype": ModelSpec("celltype", {"n_comps": 15, "noise": 0.1}, seeded=True),
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
    return {**spec.defaults, **preset_values, **given}
