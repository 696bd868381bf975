"""Prepares int8 FULLY_CONNECTED calls for tq_fully_connected_s8_interleaved_dsp (Arm DSP extension).

Done once at compile time: the input offset folded into the biases and the requantization rows of
tq_requant_fast (tinyq/specialize/requant.py proves both exact from the layer's weights), and the weights
rearranged so that the kernel's single pointer walks, for each group of 4 output rows, each chunk of 4 inputs
as 4 words (row 0..3). Rows are padded with zero weights to a multiple of 4 inputs and with zero rows to a
multiple of 4 outputs; the padding adds nothing to any sum. Flash: the padded weights, 4 bytes of bias per output
row, and 12 bytes of requant row per output row (per-channel) or 48 in all (per-tensor); the lowered record had 4
bytes of bias per row and 8 of multiplier and shift per row or once.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, const_array
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.requant import fast_requant

SYMBOL = "tq_fully_connected_s8_interleaved_dsp"
WIDE = "tq_fully_connected_s8_wide_dsp"  # --weights-layout int16


@dataclass(frozen=True, eq=False)
class FullyConnectedInterleavedCall(KernelCall):
    params_type = "tq_fully_connected_s8_interleaved_params"
    batches: int
    accum_depth: int  # K, not padded
    output_depth: int  # N, not padded
    output_offset: int
    act_min: int
    act_max: int
    weights: np.ndarray  # int8 [4 ceil(N/4), 4 ceil(K/4)]: the bytes of interleave()'s words, in flash order
    bias: np.ndarray  # int32 [4 ceil(N/4)], input offset folded in
    requant: np.ndarray  # int32 [4 ceil(N/4), 3] tq_requant_row, or [4, 3] when all rows are equal
    requant_step: int  # 12 (a row per output) or 0 (the 4 rows are every group's)


def interleave(weights: np.ndarray) -> np.ndarray:
    """int8 [N, K] -> int8 [4G, 4C] in the kernel's read order (G = ceil(N/4) row groups, C = ceil(K/4) input
    chunks): word (g, c, r), i.e. bytes 16(gC + c) + 4r .. + 3, holds inputs 4c..4c+3 of row 4g+r, byte j =
    input 4c+j (a little-endian LDR puts input 4c+j in byte lane j). Kept int8 (and 2-D) so weight reports
    read it as int8 weights; the array is TQ_ALIGN-aligned in flash, so the kernel reads it by words."""
    n, k = weights.shape
    g, c = -(-n // 4), -(-k // 4)
    padded = np.zeros((4 * g, 4 * c), np.int8)
    padded[:n, :k] = weights
    words = padded.reshape(g, 4, c, 4).transpose(0, 2, 1, 3)  # [G, C, row, byte]
    return np.ascontiguousarray(words).reshape(4 * g, 4 * c)


@dataclass(frozen=True, eq=False)
class FullyConnectedWideCall(FullyConnectedInterleavedCall):
    """tq_fully_connected_s8_wide_params: weights int16 [4G, 4C], widen()'s layout (twice the int8 flash)."""

    params_type = "tq_fully_connected_s8_wide_params"
    _int8: np.ndarray | None = None  # interleave()'s int8 array (Python only: weight reports read it)
    _wide: bool = True

    @property
    def int8_weights(self) -> np.ndarray | None:
        return self._int8


def widen(interleaved: np.ndarray) -> np.ndarray:
    """interleave()'s int8 [4G, 4C] -> int16 [4G, 4C] in the wide kernel's read order: each word of 4 inputs (j = 0..3)
    becomes two words of int16 pairs, inputs (0, 2) then (1, 3)."""
    return np.ascontiguousarray(interleaved.reshape(-1, 4)[:, [0, 2, 1, 3]].astype(np.int16)).reshape(interleaved.shape)


def _pad_rows(a: np.ndarray, rows: int, fill) -> np.ndarray:
    out = np.empty((rows,) + a.shape[1:], a.dtype)
    out[...] = fill
    out[: len(a)] = a
    return out


def prepare(call: KernelCall, wide: bool = False) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.weights is None or call.packed is not None:
        return None
    if call.acc64 or call.filter_offset != 0 or call.weights.dtype != np.int8:
        return None
    fr = fast_requant(call.weights, call.bias, call.input_offset, call.multiplier, call.shift)
    if fr is None:
        return None
    n = call.output_depth
    rows = 4 * -(-n // 4)
    requant = _pad_rows(fr.rows, rows, (1 << 30, 1, 1))
    shared = bool((fr.rows == fr.rows[0]).all())  # per-tensor and no dead channel: 48 bytes, not 12 per row
    base = base_fields(call)
    record = (FullyConnectedWideCall if wide else FullyConnectedInterleavedCall)(
        **base,
        batches=call.batches,
        accum_depth=call.accum_depth,
        output_depth=n,
        output_offset=call.output_offset,
        act_min=call.act_min,
        act_max=call.act_max,
        weights=const_array(widen(interleave(call.weights)), np.int16) if wide
        else const_array(interleave(call.weights), np.int8),
        bias=const_array(_pad_rows(fr.bias, rows, 0), np.int32),
        requant=const_array(requant[:4] if shared else requant, np.int32),
        requant_step=0 if shared else 12,
        **({"_int8": interleave(call.weights)} if wide else {}),
    )
    return Prepared(record, WIDE if wide else SYMBOL)


register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP",
                  prepare=lambda c: prepare(c, True), wide=True))
register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
