"""Compile-time facts that let a prepared kernel requantize cheaply and fold its input offset into its bias.

The conditions of firmware/include/tinyq/tq_requant_fast.h are proved here from the layer's own weights, biases
and the range of its int8 input, so the kernel needs no run-time check:
  * TFLM's accumulator bias + sum((x + input_offset) * w) is, for every int8 input, below 2^30 in magnitude;
  * the folded bias bias + input_offset * sum(w) fits int32. The kernel computes folded + sum(x * w) with
    wrapping int32 arithmetic (SMLAD wraps), which equals TFLM's accumulator modulo 2^32, hence exactly.
A channel whose weights are all zero has a constant output: its row is rewritten to give that constant from a
small bias (a dead channel's bias can be as large as 2^30, as in the MLPerf VWW model).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.program import const_array
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier

INT32_MAX = 2**31 - 1
FAST_BOUND = 2**30  # |acc| below this (and a right shift of at most 30): tq_requant_fast is exact


@dataclass(frozen=True)
class FastRequant:
    bias: np.ndarray  # int32 [C]: the bias with input_offset * sum(w) folded in (the kernel adds sum(x * w))
    rows: np.ndarray  # int32 [C, 3]: tq_requant_row {multiplier, 2^(rs-1), rs}


def accumulator_bound(weights: np.ndarray, bias: np.ndarray | None, input_offset: int,
                      lo: int = -128, hi: int = 127) -> np.ndarray:
    """Per output channel (rows of `weights`, int8 [C, K]): the largest |accumulator| any input can give."""
    w = np.abs(weights.astype(np.int64)).reshape(weights.shape[0], -1).sum(axis=1)
    xmax = max(abs(lo + input_offset), abs(hi + input_offset))
    b = np.zeros(weights.shape[0], np.int64) if bias is None else np.abs(bias.astype(np.int64))
    return b + w * xmax


def fast_requant(weights: np.ndarray, bias: np.ndarray | None, input_offset: int, multiplier: np.ndarray,
                 shift: np.ndarray) -> FastRequant | None:
    """Folded biases and requantization rows for `weights` int8 [C, K] (a row per output channel), or None when
    tq_requant_fast would not be exact for some channel that computes anything."""
    w = weights.astype(np.int64).reshape(weights.shape[0], -1)
    c = w.shape[0]
    b = np.zeros(c, np.int64) if bias is None else bias.astype(np.int64)
    m = np.asarray(multiplier, np.int64).reshape(-1)
    shift = np.asarray(shift, np.int64).reshape(-1)
    if len(m) == 1 and len(shift) == 1:  # per-tensor quantization: one row per channel all the same
        m, shift = np.repeat(m, c), np.repeat(shift, c)
    if c == 0 or len(b) != c or len(m) != c or len(shift) != c:
        return None
    dead = ~w.any(axis=1)
    live = ~dead
    bound = accumulator_bound(weights.reshape(c, -1), bias, input_offset)
    if (shift[live] > -1).any() or (shift[live] < -30).any() or (bound[live] >= FAST_BOUND).any():
        return None
    folded = b + w.sum(axis=1) * int(input_offset)
    if np.abs(folded).max(initial=0) > INT32_MAX:
        return None
    rs = np.where(live, -shift, 1)
    mult = np.where(live, m, 1 << 30)
    if dead.any():
        # constant channel: TFLM gives r = MBQM(bias); with multiplier 2^30 and rs = 1, 4r gives r exactly
        r = multiply_by_quantized_multiplier(b[dead].astype(np.int32), m[dead].astype(np.int32),
                                             shift[dead].astype(np.int32)).astype(np.int64)
        folded[dead] = 4 * r
        if np.abs(folded).max(initial=0) >= FAST_BOUND:
            return None
    rows = np.stack([mult, 1 << (rs - 1), rs], axis=1)
    return FastRequant(const_array(folded, np.int32), const_array(rows, np.int32))


def reference_requant(acc: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """What tq_requant_fast computes, in NumPy (for tests): acc int64 [..., C], rows [C, 3]."""
    a = np.asarray(acc, np.int64) * 2
    h = (a * rows[:, 0] + (1 << 31)) >> 32
    return (h + rows[:, 1] + np.where(h < 0, -1, 0)) >> rows[:, 2]
