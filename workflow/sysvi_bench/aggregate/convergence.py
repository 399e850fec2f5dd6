"""Has a run's training converged? A measure from its loss history (``history.tsv``), as pure functions.

numpy/pandas only (the aggregate step's environment). The measure is the **change of the training loss over
the last** ``tail_fraction`` **of the epochs** (10% by default, at least one epoch), **relative to the loss's
range over training**:

``convergence = (loss[n - 1 - w] - loss[n - 1]) / (max(loss) - min(loss))``, with ``w = ceil(tail_fraction * n)``,

i.e. the share of the whole fall of the loss that happened in the last epochs: positive while the loss still
falls, negative when it rises. A run is ``converged`` when
``|convergence| <= tolerance`` (``evaluation.convergence_tolerance``), **or when early stopping ended it**
(``stopped_early`` in ``run_info.json``): scvi-tools' early stopping stops only after the validation ELBO did
not improve for ``early_stopping_patience`` epochs, i.e. the held-out loss has reached its plateau, which is
the verdict on the validation split. A run with fewer than two epochs is never converged. No library
computes this: scvi-tools' early stopping watches a validation metric during training, not a finished history.

Why the training loss and not the validation loss for the runs without early stopping: scvi-tools logs the
validation loss only when it checks validation (early stopping or ``check_val_every_n_epoch``), and one
epoch's validation loss is noisier than the training loss averaged over an epoch's steps; the training-loss
measure failed every demo SysVI run at 30 and 150 epochs and passed every neural run at 400 (docs/performance.md).

The loss is the first of :data:`LOSS_COLUMNS` that the history has: scvi-tools' total training objective
(``train_loss_epoch``), else the ELBO, else the reconstruction loss. Models without a history (PCA, Harmony,
controls, external embeddings) get NA: convergence does not apply to them.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from sysvi_bench.config import schema_defaults

# per-epoch training losses, in order of preference (scvi-tools' history names)
LOSS_COLUMNS: tuple[str, ...] = ("train_loss_epoch", "train_loss", "elbo_train", "reconstruction_loss_train")
TAIL_FRACTION = 0.1
DEFAULT_TOLERANCE = schema_defaults("evaluation")["convergence_tolerance"]
CONVERGENCE_COLUMNS = ["dataset", "run_id", "convergence", "converged"]


def training_loss(history: pd.DataFrame | None) -> pd.Series | None:
    """The per-epoch training loss of a history (first of :data:`LOSS_COLUMNS` present), NaN epochs dropped;
    None without a history or without such a column."""
    if history is None or not len(history):
        return None
    column = next((c for c in LOSS_COLUMNS if c in history.columns), None)
    if column is None:
        return None
    loss = pd.to_numeric(history[column], errors="coerce")
    if "epoch" in history.columns:
        loss.index = history["epoch"]
    return loss.dropna()


def relative_change(loss: pd.Series | np.ndarray, tail_fraction: float = TAIL_FRACTION) -> float:
    """Decrease of ``loss`` over its last ``ceil(tail_fraction * n)`` epochs, as a fraction of the loss's whole
    range over training (max - min); NaN for < 2 epochs, 0 for a constant loss.

    Positive: the loss still falls; negative: it rises. Relative to the range, not to the last value: SysVI's
    Gaussian reconstruction loss crosses zero during training (the demo's runs go from +270 to -48), where a
    change relative to the last value is meaningless.
    """
    values = np.asarray(loss, dtype=float)
    n = values.size
    if n < 2:
        return float("nan")
    window = min(n - 1, max(1, math.ceil(tail_fraction * n)))
    span = values.max() - values.min()
    if span == 0:
        return 0.0
    return float((values[-1 - window] - values[-1]) / span)


def run_convergence(
    history: pd.DataFrame | None, tolerance: float = DEFAULT_TOLERANCE, tail_fraction: float = TAIL_FRACTION,
    stopped_early: bool = False,
) -> tuple[float, bool | None]:
    """``(convergence, converged)`` of one run's history; ``(NaN, None)`` when it does not apply (no loss history).

    ``stopped_early``: early stopping ended the run (``run_info.json``), which counts as converged. Fewer than
    two epochs of loss: ``(NaN, False)``.
    """
    loss = training_loss(history)
    if loss is None:
        return float("nan"), None
    change = relative_change(loss, tail_fraction)
    if np.isnan(change):
        return float("nan"), False
    return change, bool(stopped_early) or bool(abs(change) <= tolerance)


def convergence_table(
    histories: Mapping[tuple[str, str], pd.DataFrame | None],
    tolerance: float = DEFAULT_TOLERANCE,
    tail_fraction: float = TAIL_FRACTION,
    stopped_early: Mapping[tuple[str, str], bool] | None = None,
) -> pd.DataFrame:
    """One row per run: :data:`CONVERGENCE_COLUMNS` from ``(dataset, run_id) -> history`` (None: no history).

    ``stopped_early``: ``(dataset, run_id) -> whether early stopping ended the run`` (missing: False).
    ``converged`` is a nullable boolean (NA where convergence does not apply).
    """
    stopped_early = stopped_early or {}
    rows = [(dataset, run_id, *run_convergence(history, tolerance, tail_fraction,
                                               bool(stopped_early.get((dataset, run_id), False))))
            for (dataset, run_id), history in histories.items()]
    table = pd.DataFrame(rows, columns=CONVERGENCE_COLUMNS)
    table["convergence"] = table["convergence"].astype(float)
    table["converged"] = table["converged"].astype("boolean")
    return table
