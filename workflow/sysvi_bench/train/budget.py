"""How long a neural run trains: ``max_epochs: auto``, early stopping, and the KL warm-up of scVI.

Light (no torch import at module level): the config check and the Snakemake resources read it at start-up.

``max_epochs: auto`` (the default of SysVI and scVI) is scvi-tools' own rule
(:func:`scvi.model._utils.get_max_epochs_heuristic`), applied to the number of cells *after* preprocessing,
with a floor:

``epochs = max(AUTO_FLOOR, min(round(AUTO_DECAY_AT_N_CELLS / n_cells * AUTO_CAP), AUTO_CAP))``

i.e. about ``AUTO_DECAY_AT_N_CELLS * AUTO_CAP`` = 8 million cells seen (62,500 gradient steps at batch 128)
on data of more than 20,000 cells, and ``AUTO_CAP`` = 400 epochs below. The paper's configs imply 70-76
thousand steps (pancreas 455k cells x 20 epochs, retina 98k x 100, adipose 86k x 110); this rule gives 18, 82
and 93 epochs there. The floor keeps a very large dataset at >= 10 passes. An explicit ``max_epochs`` wins.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

AUTO = "auto"
AUTO_CAP = 400
AUTO_DECAY_AT_N_CELLS = 20_000
AUTO_FLOOR = 10


def resolve_max_epochs(value: int | str, n_cells: int) -> int:
    """The epochs a run trains at most: ``value`` itself, or for ``"auto"`` the rule of the module docstring.

    Parameters
    ----------
    value
        A run's ``max_epochs`` parameter: a positive integer or ``"auto"``.
    n_cells
        Cells of the preprocessed dataset (what the model trains on, validation split included).
    """
    if value != AUTO:
        return int(value)
    from scvi.model._utils import get_max_epochs_heuristic  # scvi-tools' default rule, not re-implemented

    return max(AUTO_FLOOR, get_max_epochs_heuristic(int(n_cells), epochs_cap=AUTO_CAP,
                                                    decay_at_n_obs=AUTO_DECAY_AT_N_CELLS))


def auto_epochs(n_cells: int) -> int:
    """The rule of the module docstring without importing scvi-tools (for the Snakemake process's resources);
    tested equal to :func:`resolve_max_epochs` (which uses scvi-tools' function)."""
    return max(AUTO_FLOOR, min(round(AUTO_DECAY_AT_N_CELLS / max(1, int(n_cells)) * AUTO_CAP), AUTO_CAP))


def max_epochs_upper_bound(value: int | str, n_cells: int | None = None) -> int:
    """The most epochs a run can train (for the job's runtime resource): ``auto`` resolved from ``n_cells``
    when known, else its cap."""
    if value == AUTO:
        return auto_epochs(n_cells) if n_cells else AUTO_CAP
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
        "max_epochs": resolve_max_epochs(params["max_epochs"], n_cells),
        "batch_size": params["batch_size"],
        "train_size": params["train_size"],
        "early_stopping": bool(params["early_stopping"]),
    }
    if params["early_stopping"]:
        kwargs["early_stopping_patience"] = params["early_stopping_patience"]
    if params.get("check_val_every_n_epoch") is not None:
        kwargs["check_val_every_n_epoch"] = params["check_val_every_n_epoch"]
    return kwargs


def kl_warmup_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """scVI's KL warm-up for the training plan: exactly one of epochs or steps (the other ``None``).

    scvi-tools' plan uses ``n_epochs_kl_warmup`` whenever it is set, so the step warm-up needs it ``None``.
    """
    return {"n_epochs_kl_warmup": params["n_epochs_kl_warmup"], "n_steps_kl_warmup": params["n_steps_kl_warmup"]}


def training_record(params: Mapping[str, Any], max_epochs: int, history: Any, plan: Any = None) -> dict[str, Any]:
    """What ``run_info.json`` records about the training length (additive keys, see :mod:`contracts`):

    ``max_epochs`` (resolved), ``stopped_early`` (early stopping ended training before ``max_epochs``) and
    ``kl_weight_reached``: the KL weight at the end of training, from the training ``plan`` (scvi-tools'
    ``TrainingPlan.kl_weight``, exact at the last step) or else the last value scvi-tools logged as ``kl_weight``
    in the history (logged every ``log_every_n_steps`` steps); ``kl_warmup_complete``: it equals the plan's
    maximum (the run's ``kl_weight``).
    """
    n_epochs = int(len(history))
    record: dict[str, Any] = {
        "max_epochs": int(max_epochs),
        "stopped_early": bool(params.get("early_stopping")) and 0 < n_epochs < max_epochs,
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
