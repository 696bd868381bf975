"""Compile-time tables shared by the Helium (MVE) preparers: folded biases, per-channel requantization vectors,
and the base fields a prepared record copies from the lowered call.

The MVE kernels requantize four outputs at once with VQRDMULH + a corrected VRSHL (firmware/src/tq_mve_requant.h),
exact with TFLM for every int32 accumulator when each right shift is 1..31 (shift in [-31, -1]): no accumulator
bound is needed, so dead channels and huge biases need no rewriting. The folded bias is
bias + input_offset * sum(w) modulo 2^32: the kernel's wrapping int32 sum bias' + sum(x * w) then equals
TFLM's int32 accumulator bias + sum((x + input_offset) * w) exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tinyq.program import KernelCall, const_array

LANES = 4  # int32 lanes of a 128-bit vector: outputs requantized together
BYTES = 16  # int8 lanes


@dataclass(frozen=True)
class Requant:
    bias: np.ndarray  # int32 [n * 4], folded, zero past the channels
    multiplier: np.ndarray  # int32 [n * 4]
    shift: np.ndarray  # int32 [n * 4]: -right shift (a VRSHL amount), -1 past the channels


def base_fields(call: KernelCall) -> dict:
    """The KernelCall fields a prepared record keeps (kernel, layer, opcode, inputs, outputs)."""
    return {f.name: getattr(call, f.name) for f in fields(KernelCall)}


def padded(n: int, m: int) -> int:
    return -(-n // m) * m


def requant_vectors(weight_sums: np.ndarray, bias: np.ndarray | None, input_offset: int, multiplier, shift
                    ) -> Requant | None:
    """Vectors for `c` channels (weight_sums int64 [c]) padded to a multiple of 4 lanes, or None when some
    channel's shift is outside [-31, -1] (a left shift or none: tq_mve_requant does not do those)."""
    c = len(weight_sums)
    m = np.asarray(multiplier, np.int64).reshape(-1)
    s = np.asarray(shift, np.int64).reshape(-1)
    if len(m) == 1 and len(s) == 1:
        m, s = np.repeat(m, c), np.repeat(s, c)
    if c == 0 or len(m) != c or len(s) != c or (s > -1).any() or (s < -31).any() or (m < 0).any():
        return None
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    if len(b) != c:
        return None
    folded = (b + weight_sums.astype(np.int64) * int(input_offset)) & 0xFFFFFFFF
    folded = np.where(folded >= 2**31, folded - 2**32, folded)
    n = padded(c, LANES)

    def pad(v, fill):
        return const_array(np.concatenate([v, np.full(n - c, fill, np.int64)]), np.int32)

    return Requant(pad(folded, 0), pad(m, 0), pad(s, -1))
