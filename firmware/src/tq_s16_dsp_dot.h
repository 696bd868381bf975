/* Internal to tq_*_s16_dsp.c: dot products of int16 activations with int16-widened weights on the Arm DSP
 * extension, and the requantization rows of tinyq/include/tinyq/tq_s16_dsp.h. The sums are int32 and never
 * wrap: the preparer proved |bias| + Σ|w| · 32768 < 2^31 for each output channel. */
#ifndef TINYQ_TQ_S16_DSP_DOT_H
#define TINYQ_TQ_S16_DSP_DOT_H

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "tinyq/tq_requant_fast.h"

/* two int16 values as one SMLAD operand (unaligned-safe; one LDR on Cortex-M) */
static inline int16x2_t tq_s16_load2(const int16_t *x) {
    int16x2_t word;
    memcpy(&word, x, sizeof word);
    return word;
}

/* a0 += Σ x[d] · w0[d], a1 += Σ x[d] · w1[d], d < n: both rows share each activation load */
static inline void tq_s16_dot2(const int16_t *x, const int16_t *w0, const int16_t *w1, int32_t n, int32_t *a0,
                               int32_t *a1) {
    int32_t s0 = *a0, s1 = *a1;
    for (; n >= 4; n -= 4, x += 4, w0 += 4, w1 += 4) {
        const int16x2_t x01 = tq_s16_load2(x), x23 = tq_s16_load2(x + 2);
        s0 = __smlad(x01, tq_s16_load2(w0), s0);
        s1 = __smlad(x01, tq_s16_load2(w1), s1);
        s0 = __smlad(x23, tq_s16_load2(w0 + 2), s0);
        s1 = __smlad(x23, tq_s16_load2(w1 + 2), s1);
    }
    if (n >= 2) {
        const int16x2_t x01 = tq_s16_load2(x);
        s0 = __smlad(x01, tq_s16_load2(w0), s0);
        s1 = __smlad(x01, tq_s16_load2(w1), s1);
        n -= 2, x += 2, w0 += 2, w1 += 2;
    }
    if (n) {
        s0 += x[0] * w0[0];
        s1 += x[0] * w1[0];
    }
    *a0 = s0;
    *a1 = s1;
}

/* a + Σ x[d] · w[d], d < n */
static inline int32_t tq_s16_dot1(const int16_t *x, const int16_t *w, int32_t n, int32_t a) {
    for (; n >= 4; n -= 4, x += 4, w += 4) {
        a = __smlad(tq_s16_load2(x), tq_s16_load2(w), a);
        a = __smlad(tq_s16_load2(x + 2), tq_s16_load2(w + 2), a);
    }
    if (n >= 2) {
        a = __smlad(tq_s16_load2(x), tq_s16_load2(w), a);
        n -= 2, x += 2, w += 2;
    }
    if (n) a += x[0] * w[0];
    return a;
}

/* b + ((acc · a) >> 32): one SMMLA */
static inline int32_t tq_s16_smmla(int32_t acc, int32_t a, int32_t b) {
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(acc), "r"(a), "r"(b));
    return r;
}

/* The output of one channel: requantize the exact int32 sum with its row (tq_s16_dsp.h), then clamp. */
static inline int16_t tq_s16_finish(int32_t acc, const int32_t *row, int32_t requant64, int32_t lo, int32_t hi) {
    const int32_t y = requant64 ? tq_s16_smmla(acc, row[0], row[1]) >> row[2]
                                : tq_requant_fast(acc, row[0], row[1], row[2]);
    return (int16_t)(y < lo ? lo : (y > hi ? hi : y));
}

#endif /* __ARM_FEATURE_DSP */
#endif
