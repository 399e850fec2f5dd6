"""Config checks that need more than the JSON schema: cheap, run at start-up before any job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from sysvi_bench.models.specs import ConfigError


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the field at fault."""
    for name, dataset in config["datasets"].items():
        source = dataset["source"]
        if source["kind"] == "h5ad" and not Path(source["path"]).is_file():
            raise ConfigError(f"datasets.{name}.source.path: file {source['path']!r} does not exist")
    evaluation = config.get("evaluation", {})
    if evaluation.get("summary_variant", "raw") not in evaluation.get("variants", ["raw", "standardized"]):
        raise ConfigError("evaluation.summary_variant: must be one of evaluation.variants")
    for model, entry in config["models"].items():
        for field in ("datasets", "per_dataset"):
            for dataset in entry.get(field) or []:
                if dataset not in config["datasets"]:
                    raise ConfigError(f"models.{model}.{field}: unknown dataset {dataset!r}")
        if entry.get("kind", model) == "external":
            path = (entry.get("params") or {}).get("path")
            if not path:
                raise ConfigError(f"models.{model}.params.path: an external embedding needs a path")
            if not Path(path).is_file():
                raise ConfigError(f"models.{model}.params.path: file {path!r} does not exist")
