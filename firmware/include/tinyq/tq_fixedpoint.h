/* tinyq fixed-point primitives: TFLite Micro's integer arithmetic ("double rounding" build, as CMSIS-NN).
 * Mirrored one-to-one by tinyq/sim/fixedpoint.py (same names without the tq_ prefix).
 */
#ifndef TINYQ_TQ_FIXEDPOINT_H
#define TINYQ_TQ_FIXEDPOINT_H

#include <stdint.h>
#include "tinyq/tq_types.h"

static inline int32_t tq_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t tq_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t tq_clamp_i32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* clamp(y + offset, lo, hi) with the sum in int64: a requantized value can be as large as INT32_MAX, so
 * adding the output zero point in int32 could overflow (the simulator adds in int64 too). */
static inline int32_t tq_add_clamp_i32(int32_t y, int32_t offset, int32_t lo, int32_t hi) {
    const int64_t sum = (int64_t)y + offset;
    return sum < lo ? lo : (sum > hi ? hi : (int32_t)sum);
}

/* gemmlowp SaturatingRoundingDoublingHighMul (= VQRDMULH): high word of 2*a*b, ties toward +inf.
 * INT32_MIN * INT32_MIN, the only overflow, saturates to INT32_MAX. */
static inline int32_t tq_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero */
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, ties away from zero. 0 <= exponent <= 31. */
static inline int32_t tq_rounding_divide_by_pot(int32_t x, int exponent) {
    TQ_ASSERT(exponent >= 0 && exponent <= 31);
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier(int32), double rounding: multiplier >= 0, -31 <= shift <= 30 (31, which
 * TFLM's logistic can reach, is defined too). A left shift happens before the multiply in int32 arithmetic
 * (wrapping, as on every target we build for). */
static inline int32_t tq_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
    TQ_ASSERT(multiplier >= 0 && shift >= -31 && shift <= 31);
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tq_rounding_divide_by_pot(tq_saturating_rounding_doubling_high_mul(shifted, multiplier), right);
}

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0; rounds after the multiply. */
static inline int32_t tq_multiply_by_quantized_multiplier_smaller_than_one_exp(int32_t x, int32_t multiplier, int shift) {
    TQ_ASSERT(multiplier >= 0 && shift <= 0);
    return tq_rounding_divide_by_pot(tq_saturating_rounding_doubling_high_mul(x, multiplier), -shift);
}

/* TFLM MultiplyByQuantizedMultiplier(int64) for 16x8 kernels: the multiplier is rounded to 16 bits,
 * then one rounding right shift (ties toward +inf). TFLM needs x in [-2^47, 2^47) and -31 <= shift <= 7;
 * here the product and the rounding term wrap modulo 2^64 (as the simulator's int64 arithmetic), so any x
 * is defined behaviour, and any shift in [-31, 14] (1 <= total shift <= 46). */
static inline int32_t tq_multiply_by_quantized_multiplier_int64(int64_t x, int32_t multiplier, int shift) {
    TQ_ASSERT(multiplier >= 0 && shift >= -31 && shift <= 14);
    const int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int total_shift = 15 - shift;
    const int64_t y = (int64_t)((uint64_t)x * (uint64_t)(int64_t)reduced + ((uint64_t)1 << (total_shift - 1)));
    return (int32_t)(uint32_t)(uint64_t)(y >> total_shift);
}

/* int64 addition that wraps instead of overflowing (an int64 bias is model data). */
static inline int64_t tq_add_wrap_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

#endif
