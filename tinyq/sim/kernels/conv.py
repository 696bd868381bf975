"""Simulator kernels for tq_conv_s8/_s16 and tq_depthwise_conv_s8/_s16 (mirror firmware/src/tq_conv.c and
tq_depthwise_conv.c).

Vectorised over batch and output positions, in blocks of whole images sized to stay in cache. A block's
input is zero-point-shifted and zero-padded once (padding then contributes 0, as the reference's skipped
taps do); a strided window view of it gives every output position's patch. Sums of integer products are
formed in float64 when no partial sum can reach 2**53 (then every addition is exact, in any order, so BLAS
is bit-exact), else in int64. The reference's int32 accumulator (int8, and 16x8 with an int32 bias) wraps
modulo 2**32; the int32 requantization wraps its input the same way, so the exact sum is passed to it.
Per-channel parameters are tiled to the block's length so every elementwise step runs on contiguous,
equally shaped arrays (broadcasting a short channel axis makes NumPy's inner loops a few elements long).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinyq.quant import DTYPE_RANGE
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_int64, wrap_int32
from tinyq.sim.kernels import sim_kernel

_BLOCK_VALUES = 1 << 16  # output values per block: keeps the temporaries in cache


def _work_dtype(call, terms: int):
    """float64 when no partial sum can reach 2**53 (from the dtype ranges alone), else int64."""
    lo, hi = DTYPE_RANGE["int8" if call.kernel.endswith("s8") else "int16"]
    x_max = max(abs(lo + call.input_offset), abs(hi + call.input_offset))
    return np.float64 if x_max * 128 * terms < 2**53 else np.int64


def _windows(call, images: np.ndarray, dtype) -> np.ndarray:
    """(n, out_h, out_w, KH, KW, C) view: the (input + input_offset) value under each tap of each output,
    over a zero-padded copy of the block."""
    rows = (call.output_height - 1) * call.stride_height + (call.filter_height - 1) * call.dilation_height + 1
    cols = (call.output_width - 1) * call.stride_width + (call.filter_width - 1) * call.dilation_width + 1
    xp = np.zeros((images.shape[0], rows, cols, call.input_depth), dtype)
    # input rows [0, r1) land at padded rows [pad, pad + r1); input rows no output reaches are dropped
    r1 = min(call.input_height, rows - call.pad_height)
    c1 = min(call.input_width, cols - call.pad_width)
    inside = xp[:, call.pad_height : call.pad_height + r1, call.pad_width : call.pad_width + c1]
    inside[...] = images[:, :r1, :c1]
    if call.input_offset:
        inside += call.input_offset
    sn, sy, sx, sc = xp.strides
    shape = (xp.shape[0], call.output_height, call.output_width, call.filter_height, call.filter_width,
             call.input_depth)
    strides = (sn, sy * call.stride_height, sx * call.stride_width, sy * call.dilation_height,
               sx * call.dilation_width, sc)
    return as_strided(xp, shape, strides, writeable=False)


class _Requant:
    """Bias, requantization, output offset and clamp for flat (position, channel) sums of up to `length` values,
    with the per-channel parameters tiled to that length once."""

    def __init__(self, call, length: int):
        reps = length // call.output_depth
        self.call = call
        self.bias = None if call.bias is None else np.tile(call.bias.astype(np.int64), reps)
        self.multiplier = np.tile(call.multiplier.astype(np.int64), reps)
        self.shift = np.tile(call.shift.astype(np.int64), reps)
        self.right_only = not call.acc64 and bool(np.all(call.shift <= 0))
        if self.right_only:
            self.right = -self.shift
            self.half = (np.int64(1) << self.right) >> 1
            self.no_shift = (self.right == 0) if np.any(call.shift == 0) else None

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        c, k = self.call, acc.size
        acc = acc.reshape(-1).astype(np.int64)
        if self.bias is not None:
            acc += self.bias[:k]
        if c.acc64:
            y = multiply_by_quantized_multiplier_int64(acc, self.multiplier[:k], self.shift[:k])
        elif self.right_only:
            y = self._right_shift(acc, k)
        else:
            y = multiply_by_quantized_multiplier(acc, self.multiplier[:k], self.shift[:k])
        y += c.output_offset
        return np.clip(y, c.act_min, c.act_max, out=y)

    def _right_shift(self, acc: np.ndarray, k: int) -> np.ndarray:
        """fixedpoint.multiply_by_quantized_multiplier for shift <= 0 and multiplier >= 0, in fewer passes.

        With a = wrap_int32(acc) and >> the arithmetic (flooring) shift:
        SaturatingRoundingDoublingHighMul(a, m) = (a * m + 2**30) >> 31 (round half toward +inf: gemmlowp's
        sign-dependent nudge followed by truncation is exactly that; m >= 0 rules out saturation), and
        RoundingDivideByPOT(v, r) = (v + 2**(r-1) - [v < 0]) >> r for r >= 1 (half away from zero).
        tests/ops/test_conv.py checks it against the primitive.
        """
        v = wrap_int32(acc)
        v *= self.multiplier[:k]
        v += 1 << 30
        v >>= 31
        neg = v < 0
        if self.no_shift is not None:  # r = 0 on some channels: v is the result there
            neg &= ~self.no_shift[:k]
        v += self.half[:k]
        v -= neg
        v >>= self.right[:k]
        return v


def _blocks(call, x: np.ndarray, block_fn) -> np.ndarray:
    """Run block_fn (images -> exact sums) on blocks of whole images; returns (N, output values)."""
    n = x.shape[0]
    images = x.reshape(n * call.batches, call.input_height, call.input_width, call.input_depth)
    per_image = call.output_height * call.output_width * call.output_depth
    step = max(1, _BLOCK_VALUES // per_image)
    requant = _Requant(call, step * per_image)
    out = np.empty((images.shape[0], per_image), np.int8 if call.kernel.endswith("s8") else np.int16)
    for i in range(0, images.shape[0], step):
        out[i : i + step] = requant(block_fn(images[i : i + step])).reshape(-1, per_image)
    return out.reshape(n, -1)


@sim_kernel("tq_conv_s8", "tq_conv_s16")
def conv(call, x):
    groups = call.input_depth // call.filter_input_depth
    per_group = call.output_depth // groups
    depth = call.filter_input_depth
    k = call.filter_height * call.filter_width * depth
    dtype = _work_dtype(call, k)
    # filter [O, KH, KW, I] -> per group: [KH*KW*I, O / groups], matching the patch layout
    w = call.filter.astype(dtype).reshape(groups, per_group, k).transpose(0, 2, 1)

    def block(images):
        win = _windows(call, images, dtype)
        positions = win.shape[0] * call.output_height * call.output_width
        acc = np.empty((positions, groups, per_group), dtype)
        for g in range(groups):
            patches = win[..., g * depth : (g + 1) * depth].reshape(positions, k)  # im2col (a copy unless 1x1)
            np.matmul(patches, w[g], out=acc[:, g, :])
        return acc

    return _blocks(call, x, block)


@sim_kernel("tq_depthwise_conv_s8", "tq_depthwise_conv_s16")
def depthwise_conv(call, x):
    m, c = call.depth_multiplier, call.input_depth
    taps = call.filter_height * call.filter_width
    dtype = _work_dtype(call, taps)
    # filter [KH, KW, C*M]: output channel c*M + k reads input channel c
    w = call.filter.astype(dtype).reshape(taps, c, m)
    per_image = call.output_height * call.output_width

    def by_tap(images):
        """Few taps, many channels: per tap, every position's channels times the tap's weights."""
        win = _windows(call, images, dtype)
        positions = win.shape[0] * per_image
        acc = np.zeros((positions, c, m), dtype)
        tap = np.empty_like(acc)
        for t in range(taps):
            tap[...] = win[:, :, :, t // call.filter_width, t % call.filter_width, :].reshape(positions, c, 1)
            tap *= w[t]
            acc += tap
        return acc

    w_by_channel = np.ascontiguousarray(w.transpose(1, 0, 2))  # [C, taps, M]

    def by_channel(images):
        """Few channels (e.g. a 1-channel input with a large filter): one matmul per input channel."""
        win = _windows(call, images, dtype)
        positions = win.shape[0] * per_image
        patches = np.ascontiguousarray(win.transpose(5, 0, 1, 2, 3, 4)).reshape(c, positions, taps)
        return np.matmul(patches, w_by_channel).transpose(1, 0, 2)  # [positions, C, M]

    return _blocks(call, x, by_channel if c <= 4 else by_tap)
