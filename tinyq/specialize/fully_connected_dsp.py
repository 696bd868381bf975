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
from tinyq.specialize.requant import FastRequant, fast_requant

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


def _fast_int8(call: KernelCall) -> FastRequant | None:
    """The fast requantization of an int8 FULLY_CONNECTED with dense weights and no filter offset, else None."""
    if not isinstance(call, FullyConnectedCall) or call.weights is None or call.packed is not None:
        return None
    if call.acc64 or call.filter_offset != 0 or call.weights.dtype != np.int8:
        return None
    return fast_requant(call.weights, call.bias, call.input_offset, call.multiplier, call.shift)


def prepare(call: KernelCall, wide: bool = False) -> Prepared | None:
    fr = _fast_int8(call)
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


@dataclass(frozen=True, eq=False)
class FullyConnectedX16Call(KernelCall):
    """tq_fully_connected_s8_wide_x16_params: int16 weights in x16_weights()' layout, doubled; the input row widened
    into scratch by the kernel."""

    params_type = "tq_fully_connected_s8_wide_x16_params"
    batches: int
    accum_depth: int
    output_depth: int
    act_min: int
    act_max: int
    weights: np.ndarray  # int16 [4G, 4C], x16_weights()
    bias: np.ndarray  # int32 [4G]: twice the folded biases (mod 2^32)
    requant: np.ndarray  # int32 [4G, 3] tq_requant_fast2 rows, output offset folded in, or [1, 3] (shared)
    shared: int
    _int8: np.ndarray | None = None  # interleave()'s int8 array (Python only: weight reports read it)
    _wide: bool = True

    @property
    def int8_weights(self) -> np.ndarray | None:
        return self._int8

    def scratch_bytes(self) -> int:
        return 8 * -(-self.accum_depth // 4) + 4  # the widened row and the word its last chunk reads ahead


def x16_weights(interleaved: np.ndarray) -> np.ndarray:
    """interleave()'s int8 [4G, 4C] -> int16 [4G, 4C], doubled, in tq_fully_connected_s8_wide_x16_dsp's read order:
    per (group, chunk) the 4 rows' even words (inputs 0, 2 of the chunk), then their odd words (1, 3)."""
    g, c = interleaved.shape[0] // 4, interleaved.shape[1] // 4
    a = interleaved.reshape(g, c, 4, 4).astype(np.int16) * 2  # [G, C, row, input]
    lanes = np.stack([a[..., [0, 2]], a[..., [1, 3]]], axis=2)  # [G, C, even/odd, row, 2]
    return np.ascontiguousarray(lanes).reshape(interleaved.shape)


X16 = "tq_fully_connected_s8_wide_x16_dsp"
X16_CPUS = ("cortex-m4", "cortex-m33")  # the M4 cost model's kernel: pipelined single loads (the M7 keeps LDRD)


def x16_pays(chunks: int, groups: int) -> bool:
    """Whether the x16 kernel beats tq_fully_connected_s8_wide_dsp on the M4 cost model (estimates from their loops:
    22 cycles a chunk and about 75 a group besides, against 20 and 45 plus the widening, about 9 a chunk), with 8
    row groups at least (32 outputs): on fewer the gain is a few cycles, or none where the widening does not pay back
    (VWW's 2 outputs), and the instructions grow (15 a chunk against 13): KWS's, VWW's and IC's single FC layers
    and the small models keep tq_fully_connected_s8_wide_dsp."""
    old = groups * (22 * chunks + 4 * -(-chunks // 4) + 75)
    new = 9 * chunks + 40 + groups * (20 * chunks + 4 * -(-chunks // 16) + 45)
    return groups >= 8 and new < old


def prepare_x16(call: KernelCall) -> Prepared | None:
    from tinyq.specialize.conv_dsp import _doubled, folded_rows

    fr = _fast_int8(call)
    if fr is None:
        return None
    rows, offset = folded_rows(call.weights, call, fr)
    if offset:
        return None  # the offset cannot be folded: tq_fully_connected_s8_wide_dsp adds it
    n = call.output_depth
    if not x16_pays(-(-call.accum_depth // 4), -(-n // 4)):
        return None
    padded = 4 * -(-n // 4)
    shared = bool((rows == rows[0]).all())
    inter = interleave(call.weights)
    record = FullyConnectedX16Call(
        **base_fields(call),
        batches=call.batches, accum_depth=call.accum_depth, output_depth=n,
        act_min=call.act_min, act_max=call.act_max,
        weights=const_array(x16_weights(inter), np.int16),
        bias=const_array(_pad_rows(_doubled(fr.bias), padded, 0), np.int32),
        requant=const_array(rows[:1] if shared else _pad_rows(rows, padded, (1 << 30, 1, 1)), np.int32),
        shared=int(shared), _int8=inter,
    )
    return Prepared(record, X16)


register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare_x16,
                  wide=True, cpus=X16_CPUS))
LDRD = "tq_fully_connected_s8_wide_ldrd_dsp"  # the wide kernel by LDRD pairs
LDRD_CPUS = ("cortex-m7",)  # LDRD 1 cycle, LDM 1 + N/2 (docs/cycle_model.md)


def prepare_ldrd(call: KernelCall) -> Prepared | None:
    got = prepare(call, True)
    return None if got is None else Prepared(got.call, LDRD)


register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare_ldrd,
                  wide=True, cpus=LDRD_CPUS))
register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP",
                  prepare=lambda c: prepare(c, True), wide=True))
register(Preparer(kernel="tq_fully_connected_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
