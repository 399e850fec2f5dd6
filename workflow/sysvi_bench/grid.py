"""Expand a validated config into the benchmark's runs.

A *run* is one (dataset, model, parameter setting, seed). This module is imported when Snakemake
parses the workflow, so it must stay light: no scvi/torch/scanpy imports here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.config import ConfigError, DatasetKeys, canonical_json, dataset_keys
from sysvi_bench.models.specs import MODEL_SPECS, resolve_params

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


def _axis_rank(item: tuple[str, Any]) -> tuple[int, str]:
    axis = item[0]
    return (AXIS_ORDER.index(axis) if axis in AXIS_ORDER else len(AXIS_ORDER), axis)


def expand_model(dataset: str, model: str, model_cfg: Mapping[str, Any], seeds: list[int]) -> list[Run]:
    """All runs of one model entry on one dataset: the grid's cartesian product times the seeds."""
    kind = model_cfg.get("kind", model)
    if kind not in MODEL_SPECS:
        raise ConfigError(f"models.{model}.kind: unknown model kind {kind!r}; valid: {sorted(MODEL_SPECS)}")
    spec = MODEL_SPECS[kind]
    grid: dict[str, list[Any]] = {k: (v if isinstance(v, list) else [v])
                                  for k, v in sorted((model_cfg.get("grid") or {}).items(), key=_axis_rank)}
    for axis, values in grid.items():
        if not values:
            raise ConfigError(f"models.{model}.grid.{axis}: empty list, the grid would expand to zero runs")
    fixed = {**(model_cfg.get("params") or {}), **((model_cfg.get("per_dataset") or {}).get(dataset) or {})}
    overlap = sorted(set(grid) & set(fixed))
    if overlap:
        raise ConfigError(f"models.{model}: {overlap} given both in grid and params")
    run_seeds: list[int | None] = list(seeds) if spec.seeded else [None]
    runs = []
    for combo in itertools.product(*grid.values()):
        grid_values = dict(zip(grid, combo))
        params = resolve_params(kind, {**fixed, **grid_values}, where=f"models.{model}", preset=model_cfg.get("preset"))
        setting = make_setting_id(model, grid_values)
        for seed in run_seeds:
            run_id = make_run_id(model, grid_values, seed)
            runs.append(Run(dataset, model, kind, seed if seed is not None else 0, run_id, setting, params, grid_values))
    return runs


def expand_runs(config: Mapping[str, Any]) -> list[Run]:
    """Every run of the benchmark, for every dataset, in a stable order (model entries by name, grid axes in
    :data:`AXIS_ORDER`; grid values and seeds in the config's order).

    Raises
    ------
    ConfigError
        If the grid expands to no run, or two settings collide on one run id.
    """
    runs: list[Run] = []
    seeds = list(config["seeds"])
    for dataset, dataset_cfg in sorted(config["datasets"].items()):
        dataset_keys(dataset_cfg)  # fail early on missing keys
        for model, model_cfg in sorted(config["models"].items()):  # by name: key order is formatting
            wanted = model_cfg.get("datasets")
            if wanted is not None and dataset not in wanted:
                continue
            runs.extend(expand_model(dataset, model, model_cfg or {}, seeds))
    if not runs:
        raise ConfigError("models: the config expands to zero runs")
    seen: dict[tuple[str, str], Run] = {}
    for run in runs:
        key = (run.dataset, run.run_id)
        if key in seen:
            raise ConfigError(
                f"models.{run.model}: run id {run.run_id!r} on dataset {run.dataset!r} is produced twice "
                f"(by {seen[key].model} and {run.model}); rename a model entry"
            )
        seen[key] = run
    return runs


def runs_by_id(config: Mapping[str, Any]) -> dict[tuple[str, str], Run]:
    """Index the runs by (dataset, run_id), for Snakemake input functions."""
    return {(r.dataset, r.run_id): r for r in expand_runs(config)}


def manifest_table(runs: list[Run]) -> pd.DataFrame:
    """The run manifest (``results/{dataset}/runs.tsv``, :data:`contracts.MANIFEST`) of ``runs``."""
    rows = [{"dataset": r.dataset, "run_id": r.run_id, "model": r.model, "kind": r.kind, "seed": r.seed,
             "setting": r.setting, "params": canonical_json(r.params),
             "grid_values": canonical_json(r.grid_values)} for r in runs]
    return pd.DataFrame(rows, columns=C.MANIFEST.columns)


def runs_from_manifest(manifest: pd.DataFrame) -> dict[str, Run]:
    """run_id -> :class:`Run`, from a checked manifest table."""
    return {
        row.run_id: Run(str(row.dataset), str(row.model), str(row.kind), int(row.seed), str(row.run_id),
                        str(row.setting), json.loads(row.params), json.loads(row.grid_values))
        for row in manifest.itertuples(index=False)
    }


