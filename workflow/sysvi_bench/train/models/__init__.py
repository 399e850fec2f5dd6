"""The model registry: one :class:`~sysvi_bench.train.models.base.ModelSpec` per kind, and run parameter resolution.

Each kind's module declares its ``ModelSpec`` (fitter, defaults, presets, ranges, whether it is a control) next to
its fitter; :data:`MODEL_SPECS` lists them. Every fitter has the signature
``fit(adata, params, seed, context) -> FitResult`` and imports its heavy libraries (scvi-tools, harmonypy) when it
runs, so this registry stays light: the config check reads it when Snakemake parses the workflow.

Defaults follow scvi-tools 1.4.2 except ``max_epochs``, whose default ``"auto"`` is resolved at training time
from the preprocessed dataset's size (:mod:`sysvi_bench.train.budget`), and scVI's KL warm-up, which is the
paper's (1,600 steps, not scvi-tools' 400 epochs).
"""

from __future__ import annotations

from typing import Any, Mapping

from sysvi_bench.config import ConfigError
from sysvi_bench.train.budget import AUTO
from sysvi_bench.train.models import baselines, external, scvi, sysvi
from sysvi_bench.train.models.base import ModelSpec

MODEL_SPECS: dict[str, ModelSpec] = {
    spec.kind: spec
    for spec in (sysvi.SPEC, scvi.SPEC, baselines.PCA, baselines.HARMONY, baselines.SHUFFLED, baselines.CELLTYPE,
                 external.SPEC)
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
