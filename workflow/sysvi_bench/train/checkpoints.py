"""Embeddings at fractions of a run's training, from the same training (``evaluation.checkpoints``).

A Lightning callback (:class:`LatentCheckpoints`, passed to scvi-tools' ``model.train(callbacks=[...])``)
calls the model's encoder at the end of the chosen epochs; nothing is retrained. Checkpoints are fractions
of the run's ``max_epochs`` (resolved, e.g. from ``auto``): ``epoch = max(1, round(fraction * max_epochs))``.
With early stopping, checkpoints after the stop epoch are never reached, and those at or after the best epoch
are states the run trained past (stored, not scored: :func:`sysvi_bench.score.by_epoch.score_by_epoch`).

**The best state** (:func:`best_state_callback`): with early stopping the run ends ``early_stopping_patience``
epochs *after* its best validation loss, so its final weights are not its best. A callback keeps the weights
whenever the validation loss that early stopping watches improves and loads the best back when training ends
(what scvi-tools' ``SaveCheckpoint(load_best_on_end=True)`` does, in memory instead of on disk): the final
embedding (``X_emb``), the saved model and ``metrics.tsv`` are then those of ``best_epoch``
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


def best_state_callback(monitor: str):
    """A Lightning callback that keeps a copy of the module's weights (in memory) whenever ``monitor`` (the
    validation loss early stopping watches) reaches a new minimum, checked at the end of every epoch as early
    stopping checks it, and loads the best copy back into the module when training ends. Its ``best_epoch``
    (1-based, as ``n_epochs``; None before the first validation) is the epoch that state ended.

    Written by hand instead of scvi-tools' ``SaveCheckpoint(load_best_on_end=True)``, which does the same through
    the disk: at every improvement a Lightning checkpoint with the optimizer state plus a model save (~19 MB at
    the small-data benchmark's 1,933 genes), i.e. hundreds to thousands of writes per run where small data trains
    thousands of short epochs; a copy of the state dict costs a memory copy of the weights alone.
    """
    import torch
    from lightning.pytorch.callbacks import Callback

    class BestState(Callback):
        def __init__(self) -> None:
            self.best_score = float("inf")
            self.best_epoch: int | None = None
            self.best_state: dict[str, torch.Tensor] | None = None

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            current = trainer.callback_metrics.get(monitor)
            if current is None:  # no validation this epoch
                return
            current = float(current)
            # strictly lower, as early stopping's improvement (min_delta 0): the first epoch of a tie is the best
            if current < self.best_score:
                self.best_score = current
                self.best_epoch = int(trainer.current_epoch) + 1
                self.best_state = {k: v.detach().clone() for k, v in pl_module.module.state_dict().items()}

        def on_train_end(self, trainer, pl_module) -> None:
            if self.best_state is not None:
                pl_module.module.load_state_dict(self.best_state)

    return BestState()
