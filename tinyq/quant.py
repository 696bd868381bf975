"""Host-side fixed-point parameters, computed exactly as TFLite Micro computes them at Prepare time.

Conventions used everywhere in tinyq (Program records, simulator, C):
  multiplier: Q31, 0 <= m < 2**31;  shift: TFLite sign, positive = left shift.
  input_offset = -input_zero_point;  output_offset = +output_zero_point.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
DTYPE_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (INT32_MIN, INT32_MAX), "uint8": (0, 255)}


class ParameterError(ValueError):
    """A fixed-point parameter derived from the model's scales is outside what the kernels compute
    (the lowering turns it into an UnsupportedError naming the op)."""


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: ties go away from zero (Python's round() goes to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def c_div(a, b: int) -> np.ndarray:
    """C integer division (truncation toward zero) of an integer array by a positive int."""
    a = np.asarray(a)
    return np.where(a >= 0, a // b, -((-a) // b))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier (double rounding build): real ~= m * 2**(shift - 31)."""
    if not math.isfinite(real):
        raise ParameterError(f"requantization scale {real!r} is not finite (check the tensors' scales)")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def requant_multiplier(real: float) -> tuple[int, int]:
    """quantize_multiplier for the int32 MultiplyByQuantizedMultiplier, whose left shift must stay <= 30;
    a larger one means scales no kernel can honour. (The 16x8 int64 variant's limit, 7, is checked where
    the accumulator width is known.)"""
    m, shift = quantize_multiplier(real)
    if shift > 30:
        raise ParameterError(f"requantization scale {real:g} is too large (shift {shift} > 30)")
    return m, shift


def f32(x) -> float:
    """A value as TFLite stores it (float32), widened to double as TFLM's Prepare code does."""
    return float(np.float32(x))


def activation_range(activation: int, scale: float, zero_point: int, dtype: str) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized: clamp bounds of a fused activation in the output's units.

    activation: TFLite ActivationFunctionType (0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6).
    """
    qmin, qmax = DTYPE_RANGE[dtype]

    def q(v: float) -> int:
        # TFLM: zero_point + (int32_t)TfLiteRound(f / scale) with f and scale float32: divide in float32
        return zero_point + round_half_away(float(np.float32(v) / np.float32(scale)))

    if activation == 0:
        return qmin, qmax
    if activation == 1:
        return max(qmin, q(0.0)), qmax
    if activation == 3:
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == 2:
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    from tinyq.errors import UnsupportedError

    raise UnsupportedError(f"fused activation type {activation} is not supported")
