/* gemmlowp fixed-point math used by TFLite Micro's int8 SOFTMAX, LOGISTIC and TANH
 * (gemmlowp/fixedpoint.h, copied into TFLM as tensorflow/lite/micro/kernels/internal/fixedpoint.h).
 * Mirrored one-to-one by tinyq/sim/gemmlowp.py (same names without the tq_ prefix).
 *
 * A value is a raw int32_t read as Qm.(31-m) ("m integer bits"); products are
 * tq_saturating_rounding_doubling_high_mul, so integer bits add up. Additions go through
 * tq_gl_add / tq_gl_sub, which wrap like the int32 arithmetic TFLM relies on in practice without
 * being undefined behaviour in C (none of them overflow for the inputs the kernels feed in).
 */
#ifndef TINYQ_TQ_GEMMLOWP_H
#define TINYQ_TQ_GEMMLOWP_H

#include <stdint.h>
#include "tinyq/tq_fixedpoint.h"

static inline int32_t tq_gl_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tq_gl_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* CountLeadingZeros of a uint32 (32 for 0). */
static inline int tq_count_leading_zeros(uint32_t x) {
#if defined(__GNUC__)
    return x ? __builtin_clz(x) : 32;
#else
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent>: exponent > 0 saturating left shift,
 * exponent < 0 RoundingDivideByPOT (ties away from zero). -31 <= exponent <= 30. */
static inline int32_t tq_saturating_rounding_multiply_by_pot(int32_t x, int exponent) {
    TQ_ASSERT(exponent >= -31 && exponent <= 31);
    if (exponent == 0) return x;
    if (exponent < 0) return tq_rounding_divide_by_pot(x, -exponent);
    const int32_t threshold = (int32_t)((INT32_C(1) << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp RoundingHalfSum (VRHADD): (a + b) / 2, ties away from zero, computed in 64 bits. */
static inline int32_t tq_rounding_half_sum(int32_t a, int32_t b) {
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* C division truncates toward zero */
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
static inline int32_t tq_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = tq_gl_add(a, INT32_C(1) << 28); /* a + 1/8 */
    const int32_t x2 = tq_saturating_rounding_doubling_high_mul(x, x);
    const int32_t x3 = tq_saturating_rounding_doubling_high_mul(x2, x);
    const int32_t x4 = tq_saturating_rounding_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = tq_saturating_rounding_multiply_by_pot(x4, -2);
    const int32_t poly = tq_saturating_rounding_multiply_by_pot(
        tq_gl_add(tq_saturating_rounding_doubling_high_mul(tq_gl_add(x4_over_4, x3), one_third), x2), -1);
    return tq_gl_add(exp_minus_one_eighth,
                     tq_saturating_rounding_doubling_high_mul(exp_minus_one_eighth, tq_gl_add(x, poly)));
}

/* exp(a) for a <= 0 in Q(integer_bits).(31-integer_bits), 0 <= integer_bits <= 5; result Q0.31
 * (exp(0) = INT32_MAX). The remainder below -1/4 is applied bit by bit (gemmlowp's barrel shifter);
 * gemmlowp's extra clamp below -32 only exists for more than 5 integer bits. */
static inline int32_t tq_exp_on_negative_values(int32_t a, int integer_bits) {
    TQ_ASSERT(integer_bits >= 0 && integer_bits <= 5);
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = INT32_C(1) << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = tq_gl_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = tq_exp_on_interval_between_negative_one_quarter_and_0_excl(
        tq_saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = tq_gl_sub(a_mod_quarter_minus_one_quarter, a);
    for (int k = 0; k < 7; ++k) {
        const int exponent = k - 2; /* barrel[k] = exp(-2^exponent) */
        if (integer_bits > exponent && (remainder & (INT32_C(1) << (fractional_bits + exponent)))) {
            result = tq_saturating_rounding_doubling_high_mul(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* Three Newton-Raphson steps for 1 / half_denominator (half_denominator in [1/2, 1)), Q2.29. */
static inline int32_t tq_newton_reciprocal(int32_t half_denominator) {
    const int32_t one_q2 = INT32_C(1) << 29;
    int32_t x = tq_gl_add(1515870810 /* 48/17 */,
                          tq_saturating_rounding_doubling_high_mul(half_denominator, -1010580540 /* -32/17 */));
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = tq_gl_sub(one_q2, tq_saturating_rounding_doubling_high_mul(half_denominator, x));
        const int32_t step = tq_saturating_rounding_doubling_high_mul(x, one_minus); /* Q4.27 */
        x = tq_gl_add(x, tq_saturating_rounding_multiply_by_pot(step, 2));
    }
    return x;
}

/* 1/(1+a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tq_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t x = tq_newton_reciprocal(tq_rounding_half_sum(a, INT32_MAX));
    return tq_saturating_rounding_multiply_by_pot(x, 1); /* Rescale<0>(ExactMulByPot<-1>(x)) */
}

/* (1-a)/(1+a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t tq_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t x = tq_newton_reciprocal(tq_rounding_half_sum(a, INT32_MAX));
    return tq_saturating_rounding_multiply_by_pot(tq_gl_sub(x, INT32_C(1) << 29), 2);
}

/* 1/(1+exp(-a)) for a in Q(integer_bits), a != INT32_MIN; result Q0.31. */
static inline int32_t tq_gemmlowp_logistic(int32_t a, int integer_bits) {
    TQ_ASSERT(a != INT32_MIN); /* -a below would overflow */
    if (a == 0) return INT32_C(1) << 30;
    const int32_t abs_a = a > 0 ? a : -a;
    const int32_t if_positive = tq_one_over_one_plus_x_for_x_in_0_1(tq_exp_on_negative_values(-abs_a, integer_bits));
    return a > 0 ? if_positive : INT32_MAX - if_positive;
}

/* tanh(a) for a in Q(integer_bits), a != INT32_MIN; result Q0.31. */
static inline int32_t tq_gemmlowp_tanh(int32_t a, int integer_bits) {
    TQ_ASSERT(a != INT32_MIN);
    if (a == 0) return 0;
    const int32_t n = a < 0 ? a : -a;
    /* ExactMulByPot<1>: the same raw value read with one more integer bit is 2n */
    const int32_t t = tq_one_minus_x_over_one_plus_x_for_x_in_0_1(tq_exp_on_negative_values(n, integer_bits + 1));
    return a < 0 ? -t : t;
}

/* TFLite GetReciprocal: 1/x for x > 0 in Q(x_integer_digits), returned as a Q0.31 value in [1/2, 1]
 * together with *num_bits_over_unit (the result is that value * 2^-num_bits_over_unit). */
static inline int32_t tq_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
    TQ_ASSERT(x > 0);
    const int headroom_plus_one = tq_count_leading_zeros((uint32_t)x);
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - (UINT32_C(1) << 31));
    return tq_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

#endif
