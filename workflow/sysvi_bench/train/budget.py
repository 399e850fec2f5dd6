"""How long a neural run trains: ``max_epochs: auto``, early stopping, and the KL warm-up of scVI.

Light (no torch import at module level): the config check and the Snakemake resources read it at start-up.

``max_epochs: auto`` (the default of SysVI and scVI) is scvi-tools' own rule
(:func:`scvi.model._utils.get_max_epochs_heuristic`), applied to the number of cells *after* preprocessing,
with a floor in epochs and one in gradient steps:

``epochs = max(AUTO_FLOOR, min(round(AUTO_DECAY_AT_N_CELLS / n_cells * AUTO_CAP), AUTO_CAP),
ceil(AUTO_MIN_STEPS / steps_per_epoch))``, ``steps_per_epoch = ceil(ceil(train_size * n_cells) / batch_size)``

i.e. about ``AUTO_DECAY_AT_N_CELLS * AUTO_CAP`` = 8 million cells seen (62,500 gradient steps at batch 128)
on data of more than 20,000 cells, and ``AUTO_CAP`` = 400 epochs below, but never fewer than
``AUTO_MIN_STEPS`` = 20,000 gradient steps. The paper's configs imply 70-76 thousand steps (pancreas 455k
cells x 20 epochs, retina 98k x 100, adipose 86k x 110); this rule gives 18, 82 and 93 epochs there. The
epoch floor keeps a very large dataset at >= 10 passes. The step floor is for small data, where 400 epochs
are few steps (1,600 at 500 cells): the demo's sysVI (4,028 cells, 29 steps per epoch) needed ~9,500 steps
for early stopping to end it (331 epochs), and on two small real sets (500 and 1,200 cells) 7 of 12 SysVI
runs ran into the 400-epoch cap unconverged at 1,600 and 3,600 steps; the floor is twice the demo's need.
It acts below ~7,100 cells (at batch 128, train_size 0.9), where it is meant to be ended by early stopping
(``early_stopping: true``); without early stopping a small dataset trains all of it. An explicit
``max_epochs`` wins.
"""

from __future__ import annotations

from math import ceil
from typing import Any, Mapping

import pandas as pd

AUTO = "auto"
AUTO_CAP = 400
AUTO_DECAY_AT_N_CELLS = 20_000
AUTO_FLOOR = 10
AUTO_MIN_STEPS = 20_000
# scvi-tools' defaults for the batch and the split, where the run's own are not known (the job's resources)
DEFAULT_BATCH_SIZE = 128
DEFAULT_TRAIN_SIZE = 0.9
# the validation loss early stopping watches (scvi-tools' default, passed explicitly) and the best state is chosen by
VALIDATION_MONITOR = "elbo_validation"


def steps_per_epoch(n_cells: int, batch_size: int = DEFAULT_BATCH_SIZE,
                    train_size: float = DEFAULT_TRAIN_SIZE) -> int:
    """Gradient steps of one epoch: batches of the training split (scvi-tools' ``ceil(train_size * n_cells)``
    cells; the last batch is kept)."""
    return max(1, ceil(ceil(float(train_size) * max(1, int(n_cells))) / int(batch_size)))


def step_floor_epochs(n_cells: int, batch_size: int = DEFAULT_BATCH_SIZE,
                      train_size: float = DEFAULT_TRAIN_SIZE) -> int:
    """The epochs that make ``AUTO_MIN_STEPS`` gradient steps (the step floor of the module docstring)."""
    return ceil(AUTO_MIN_STEPS / steps_per_epoch(n_cells, batch_size, train_size))


def resolve_max_epochs(value: int | str, n_cells: int, batch_size: int = DEFAULT_BATCH_SIZE,
                       train_size: float = DEFAULT_TRAIN_SIZE) -> int:
    """The epochs a run trains at most: ``value`` itself, or for ``"auto"`` the rule of the module docstring.

    Parameters
    ----------
    value
        A run's ``max_epochs`` parameter: a positive integer or ``"auto"``.
    n_cells
        Cells of the preprocessed dataset (what the model trains on, validation split included).
    batch_size, train_size
        The run's, for the step floor.
    """
    if value != AUTO:
        return int(value)
    from scvi.model._utils import get_max_epochs_heuristic  # scvi-tools' default rule, not re-implemented

    heuristic = get_max_epochs_heuristic(int(n_cells), epochs_cap=AUTO_CAP, decay_at_n_obs=AUTO_DECAY_AT_N_CELLS)
    return with_floors(heuristic, n_cells, batch_size, train_size)


def with_floors(heuristic: int, n_cells: int, batch_size: int = DEFAULT_BATCH_SIZE,
                train_size: float = DEFAULT_TRAIN_SIZE) -> int:
    """scvi-tools' epochs (``heuristic``) raised to the epoch and step floors of the module docstring."""
    return max(AUTO_FLOOR, int(heuristic), step_floor_epochs(n_cells, batch_size, train_size))


