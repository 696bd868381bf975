"""gemmlowp fixed-point math (exp, 1/(1+x), logistic, tanh), one-to-one with firmware/include/tinyq/tq_gemmlowp.h.

TFLite Micro's int8 SOFTMAX, LOGISTIC and TANH evaluate these functions (gemmlowp/fixedpoint.h, copied
into TFLM as tensorflow/lite/micro/kernels/internal/fixedpoint.h). A value is a raw int32 whose meaning
depends on its number of integer bits (Qm.(31-m)); the C side is scalar, here every function is
vectorised over int64 arrays that hold int32 values. Integer additions wrap like `int32_t` arithmetic on
every target tinyq builds for (none of them overflow for the inputs the kernels feed in).
"""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

# Q0.31 constants of gemmlowp's exp barrel shifter: exp(-2**k) for k = -2 .. 4
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242))
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8), Q0.31
_ONE_THIRD = 715827883  # 1/3, Q0.31
_48_OVER_17 = 1515870810  # Q2.29
_NEG_32_OVER_17 = -1010580540  # Q2.29
_ONE_Q2 = 1 << 29  # 1.0 in Q2.29


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def _mul(a, b) -> np.ndarray:
    """FixedPoint product: SaturatingRoundingDoublingHighMul (integer bits add up)."""
    return saturating_rounding_doubling_high_mul(a, b)


def count_leading_zeros(x) -> np.ndarray:
    """CountLeadingZeros of x viewed as uint32 (32 for 0)."""
    v = _i64(x) & 0xFFFFFFFF
    n = np.zeros(v.shape, dtype=np.int64)
    for s in (16, 8, 4, 2, 1):  # binary search for the top set bit
        small = v < (1 << (32 - s))
        n = n + np.where(small, s, 0)
        v = np.where(small, v << s, v)
    return n + (v == 0)


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent>: exponent > 0 saturating left shift,
    exponent < 0 RoundingDivideByPOT (ties away from zero)."""
    x = _i64(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def rounding_half_sum(a, b) -> np.ndarray:
    """gemmlowp RoundingHalfSum (VRHADD): (a + b) / 2 rounded half away from zero, in 64 bits."""
    s = _i64(a) + _i64(b)
    t = s + np.where(s >= 0, 1, -1)
    return np.where(t >= 0, t >> 1, -((-t) >> 1))  # C division truncates toward zero


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8."""
    x = wrap_int32(_i64(a) + (1 << 28))
    x2 = _mul(x, x)
    x3 = _mul(x2, x)
    x4 = _mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(wrap_int32(_mul(wrap_int32(x4_over_4 + x3), _ONE_THIRD) + x2), -1)
    return wrap_int32(_EXP_MINUS_ONE_EIGHTH + _mul(_EXP_MINUS_ONE_EIGHTH, wrap_int32(x + poly)))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given in Q(integer_bits).(31-integer_bits), integer_bits <= 5 (gemmlowp's extra
    clamp below -32 only exists for more); result Q0.31 (exp(0) = INT32_MAX)."""
    assert 0 <= integer_bits <= 5
    a = _i64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, _mul(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def newton_reciprocal(half_denominator) -> np.ndarray:
    """Three Newton-Raphson steps for 1/half_denominator, Q2.29 (shared by the two divisions below)."""
    x = wrap_int32(_48_OVER_17 + _mul(half_denominator, _NEG_32_OVER_17))
    for _ in range(3):
        one_minus = wrap_int32(_ONE_Q2 - _mul(half_denominator, x))
        x = wrap_int32(x + saturating_rounding_multiply_by_pot(_mul(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1/(1+a) for a in [0, 1), Q0.31 in and out."""
    x = newton_reciprocal(rounding_half_sum(a, INT32_MAX))
    return saturating_rounding_multiply_by_pot(x, 1)  # Rescale<0>(ExactMulByPot<-1>(x))


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1-a)/(1+a) for a in [0, 1), Q0.31 in and out."""
    x = newton_reciprocal(rounding_half_sum(a, INT32_MAX))
    return saturating_rounding_multiply_by_pot(wrap_int32(x - _ONE_Q2), 2)


def gemmlowp_logistic(a, integer_bits: int) -> np.ndarray:
    """1/(1+exp(-a)) for a in Q(integer_bits); result Q0.31."""
    a = _i64(a)
    positive = a > 0
    abs_input = np.where(positive, a, -a)
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_input, integer_bits))
    if_negative = INT32_MAX - if_positive
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def gemmlowp_tanh(a, integer_bits: int) -> np.ndarray:
    """tanh(a) for a in Q(integer_bits); result Q0.31."""
    a = _i64(a)
    negative = a < 0
    n = np.where(negative, a, -a)
    # ExactMulByPot<1>: the same raw value read with one more integer bit is 2n
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, -t, t))


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal for x > 0 in Q(x_integer_digits): (1/x as a Q0.31 value in [1/2, 1],
    num_bits_over_unit); 1/x = that value * 2^-num_bits_over_unit."""
    x = _i64(x)
    headroom_plus_one = count_leading_zeros(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
