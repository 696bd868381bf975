/* Requantization of an int32 accumulator in five instructions, for kernels whose accumulator bound was proved at
 * compile time (tinyq/specialize/requant.py). Bit-exact with tq_multiply_by_quantized_multiplier (TFLM's
 * MultiplyByQuantizedMultiplier, double rounding) under two conditions checked there:
 *   - -30 <= shift <= -1 (a right shift rs of 1 to 30 bits, no left shift), and
 *   - |acc| < 2^30 for every input the layer can see.
 * Then, with a = 2*acc (no overflow):
 *   SaturatingRoundingDoublingHighMul(acc, m) = floor((acc*m + 2^30) / 2^31) = floor((a*m + 2^31) / 2^32)
 *     = SMMULR(a, m), and it never saturates (m >= 0), |h| <= 2^30 + 1;
 *   RoundingDivideByPOT(h, rs) = (h + 2^(rs-1) - [h < 0]) >> rs (ties away from zero): with rs <= 30,
 *   h + 2^(rs-1) <= 2^30 + 1 + 2^29 fits int32.
 * A row per output channel: {multiplier, 2^(rs-1), rs}.
 */
#ifndef TINYQ_TQ_REQUANT_FAST_H
#define TINYQ_TQ_REQUANT_FAST_H

#include <stdint.h>

typedef struct {
    int32_t multiplier; /* Q31, >= 0 */
    int32_t round;      /* 1 << (right_shift - 1) */
    int32_t right_shift; /* 1..30 */
} tq_requant_row;

/* (a*b + 2^31) >> 32: one SMMULR on Armv7E-M / Armv8-M Mainline with the DSP extension */
static inline int32_t tq_smmulr(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP)
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + INT64_C(0x80000000)) >> 32);
#endif
}

/* (a*b + 2^31) >> 32 + c (exact: c is added to the high word): one SMMLAR */
static inline int32_t tq_smmlar(int32_t a, int32_t b, int32_t c) {
#if defined(__ARM_FEATURE_DSP)
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
#else
    return (int32_t)((uint32_t)tq_smmulr(a, b) + (uint32_t)c);
#endif
}

/* the requantized value before the output offset and clamp */
static inline int32_t tq_requant_fast(int32_t acc, int32_t multiplier, int32_t round, int32_t right_shift) {
    const int32_t h = tq_smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    return (h + round + (h >> 31)) >> right_shift; /* h >> 31: -1 when h < 0 (arithmetic shift, as GCC does) */
}

/* tq_requant_fast from acc2 = 2 * acc in four instructions: SMMLAR adds the rounding term to h, and acc2's sign
 * stands in for h's. They differ only when acc2 < 0 and h = 0 (m >= 0), where (round - 1) >> rs = round >> rs,
 * since round = 2^(rs-1), or 2^(rs-1) + off * 2^rs with an output offset folded in */
static inline int32_t tq_requant_fast2(int32_t acc2, int32_t multiplier, int32_t round, int32_t right_shift) {
    return (tq_smmlar(acc2, multiplier, round) + (acc2 >> 31)) >> right_shift;
}

#endif