def auto_epochs(n_cells: int, batch_size: int = DEFAULT_BATCH_SIZE, train_size: float = DEFAULT_TRAIN_SIZE) -> int:
    """:func:`resolve_max_epochs` of ``"auto"`` without importing scvi-tools (for the Snakemake process's
    resources): scvi-tools' heuristic restated in one line, tested equal to its function."""
    heuristic = min(round(AUTO_DECAY_AT_N_CELLS / max(1, int(n_cells)) * AUTO_CAP), AUTO_CAP)
    return with_floors(heuristic, n_cells, batch_size, train_size)


def max_epochs_upper_bound(value: int | str, n_cells: int | None = None,
                           params: Mapping[str, Any] | None = None) -> int:
    """The most epochs a run can train (for the job's runtime resource): ``auto`` resolved from ``n_cells``
    (and the run's ``batch_size``/``train_size`` in ``params``) when known, else ``AUTO_CAP`` (a guess: the step
    floor can exceed it on small data)."""
    if value == AUTO:
        params = params or {}
        return auto_epochs(n_cells, params.get("batch_size", DEFAULT_BATCH_SIZE),
                           params.get("train_size", DEFAULT_TRAIN_SIZE)) if n_cells else AUTO_CAP
    return int(value or 0)


def h5ad_n_obs(path: str) -> int | None:
    """Cells of an ``.h5ad`` file from its obs index alone (h5py; None when it cannot be read)."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            obs = f["obs"]
            return int(len(obs[obs.attrs["_index"]]))
    except (OSError, KeyError, TypeError):
        return None


def trainer_kwargs(params: Mapping[str, Any], n_cells: int) -> dict[str, Any]:
    """The Lightning/scvi-tools trainer arguments shared by SysVI and scVI (``model.train(**...)``).

    Early stopping is scvi-tools' (``LoudEarlyStopping`` on ``elbo_validation``, checked every epoch) on the
    validation share ``1 - train_size`` of the cells; scvi-tools draws the split from ``scvi.settings.seed``,
    so the same seed gives the same split.
    """
    kwargs: dict[str, Any] = {
        "max_epochs": resolve_max_epochs(params["max_epochs"], n_cells, params["batch_size"], params["train_size"]),
        "batch_size": params["batch_size"],
        "train_size": params["train_size"],
        "early_stopping": bool(params["early_stopping"]),
    }
    if params["early_stopping"]:
        kwargs["early_stopping_patience"] = params["early_stopping_patience"]
        kwargs["early_stopping_monitor"] = VALIDATION_MONITOR
    if params.get("check_val_every_n_epoch") is not None:
        kwargs["check_val_every_n_epoch"] = params["check_val_every_n_epoch"]
    return kwargs


def kl_warmup_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """scVI's KL warm-up for the training plan: exactly one of epochs or steps (the other ``None``).

    scvi-tools' plan uses ``n_epochs_kl_warmup`` whenever it is set, so the step warm-up needs it ``None``.
    """
    return {"n_epochs_kl_warmup": params["n_epochs_kl_warmup"], "n_steps_kl_warmup": params["n_steps_kl_warmup"]}


def training_record(params: Mapping[str, Any], max_epochs: int, history: Any, plan: Any = None,
                    best_epoch: int | None = None) -> dict[str, Any]:
    """What ``run_info.json`` records about the training length (additive keys, see :mod:`contracts`):

    ``max_epochs`` (resolved), ``stopped_early`` (early stopping ended training before ``max_epochs``),
    ``best_epoch``: the epoch whose state the run's embedding and saved model are (``best_epoch`` given: the
    best validation loss, restored with early stopping; else the last epoch trained, ``n_epochs``: without
    early stopping the model is its last epoch's) and
    ``kl_weight_reached``: the KL weight at the end of training, from the training ``plan`` (scvi-tools'
    ``TrainingPlan.kl_weight``, exact at the last step) or else the last value scvi-tools logged as ``kl_weight``
    in the history (logged every ``log_every_n_steps`` steps); ``kl_warmup_complete``: it equals the plan's
    maximum (the run's ``kl_weight``).
    """
    n_epochs = int(len(history))
    record: dict[str, Any] = {
        "max_epochs": int(max_epochs),
        "stopped_early": bool(params.get("early_stopping")) and 0 < n_epochs < max_epochs,
        "best_epoch": int(best_epoch) if best_epoch is not None else n_epochs,
    }
    reached = None
    if plan is not None and n_epochs:
        reached = float(plan.kl_weight)
    elif n_epochs and "kl_weight" in getattr(history, "columns", ()) and pd.to_numeric(history["kl_weight"]).notna().any():
        reached = float(pd.to_numeric(history["kl_weight"]).dropna().iloc[-1])
    if reached is not None:
        record["kl_weight_reached"] = reached
        record["kl_warmup_complete"] = bool(abs(reached - float(params["kl_weight"])) <= 1e-6 * max(1.0, reached))
    return record
