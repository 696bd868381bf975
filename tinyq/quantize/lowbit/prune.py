"""Magnitude pruning masks on the encoder's rows (tinyq.encode.rows_view): keep[R, L] for a Sparsity.

Rows are what the sparse encodings index: an output channel of CONV_2D / FULLY_CONNECTED, a kernel tap across
channels of DEPTHWISE_CONV_2D. A fraction S zeroes the floor(S·L + 0.5) smallest magnitudes of every row; N:M keeps
the N largest of every M consecutive elements of a row (a short last group keeps at most N), which is the group
the sparseN:M encodings read. Ties go to the earlier element, so masks are deterministic.
"""
from __future__ import annotations

import numpy as np

from tinyq.quantize.lowbit.spec import Sparsity


def keep_mask(rows: np.ndarray, sparsity: Sparsity | None) -> np.ndarray:
    rows = np.abs(np.asarray(rows, np.float64))
    r, length = rows.shape
    if sparsity is None or sparsity.zeros <= 0 or length == 0:
        return np.ones(rows.shape, bool)
    if sparsity.structured:
        return _n_of_m(rows, sparsity.n, sparsity.m)
    n_zero = min(length, int(np.floor(sparsity.fraction * length + 0.5)))
    order = np.argsort(rows, axis=1, kind="stable")  # smallest first; ties: earlier element pruned first
    keep = np.ones(rows.shape, bool)
    np.put_along_axis(keep, order[:, :n_zero], False, axis=1)
    return keep


def _n_of_m(mags: np.ndarray, n: int, m: int) -> np.ndarray:
    r, length = mags.shape
    groups = -(-length // m)
    key = np.full((r, groups * m), -1.0)  # padding sorts first, so a short group keeps its n largest
    key[:, :length] = mags
    order = np.argsort(-key.reshape(r, groups, m), axis=2, kind="stable")  # largest first
    keep = np.zeros((r, groups, m), bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    return keep.reshape(r, groups * m)[:, :length]


def ramp(step: int, steps: int, final: float) -> float:
    """The pruning schedule's fraction of zeros at a fine-tuning step: the cubic ramp of Zhu & Gupta (2017), from 0
    to `final` over the first 3/4 of the steps, then constant."""
    end = max(1, int(0.75 * steps))
    t = min(1.0, step / end)
    return final * (1 - (1 - t) ** 3)
