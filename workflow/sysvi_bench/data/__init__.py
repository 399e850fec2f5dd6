"""Dataset sources: each turns a config entry into ``resources/{dataset}/raw.h5ad``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import anndata as ad

from sysvi_bench.data.validate import DataError, validate_raw
from sysvi_bench.grid import dataset_keys


def read_h5ad_checked(path: Path | str, *, where: str) -> ad.AnnData:
    """Read a user's h5ad, turning a missing or unreadable file into a :class:`DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{where}: file {str(path)!r} does not exist")
    try:
        return ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for corrupt or foreign files
        raise DataError(f"{where}: {str(path)!r} is not a readable AnnData (.h5ad) file: {exc}") from exc


def load_source(name: str, dataset_cfg: Mapping[str, Any], resources: Path) -> ad.AnnData:
    """Load (fetch, simulate or read) the raw dataset ``name`` and validate it."""
    source = dict(dataset_cfg["source"])
    kind = source.pop("kind")
    where = f"datasets.{name}"
    if kind == "came_pancreas":
        from sysvi_bench.data.came import CAME_WHEEL, download_came_wheel, load_came_pancreas

        wheel = Path(resources) / "came" / CAME_WHEEL
        if not wheel.exists():
            download_came_wheel(wheel)
        adata = load_came_pancreas(wheel)
    elif kind == "simulate":
        from sysvi_bench.data.simulate import SimulationParams, simulate

        adata = simulate(SimulationParams(**source))
    elif kind == "h5ad":
        adata = read_h5ad_checked(source["path"], where=f"{where}.source.path")
    elif kind == "url":
        from sysvi_bench.data.download import download

        filename = source.get("filename") or source["url"].rstrip("/").rsplit("/", 1)[-1]
        path = download(source["url"], Path(resources) / "downloads" / filename, source["sha256"])
        adata = read_h5ad_checked(path, where=f"{where}.source.url")
    elif kind == "manual":
        path = Path(source["path"])
        if not path.is_file():
            raise DataError(f"{where}.source.path: {str(path)!r} is missing. {source['instructions']}")
        adata = read_h5ad_checked(path, where=f"{where}.source.path")
    else:  # the schema admits no other kind
        raise DataError(f"{where}.source.kind: unknown kind {kind!r}")
    validate_raw(adata, dataset_keys(dataset_cfg), where=where, min_cells_per_system=dataset_cfg.get("min_cells_per_system", 50))
    return adata
