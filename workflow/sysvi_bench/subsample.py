"""The one seeded subsample of cells, shared by the steps that work on a fixed subset (scoring, UMAPs, the
pre-integration diagnostic)."""

from __future__ import annotations

import numpy as np


def seeded_subsample(n: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``size`` of ``n`` cells drawn without replacement with ``seed`` (all cells when
    ``size`` is None or not smaller than ``n``). Depends only on ``n``, ``size`` and ``seed``, so every run of a
    dataset (same preprocessed cells, same order) gets the same cells."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))
