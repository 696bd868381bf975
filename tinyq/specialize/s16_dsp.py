"""16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on the Arm DSP extension (firmware/src/tq_*_s16_dsp.c).

int16 activations are SMLAD lanes already; the int8 weights are widened to int16 here (twice their flash) so
that each activation pair meets a weight pair in one SMLAD, with no SXTB16 in the loop. TFLM sums in int64
(or int32 for an int32 bias); these kernels sum in int32 from the bias, which is the same value whenever

    |bias[c]| + Σ|w[c, :]| · 32768 < 2^31    (every int16 x has |x| <= 32768; 2^30 on the int32 path),

proved here per output channel. A channel whose weights are all zero has a constant output, computed here.

Requantization rows (firmware/include/tinyq/tq_s16_dsp.h), exact:
  * int64 path: TFLM computes int32((acc · R + 2^(s-1)) >> s), R the multiplier rounded to 16 bits and
    s = 15 - shift. For s <= 32 and a = R · 2^(33-s) < 2^31: floor((acc · a + 2^32) / 2^33) is the same
    number (numerator and denominator scaled by 2^(33-s)), i.e. (1 + SMMUL(acc, a)) >> 1 = SMMLA, ASR. For
    s > 32: floor((floor(acc · R / 2^32) + 2^(s-33)) / 2^(s-32)), nested floors of one division. Either way
    |result| < 2^29, so TFLM's truncation to int32 changes nothing.
  * int32 path: tq_requant_fast rows from tinyq/specialize/requant.py (|acc| < 2^30 proved above).
Any condition that fails makes the preparer decline: the layer keeps the portable 16x8 kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower.conv import ConvCall, DepthwiseConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, const_array
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier_int64
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize.requant import FAST_BOUND, fast_requant

X_MAX = 1 << 15  # the largest |x| of an int16 activation
ACC32_BOUND = 1 << 31
INT32_MAX = (1 << 31) - 1
_MACRO = "__ARM_FEATURE_DSP"


@dataclass(frozen=True)
class Requant:
    bias: np.ndarray  # int32 [C]: each accumulator's start
    rows: np.ndarray  # int32 [C, 3]: tq_s16_requant_row
    requant64: bool


def _rows64(w: np.ndarray, b: np.ndarray, m: np.ndarray, shift: np.ndarray) -> Requant | None:
    """The int64 path (TFLM's MultiplyByQuantizedMultiplier(int64)); w int64 [C, K], b int64 [C]."""
    live = w.any(axis=1)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    s = 15 - shift
    small = s <= 32
    a = np.where(small, reduced << np.clip(33 - s, 0, 62), reduced)
    if (a[live] > INT32_MAX).any() or (s[live] < 1).any():
        return None
    rows = np.stack([a, np.where(small, 1, 1 << np.clip(s - 33, 0, 30)), np.where(small, 1, s - 32)], axis=1)
    bias = np.where(live, b, 0)
    if (~live).any():  # a constant channel: row {0, y, 0} gives y = TFLM's requantized bias
        y = multiply_by_quantized_multiplier_int64(b[~live], m[~live], shift[~live]).astype(np.int64)
        rows[~live] = np.stack([np.zeros_like(y), y, np.zeros_like(y)], axis=1)
    return Requant(const_array(bias, np.int32), const_array(rows, np.int32), True)


def requant_rows(weights: np.ndarray, bias: np.ndarray | None, multiplier, shift, acc64: bool) -> Requant | None:
    """Accumulator starts and rows for `weights` int8 [C, K] (a row per output channel), or None when an int32
    sum could differ from TFLM's for some int16 input, or a row cannot be exact."""
    w = np.asarray(weights, np.int64).reshape(weights.shape[0], -1)
    c = w.shape[0]
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    m = np.broadcast_to(np.asarray(multiplier, np.int64).reshape(-1), (c,)).copy()
    sh = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (c,)).copy()
    if c == 0 or len(b) != c:
        return None
    live = w.any(axis=1)
    bound = np.abs(b) + np.abs(w).sum(axis=1) * X_MAX
    if (bound[live] >= (ACC32_BOUND if acc64 else FAST_BOUND)).any():
        return None
    if acc64:
        return _rows64(w, b, m, sh)
    fast = fast_requant(np.asarray(weights).reshape(c, -1), bias, 0, m, sh)
    return None if fast is None else Requant(fast.bias, fast.rows, False)


