"""Helpers shared by the op-family lowerings: effective scales and requantization parameters."""
from __future__ import annotations

import numpy as np

from tinyq.ir import Tensor
from tinyq.program import const_array
from tinyq.quant import activation_range, f32, quantize_multiplier


def per_channel_requant(inp: Tensor, weights: Tensor, out: Tensor, channels: int):
    """TFLM PopulateConvolutionQuantizationParams: per output channel
    m = double(input_scale) * double(filter_scale[c]) / double(output_scale)  (in this order).

    Returns (multiplier int32[channels], shift int32[channels]) as read-only arrays.
    """
    scales = weights.quant.scale
    if len(scales) not in (1, channels):
        raise ValueError(f"{weights.describe()}: {len(scales)} scales for {channels} channels")
    in_s, out_s = f32(inp.scale), f32(out.scale)
    mults, shifts = [], []
    for c in range(channels):
        real = in_s * f32(scales[c if len(scales) > 1 else 0]) / out_s
        m, s = quantize_multiplier(real)
        mults.append(m)
        shifts.append(s)
    return const_array(mults, np.int32), const_array(shifts, np.int32)


def fused_activation_range(op_activation: int, out: Tensor) -> tuple[int, int]:
    return activation_range(op_activation, f32(out.scale), out.zero_point, out.dtype)
