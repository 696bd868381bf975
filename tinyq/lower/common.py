"""Helpers shared by the op-family lowerings: effective scales and requantization parameters."""
from __future__ import annotations

import numpy as np

from tinyq.ir import Tensor
from tinyq.program import const_array
from tinyq.quant import ParameterError, activation_range, f32, quantize_multiplier, requant_multiplier


def per_channel_requant(inp: Tensor, weights: Tensor, out: Tensor, channels: int):
    """TFLM PopulateConvolutionQuantizationParams: per output channel
    m = double(input_scale) * double(filter_scale[c]) / double(output_scale)  (in this order).

    Returns (multiplier int32[channels], shift int32[channels]) as read-only arrays.
    """
    scales = weights.quant.scale
    if len(scales) not in (1, channels):
        raise ParameterError(f"{weights.describe()} has {len(scales)} scales for {channels} channels")
    in_s, out_s = f32(inp.scale), f32(out.scale)
    mults, shifts = [], []
    for c in range(channels):
        real = in_s * f32(scales[c if len(scales) > 1 else 0]) / out_s
        m, s = requant_multiplier(real)
        mults.append(m)
        shifts.append(s)
    return const_array(mults, np.int32), const_array(shifts, np.int32)


def check_acc64_range(ctx, bias: np.ndarray | None, taps: int) -> None:
    """16x8 with an int64 accumulator: TFLM's int64 requantize takes |sum| < 2^47; a sum is at most
    |bias| + taps * 32768 * 128 (int16 input, int8 weight), so refuse biases that could leave that range."""
    worst = (0 if bias is None or bias.size == 0 else int(np.abs(bias.astype(np.int64)).max())) + taps * (1 << 22)
    if worst >= 1 << 47:
        raise ctx.fail(f"the 16x8 accumulator could reach {worst:,} (bias up to "
                       f"{worst - taps * (1 << 22):,}), beyond the int64 requantize's 2^47")


def fused_activation_range(op_activation: int, out: Tensor) -> tuple[int, int]:
    return activation_range(op_activation, f32(out.scale), out.zero_point, out.dtype)


PADDING_SAME, PADDING_VALID = 0, 1  # TFLite Padding enum


def conv_output_size(padding: int, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """TFLite ComputeOutSize."""
    effective = (filter_size - 1) * dilation + 1
    if padding == PADDING_SAME:
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride


def conv_padding(padding: int, in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> tuple[int, int]:
    """TFLite ComputePaddingWithOffset: (padding before, extra padding after = offset). VALID gives (0, 0)."""
    if padding == PADDING_VALID:
        return 0, 0
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2, total % 2


def checked_multiplier(ctx, real: float, what: str) -> tuple[int, int]:
    """TFLM QuantizeMultiplier(real), refusing (through ctx, an OpContext) a non-finite value or a shift above
    30, which breaks MultiplyByQuantizedMultiplier's contract."""
    import math

    if not math.isfinite(real):
        raise ctx.fail(f"{what} {real!r} is not finite")
    m, s = quantize_multiplier(real)
    if s > 30:
        raise ctx.fail(f"{what} {real:g} is too large (shift {s} > 30)")
    return m, s
