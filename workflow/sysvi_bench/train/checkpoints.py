"""Embeddings at fractions of a run's training, from the same training (``evaluation.checkpoints``).

A Lightning callback (:class:`LatentCheckpoints`, passed to scvi-tools' ``model.train(callbacks=[...])``)
calls the model's encoder at the end of the chosen epochs; nothing is retrained. Checkpoints are fractions
of the run's ``max_epochs`` (resolved, e.g. from ``auto``): ``epoch = max(1, round(fraction * max_epochs))``.
With early stopping, checkpoints after the stop epoch are never reached; the run's final embedding is the
one after its last epoch (so the last row of ``metrics_by_epoch.tsv``, at ``n_epochs``, is the run's
``metrics.tsv``).

**The best state** (:func:`best_state_callback`): with early stopping the run ends ``early_stopping_patience``
epochs *after* its best validation loss, so its final weights are not its best. scvi-tools'
``SaveCheckpoint`` (a Lightning ``ModelCheckpoint``) saves the model whenever the validation loss that early
stopping watches improves and, with ``load_best_on_end``, loads the best weights back when training ends: the
final embedding (``X_emb``), the saved model and ``metrics.tsv`` are then those of ``best_epoch``
(``run_info.json``), while the checkpoints ``X_emb_epoch<e>`` stay the epochs they name.

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


def best_state_callback(dirpath: str, monitor: str):
    """scvi-tools' ``SaveCheckpoint`` keeping the best model (lowest ``monitor``, checked after every epoch's
    validation) under ``dirpath`` and loading its weights into the model when training ends; its ``best_epoch``
    (1-based, as ``n_epochs``; None before the first validation) is the epoch that state ended.

    ``best_epoch`` is recorded by hand: Lightning keeps the best path and score but not its epoch.
    """
    from scvi.train import SaveCheckpoint

    class BestState(SaveCheckpoint):
        def __init__(self) -> None:
            super().__init__(dirpath=dirpath, monitor=monitor, load_best_on_end=True, mode="min", save_top_k=1)
            self.best_epoch: int | None = None

        def _update_best_and_save(self, current, trainer, monitor_candidates) -> None:
            super()._update_best_and_save(current, trainer, monitor_candidates)
            self.best_epoch = int(trainer.current_epoch) + 1

    return BestState()
