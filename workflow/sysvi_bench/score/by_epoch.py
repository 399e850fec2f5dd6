"""Score a run's final embedding and its checkpoints (:mod:`sysvi_bench.train.checkpoints`) from one read of
``embedding.h5ad``: ``metrics.tsv`` and ``metrics_by_epoch.tsv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.score.suite import DatasetReference, embedding_metrics, failed_run_metrics, finished_embedding


def score_by_epoch(
    run: Run,
    info: Mapping[str, Any],
    embedding: Path | str,
    reference: DatasetReference | None,
    evaluation: Mapping[str, Any],
    n_jobs: int = 1,
    tables: dict[str, list[pd.DataFrame]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(metrics, metrics_by_epoch)`` of one run: the final embedding's table (:data:`contracts.METRICS`)
    and the same table for every checkpoint plus the final one, with its ``epoch``
    (:data:`contracts.METRICS_BY_EPOCH`).

    The final rows of ``metrics_by_epoch`` *are* ``metrics`` (one computation), at epoch ``n_epochs`` of
    ``run_info.json`` (0 for models that do not train over epochs; a failed run has no checkpoints).
    ``tables`` collects the final embedding's per-cell-type tables (as :func:`~sysvi_bench.score.suite.score_run`).
    """
    emb_adata = finished_embedding(info, embedding, reference)  # read once for the final embedding and checkpoints
    if emb_adata is None:  # a failed run: no checkpoints
        final = failed_run_metrics(run, info, reference, evaluation)
        return final, final.assign(epoch=int(info["n_epochs"]))[C.METRICS_BY_EPOCH.columns]
    final = embedding_metrics(run, emb_adata, C.EMBEDDING_KEY, reference, evaluation, n_jobs, tables)
    n_epochs = int(info["n_epochs"])
    by_epoch = [embedding_metrics(run, emb_adata, key, reference, evaluation, n_jobs).assign(epoch=epoch)
                for epoch, key in C.checkpoint_obsm(list(emb_adata.obsm.keys())).items() if epoch < n_epochs]
    by_epoch.append(final.assign(epoch=n_epochs))
    return final, pd.concat(by_epoch, ignore_index=True)[C.METRICS_BY_EPOCH.columns]
