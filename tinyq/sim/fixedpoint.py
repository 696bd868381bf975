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

    gemmlowp adds a nudge of +2**30 or 1 - 2**30 (by the sign of a*b) and truncates toward zero; both
    cases equal one floor: (a*b + 2**30) >> 31, which is what we compute (3 array passes instead of 12).
    The only overflow, INT32_MIN * INT32_MIN, gives 2**31 and saturates to INT32_MAX.
    """
    ab = _i64(a) * _i64(b)  # |a*b| <= 2**62: exact in int64
    return np.minimum((ab + (1 << 30)) >> 31, INT32_MAX)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent, ties away from zero. 0 <= exponent <= 31.

    gemmlowp's mask/threshold form equals (x + 2**(e-1) - [x < 0 and e > 0]) >> e.
    """
    x, exponent = _i64(x), _i64(exponent)
    half = (np.int64(1) << exponent) >> 1  # 0 when exponent == 0
    return (x + half - ((x < 0) & (exponent > 0))) >> exponent


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


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer a @ b, exactly, as int64 — computed with float64 BLAS when that is provably exact.

    Every product and partial sum is an integer; float64 represents integers exactly up to 2**53, so
    when max|a| * max|b| * K < 2**53 the float64 result is the exact integer result (int64 matmul in
    NumPy has no BLAS and is several times slower).
    """
    k = a.shape[-1]
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * k
    if bound < 2.0**53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


def requantize(acc, multiplier, shift, output_offset, act_min, act_max) -> np.ndarray:
    """The tail every int8 kernel ends with: scale, add the output zero point, clamp."""
    y = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset
    return np.clip(y, act_min, act_max)
