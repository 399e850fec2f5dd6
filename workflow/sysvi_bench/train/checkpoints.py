"""Embeddings at fractions of a run's training, from the same training (``evaluation.checkpoints``).

A Lightning callback (:class:`LatentCheckpoints`, passed to scvi-tools' ``model.train(callbacks=[...])``)
calls the model's encoder at the end of the chosen epochs; nothing is retrained. Checkpoints are fractions
of the run's ``max_epochs`` (resolved, e.g. from ``auto``): ``epoch = max(1, round(fraction * max_epochs))``.
With early stopping, checkpoints after the stop epoch are never reached; the run's final embedding is always
its last checkpoint, at the epoch it actually stopped (so the last row of ``metrics_by_epoch.tsv`` is the
run's ``metrics.tsv``).

The checkpoints are stored in the run's ``embedding.h5ad`` as extra ``obsm`` keys
``X_emb_epoch<epoch>`` (:func:`sysvi_bench.contracts.checkpoint_key`), next to the final ``X_emb``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

def checkpoint_epochs(fractions: Sequence[float], max_epochs: int) -> list[int]:
    """The epochs (1-based, sorted, unique) at which ``fractions`` of ``max_epochs`` end; 1.0 excluded
    (the final embedding is the run's own)."""
    return sorted({max(1, round(f * max_epochs)) for f in fractions if round(f * max_epochs) < max_epochs})


def make_callback(model: Any, epochs: Sequence[int]):
    """A Lightning callback that stores ``model.get_latent_representation()`` at the end of ``epochs``.

    The latent is taken in eval mode (no dropout) under a forked torch RNG, and the module's mode is restored,
    so the training itself is unchanged (tested: the final embedding equals a run without checkpoints).
    """
    import torch
    from lightning.pytorch.callbacks import Callback

    class LatentCheckpoints(Callback):
        def __init__(self) -> None:
            self.epochs = set(int(e) for e in epochs)
            self.latents: dict[int, np.ndarray] = {}

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            epoch = trainer.current_epoch + 1
            if epoch not in self.epochs:
                return
            module = model.module
            was_training, was_trained = module.training, model.is_trained_
            with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
                module.eval()
                model.is_trained_ = True  # scvi-tools refuses to query a model before train() returns
                try:
                    self.latents[epoch] = np.asarray(model.get_latent_representation(), dtype=np.float32)
                finally:
                    module.train(was_training)
                    model.is_trained_ = was_trained

    return LatentCheckpoints()
