"""The data step (rules ``download_*``, ``prepare_dataset`` and ``preprocess`` in workflow/rules/data.smk).

Owns the sources (:func:`load_source`: each turns a config entry into ``resources/{dataset}/raw.h5ad``;
:mod:`.sources` reads users' files, :mod:`.came`, :mod:`.download` and :mod:`.simulate` the others), the checks
of raw data (:mod:`.validate`), preprocessing into ``preprocessed.h5ad`` (:mod:`.preprocess`) and the count of
every cell and gene a step removes (:mod:`.accounting`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import anndata as ad

from sysvi_bench.data import accounting as acc
from sysvi_bench import contracts as C
from sysvi_bench.data.sources import MatrixOptions, counts_matrix, load_per_system, read_user_h5ad
from sysvi_bench.data.validate import DataError, system_labels, validate_raw
from sysvi_bench.config import dataset_keys, download_filename, with_defaults

__all__ = ["load_source", "read_user_h5ad"]


def _source_path(kind: str, source: Mapping[str, Any], resources: Path, where: str) -> tuple[Path, str]:
    """The h5ad file of an ``h5ad``, ``url`` or ``manual`` source (downloaded first for ``url``)."""
    if kind == "url":
        from sysvi_bench.data.download import download

        dest = Path(resources) / "downloads" / download_filename(source)
        return download(source["url"], dest, source["sha256"]), f"{where}.source.url"
    path = Path(source["path"])
    if kind == "manual" and not path.is_file():
        raise DataError(f"{where}.source.path: {str(path)!r} is missing. {source['instructions']}")
    return path, f"{where}.source.path"


def load_source(name: str, dataset_cfg: Mapping[str, Any], resources: Path) -> ad.AnnData:
    """Load (fetch, simulate or read) the raw dataset ``name``, validate it and record its accounting.

    The rows of what was read and removed (``input``, ``counts``, ``gene_key``, ``orthologs`` or
    ``gene_intersection``, then ``prepared``) are stored in ``uns[SOURCE_REPORT_KEY]`` and printed.
    """
    source = dict(dataset_cfg["source"])
    kind = source.pop("kind")
    where = f"datasets.{name}"
    keys = dataset_keys(dataset_cfg)
    accounting = acc.Accounting()
    if kind == "came_pancreas":
        from sysvi_bench.data.came import CAME_WHEEL, download_came_wheel, load_came_pancreas

        wheel = Path(resources) / "came" / CAME_WHEEL
        if not wheel.exists():
            download_came_wheel(wheel)
        adata = load_came_pancreas(wheel, accounting=accounting)
    elif kind == "simulate":
        from sysvi_bench.data.simulate import SimulationParams, simulate

        adata = simulate(SimulationParams(**source))
    elif kind == "per_system":
        required = {k: "covariate_keys" for k in keys.covariate_keys} | {keys.label_key: "label_key"}
        adata = load_per_system(source, keys.system_columns[0], where=f"{where}.source", accounting=accounting,
                                obs_keys=required)
    elif kind in ("h5ad", "url", "manual"):
        path, where_file = _source_path(kind, source, resources, where)
        adata = counts_matrix(read_user_h5ad(path, where=where_file), MatrixOptions.from_config(source),
                              where=where_file, system=C.REPORT_ALL_SYSTEMS, accounting=accounting)
    else:  # the schema admits no other kind
        raise DataError(f"{where}.source.kind: unknown kind {kind!r}")
    validate_raw(adata, keys, where=where, min_cells_per_system=with_defaults("dataset", dataset_cfg)["min_cells_per_system"])
    systems = system_labels(adata.obs, keys)
    if not accounting.rows:  # a source that reads no file (simulate)
        accounting.add_dataset("input", adata, systems, note=f"{kind} source")
    accounting.add_dataset("prepared", adata, systems, note="raw.h5ad as written")
    acc.to_uns(adata, accounting)
    print(f"{where}: prepared {adata.n_obs} cells x {adata.n_vars} genes\n{accounting.summary()}")
    return adata
