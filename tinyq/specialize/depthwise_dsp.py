"""DEPTHWISE_CONV_2D int8 (depth multiplier 1) prepared for the Arm DSP extension.

tq_depthwise_conv_s8 becomes tq_depthwise_conv3x3_s8_dsp (3x3, dilation 1) or tq_depthwise_convkxk_s8_dsp (any
other filter) on a record of 4-channel blocks (firmware/include/tinyq/tq_depthwise_conv_fast.h): biases with
input_offset * sum(w) folded in, the filter widened to the int16 lanes SXTB16 gives the input word (twice the
int8 filter's flash: 2 * KH * KW * ceil(C/4) * 4 bytes, 1,152 B per 64 channels of 3x3) and tq_requant_fast rows.
Padded taps read the input zero point from a scratch row, so that x * w there cancels the folded share.
Declined (the call keeps tq_depthwise_conv_s8_dsp): other depth multipliers, packed weights, 16x8, and layers
whose accumulator bound does not let tq_requant_fast be exact (tinyq/specialize/requant.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower.conv import DepthwiseConvCall
from tinyq.program import KernelCall, const_array
from tinyq.raster import conv_raster
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize.requant import accumulator_bound, fast_requant

# the dummy row of a zero-padded lane: any acc gives a finite value that is never stored
_PAD_ROW = (1 << 30, 1, 1)


@dataclass(frozen=True, eq=False)
class DepthwiseFastCall(KernelCall):
    params_type = "tq_depthwise_conv_fast_params"
    batches: int
    input_height: int
    input_width: int
    depth: int
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
    input_zero_point: int
    output_offset: int
    act_min: int
    act_max: int
    inner_y0: int  # output rows [inner_y0, inner_y1) and columns [inner_x0, inner_x1) read no padding
    inner_y1: int
    inner_x0: int
    inner_x1: int
    blocks: np.ndarray  # int32, ceil(depth / 4) records of 16 + 2 * KH * KW words
    _filter: np.ndarray  # the int8 filter [KH, KW, C], not emitted: for the weight reports (tinyq.json)

    @property
    def filter(self) -> np.ndarray:
        return self._filter

    def scratch_bytes(self) -> int:
        # the tap list (4-byte pointers) and a row of input zero points
        return 4 * self.filter_height * self.filter_width + (self.depth + 3) // 4 * 4

    def raster_order(self):
        # tq_depthwise_conv{3x3,kxk}_s8_dsp: pixel by pixel, 4 channels read then stored at a time (padded taps
        # read the zero-point row in scratch); the int4 records' kernels are not reviewed (kernel _w4)
        return conv_raster(self, 1, False) if self.kernel == "tq_depthwise_conv_s8" else None


def inner_range(out_size: int, in_size: int, k: int, stride: int, dilation: int, pad: int) -> tuple[int, int]:
    """The output positions [lo, hi) whose k taps all fall inside the input (lo >= hi: none)."""
    lo = -(-pad // stride)  # o * stride - pad >= 0
    last = in_size - 1 - (k - 1) * dilation + pad  # o * stride - pad + (k - 1) * dilation <= in_size - 1
    hi = min(out_size, last // stride + 1) if last >= 0 else 0
    return min(lo, out_size), max(hi, 0)


def pack_blocks(filt: np.ndarray, folded: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """filter int8 [KH, KW, C], folded int32 [C], rows int32 [C, 3] -> the int32 block records.

    Weights and biases are stored doubled (2w fits an int16 lane; 2 * folded is kept modulo 2^32): the kernel's
    sum is then 2 * acc, the operand of tq_requant_fast's SMMULR, one shift less per output."""
    kh, kw, c = filt.shape
    n = -(-c // 4)
    w = np.zeros((kh * kw, n * 4), np.int64)
    w[:, :c] = 2 * filt.reshape(kh * kw, c).astype(np.int64)
    bias = np.zeros(n * 4, np.int64)
    bias[:c] = (2 * folded.astype(np.int64) + 2**31) % 2**32 - 2**31
    r = np.tile(np.array(_PAD_ROW, np.int64), (n * 4, 1))
    r[:c] = rows
    w = w.reshape(kh * kw, n, 4) & 0xFFFF  # int16 lanes: {c, c+2} and {c+1, c+3}
    pairs = np.stack([w[..., 0] | (w[..., 2] << 16), w[..., 1] | (w[..., 3] << 16)], axis=-1)  # [K, n, 2]
    pairs = pairs.transpose(1, 0, 2).reshape(n, -1)
    pairs = np.where(pairs >= 1 << 31, pairs - (1 << 32), pairs)
    out = np.concatenate([bias.reshape(n, 4), pairs, r.reshape(n, 12)], axis=1)
    return out.reshape(-1)


def fold_output_offset(rows: np.ndarray, acc_bound: np.ndarray, offset: int) -> np.ndarray | None:
    """rows with offset * 2^rs added to the rounding term, so the kernel adds no output offset:
    (v + offset * 2^rs) >> rs = (v >> rs) + offset exactly; None when h + round + offset * 2^rs could leave int32
    (h, SMMULR's result, is at most acc_bound * m / 2^31 + 1 in magnitude)."""
    r = rows.astype(np.int64)
    h = (2 * acc_bound.astype(np.int64) * r[:, 0] >> 32) + 2
    if (h + r[:, 1] + abs(int(offset)) * (1 << r[:, 2]) >= 2**31 - 1).any():
        return None
    r[:, 1] += int(offset) << r[:, 2]
    return const_array(r, np.int32)


def record_fields(call: DepthwiseConvCall, filt: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray] | None:
    """The record's fields but `blocks` and `_filter`, the folded biases and the requant rows of a depth multiplier
    1 call with int8 filter filt [KH, KW, C], or None when tq_requant_fast cannot be proved exact (shared with
    the int4 record, int4_dsp.py)."""
    kh, kw, c = filt.shape
    req = fast_requant(filt.reshape(kh * kw, c).T, call.bias, call.input_offset, call.multiplier, call.shift)
    if req is None:
        return None
    out_offset, rows = call.output_offset, req.rows
    bound = accumulator_bound(filt.reshape(kh * kw, c).T, call.bias, call.input_offset)
    bound = np.where(filt.reshape(kh * kw, c).any(axis=0), bound, np.abs(req.bias.astype(np.int64)))  # dead: 4r
    folded_rows = fold_output_offset(rows, bound, out_offset) if out_offset else None
    if folded_rows is not None:
        out_offset, rows = 0, folded_rows
    return {**geometry_fields(call), "output_offset": out_offset}, req.bias, rows


def geometry_fields(call: DepthwiseConvCall) -> dict:
    """The record's fields but `blocks` and `_filter` (output_offset: the call's, before any folding)."""
    kh, kw = call.filter_height, call.filter_width
    iy = inner_range(call.output_height, call.input_height, kh, call.stride_height, call.dilation_height,
                     call.pad_height)
    ix = inner_range(call.output_width, call.input_width, kw, call.stride_width, call.dilation_width,
                     call.pad_width)
    return dict(
        kernel=call.kernel, layer=call.layer, opcode=call.opcode, inputs=call.inputs, outputs=call.outputs,
        batches=call.batches, input_height=call.input_height, input_width=call.input_width, depth=call.output_depth,
        filter_height=kh, filter_width=kw, output_height=call.output_height, output_width=call.output_width,
        stride_height=call.stride_height, stride_width=call.stride_width, dilation_height=call.dilation_height,
        dilation_width=call.dilation_width, pad_height=call.pad_height, pad_width=call.pad_width,
        input_zero_point=-call.input_offset, output_offset=call.output_offset, act_min=call.act_min,
        act_max=call.act_max, inner_y0=iy[0], inner_y1=iy[1], inner_x0=ix[0], inner_x1=ix[1],
    )


def is_3x3(call: DepthwiseConvCall) -> bool:
    """The unrolled interior path's filter: 3x3, dilation 1."""
    return (call.filter_height, call.filter_width, call.dilation_height, call.dilation_width) == (3, 3, 1, 1)


def one_filter_a_channel(call: KernelCall) -> bool:
    """A depthwise call the prepared kernels take: depth multiplier 1 (one filter a channel), int32 accumulators."""
    return (isinstance(call, DepthwiseConvCall) and call.depth_multiplier == 1 and not call.acc64 and
            call.input_depth == call.output_depth)


def prepare(call: KernelCall) -> Prepared | None:
    if not one_filter_a_channel(call) or call.packed is not None or call.filter is None:
        return None
    filt = np.asarray(call.filter)
    got = record_fields(call, filt)
    if got is None:
        return None
    fields, folded, rows = got
    record = DepthwiseFastCall(**fields, blocks=const_array(pack_blocks(filt, folded, rows), np.int32),
                               _filter=call.filter)
    return Prepared(record, "tq_depthwise_conv3x3_s8_dsp" if is_3x3(call) else "tq_depthwise_convkxk_s8_dsp")


register(Preparer(kernel="tq_depthwise_conv_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
