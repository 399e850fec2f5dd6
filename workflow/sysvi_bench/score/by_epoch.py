"""Score a run's embedding checkpoints (:mod:`sysvi_bench.train.checkpoints`): ``metrics_by_epoch.tsv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import anndata as ad
import pandas as pd

from sysvi_bench import contracts as C
from sysvi_bench.grid import Run
from sysvi_bench.score.suite import DatasetReference, score_run


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
    ``tables`` collects the final embedding's per-cell-type tables (:func:`~sysvi_bench.score.suite.score_run`).
    """
    final = score_run(run, info, embedding, reference, evaluation, n_jobs=n_jobs, tables=tables)
    checkpoints: dict[int, str] = {}
    if info["status"] == C.STATUS_OK:
        checkpoints = C.checkpoint_obsm(list(ad.read_h5ad(embedding).obsm.keys()))
    tables = [score_run(run, info, embedding, reference, evaluation, n_jobs=n_jobs, obsm_key=key).assign(epoch=epoch)
              for epoch, key in checkpoints.items() if epoch < int(info["n_epochs"])]
    tables.append(final.assign(epoch=int(info["n_epochs"])))
    by_epoch = pd.concat(tables, ignore_index=True)
    return final, by_epoch[C.METRICS_BY_EPOCH.columns]
