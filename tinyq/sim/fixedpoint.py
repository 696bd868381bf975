"""Vectorised fixed-point primitives, one-to-one with firmware/include/tinyq/tq_fixedpoint.h.

Every function takes and returns int64 arrays that hold int32 values (except where noted), and
reproduces TFLite Micro's integer arithmetic exactly (default "double rounding" build). No np.round,
round() or bare // on a rounding path: each tie rule is written out.
"""
from __future__ import annotations

import numpy as np

INT32_MIN = np.int64(-(2**31))
INT32_MAX = np.int64(2**31 - 1)


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap_int32(x) -> np.ndarray:
    """Two's-complement wrap to int32 (what `int32_t` arithmetic does on every target we build for)."""
    x = _i64(x)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul = VQRDMULH: high 32 bits of 2*a*b, ties toward +inf.

    The only overflow, INT32_MIN * INT32_MIN, saturates to INT32_MAX.
    """
    a, b = _i64(a), _i64(b)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b  # |a*b| <= 2**62: exact in int64
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    t = ab + nudge
    # C's int64 division by 2**31 truncates toward zero
    high = np.where(t >= 0, t >> 31, -((-t) >> 31))
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent, ties away from zero. 0 <= exponent <= 31."""
    x, exponent = _i64(x), _i64(exponent)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLM MultiplyByQuantizedMultiplier(int32 x, int32 m, int shift), double rounding.

    shift > 0 shifts left before the multiply (int32 arithmetic), shift < 0 rounds right after.
    """
    shift = _i64(shift)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(wrap_int32(_i64(x) << left), multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0, rounds after the multiply."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -_i64(shift))


def multiply_by_quantized_multiplier_int64(x, multiplier, shift) -> np.ndarray:
    """TFLM MultiplyByQuantizedMultiplier(int64 x, int32 m, int shift) used by 16x8 kernels.

    The multiplier is reduced to 16 bits (rounded), then one rounding right shift: ties toward +inf.
    x must lie in [-2**47, 2**47); returns int32 values (wrapped as C's int32_t cast does).
    """
    x, multiplier, shift = _i64(x), _i64(multiplier), _i64(shift)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, np.int64(0x7FFF))
    total_shift = 15 - shift
    y = x * reduced + (np.int64(1) << (total_shift - 1))
    return wrap_int32(y >> total_shift)


def requantize(acc, multiplier, shift, output_offset, act_min, act_max) -> np.ndarray:
    """The tail every int8 kernel ends with: scale, add the output zero point, clamp."""
    y = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset
    return np.clip(y, act_min, act_max)
