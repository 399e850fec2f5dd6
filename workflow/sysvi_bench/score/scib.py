"""The scib-metrics suite with the system as the batch, exactly as scib-metrics' ``Benchmarker`` calls it.

We drive scib-metrics' own metric table (``BioConservation``/``BatchCorrection`` defaults and the
``MetricAnnDataAPI`` argument mapping) instead of ``Benchmarker.benchmark()`` because the latter runs a full
``gc.collect()`` before every metric (about 0.7 s each with torch and jax loaded: 14 s per run here) and cannot
reuse a kNN graph computed once per embedding. Values are identical (checked by benchmarks/).
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from typing import Any, Collection, Iterator

import numpy as np
import pandas as pd
import scib_metrics
import scib_metrics.metrics._isolated_labels as _isolated_labels_module
import scib_metrics.metrics._silhouette as _silhouette_module
import scib_metrics.utils
from anndata import AnnData
from scib_metrics.benchmark import BatchCorrection, BioConservation
from scib_metrics.benchmark._core import MetricAnnDataAPI
from scib_metrics.nearest_neighbors import NeighborsResults

from sysvi_bench.score.neighbors import compute_neighbors

# Benchmarker's neighbour sizes: one graph at the largest k, subset for the others
NEIGHBOR_SIZES = (15, 50, 90)


def scib_suite(skip: Collection[str] = ()) -> list[tuple[str, str, Any]]:
    """(function name, type, setting) of scib-metrics' default suite, less the functions in ``skip``."""
    return [
        (name, metric_type, setting)
        for metric_type, collection in (("bio", BioConservation()), ("batch", BatchCorrection()))
        for name, setting in asdict(collection).items()
        if setting is not False and name not in skip
    ]


def scib_metric_names(skip: Collection[str] = ()) -> list[tuple[str, str]]:
    """(metric, type) of every metric the suite reports, in scib-metrics' own names."""
    return [(f"{name}_{suffix}" if suffix else name, metric_type)
            for name, metric_type, _ in scib_suite(skip) for suffix in _suffixes(name)]


@contextmanager
def shared_silhouettes() -> Iterator[None]:
    """Compute each distinct ``silhouette_samples`` call of scib-metrics once while the context is open.

    ``silhouette_label`` and ``isolated_labels`` both call ``silhouette_samples(X, labels)`` on the whole
    embedding: the same O(n²) computation (~100 s each at 100k cells on 2 cores). scib-metrics has no way to
    share it, so the function is memoised here, in the two scib-metrics modules that call it, for one
    embedding's suite; the second caller gets the first one's array: values are identical.
    """
    original = _silhouette_module.silhouette_samples
    options = inspect.signature(scib_metrics.utils.silhouette_samples)  # the callers differ in what they spell out
    computed: list[tuple[np.ndarray, np.ndarray, dict[str, Any], np.ndarray]] = []

    def memoised(X, labels, **kwargs):
        bound = options.bind(X, labels, **kwargs)
        bound.apply_defaults()
        kwargs = {k: v for k, v in bound.arguments.items() if k not in ("X", "labels")}
        labels = np.asarray(labels)
        for x_seen, labels_seen, kwargs_seen, result in computed:
            if (kwargs_seen == kwargs and labels_seen.shape == labels.shape and np.array_equal(labels_seen, labels)
                    and (x_seen is X or (x_seen.shape == X.shape and np.array_equal(x_seen, X)))):
                return result
        result = original(X, labels, **kwargs)
        computed.append((X, labels, kwargs, result))
        return result

    modules = (_silhouette_module, _isolated_labels_module)
    for module in modules:
        module.silhouette_samples = memoised
    try:
        yield
    finally:
        for module in modules:
            module.silhouette_samples = original


def _metric_adata(emb: np.ndarray, pre: np.ndarray, batch: np.ndarray, labels: np.ndarray, nn: NeighborsResults) -> AnnData:
    """The per-embedding AnnData layout that scib-metrics' ``MetricAnnDataAPI`` expects."""
    adata = AnnData(X=np.asarray(emb, dtype=np.float32), obs=pd.DataFrame({"batch": batch, "labels": labels}))
    adata.obsm["X_pre"] = np.asarray(pre, dtype=np.float32)
    for k in NEIGHBOR_SIZES:
        adata.uns[f"{k}_neighbor_res"] = nn.subset_neighbors(n=min(k, nn.indices.shape[1]))
    return adata


def scib_metrics_long(
    embeddings: dict[str, np.ndarray],
    pre_integrated: np.ndarray,
    batch: pd.Series,
    labels: pd.Series,
    *,
    neighbor_backend: str = "exact",
    seed: int = 0,
    neighbors: dict[str, NeighborsResults] | None = None,
    skip: Collection[str] = (),
) -> pd.DataFrame:
    """Score each embedding with scib-metrics' default suite; one row per (embedding_variant, metric).

    Parameters
    ----------
    embeddings
        Variant name (e.g. ``raw``, ``standardized``) -> cells x dims array.
    pre_integrated
        The unintegrated PCA (for ``pcr_comparison``).
    batch, labels
        The system and the cell type of each cell.
    neighbors
        Optional precomputed kNN graphs per variant (k >= 90); computed here otherwise.
    skip
        scib-metrics function names to leave out (e.g. ``kbet_per_label``, whose numba compilation costs
        about 35 s per process).

    Returns
    -------
    Columns ``embedding_variant, metric, type, value, reason`` (raw, unscaled values; a metric that raises is
    NA with the error as its ``reason``).
    """
    batch_arr = np.asarray(batch.astype(str))
    label_arr = np.asarray(labels.astype(str))
    rows = []
    for variant, emb in embeddings.items():
        nn = (neighbors or {}).get(variant)
        if nn is None:
            nn = compute_neighbors(emb, max(NEIGHBOR_SIZES), backend=neighbor_backend, seed=seed)
        adata = _metric_adata(emb, pre_integrated, batch_arr, label_arr, nn)
        with shared_silhouettes():
            rows += _suite_rows(adata, variant, skip)
    return pd.DataFrame(rows, columns=["embedding_variant", "metric", "type", "value", "reason"])


def _suite_rows(adata: AnnData, variant: str, skip: Collection[str]) -> list[dict[str, Any]]:
    """One embedding's rows of :func:`scib_metrics_long` (its AnnData built by :func:`_metric_adata`)."""
    rows = []
    for name, metric_type, setting in scib_suite(skip):
        fn = getattr(scib_metrics, name)
        if isinstance(setting, dict):
            fn = partial(fn, **setting)
        try:
            value = getattr(MetricAnnDataAPI, name)(adata, fn)
            reason = ""
        except Exception as exc:  # NA for this metric, with the reason; the run's other values are kept
            value, reason = None, f"{name}: {type(exc).__name__}: {exc}"
        if value is None:
            results = [(s, float("nan")) for s in _suffixes(name)]
        else:
            results = value.items() if isinstance(value, dict) else [(None, value)]
        for suffix, v in results:
            metric = f"{name}_{suffix}" if suffix else name
            rows.append({"embedding_variant": variant, "metric": metric, "type": metric_type, "value": float(v),
                         "reason": reason})
    return rows


def _suffixes(name: str) -> list[str | None]:
    """Sub-metric suffixes of a scib-metrics function (NMI and ARI of the clustering metrics)."""
    return ["nmi", "ari"] if name.startswith("nmi_ari") else [None]
