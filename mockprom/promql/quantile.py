"""Prometheus's quantile interpolation (``quantile()`` and ``quantile_over_time()``):
linear interpolation between the closest ranks of ascending values."""

from __future__ import annotations

import numpy as np


def interpolate(ordered: np.ndarray, q: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Row ``i`` of ``ordered`` holds ``size[i]`` values in ascending order (NaN first) at
    its start; the ``q[i]`` quantile of each row, ``-Inf`` for ``q < 0`` and ``+Inf`` for
    ``q > 1``. Rows with ``size`` 0 or a NaN ``q`` are the caller's to mask."""
    with np.errstate(all="ignore"):
        rank = q * (size - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(size - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(np.nan_to_num(lower), 0, size - 1).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, size - 1).astype(np.int64)
        rows = np.arange(len(ordered))
        val = ordered[rows, li] * (1 - weight) + ordered[rows, ui] * weight
    return np.where(q < 0, -np.inf, np.where(q > 1, np.inf, val))
