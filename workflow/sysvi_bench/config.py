"""What the configuration means, in one place: the error for a setting that cannot run, the defaults (read
from the JSON schema, ``workflow/schemas/config.schema.yaml``: the single truth), the source kinds with the obs
keys they imply, and the dataset keys. Model kinds are declared in :mod:`sysvi_bench.train.models`.

Imported when Snakemake parses the workflow: light (no scvi/torch/scanpy imports).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml


def canonical_json(obj: Any) -> str:
    """Stable one-line JSON (sorted keys): equal values give equal text (what Snakemake compares in params)."""
    return json.dumps(obj, sort_keys=True, default=str)


class ConfigError(ValueError):
    """A config value that the schema admits but the benchmark cannot run; names the field at fault."""

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
# where each config section's properties are declared in the schema
_SECTIONS = {"evaluation": ("properties", "evaluation"), "threads": ("properties", "threads"),
             "dataset": ("$defs", "dataset"), "preprocess": ("$defs", "preprocess")}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def schema_defaults(section: str) -> dict[str, Any]:
    """The schema's default of every property of ``section`` (``evaluation``, ``preprocess``, ...) that has one."""
    node = schema()
    for key in _SECTIONS[section]:
        node = node[key]
    return {name: prop["default"] for name, prop in node["properties"].items() if "default" in prop}


def with_defaults(section: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """``values`` with the schema's defaults of ``section`` filled in (as snakemake.utils.validate does)."""
    return {**schema_defaults(section), **(values or {})}


# Evaluation settings that only change how scores are aggregated (marked ``stage: aggregate`` in the schema).
AGGREGATION_STAGE = "aggregate"


@lru_cache(maxsize=1)
def aggregation_keys() -> frozenset[str]:
    """The ``evaluation`` settings marked ``stage: aggregate`` in the schema: they reach the ``aggregate`` job
    only, so changing one re-aggregates without rescoring."""
    props = schema()["properties"]["evaluation"]["properties"]
    return frozenset(name for name, prop in props.items() if prop.get("stage") == AGGREGATION_STAGE)


def scoring_settings(evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The evaluation settings that change scores (defaults filled in): the ``evaluation_reference`` job's
    param, recorded in ``metrics_info.json``."""
    return {k: v for k, v in with_defaults("evaluation", evaluation).items() if k not in aggregation_keys()}


def aggregation_settings(evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The evaluation settings that only change aggregation (defaults filled in): the ``aggregate`` job's param."""
    return {k: v for k, v in with_defaults("evaluation", evaluation).items() if k in aggregation_keys()}


# Default obs keys per source kind; an h5ad source must name its own keys.
SOURCE_KEY_DEFAULTS: dict[str, dict[str, Any]] = {
    "came_pancreas": {"system_key": "species", "covariate_keys": ["donor"], "label_key": "cell_type"},
    "simulate": {"system_key": "system", "covariate_keys": ["sample"], "label_key": "cell_type"},
    "h5ad": {"covariate_keys": []},
    "url": {"covariate_keys": []},
    "manual": {"covariate_keys": []},
    "per_system": {"covariate_keys": []},
}


def source_files(source: Mapping[str, Any]) -> dict[str, str]:
    """The user's files a source reads, by the config field that names each (``h5ad``, ``manual`` and
    ``per_system`` sources; ``url``, ``came_pancreas`` and ``simulate`` read no file of the user's). They are
    the declared inputs of the dataset's ``prepare_dataset`` job: replacing one re-prepares the dataset."""
    kind = source["kind"]
    if kind in ("h5ad", "manual"):
        return {"path": str(source["path"])}
    if kind != "per_system":
        return {}
    files = {f"system_files.{system}": str(entry if isinstance(entry, str) else entry["path"])
             for system, entry in source["system_files"].items()}
    if source.get("orthologs"):
        files["orthologs.path"] = str(source["orthologs"]["path"])
    return files


def download_filename(source: Mapping[str, Any]) -> str:
    """Name of a ``url`` source's file under ``resources/downloads/`` (``filename``, or the URL's last part)."""
    return source.get("filename") or source["url"].rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DatasetKeys:
    """The obs keys that define a dataset's systems, covariates, samples and labels.

    ``system_key`` is one obs column, or several whose values are joined with
    :data:`sysvi_bench.contracts.SYSTEM_SEPARATOR` into one system label (e.g. species x technology).
    ``unlabeled`` lists label values that mean "no label" (missing values always do).
    """

    system_key: str | tuple[str, ...]
    covariate_keys: tuple[str, ...]
    label_key: str
    sample_key: str | None
    unlabeled: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str) -> "DatasetKeys":
        """The keys from their JSON form (the ``train`` job's param), lists back to tuples."""
        values = json.loads(text)
        as_tuple = {k: tuple(v) for k, v in values.items() if isinstance(v, list)}
        return cls(**{**values, **as_tuple})

    def to_json(self) -> str:
        return canonical_json(asdict(self))

    @property
    def system_columns(self) -> tuple[str, ...]:
        """The obs column(s) the system label is made of."""
        return (self.system_key,) if isinstance(self.system_key, str) else tuple(self.system_key)

    def pipeline_columns_in_their_role(self) -> set[str]:
        """Pipeline obs columns (``system``, ``cell_type``) that the user's data already has in the same role: the
        configured system or label column of that very name, which the pipeline's own copy replaces."""
        return ({"system"} if self.system_columns == ("system",) else set()) | (
            {"cell_type"} if self.label_key == "cell_type" else set())


def dataset_keys(dataset_cfg: Mapping[str, Any]) -> DatasetKeys:
    """Return the obs keys of a dataset, filling the defaults of its source kind."""
    merged = {**SOURCE_KEY_DEFAULTS[dataset_cfg["source"]["kind"]], **dataset_cfg}
    for key in ("system_key", "label_key"):
        if key not in merged:
            raise ConfigError(f"datasets: a source of kind {dataset_cfg['source']['kind']!r} needs {key!r}")
    covariates = tuple(merged.get("covariate_keys") or ())
    sample_key = merged.get("sample_key") or (covariates[0] if covariates else None)
    system_key = merged["system_key"]
    if not isinstance(system_key, str):
        system_key = tuple(system_key) if len(system_key) > 1 else system_key[0]
    unlabeled = tuple(str(v) for v in merged.get("unlabeled") or ())
    return DatasetKeys(system_key, covariates, merged["label_key"], sample_key, unlabeled)
