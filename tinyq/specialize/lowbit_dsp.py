"""Preparers of CONV_2D, FULLY_CONNECTED and DEPTHWISE_CONV_2D with 2-bit weights (dense `int2`, `ternary`,
`binary` encodings) for the Arm DSP extension: ConvCall tq_conv_s8_{w2,wt,wb} -> tq_conv1x1_s8_int2_dsp /
tq_conv_s8_im2col_int2_dsp (firmware/src/tq_conv_s8_int2_dsp.c), FullyConnectedCall tq_fully_connected_s8_{w2,wt,wb}
-> tq_fully_connected_s8_int2_dsp (firmware/src/tq_fully_connected_s8_int2_dsp.c), DepthwiseConvCall
tq_depthwise_conv_s8_{w2,wt,wb} -> tq_depthwise_conv{3x3,kxk}_s8_int2_dsp (firmware/src/tq_depthwise_conv_s8_int2_dsp.c;
its own layout, see prepare_depthwise). The weights stay 2-bit in flash.

Every weight is w = m_c * t with t in [-2, 1] (int2: m_c = 1; ternary and binary: m_c their channel's magnitude,
t in {-1, 0, 1}), stored as the unsigned code u = t + 2. One int32 word holds a group of 4 output channels x 4
taps: byte j = tap j, bits 2i..2i+1 of it = channel i's code (tinyq/tq_lowbit_dsp.h). An AND (with a shift for
FC) isolates one channel's codes of taps (0, 2) or (1, 3) as the two int16 lanes SMLAD wants, so the kernels
accumulate U_c = sum(x * u) and recover acc_c = f_c + m_c * (U_c - 2 S) (S: the sum of the inputs, f: the folded
bias; all modulo 2^32, exact because acc fits int32, proved by requant.py).

The conv kernel isolates the codes with immediate masks only (no mask register: its 2 pixels x 4 channels need
the other 14), so channel i's lanes are 4^i u and its accumulator 4^i U: exact when |4^i U| < 2^31, proved here
per channel from |x| <= 128. A call whose bounds cannot be proved, or whose weights are not m_c * t, is declined
and keeps its packed kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.kernel_select import DSP
from tinyq.lower.conv import ConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, const_array
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.conv_dsp import gemm_fields, is_pointwise
from tinyq.specialize.depthwise_dsp import fold_output_offset, geometry_fields, is_3x3, one_filter_a_channel
from tinyq.specialize.fully_connected_dsp import FullyConnectedInterleavedCall, _pad_rows
from tinyq.specialize.int4_dsp import ConvGemmInt4Call, DepthwiseFastPackedCall, Int4Storage, _wrap32
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
from tinyq.specialize.requant import FAST_BOUND, accumulator_bound

CONV1X1 = "tq_conv1x1_s8_int2_dsp"
IM2COL = "tq_conv_s8_im2col_int2_dsp"
FC = "tq_fully_connected_s8_int2_dsp"
ENCODINGS = ("int2", "ternary", "binary")
UNIT_ROW = (1 << 30, 1, 1, -1)  # the requant row of a padding channel (its outputs are never stored)


@dataclass(frozen=True)
class Requant:
    folded: np.ndarray  # int64 [C]: 2^L (bias + input_offset * sum(w)), or 4 r for a constant channel
    magnitude: np.ndarray  # int64 [C]: 2^L m_c
    rows: np.ndarray  # int64 [C, 4]: {multiplier, round, right_shift, negative-tie mask}
    left: np.ndarray  # int64 [C]: L, the left shift folded into folded and magnitude (0 for a constant channel)


def lowbit_requant(rows: np.ndarray, m: np.ndarray, call: KernelCall) -> Requant | None:
    """The kernels' requantization, or None when it cannot be proved exact. TFLM gives
    RoundingDivideByPOT(SRDHM(acc << L, M), R) (L = max(shift, 0), R = max(-shift, 0)); the kernels compute
    acc' = 2^L acc from biases and magnitudes scaled by 2^L (|acc'| < 2^30 proved here), h = SMMULR(2 acc', M) =
    SRDHM(acc', M), and (h + round + (mask AND h ASR #31)) >> R with round = 2^(R-1), mask = -1 when R >= 1 and
    round = mask = 0 when R = 0 (tinyq/tq_requant_fast.h's rounding, which needs R >= 1, plus the case R = 0).
    A channel of zero weights gives its constant r = MBQM(bias) from 4 r and the row {2^30, 1, 1, -1}."""
    c = rows.shape[0]
    w = rows.astype(np.int64)
    b = np.zeros(c, np.int64) if call.bias is None else np.asarray(call.bias, np.int64).reshape(-1)
    mult = np.asarray(call.multiplier, np.int64).reshape(-1)
    shift = np.asarray(call.shift, np.int64).reshape(-1)
    if len(mult) == 1 and len(shift) == 1:
        mult, shift = np.repeat(mult, c), np.repeat(shift, c)
    if len(b) != c or len(mult) != c or len(shift) != c or (mult < 0).any():
        return None
    live = w.any(axis=1)
    left = np.where(live, np.maximum(shift, 0), 0)
    right = np.where(live, np.maximum(-shift, 0), 1)
    if (right > 30).any() or (left > 30).any():
        return None
    bound = accumulator_bound(rows, call.bias, call.input_offset)
    if (np.where(live, bound << left, 0) >= FAST_BOUND).any():
        return None
    folded = (b + w.sum(axis=1) * int(call.input_offset)) << left
    if not live.all():
        r = multiply_by_quantized_multiplier(b[~live].astype(np.int32), mult[~live].astype(np.int32),
                                             shift[~live].astype(np.int32)).astype(np.int64)
        folded[~live] = 4 * r
        if np.abs(4 * r).max() >= FAST_BOUND:
            return None
    mult = np.where(live, mult, 1 << 30)
    table = np.stack([mult, np.where(right > 0, 1 << np.maximum(right - 1, 0), 0), right,
                      np.where(right > 0, -1, 0)], axis=1)
    return Requant(folded, m.astype(np.int64) << left, table, left)


def lowbit_rows(call: KernelCall, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(decoded int8 rows [C, K], t int8 [C, K] in [-2, 1], m int64 [C]) with rows = m * t, or None. axis: the
    encoding's channel axis (1: depthwise, whose decoded [K, C] is transposed here)."""
    packed = getattr(call, "packed", None)
    encoded = getattr(packed, "encoded", None)
    if encoded is None or encoded.encoding not in ENCODINGS or encoded.channel_axis != axis:
        return None
    rows = np.asarray(encoded.decode())
    if rows.dtype != np.int8 or rows.ndim != 2 or rows.size == 0:
        return None
    rows = np.ascontiguousarray(rows.T) if axis == 1 else rows
    w = rows.astype(np.int64)
    if encoded.encoding == "int2":
        m = np.ones(len(w), np.int64)
    else:
        m = np.maximum(np.abs(w).max(axis=1), 1)
    t = w // m[:, None]
    if (t * m[:, None] != w).any() or t.min() < -2 or t.max() > 1:
        return None
    return rows, t.astype(np.int8), m


def arrange(t: np.ndarray) -> np.ndarray:
    """t int8 [C, K] in [-2, 1] -> int32 [ceil(C/4), ceil(K/4)] words: byte j of word (g, k) holds the codes
    t + 2 of taps 4k + j of channels 4g..4g+3, channel i at bits 2i. Padding taps and channels get code 0 (their
    inputs are 0, or their outputs are never stored)."""
    c, k = t.shape
    g, n = -(-c // 4), -(-k // 4)
    u = np.zeros((4 * g, 4 * n), np.int64)
    u[:c, :k] = t.astype(np.int64) + 2
    u = u.reshape(g, 4, n, 4)  # [group, channel i, word, tap j]
    words = sum(u[:, i, :, j] << (2 * i + 8 * j) for i in range(4) for j in range(4))
    return _wrap32(words)


def conv_bound_ok(t: np.ndarray) -> bool:
    """|4^i U_c| < 2^31 for channel c = 4g + i, with |x| <= 128 (raw inputs and the zero point on padded taps)."""
    u = (t.astype(np.int64) + 2).sum(axis=1)
    scale = 4 ** (np.arange(len(t)) % 4)
    return bool((scale * 128 * u < 2**31).all())


def group_table(folded: np.ndarray, m: np.ndarray, rq: np.ndarray | None) -> np.ndarray:
    """Per group of 4 channels {f_0..f_3, m_0..m_3[, 4 requant rows of 4]} (padded to whole groups)."""
    g = -(-len(folded) // 4)
    f = _wrap32(_pad_rows(folded.astype(np.int64), 4 * g, 0)).astype(np.int64).reshape(g, 4)
    mm = _wrap32(_pad_rows(m.astype(np.int64), 4 * g, 1)).astype(np.int64).reshape(g, 4)
    parts = [f, mm]
    if rq is not None:
        parts.append(_pad_rows(np.asarray(rq, np.int64), 4 * g, UNIT_ROW).reshape(g, 16))
    return np.concatenate(parts, axis=1).reshape(-1)


@dataclass(frozen=True, eq=False)
class ConvGemmInt2Call(ConvGemmInt4Call):
    """ConvGemmCall with 2-bit weights (tinyq/tq_lowbit_dsp.h): rows 24 int32 a group of 4 channels."""


def prepare_conv(call: KernelCall) -> Prepared | None:
    if not isinstance(call, ConvCall) or call.acc64 or call.filter_input_depth != call.input_depth:
        return None
    got = lowbit_rows(call)
    c = call.output_depth
    if got is None or got[0].shape != (c, call.filter_height * call.filter_width * call.input_depth):
        return None
    rows, t, m = got
    fr = lowbit_requant(rows, m, call)
    if fr is None or not conv_bound_ok(t):
        return None
    weights = arrange(t).reshape(-1)
    pointwise = is_pointwise(call)
    record = ConvGemmInt2Call(
        **gemm_fields(call, rows.shape[1]),
        rows=const_array(group_table(fr.folded, fr.magnitude, fr.rows), np.int32),
        weights=const_array(weights, np.int32),
        _filter=rows.reshape(c, call.filter_height, call.filter_width, call.input_depth), _gathers=not pointwise,
        _storage=Int4Storage(call.packed.encoded, int(weights.nbytes)),
    )
    return Prepared(record, CONV1X1 if pointwise else IM2COL)


@dataclass(frozen=True, eq=False)
class FullyConnectedInt2Call(FullyConnectedInterleavedCall):
    """tq_fully_connected_s8_int2_params (tinyq/tq_lowbit_dsp.h)."""

    params_type = "tq_fully_connected_s8_int2_params"
    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def prepare_fc(call: KernelCall) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.acc64 or call.filter_offset != 0:
        return None
    got = lowbit_rows(call)
    n = call.output_depth
    if got is None or got[0].shape != (n, call.accum_depth):
        return None
    rows, t, m = got
    fr = lowbit_requant(rows, m, call)
    if fr is None:
        return None
    requant = _pad_rows(fr.rows, 4 * -(-n // 4), UNIT_ROW)
    shared = bool((fr.rows == fr.rows[0]).all())  # per-tensor, no dead row: one group's 4 rows for all
    weights = arrange(t).reshape(-1).view(np.int8)
    record = FullyConnectedInt2Call(
        **base_fields(call),
        batches=call.batches, accum_depth=call.accum_depth, output_depth=n, output_offset=call.output_offset,
        act_min=call.act_min, act_max=call.act_max,
        weights=const_array(weights, np.int8),
        bias=const_array(group_table(fr.folded, fr.magnitude, None), np.int32),
        requant=const_array(requant[:4] if shared else requant, np.int32),
        requant_step=0 if shared else 16,
        _storage=Int4Storage(call.packed.encoded, int(weights.nbytes)),
    )
    return Prepared(record, FC)


# --- depthwise: tq_depthwise_conv_s8_{w2,wt,wb} -> tq_depthwise_conv{3x3,kxk}_s8_int2_dsp ---

DW3X3 = "tq_depthwise_conv3x3_s8_int2_dsp"
DWKXK = "tq_depthwise_convkxk_s8_int2_dsp"
DW_LANE = 2**14  # a lane the kernel's AND isolates is 2^14 t (t's two bits at the top of an int16 half)
DW_MAG_SHIFT = 19  # the magnitude word: 2^(L + 19) m, so that SMMLA's high word of 2^14 T times it is 2^(L+1) m T


def dw_words(t: np.ndarray) -> np.ndarray:
    """t int8 [K, C] in [-2, 1] -> int32 [ceil(C/4), ceil(K/4)]: per 4-channel block and 4 taps one word, tap
    4q + s of channel c + j in bits 2i..2i+1 (two's complement), i = {7, 6, 15, 14}[j] - 2s, so that
    (word << 4s) & 0xC000C000 and (word << (4s + 2)) & 0xC000C000 are the 2^14 t lanes of channels {c, c+2} and
    {c+1, c+3} (tinyq/tq_depthwise_conv_fast.h "2-bit weights"); missing taps and channels are 0."""
    k, c = t.shape
    q, n = -(-k // 4), -(-c // 4)
    u = np.zeros((4 * q, 4 * n), np.int64)
    u[:k, :c] = t.astype(np.int64) & 3
    u = u.reshape(q, 4, n, 4)  # [word, tap of the word, block, channel of the block]
    words = sum(u[:, s, :, j] << (2 * (i - 2 * s)) for s in range(4) for j, i in enumerate((7, 6, 15, 14)))
    return _wrap32(words.T)


def prepare_depthwise(call: KernelCall) -> Prepared | None:
    """The 2-bit depthwise record, or None. Proved here besides lowbit_requant's conditions: |2^14 T| < 2^31
    (T = sum(x * t) over raw int8 inputs and the zero point: 128 * sum|t| < 2^17) and 2^(L + 19) m < 2^31."""
    if not one_filter_a_channel(call):
        return None
    got = lowbit_rows(call, axis=1)
    kh, kw, c = call.filter_height, call.filter_width, call.output_depth
    if got is None or got[0].shape != (c, kh * kw):
        return None
    rows, t, m = got  # a row a channel
    if (128 * DW_LANE * np.abs(t.astype(np.int64)).sum(axis=1) >= 2**31).any():
        return None
    fr = lowbit_requant(rows, m, call)
    if fr is None or (fr.magnitude << DW_MAG_SHIFT >= 2**31).any():
        return None
    live = rows.astype(np.int64).any(axis=1)
    bound = np.where(live, accumulator_bound(rows, call.bias, call.input_offset) << fr.left, np.abs(fr.folded))
    out_offset, rq = call.output_offset, fr.rows
    if out_offset:
        folded_rows = fold_output_offset(rq[:, :3], bound, out_offset)
        if folded_rows is not None:
            out_offset, rq = 0, np.concatenate([np.asarray(folded_rows, np.int64), rq[:, 3:]], axis=1)
    filt = np.ascontiguousarray(rows.T).reshape(kh, kw, c)
    fields = {**geometry_fields(call), "output_offset": out_offset}
    n = -(-c // 4)
    words = dw_words(t.T)
    bias2 = _wrap32(_pad_rows(2 * fr.folded, 4 * n, 0)).astype(np.int64)
    mag = _pad_rows(fr.magnitude << DW_MAG_SHIFT, 4 * n, 1 << DW_MAG_SHIFT)
    rq = _pad_rows(rq, 4 * n, UNIT_ROW).astype(np.int64)  # {M, round, R, mask}
    chans = np.stack([bias2, mag, rq[:, 0], rq[:, 1], rq[:, 3], rq[:, 2]], axis=1).reshape(n, 24)
    blocks = np.concatenate([chans, words], axis=1).reshape(-1)
    record = DepthwiseFastPackedCall(**fields, blocks=const_array(blocks, np.int32), _filter=filt,
                                     _storage=Int4Storage(call.packed.encoded, int(words.nbytes)))
    return Prepared(record, DW3X3 if is_3x3(call) else DWKXK)


for _w in ("w2", "wt", "wb"):
    register(Preparer(kernel=f"tq_conv_s8_{_w}", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=prepare_conv))
    register(Preparer(kernel=f"tq_fully_connected_s8_{_w}", feature=DSP, macro="__ARM_FEATURE_DSP",
                      prepare=prepare_fc))
    register(Preparer(kernel=f"tq_depthwise_conv_s8_{_w}", feature=DSP, macro="__ARM_FEATURE_DSP",
                      prepare=prepare_depthwise))
