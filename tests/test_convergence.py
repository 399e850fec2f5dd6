"""Convergence of a run from its loss history, on synthetic histories where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sysvi_bench.aggregate.convergence import convergence_table, relative_change, run_convergence, training_loss


def history(loss: np.ndarray, column: str = "train_loss_epoch", **extra) -> pd.DataFrame:
    return pd.DataFrame({"epoch": np.arange(len(loss)), column: loss, **extra})


def test_relative_change_over_the_last_tenth_of_the_epochs():
    # 100 epochs: the window is 10 epochs, from epoch 89 to 99
    loss = 1000.0 / (1.0 + np.arange(100))
    assert relative_change(loss) == pytest.approx((loss[89] - loss[99]) / (loss[0] - loss[99]))
    assert relative_change(np.full(30, 5.0)) == 0.0  # flat: converged
    assert relative_change([3.0, 2.0]) == pytest.approx(1.0)  # at least one epoch
    # a loss crossing zero (SysVI's Gaussian likelihood) is measured on its range, not on its last value
    assert relative_change([270.0, 60.0, 3.0, -31.0, -48.0], tail_fraction=0.2) == pytest.approx(17.0 / 318.0)
    assert relative_change([10.0, 11.0, 12.0]) < 0  # rising loss: negative
    assert np.isnan(relative_change([1.0]))


def test_a_still_falling_loss_is_not_converged_and_a_plateau_is():
    falling = history(500.0 - 2.0 * np.arange(50))  # still 2 per epoch
    plateau = history(400.0 + 100.0 * np.exp(-np.arange(50) / 3.0))
    change, converged = run_convergence(falling, tolerance=0.01)
    assert change == pytest.approx(10.0 / 98.0) and converged is False
    change, converged = run_convergence(plateau, tolerance=0.01)
    assert 0 <= change < 1e-3 and converged is True
    assert run_convergence(falling, tolerance=0.15)[1] is True  # the tolerance decides


def test_the_training_objective_is_preferred_and_models_without_history_get_na():
    # scvi-tools' total loss first; else the ELBO; else the reconstruction loss; NaN epochs dropped
    h = history(np.array([3.0, 2.0, np.nan]), elbo_train=[9.0, 8.0, 7.0])
    assert training_loss(h).tolist() == [3.0, 2.0]
    assert training_loss(h.drop(columns="train_loss_epoch")).tolist() == [9.0, 8.0, 7.0]
    assert training_loss(history(np.ones(3), column="reconstruction_loss_train")).tolist() == [1.0] * 3
    assert training_loss(history(np.ones(3), column="kl_local_train")) is None
    change, converged = run_convergence(None)
    assert np.isnan(change) and converged is None
    table = convergence_table({("d", "sysvi__seed=0"): history(np.full(20, 2.0)), ("d", "pca"): None,
                               ("d", "harmony"): pd.DataFrame()})
    assert table.columns.tolist() == ["dataset", "run_id", "convergence", "converged"]
    assert bool(table["converged"].iloc[0]) and table["convergence"].iloc[0] == 0.0
    assert table["converged"].iloc[1:].isna().all() and table["convergence"].iloc[1:].isna().all()
