"""Compile-time tables shared by the Helium (MVE) preparers: folded biases and per-channel requantization
vectors (the base fields a prepared record copies come from tinyq.specialize.base_fields).

The MVE kernels requantize four outputs at once with VQRDMULH + a corrected VRSHL (firmware/src/tq_mve_requant.h),
exact with TFLM for every int32 accumulator when each right shift is 1..31 (shift in [-31, -1]): no accumulator
bound is needed, so dead channels and huge biases need no rewriting. The folded bias is
bias + input_offset * sum(w) modulo 2^32: the kernel's wrapping int32 sum bias' + sum(x * w) then equals
TFLM's int32 accumulator bias + sum((x + input_offset) * w) exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.program import KernelCall, const_array
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier

LANES = 4  # int32 lanes of a 128-bit vector: outputs requantized together
BYTES = 16  # int8 lanes


@dataclass(frozen=True)
class Requant:
    bias: np.ndarray  # int32 [n * 4], folded, zero past the channels
    multiplier: np.ndarray  # int32 [n * 4]
    shift: np.ndarray  # int32 [n * 4]: -right shift (a VRSHL amount), -1 past the channels


def helium_shifts(shift) -> bool:
    """Whether every shift is a right shift of 1..31, the only kind tq_mve_requant does (a VRSHL amount)."""
    s = np.asarray(shift, np.int64).reshape(-1)
    return bool(((s >= -31) & (s <= -1)).all())


def padded(n: int, m: int) -> int:
    return -(-n // m) * m


def requant_vectors(weight_sums: np.ndarray, bias: np.ndarray | None, input_offset: int, multiplier, shift,
                    dead: np.ndarray | None = None, dead_limit: int = 2**28) -> Requant | None:
    """Vectors for `c` channels (weight_sums int64 [c]) padded to a multiple of 4 lanes, or None when some live
    channel's shift is outside [-31, -1] (a left shift or none: tq_mve_requant does not do those).

    A dead channel (`dead`: all its weights zero) has the constant output r = MBQM(bias) whatever its shift: its
    row becomes multiplier 2^30, shift -1 and bias 4r, for which tq_mve_requant gives VQRDMULH(4r, 2^30) = 2r,
    then (2r + 1 - [r < 0]) >> 1 = r exactly. |r| is first clamped to 2^28: past that the output offset
    (|offset| <= 128) cannot bring it back into the int8 clamp, so the clamped output is the same (any
    `dead_limit` >= 2^8 + 128 would do: a kernel that scales the starting sums takes a smaller one)."""
    c = len(weight_sums)
    m = np.asarray(multiplier, np.int64).reshape(-1)
    s = np.asarray(shift, np.int64).reshape(-1)
    if len(m) == 1 and len(s) == 1:
        m, s = np.repeat(m, c), np.repeat(s, c)
    dead = np.zeros(c, bool) if dead is None else np.asarray(dead, bool)
    live = ~dead
    if (c == 0 or len(m) != c or len(s) != c or len(dead) != c or not helium_shifts(s[live])
            or (m < 0).any()):
        return None
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    if len(b) != c:
        return None
    folded = (b + weight_sums.astype(np.int64) * int(input_offset)) & 0xFFFFFFFF
    folded = np.where(folded >= 2**31, folded - 2**32, folded)
    if dead.any():  # the kernel's sum is exactly the bias there (all weights 0)
        r = multiply_by_quantized_multiplier(b[dead].astype(np.int32), m[dead].astype(np.int32),
                                             s[dead].astype(np.int32)).astype(np.int64)
        folded[dead] = 4 * np.clip(r, -dead_limit, dead_limit)
        m, s = np.where(dead, 1 << 30, m), np.where(dead, -1, s)
    n = padded(c, LANES)

    def pad(v, fill):
        return const_array(np.concatenate([v, np.full(n - c, fill, np.int64)]), np.int32)

    return Requant(pad(folded, 0), pad(m, 0), pad(s, -1))