def _base(call: KernelCall) -> dict:
    return dict(kernel=call.kernel, layer=call.layer, opcode=call.opcode, inputs=call.inputs, outputs=call.outputs)


@dataclass(frozen=True, eq=False)
class FullyConnectedS16DspCall(KernelCall):
    params_type = "tq_fully_connected_s16_dsp_params"
    batches: int
    accum_depth: int
    output_depth: int
    act_min: int
    act_max: int
    requant64: bool
    weights16: np.ndarray  # int16 [output_depth, accum_depth]
    bias: np.ndarray  # int32 [output_depth]
    rows: np.ndarray  # int32 [output_depth, 3]
    _int8: np.ndarray  # the layer's int8 weights, for the manifest's weight report (tinyq.encode.apply)

    @property
    def weights(self) -> np.ndarray:
        return self._int8

    @property
    def filter(self) -> np.ndarray:  # a 1x1 CONV_2D run as rows (prepare_conv)
        return self._int8


@dataclass(frozen=True, eq=False)
class ConvS16DspCall(KernelCall):
    params_type = "tq_conv_s16_dsp_params"
    batches: int
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    filter_input_depth: int
    output_height: int
    output_width: int
    output_depth: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_height: int
    pad_width: int
    act_min: int
    act_max: int
    requant64: bool
    filter16: np.ndarray  # int16 OHWI
    bias: np.ndarray
    rows: np.ndarray
    _int8: np.ndarray

    @property
    def filter(self) -> np.ndarray:
        return self._int8


