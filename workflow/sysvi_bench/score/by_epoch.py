"""Score a run's final embedding and its checkpoints (:mod:`sysvi_bench.train.checkpoints`) from one read of
``embedding.h5ad``: ``metrics.tsv`` and ``metrics_by_epoch.tsv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.score.suite import DatasetReference, embedding_metrics, failed_run_metrics, finished_embedding


def final_epoch(info: Mapping[str, Any]) -> int:
    """The epoch whose state a run's final embedding is: ``best_epoch`` of ``run_info.json`` (with early stopping
    the best validation loss, restored at the end; else the last epoch), ``n_epochs`` where it is absent or null
    (0 for models that do not train over epochs, runs made before ``best_epoch`` existed)."""
    best = info.get("best_epoch")
    return int(best) if best is not None else int(info["n_epochs"])


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

    The final rows of ``metrics_by_epoch`` *are* ``metrics`` (one computation), at the epoch whose state the
    final embedding is (:func:`final_epoch`); checkpoints from that epoch on are not scored (with early stopping,
    states the run trained past but did not keep: they would sit after the final embedding on an epoch axis).
    ``tables`` collects the final embedding's per-cell-type tables (as :func:`~sysvi_bench.score.suite.score_run`).
    """
    emb_adata = finished_embedding(info, embedding, reference)  # read once for the final embedding and checkpoints
    if emb_adata is None:  # a failed run: no checkpoints
        final = failed_run_metrics(run, info, reference, evaluation)
        return final, final.assign(epoch=final_epoch(info))[C.METRICS_BY_EPOCH.columns]
    final = embedding_metrics(run, emb_adata, C.EMBEDDING_KEY, reference, evaluation, n_jobs, tables)
    last = final_epoch(info)
    checkpoints = C.checkpoint_obsm(list(emb_adata.obsm.keys()))
    past = sorted(epoch for epoch in checkpoints if epoch >= last)
    if past:  # said in the job's log: stored in embedding.h5ad, not scored
        print(f"checkpoints at epochs {past} not scored: the final embedding is the state of epoch {last}")
    by_epoch = [embedding_metrics(run, emb_adata, key, reference, evaluation, n_jobs).assign(epoch=epoch)
                for epoch, key in checkpoints.items() if epoch < last]
    by_epoch.append(final.assign(epoch=last))
    return final, pd.concat(by_epoch, ignore_index=True)[C.METRICS_BY_EPOCH.columns]
