"""What the scvi-tools models (SysVI, scVI) share once built: training with embedding checkpoints, the loss
history as one table, and the fit's result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sysvi_bench.train.budget import VALIDATION_MONITOR, training_record
from sysvi_bench.train.checkpoints import best_state_callback, checkpoint_epochs, make_callback
from sysvi_bench.train.models.base import FitContext, FitResult, device_name


def train_with_checkpoints(model: Any, kwargs: dict[str, Any],
                           fractions: tuple[float, ...]) -> tuple[dict[int, np.ndarray], int | None]:
    """``model.train(**kwargs)``, keeping the latent at ``fractions`` of ``max_epochs``, and with early stopping
    ending training at the best state (:mod:`sysvi_bench.train.checkpoints`).

    Returns the checkpoints' latents (epoch -> latent) and the best state's epoch (None without early stopping:
    the model is its last epoch's).
    """
    callbacks: list[Any] = []
    epochs = checkpoint_epochs(fractions, kwargs["max_epochs"])
    latents = make_callback(model, epochs) if epochs else None
    if latents is not None:
        callbacks.append(latents)
    best = best_state_callback(VALIDATION_MONITOR) if kwargs.get("early_stopping") else None
    if best is not None:
        callbacks.append(best)
    model.train(**kwargs, callbacks=callbacks)
    return (latents.latents if latents is not None else {}), (best.best_epoch if best is not None else None)


def history_frame(history: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """scvi-tools' per-metric history dict as one table, one row per epoch."""
    frames = [df for df in history.values() if len(df)]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, axis=1)
    table.index.name = "epoch"
    return table.reset_index()


def train_and_embed(model: Any, kwargs: dict[str, Any], params: dict[str, Any], context: FitContext) -> FitResult:
    """Train a built scvi-tools model with ``kwargs`` (``model.train``), then return its latent representation
    (of the best state with early stopping), its loss history (every epoch trained), the checkpoints' latents
    and the training record; save the model (the same state) when asked."""
    latents, best_epoch = train_with_checkpoints(model, kwargs, context.checkpoints)
    history = history_frame(model.history)
    embedding = model.get_latent_representation()
    if context.model_dir is not None and params["save_model"]:
        model.save(str(context.model_dir), overwrite=True, save_anndata=False)
    return FitResult(np.asarray(embedding, dtype=np.float32), history, device=device_name(model.device),
                     checkpoints=latents,
                     record=training_record(params, kwargs["max_epochs"], history, getattr(model, "training_plan", None),
                                           best_epoch=best_epoch))