@dataclass(frozen=True, eq=False)
class ConvS16Im2colDspCall(ConvS16DspCall):
    """tq_conv_s16_im2col_dsp: the same parameters; the patches of a pixel pair are gathered into scratch."""

    def scratch_bytes(self) -> int:
        return -(-4 * self.filter_height * self.filter_width * self.input_depth // 4) * 4  # two int16 patches


@dataclass(frozen=True, eq=False)
class ConvS16WideDspCall(KernelCall):
    """tq_conv_s16_wide_dsp: 2 pixels x 3 channels a block; scratch holds the pair's interleaved patches."""
    params_type = "tq_conv_s16_wide_dsp_params"
    batches: int
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    output_height: int
    output_width: int
    output_depth: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_height: int
    pad_width: int
    act_min: int
    act_max: int
    requant64: bool
    pointwise: bool
    taps_padded: int
    weights16: np.ndarray  # int16: triple_layout() of the [output_depth, taps] filter
    records: np.ndarray  # int32 [triples, 12]: triple_records()
    _int8: np.ndarray

    @property
    def filter(self) -> np.ndarray:
        return self._int8

    def scratch_bytes(self) -> int:
        return 4 * self.taps_padded  # two int16 patches, interleaved by tap pairs


@dataclass(frozen=True, eq=False)
class DepthwiseConvS16DspCall(KernelCall):
    params_type = "tq_depthwise_conv_s16_dsp_params"
    batches: int
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    output_height: int
    output_width: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_height: int
    pad_width: int
    act_min: int
    act_max: int
    requant64: bool
    filter16: np.ndarray  # int16: depthwise_layout() of the [filter_height, filter_width, input_depth] filter
    bias: np.ndarray
    rows: np.ndarray
    _int8: np.ndarray

    @property
    def filter(self) -> np.ndarray:
        return self._int8


_GEOMETRY = ("batches", "input_height", "input_width", "input_depth", "filter_height", "filter_width",
             "output_height", "output_width", "stride_height", "stride_width", "dilation_height", "dilation_width",
             "pad_height", "pad_width", "act_min", "act_max")


def _symmetric(call) -> bool:
    return call.input_offset == 0 and call.output_offset == 0 and getattr(call, "packed", None) is None


def prepare_fully_connected(call: KernelCall) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.weights is None or not _symmetric(call) or call.filter_offset:
        return None
    q = requant_rows(call.weights, call.bias, call.multiplier, call.shift, call.acc64)
    if q is None:
        return None
    record = FullyConnectedS16DspCall(
        **_base(call), batches=call.batches, accum_depth=call.accum_depth, output_depth=call.output_depth,
        act_min=call.act_min, act_max=call.act_max, requant64=q.requant64,
        weights16=const_array(call.weights, np.int16), bias=q.bias, rows=q.rows, _int8=call.weights)
    return Prepared(record, "tq_fully_connected_s16_dsp")


def _pointwise(call: ConvCall) -> bool:
    """A 1x1 convolution whose output pixels are its input pixels (stride 1, no padding, no groups)."""
    return (call.filter_height == call.filter_width == 1 and call.stride_height == call.stride_width == 1
            and call.pad_height == call.pad_width == 0 and call.filter_input_depth == call.input_depth
            and (call.output_height, call.output_width) == (call.input_height, call.input_width))


def triple_layout(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """int8 [C, K] -> (int16 weights in the order tq_conv_s16_wide_dsp streams them, taps_padded): taps
    zero-padded to a multiple of 4, channels to a multiple of 3; per triple of channels, per tap pair, three
    int16 pairs (one word each) {c, c + 1, c + 2}."""
    c, k = rows.shape
    kp, cp = -(-k // 4) * 4, -(-c // 3) * 3
    padded = np.zeros((cp, kp), np.int16)
    padded[:c, :k] = rows
    return const_array(padded.reshape(cp // 3, 3, kp // 2, 2).transpose(0, 2, 1, 3).reshape(-1), np.int16), kp


def triple_records(bias: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """int32 [triples, 12]: per channel triple its 3 biases, then its 3 requantization rows; channels
    zero-padded to a multiple of 3 (the padding channels' outputs are not stored)."""
    c = len(bias)
    cp = -(-c // 3) * 3
    b = np.zeros(cp, np.int64)
    r = np.zeros((cp, 3), np.int64)
    b[:c], r[:c] = bias, np.asarray(rows).reshape(c, 3)
    return const_array(np.concatenate([b.reshape(-1, 3), r.reshape(-1, 9)], axis=1), np.int32)


def wide_pays(call: ConvCall) -> bool:
    """tq_conv_s16_wide_dsp's triples: 8 instructions for 12 multiply-accumulates against 18 for 16 of the pair
    kernels, so a padded triple (C % 3 zero channels) still pays from 5 channels on; no groups."""
    return call.filter_input_depth == call.input_depth and (call.output_depth % 3 == 0 or call.output_depth >= 5)


def prepare_conv(call: KernelCall) -> Prepared | None:
    if not isinstance(call, ConvCall) or call.filter is None or not _symmetric(call):
        return None
    q = requant_rows(call.filter.reshape(call.output_depth, -1), call.bias, call.multiplier, call.shift, call.acc64)
    if q is None:
        return None
    pointwise, gathers = _pointwise(call), _short_runs(call)
    if (pointwise or gathers) and wide_pays(call):  # 2 pixels x 3 channels a block
        weights16, kp = triple_layout(call.filter.reshape(call.output_depth, -1))
        record = ConvS16WideDspCall(
            **_base(call), **{f: getattr(call, f) for f in _GEOMETRY}, output_depth=call.output_depth,
            requant64=q.requant64, pointwise=pointwise, taps_padded=kp, weights16=weights16,
            records=triple_records(q.bias, q.rows), _int8=call.filter)
        return Prepared(record, "tq_conv_s16_wide_dsp")
    if pointwise:  # every pixel is an FC row: the FC kernel, without the per-pixel tap bookkeeping
        record = FullyConnectedS16DspCall(
            **_base(call), batches=call.batches * call.output_height * call.output_width,
            accum_depth=call.input_depth, output_depth=call.output_depth, act_min=call.act_min,
            act_max=call.act_max, requant64=q.requant64,
            weights16=const_array(call.filter.reshape(call.output_depth, -1), np.int16), bias=q.bias, rows=q.rows,
            _int8=call.filter)
        return Prepared(record, "tq_fully_connected_s16_dsp")
    record = (ConvS16Im2colDspCall if gathers else ConvS16DspCall)(
        **_base(call), **{f: getattr(call, f) for f in _GEOMETRY}, filter_input_depth=call.filter_input_depth,
        output_depth=call.output_depth, requant64=q.requant64, filter16=const_array(call.filter, np.int16),
        bias=q.bias, rows=q.rows, _int8=call.filter)
    return Prepared(record, "tq_conv_s16_im2col_dsp" if gathers else "tq_conv_s16_dsp")


IM2COL_RUN = 16  # taps: below this, a filter row's dot calls cost more in setup than gathering the patch does


def _short_runs(call: ConvCall) -> bool:
    """Whether the patch is several short runs of adjacent taps (a filter row of few input channels, or dilated
    taps one by one), so one gathered run per filter block beats a dot call per run: no groups, several runs."""
    run = call.filter_width * call.input_depth if call.dilation_width == 1 else call.input_depth
    runs = call.filter_height * (1 if call.dilation_width == 1 else call.filter_width)
    return call.filter_input_depth == call.input_depth and runs > 1 and run < IM2COL_RUN


def depthwise_layout(filter_hwc: np.ndarray) -> np.ndarray:
    """int16 weights in the order tq_depthwise_conv_s16_dsp streams them: for each group of 4 channels its taps
    in filter order, 4 weights each ([C/4][H][W][4]); then the last C % 4 channels as [H][W][C % 4]."""
    h, w, c = filter_hwc.shape
    whole = c - c % 4
    groups = filter_hwc[:, :, :whole].reshape(h, w, whole // 4, 4).transpose(2, 0, 1, 3).reshape(-1)
    return const_array(np.concatenate([groups, filter_hwc[:, :, whole:].reshape(-1)]), np.int16)


def prepare_depthwise_conv(call: KernelCall) -> Prepared | None:
    if not isinstance(call, DepthwiseConvCall) or call.filter is None or not _symmetric(call):
        return None
    if call.depth_multiplier != 1 or call.output_depth != call.input_depth or not call.acc64:
        return None  # the kernel reads one input channel per output channel, and requantizes as int64 only
    per_channel = call.filter.reshape(-1, call.output_depth).T  # [C, taps]
    q = requant_rows(per_channel, call.bias, call.multiplier, call.shift, call.acc64)
    if q is None:
        return None
    record = DepthwiseConvS16DspCall(
        **_base(call), **{f: getattr(call, f) for f in _GEOMETRY}, requant64=q.requant64,
        filter16=depthwise_layout(call.filter), bias=q.bias, rows=q.rows, _int8=call.filter)
    return Prepared(record, "tq_depthwise_conv_s16_dsp")


register(Preparer(kernel="tq_fully_connected_s16", feature="dsp", macro=_MACRO, prepare=prepare_fully_connected))
register(Preparer(kernel="tq_conv_s16", feature="dsp", macro=_MACRO, prepare=prepare_conv))
register(Preparer(kernel="tq_depthwise_conv_s16", feature="dsp", macro=_MACRO, prepare=prepare_depthwise_conv))
