"""What the scvi-tools models (SysVI, scVI) share once built: training with embedding checkpoints, the loss
history as one table, and the fit's result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sysvi_bench.train.budget import training_record
from sysvi_bench.train.checkpoints import checkpoint_epochs, make_callback
from sysvi_bench.train.models.base import FitContext, FitResult, device_name


def train_with_checkpoints(model: Any, kwargs: dict[str, Any], fractions: tuple[float, ...]) -> dict[int, np.ndarray]:
    """``model.train(**kwargs)``, keeping the latent at ``fractions`` of ``max_epochs`` (:mod:`sysvi_bench.train.checkpoints`)."""
    epochs = checkpoint_epochs(fractions, kwargs["max_epochs"])
    if not epochs:
        model.train(**kwargs)
        return {}
    callback = make_callback(model, epochs)
    model.train(**kwargs, callbacks=[callback])
    return callback.latents


def history_frame(history: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """scvi-tools' per-metric history dict as one table, one row per epoch."""
    frames = [df for df in history.values() if len(df)]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, axis=1)
    table.index.name = "epoch"
    return table.reset_index()


def train_and_embed(model: Any, kwargs: dict[str, Any], params: dict[str, Any], context: FitContext) -> FitResult:
    """Train a built scvi-tools model with ``kwargs`` (``model.train``), then return its latent representation,
    its loss history, the checkpoints' latents and the training record; save the model when asked."""
    latents = train_with_checkpoints(model, kwargs, context.checkpoints)
    history = history_frame(model.history)
    embedding = model.get_latent_representation()
    if context.model_dir is not None and params["save_model"]:
        model.save(str(context.model_dir), overwrite=True, save_anndata=False)
    return FitResult(np.asarray(embedding, dtype=np.float32), history, device=device_name(model.device),
                     checkpoints=latents,
                     record=training_record(params, kwargs["max_epochs"], history, getattr(model, "training_plan", None)))
