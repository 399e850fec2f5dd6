"""Expand a validated config into the benchmark's runs (rule ``plan_runs``; the Snakefile's run grid).

Model entries in order of name, grid axes in :data:`~sysvi_bench.grid.AXIS_ORDER`: re-saving a config with its
keys reordered renames and reruns nothing.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.config import ConfigError, canonical_json, dataset_keys
from sysvi_bench.grid import AXIS_ORDER, Run, make_run_id, make_setting_id
from sysvi_bench.train.models import MODEL_SPECS, resolve_params
from sysvi_bench.train.models.base import corrected_covariates


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


def manifest_table(runs: list[Run], config: Mapping[str, Any]) -> pd.DataFrame:
    """The run manifest (``results/{dataset}/runs.tsv``, :data:`contracts.MANIFEST`) of ``runs`` of ``config``."""
    keys = {dataset: dataset_keys(cfg) for dataset, cfg in config["datasets"].items()}
    rows = [{"dataset": r.dataset, "run_id": r.run_id, "model": r.model, "kind": r.kind, "seed": r.seed,
             "setting": r.setting, "control": MODEL_SPECS[r.kind].is_control,
             "covariates": corrected_covariates(MODEL_SPECS[r.kind], r.params, keys[r.dataset]),
             "params": canonical_json(r.params), "grid_values": canonical_json(r.grid_values)} for r in runs]
    return pd.DataFrame(rows, columns=C.MANIFEST.columns)
