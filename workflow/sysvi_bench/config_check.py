"""Config checks that need more than the JSON schema: cheap, run at start-up before any job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from sysvi_bench import contracts as C
from sysvi_bench.config import ConfigError, DatasetKeys, dataset_keys, source_files
from sysvi_bench.train.plan import expand_runs
from sysvi_bench.train.models import MODEL_SPECS
from sysvi_bench.data.preprocess import PreprocessParams  # light: scanpy is imported when preprocessing runs


def _check_file(path: str, where: str) -> None:
    if not Path(path).is_file():
        raise ConfigError(f"{where}: file {path!r} does not exist")


def check_source(name: str, source: Mapping[str, Any]) -> None:
    """Files a source reads exist (a ``manual`` source's file may be placed later: preparing the dataset says
    where and how); a ``per_system`` ortholog table names a column for every system."""
    where = f"datasets.{name}.source"
    if source["kind"] != "manual":
        for field_name, path in source_files(source).items():
            _check_file(path, f"{where}.{field_name}")
    if source["kind"] != "per_system":
        return
    systems = sorted(map(str, source["system_files"]))
    orthologs = source.get("orthologs")
    if orthologs:  # its file was checked with the source's files
        if sorted(map(str, orthologs["columns"])) != systems:
            raise ConfigError(f"{where}.orthologs.columns: needs one column per system {systems}, "
                              f"got {sorted(orthologs['columns'])}")
        if orthologs["keep"] not in systems:
            raise ConfigError(f"{where}.orthologs.keep: {orthologs['keep']!r} is not one of the systems {systems}")


def check_key_collisions(name: str, keys: DatasetKeys) -> None:
    """No configured obs key has the name of a column that preprocessing writes for another role
    (:data:`sysvi_bench.contracts.PIPELINE_OBS`): it would be overwritten, and a covariate or label of that name
    would silently become the system or the cell type."""
    same_role = keys.pipeline_columns_in_their_role()
    roles = [("system_key", k) for k in keys.system_columns] + [("label_key", keys.label_key)]
    roles += [("covariate_keys", k) for k in keys.covariate_keys]
    roles += [("sample_key", keys.sample_key)] if keys.sample_key and keys.sample_key not in keys.covariate_keys else []
    for field_name, key in roles:
        if key in C.PIPELINE_OBS and key not in same_role:
            raise ConfigError(
                f"datasets.{name}.{field_name}: obs column {key!r} has the name of the column in which the pipeline "
                f"writes {C.PIPELINE_OBS[key]} (system_key {keys.system_key!r}, label_key {keys.label_key!r}); it "
                f"would be overwritten. Rename the column in your data (and here)")


def check_keys(name: str, dataset: Mapping[str, Any]) -> None:
    """The label and the covariates are obs columns other than the system's, and none is overwritten."""
    keys = dataset_keys(dataset)
    check_key_collisions(name, keys)
    systems = set(keys.system_columns)
    if keys.label_key in systems:
        raise ConfigError(f"datasets.{name}.label_key: {keys.label_key!r} is also the system_key; the label must "
                          "be another obs column (the cell type)")
    clash = [k for k in keys.covariate_keys if k in systems]
    if clash:
        raise ConfigError(f"datasets.{name}.covariate_keys: {clash} is the system_key, which every model already "
                          "corrects for as its batch key; remove it from covariate_keys")


def check_pca_components(config: Mapping[str, Any]) -> None:
    """Models that start from the preprocessing PCA ask for no more components than preprocessing computes."""
    for run in expand_runs(config):
        if not MODEL_SPECS[run.kind].reads_pca:
            continue
        params = PreprocessParams(**config["datasets"][run.dataset].get("preprocess", {}))
        if run.params["n_comps"] > params.n_pcs:
            raise ConfigError(
                f"models.{run.model}.n_comps: {run.params['n_comps']} exceeds the {params.n_pcs} PCs that preprocessing "
                f"computes for dataset {run.dataset!r}; lower n_comps or raise datasets.{run.dataset}.preprocess.n_pcs"
            )


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the field at fault."""
    for name, dataset in config["datasets"].items():
        check_source(name, dataset["source"])
        check_keys(name, dataset)
        pre = PreprocessParams(**dataset.get("preprocess", {}))
        if pre.n_pcs >= pre.n_hvg:
            raise ConfigError(f"datasets.{name}.preprocess.n_pcs: {pre.n_pcs} PCs need more genes than that, "
                              f"but preprocess.n_hvg is {pre.n_hvg}")
    check_pca_components(config)
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
