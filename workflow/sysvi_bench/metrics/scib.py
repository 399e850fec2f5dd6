"""The scib-metrics suite, run through scib-metrics' own ``Benchmarker`` with the system as the batch."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import numpy as np
import pandas as pd
from anndata import AnnData
from scib_metrics.benchmark import BatchCorrection, Benchmarker, BioConservation

from sysvi_bench.metrics.neighbors import compute_neighbors

PRE_KEY = "X_pre"


def scib_metric_names() -> list[tuple[str, str]]:
    """(metric, type) of every metric the default suite reports, in scib-metrics' own names."""
    names = []
    for metric_type, collection in (("bio", BioConservation()), ("batch", BatchCorrection())):
        for name, enabled in asdict(collection).items():
            if not enabled:
                continue
            if name.startswith("nmi_ari"):
                names += [(f"{name}_nmi", metric_type), (f"{name}_ari", metric_type)]
            else:
                names.append((name, metric_type))
    return names


def scib_metrics_long(
    embeddings: dict[str, np.ndarray],
    pre_integrated: np.ndarray,
    batch: pd.Series,
    labels: pd.Series,
    *,
    neighbor_backend: str = "exact",
    seed: int = 0,
) -> pd.DataFrame:
    """Score each embedding with scib-metrics' defaults; one row per (embedding_variant, metric).

    Returns columns ``embedding_variant, metric, type, value`` (raw, unscaled values).
    """
    adata = AnnData(obs=pd.DataFrame({"batch": batch.astype(str).to_numpy(), "labels": labels.astype(str).to_numpy()}, index=batch.index.astype(str)))
    adata.obsm[PRE_KEY] = np.asarray(pre_integrated, dtype=np.float32)
    for variant, emb in embeddings.items():
        adata.obsm[variant] = np.asarray(emb, dtype=np.float32)
    bench = Benchmarker(
        adata,
        batch_key="batch",
        label_key="labels",
        embedding_obsm_keys=list(embeddings),
        pre_integrated_embedding_obsm_key=PRE_KEY,
        bio_conservation_metrics=BioConservation(),
        batch_correction_metrics=BatchCorrection(),
        n_jobs=1,
        progress_bar=False,
    )
    bench.prepare(neighbor_computer=partial(compute_neighbors, backend=neighbor_backend, seed=seed))
    bench.benchmark()
    raw = bench._results  # get_results() renames and aggregates; the raw frame keeps metric ids
    types = dict(scib_metric_names())
    rows = [
        {"embedding_variant": variant, "metric": metric, "type": types.get(metric, raw.loc[metric, "Metric Type"]),
         "value": float(raw.loc[metric, variant])}
        for variant in embeddings
        for metric in raw.index
    ]
    return pd.DataFrame(rows)
