"""Preparers of CONV_2D and FULLY_CONNECTED with int4 weights (dense `int4` encoding) for the Arm DSP extension:
ConvCall tq_conv_s8_w4 -> tq_conv1x1_s8_int4_dsp / tq_conv_s8_im2col_int4_dsp (firmware/src/tq_conv_s8_int4_dsp.c),
FullyConnectedCall tq_fully_connected_s8_w4 -> tq_fully_connected_s8_int4_dsp
(firmware/src/tq_fully_connected_s8_int4_dsp.c). The weights stay 4-bit in flash.

The kernels are the prepared int8 ones (conv_dsp.py, fully_connected_dsp.py) with one weight word holding 4 taps
of TWO output channels (c: signed high nibbles, c + 1: low nibbles stored as w + 8, unsigned): SXTB16 of the word
gives 16 w_c + (w_{c+1} + 8), an AND gives w_{c+1} + 8, so each lane set costs one instruction and the inner loops
are as long as int8's. The kernels then recover 2 acc_c = (A_hi - A_lo) >> 3 and 2 acc_{c+1} = 2 A_lo - 16 S
(S: the sum of the inputs; the C files derive it). Proved here, per channel, besides requant.py's conditions:
|acc_c| < 2^27 for every channel in a high nibble (the even ones), so that 16 acc_c fits int32. A call whose
bounds cannot be proved, or whose decoded weights are not all in [-8, 7], is declined and keeps its packed kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.kernel_select import DSP
from tinyq.lower.conv import ConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, const_array
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.conv_dsp import ConvGemmCall, gemm_fields, is_pointwise
from tinyq.specialize.depthwise_dsp import DepthwiseFastCall, is_3x3, one_filter_a_channel, record_fields
from tinyq.specialize.fully_connected_dsp import FullyConnectedInterleavedCall, _pad_rows
from tinyq.specialize.requant import FastRequant, accumulator_bound, fast_requant

CONV1X1 = "tq_conv1x1_s8_int4_dsp"
IM2COL = "tq_conv_s8_im2col_int4_dsp"
FC = "tq_fully_connected_s8_int4_dsp"
DW3X3 = "tq_depthwise_conv3x3_s8_int4_dsp"
DWKXK = "tq_depthwise_convkxk_s8_int4_dsp"
DW_SUM_BOUND = 2**19  # |sum(x * w)| below this for every channel: the depthwise kernel's 4096 * sum fits int32
HIGH_BOUND = 2**27  # |acc| below this for a channel in the high nibbles: 16 * acc fits int32
UNIT_ROW = (1 << 30, 1, 1)  # the requant row of a padding channel (its outputs are never stored)


@dataclass(frozen=True)
class Int4Storage:
    """What the weight reports read of a prepared int4 record (its `packed`): the lowered encoding, with the
    bytes the prepared layout really stores (padding included) as nbytes."""

    source: object  # tinyq.encode.formats.EncodedWeights of the lowered call
    nbytes: int

    @property
    def encoded(self) -> "Int4Storage":
        return self

    def decode(self) -> np.ndarray:
        return self.source.decode()

    def __getattr__(self, name):  # encoding, channel_axis, bits, table...: the lowered encoding's
        if name.startswith("__") or name == "source":
            raise AttributeError(name)
        return getattr(self.source, name)


def int4_rows(call: KernelCall) -> np.ndarray | None:
    """The decoded int8 [C, K] rows of a dense int4 call, or None (another encoding, or a value outside int4)."""
    packed = getattr(call, "packed", None)
    encoded = getattr(packed, "encoded", None)
    if encoded is None or encoded.encoding != "int4" or encoded.channel_axis != 0:
        return None
    rows = np.asarray(encoded.decode())
    if rows.dtype != np.int8 or rows.ndim != 2 or rows.size == 0 or rows.min() < -8 or rows.max() > 7:
        return None
    return rows


def int4_requant(rows: np.ndarray, call: KernelCall) -> FastRequant | None:
    """requant.py's folded biases and rows, or None when they or the high-nibble bound cannot be proved."""
    fr = fast_requant(rows, call.bias, call.input_offset, call.multiplier, call.shift)
    if fr is None:
        return None
    live = rows.astype(np.int64).any(axis=1)
    bound = np.where(live, accumulator_bound(rows, call.bias, call.input_offset), np.abs(fr.bias.astype(np.int64)))
    if (bound[0::2] >= HIGH_BOUND).any():
        return None
    return fr


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((np.asarray(v, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def nibble_bytes(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """uint8 (high << 4) | (low + 8), elementwise (both int8 in [-8, 7])."""
    return ((high.astype(np.int16) & 0xF) << 4 | (low.astype(np.int16) + 8)).astype(np.uint8)


def pair_init(folded: np.ndarray) -> np.ndarray:
    """int32 [C_even] (C_even even): per channel pair {16 f_c + f_{c+1} (mod 2^32), f_{c+1}}, interleaved."""
    f = folded.astype(np.int64).reshape(-1, 2)
    return _wrap32(np.stack([16 * f[:, 0] + f[:, 1], f[:, 1]], axis=1).reshape(-1))


def arrange_conv(rows: np.ndarray) -> np.ndarray:
    """int8 [C, K] -> int32 words: channels in pairs (an odd last one with a zero channel), rows zero-padded to a
    multiple of 4 taps; per pair one word a group of 4 taps, byte j = (w_c << 4) | (w_{c+1} + 8)."""
    c, k = rows.shape
    kp, cp = -(-k // 4) * 4, c + (c & 1)
    padded = np.zeros((cp, kp), np.int8)
    padded[:c, :k] = rows
    return nibble_bytes(padded[0::2], padded[1::2]).view("<i4").reshape(-1).astype(np.int32)


@dataclass(frozen=True, eq=False)
class ConvGemmInt4Call(ConvGemmCall):
    """ConvGemmCall with int4 weights (tinyq/tq_conv_gemm.h "int4 weights"): rows 8 int32 a channel pair."""

    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def prepare_conv(call: KernelCall) -> Prepared | None:
    if not isinstance(call, ConvCall) or call.acc64 or call.filter_input_depth != call.input_depth:
        return None
    rows = int4_rows(call)
    c = call.output_depth
    if rows is None or rows.shape[0] != c:
        return None
    fr = int4_requant(rows, call)
    if fr is None:
        return None
    cp = c + (c & 1)
    folded = _pad_rows(fr.bias, cp, 0)
    rq = _pad_rows(fr.rows, cp, UNIT_ROW).astype(np.int64).reshape(-1, 2, 3)
    table = np.concatenate([pair_init(folded).reshape(-1, 2), rq[:, 0], rq[:, 1]], axis=1).reshape(-1)
    weights = arrange_conv(rows)
    pointwise = is_pointwise(call)
    record = ConvGemmInt4Call(
        **gemm_fields(call, rows.shape[1]),
        rows=const_array(table, np.int32), weights=const_array(weights, np.int32),
        _filter=rows.reshape(c, call.filter_height, call.filter_width, call.input_depth), _gathers=not pointwise,
        _storage=Int4Storage(call.packed.encoded, int(weights.nbytes)),
    )
    return Prepared(record, CONV1X1 if pointwise else IM2COL)


def arrange_fc(rows: np.ndarray) -> np.ndarray:
    """int8 [N, K] -> int8 [2G, 4C] (G = ceil(N/4) row groups, C = ceil(K/4) input chunks) in the kernel's read
    order: words (g, c, p), p = 0 for rows 4g, 4g + 1 and 1 for rows 4g + 2, 4g + 3; byte j of a word =
    (w_r[4c + j] << 4) | (w_{r+1}[4c + j] + 8). Padding rows and inputs are zero weights."""
    n, k = rows.shape
    g, c = -(-n // 4), -(-k // 4)
    padded = np.zeros((4 * g, 4 * c), np.int8)
    padded[:n, :k] = rows
    b = nibble_bytes(padded[0::2], padded[1::2])  # [2G, 4C]: row pair 2g + p
    words = b.reshape(g, 2, c, 4).transpose(0, 2, 1, 3)  # [G, C, p, byte]
    return np.ascontiguousarray(words).reshape(2 * g, 4 * c).view(np.int8)


@dataclass(frozen=True, eq=False)
class FullyConnectedInt4Call(FullyConnectedInterleavedCall):
    """tq_fully_connected_s8_int4_params (tinyq/tq_fully_connected_s8_interleaved_dsp.h "int4 weights")."""

    params_type = "tq_fully_connected_s8_int4_params"
    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def prepare_fc(call: KernelCall) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.acc64 or call.filter_offset != 0:
        return None
    rows = int4_rows(call)
    n = call.output_depth
    if rows is None or rows.shape != (n, call.accum_depth):
        return None
    fr = int4_requant(rows, call)
    if fr is None:
        return None
    padded_n = 4 * -(-n // 4)
    requant = _pad_rows(fr.rows, padded_n, UNIT_ROW)
    shared = bool((fr.rows == fr.rows[0]).all())  # per-tensor, no dead row: one group's 4 rows for all
    weights = arrange_fc(rows)
    record = FullyConnectedInt4Call(
        **base_fields(call),
        batches=call.batches, accum_depth=call.accum_depth, output_depth=n, output_offset=call.output_offset,
        act_min=call.act_min, act_max=call.act_max,
        weights=const_array(weights, np.int8),
        bias=const_array(pair_init(_pad_rows(fr.bias, padded_n, 0)), np.int32),
        requant=const_array(requant[:4] if shared else requant, np.int32),
        requant_step=0 if shared else 12,
        _storage=Int4Storage(call.packed.encoded, int(weights.nbytes)),
    )
    return Prepared(record, FC)


def dw_filter(call: KernelCall) -> np.ndarray | None:
    """The decoded int8 [KH, KW, C] filter of a dense int4 depthwise call, or None."""
    packed = getattr(call, "packed", None)
    encoded = getattr(packed, "encoded", None)
    k, c = call.filter_height * call.filter_width, call.output_depth
    if encoded is None or encoded.encoding != "int4" or encoded.channel_axis != 1:
        return None
    rows = np.asarray(encoded.decode())  # the rows view of TFLite's [1, KH, KW, C]: [KH * KW, C]
    if rows.dtype != np.int8 or rows.shape != (k, c) or rows.min() < -8 or rows.max() > 7:
        return None
    return rows.reshape(call.filter_height, call.filter_width, c)


def dw_words(filt: np.ndarray) -> np.ndarray:
    """int8 [KH, KW, C] in [-8, 7] -> int32 [ceil(C/4), ceil(K/2)]: per 4-channel block and tap pair (t, t+1) one
    word, nibble i at bits 4i: n3, n7 = w_t[c], w_t[c+2]; n2, n6 = w_t[c+1], w_t[c+3]; n1, n5, n0, n4 the same
    of tap t+1 (tinyq/tq_depthwise_conv_fast.h "int4 weights"); missing taps and channels are 0."""
    kh, kw, c = filt.shape
    k, n = kh * kw, -(-c // 4)
    w = np.zeros((2 * -(-k // 2), 4 * n), np.int64)
    w[:k, :c] = filt.reshape(k, c)
    w = (w & 0xF).reshape(-1, 2, n, 4)  # [pair, tap of the pair, block, channel of the block]
    nibble = {3: (0, 0), 7: (0, 2), 2: (0, 1), 6: (0, 3), 1: (1, 0), 5: (1, 2), 0: (1, 1), 4: (1, 3)}
    words = sum(w[:, t, :, j] << (4 * i) for i, (t, j) in nibble.items())  # [pair, block]
    return _wrap32(words.T)


@dataclass(frozen=True, eq=False)
class DepthwiseFastPackedCall(DepthwiseFastCall):
    """DepthwiseFastCall with int4 or 2-bit weights (tinyq/tq_depthwise_conv_fast.h "int4 weights", "2-bit
    weights"): the packed words stay in `blocks`, `packed` reports their storage."""

    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def prepare_depthwise(call: KernelCall) -> Prepared | None:
    if not one_filter_a_channel(call):
        return None
    filt = dw_filter(call)
    if filt is None:
        return None
    k, c = call.filter_height * call.filter_width, call.output_depth
    # |x| <= 128 (raw int8 inputs, or the zero point on padded taps): |sum(x * w)| <= 128 * sum|w|
    if (128 * np.abs(filt.reshape(k, c).astype(np.int64)).sum(axis=0) >= DW_SUM_BOUND).any():
        return None
    got = record_fields(call, filt)
    if got is None:
        return None
    fields, folded, rows = got
    n = -(-c // 4)
    bias = np.zeros(4 * n, np.int64)
    bias[:c] = 2 * folded.astype(np.int64)
    words = dw_words(filt)
    requant = _pad_rows(rows, 4 * n, UNIT_ROW).astype(np.int64).reshape(n, 12)
    blocks = np.concatenate([_wrap32(bias).reshape(n, 4), words, requant], axis=1).reshape(-1)
    record = DepthwiseFastPackedCall(**fields, blocks=const_array(blocks, np.int32), _filter=filt,
                                     _storage=Int4Storage(call.packed.encoded, int(words.nbytes)))
    return Prepared(record, DW3X3 if is_3x3(call) else DWKXK)


register(Preparer(kernel="tq_conv_s8_w4", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=prepare_conv))
register(Preparer(kernel="tq_fully_connected_s8_w4", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=prepare_fc))
register(Preparer(kernel="tq_depthwise_conv_s8_w4", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=prepare_depthwise))
