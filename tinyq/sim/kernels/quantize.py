"""Simulator kernels for tq_quantize_f32_*, tq_requantize_*_* and tq_dequantize_*_f32
(mirror firmware/src/tq_quantize.c). float32 arithmetic stays float32: NumPy's float32 division and
multiplication are IEEE single-precision operations, as the C kernels' are."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from tinyq.sim.kernels import sim_kernel

_DTYPES = {"s8": np.int8, "u8": np.uint8, "s16": np.int16, "s32": np.int32}
# x / scale is clamped to this magnitude before the float->int conversion (see tq_quantize.c): anything
# larger saturates the output dtype anyway (|zero point| <= 2**16), and the conversion stays defined
QUANTIZE_LIMIT = np.float32(1 << 17)


def _out_dtype(call):
    return _DTYPES[call.kernel.rsplit("_", 1)[1]]


def quantize_f32(x, scale, zero_point: int, dtype) -> np.ndarray:
    """TFLite's AffineQuantize in float32: roundf(x / scale) + zero_point, saturated to dtype.

    Where TFLite is undefined the agreed rule (C kernel too): +inf and too large -> max, -inf and too small
    -> min, NaN -> the zero point. Clamped in float before converting, so no value overflows an integer.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # inf and NaN are handled just below
        q = np.asarray(x, dtype=np.float32) / np.float32(scale)
    q = np.where(np.isnan(q), np.float32(0), np.clip(q, -QUANTIZE_LIMIT, QUANTIZE_LIMIT)).astype(np.float32)
    # TfLiteRound = roundf: half away from zero. |q| <= 2**17, so q - trunc(q) is exact.
    t = np.trunc(q)
    frac = q - t
    r = t.astype(np.int64) + (frac >= np.float32(0.5)) - (frac <= np.float32(-0.5))
    info = np.iinfo(dtype)
    return np.clip(r + int(zero_point), info.min, info.max).astype(dtype)


@sim_kernel("tq_quantize_f32_s8", "tq_quantize_f32_s16")
def quantize(call, x):
    return quantize_f32(x, call.scale, call.output_offset, _out_dtype(call))


@sim_kernel("tq_requantize_s8_s8", "tq_requantize_s8_s16", "tq_requantize_s8_s32", "tq_requantize_s16_s8",
            "tq_requantize_s16_s16", "tq_requantize_s16_s32", "tq_requantize_s32_s8", "tq_requantize_s32_s16",
            "tq_requantize_u8_s8", "tq_requantize_s8_u8")
def requantize(call, x):
    # TFLM's uint8 <-> int8 fast path (equal scales, zero points 128 apart: x ^ 0x80) gives what this does
    # TFLM's subtraction and zero-point addition are int32 arithmetic (wrapping on x86 and Arm)
    v = wrap_int32(x.astype(np.int64) + call.input_offset)
    y = wrap_int32(multiply_by_quantized_multiplier(v, call.multiplier, call.shift) + call.output_offset)
    info = np.iinfo(_out_dtype(call))
    return np.clip(y, info.min, info.max).astype(_out_dtype(call))


@sim_kernel("tq_dequantize_s8_f32", "tq_dequantize_s16_f32", "tq_dequantize_u8_f32")
def dequantize(call, x):
    return np.float32(call.scale) * (x.astype(np.int64) + call.input_offset).astype(np.float32)
