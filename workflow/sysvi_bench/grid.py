"""A run's identity, shared by every step: the :class:`Run` record and how its id and setting are named.

A *run* is one (dataset, model, parameter setting, seed). The config is expanded into runs by
:mod:`sysvi_bench.train.plan`. Imported when Snakemake parses the workflow: light.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from sysvi_bench.config import canonical_json

# Short, readable names for the axes users sweep most; any other axis keeps its own name.
AXIS_ABBREVIATIONS = {
    "z_distance_cycle_weight": "cyc",
    "embed_categorical_covariates": "embed",
    "n_prior_components": "npc",
    "kl_weight": "kl",
    "n_latent": "nlat",
    "reconstruction_weight": "rec",
    "max_epochs": "ep",
}
# The order of grid axes in ids and in the grid's product: these first, any other axis after them by name.
# Fixed, not the config's key order: re-saving a config (keys sorted or reordered) must not rename its runs.
AXIS_ORDER = ("prior", "z_distance_cycle_weight", "embed_categorical_covariates", "n_prior_components", "kl_weight",
              "n_latent", "reconstruction_weight", "max_epochs")
MAX_RUN_ID_LENGTH = 120
# a setting's name leaves room for "__seed=" and the seed within MAX_RUN_ID_LENGTH
MAX_SETTING_ID_LENGTH = MAX_RUN_ID_LENGTH - 16

@dataclass(frozen=True)
class Run:
    """One model fit: what it is called and exactly how it is trained."""

    dataset: str
    model: str
    kind: str
    seed: int
    run_id: str
    setting: str
    params: dict[str, Any] = field(hash=False)
    grid_values: dict[str, Any] = field(hash=False)

    def to_json(self) -> str:
        """The run as canonical JSON (what the ``train`` and ``score`` jobs are given as their ``run`` param)."""
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Run":
        return cls(**json.loads(text))


def format_value(value: Any) -> str:
    """Render a parameter value for a run id: short, stable and filesystem-safe."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (list, tuple)):
        text = "-".join(format_value(v) for v in value)
    elif isinstance(value, dict):
        text = "-".join(f"{k}{format_value(v)}" for k, v in sorted(value.items()))
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def make_setting_id(model: str, grid_values: Mapping[str, Any]) -> str:
    """Readable name of a setting (a model entry and its grid values), e.g. ``sysvi__prior=vamp__cyc=2``.

    Names longer than :data:`MAX_SETTING_ID_LENGTH` are truncated and suffixed with a hash of the full name,
    so they stay unique and stable.
    """
    setting = "__".join([model] + [f"{AXIS_ABBREVIATIONS.get(k, k)}={format_value(v)}" for k, v in grid_values.items()])
    if len(setting) > MAX_SETTING_ID_LENGTH:
        digest = hashlib.sha1(setting.encode()).hexdigest()[:8]
        setting = f"{setting[: MAX_SETTING_ID_LENGTH - 10]}__{digest}"
    return setting


def make_run_id(model: str, grid_values: Mapping[str, Any], seed: int | None) -> str:
    """Readable run id: the setting's name (:func:`make_setting_id`) and the seed, e.g.
    ``sysvi__prior=vamp__cyc=2__embed=false__seed=0``. Only ids; a run's setting is never parsed back from its
    id (the manifest's ``setting`` column says it)."""
    setting = make_setting_id(model, grid_values)
    return setting if seed is None else f"{setting}__seed={seed}"
