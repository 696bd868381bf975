/* Internal to the DSP kernel variants (tq_*_dsp.c): int8 dot products on the Arm DSP extension.
 * SMLAD does two 16x16 multiply-accumulates; SXTB16 widens two int8 lanes. Sums are uint32, i.e. the
 * reference kernels' int32 accumulator modulo 2^32 (a modular sum does not depend on its order). */
#ifndef TINYQ_TQ_DSP_DOT_H
#define TINYQ_TQ_DSP_DOT_H

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t tq_dsp_load4(const int8_t *x) {
    uint32_t word;
    memcpy(&word, x, sizeof word); /* unaligned-safe; one LDR on Cortex-M */
    return word;
}

/* bytes {1, 3} of a word, sign-extended into two int16 lanes (SXTB16 with its free rotation) */
static inline int16x2_t tq_dsp_odd_bytes(uint32_t word) {
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(word));
    return r;
}

/* an int32 in both int16 lanes (the value must fit int16) */
static inline int16x2_t tq_dsp_pair(int32_t v) { return (int16x2_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16)); }

/* acc0 += Σ (x[d] + x_off) * w0[d], acc1 += Σ (x[d] + x_off) * w1[d], d < n: both rows share each widened x. */
static inline void tq_dsp_dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t x_off,
                               uint32_t *acc0, uint32_t *acc1) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a0 = (int32_t)*acc0, a1 = (int32_t)*acc1;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d), u = tq_dsp_load4(w0 + d), v = tq_dsp_load4(w1 + d);
        const int16x2_t x_even = __sadd16(__sxtb16((int32_t)xv), off2), x_odd = __sadd16(tq_dsp_odd_bytes(xv), off2);
        a0 = __smlad(x_even, __sxtb16((int32_t)u), a0);
        a0 = __smlad(x_odd, tq_dsp_odd_bytes(u), a0);
        a1 = __smlad(x_even, __sxtb16((int32_t)v), a1);
        a1 = __smlad(x_odd, tq_dsp_odd_bytes(v), a1);
    }
    uint32_t s0 = (uint32_t)a0, s1 = (uint32_t)a1;
    for (; d < n; ++d) {
        s0 += (uint32_t)((x[d] + x_off) * w0[d]);
        s1 += (uint32_t)((x[d] + x_off) * w1[d]);
    }
    *acc0 = s0;
    *acc1 = s1;
}

/* acc += Σ (x[d] + x_off) * w[d], d < n */
static inline uint32_t tq_dsp_dot1(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off, uint32_t acc) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a = (int32_t)acc;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d), u = tq_dsp_load4(w + d);
        a = __smlad(__sadd16(__sxtb16((int32_t)xv), off2), __sxtb16((int32_t)u), a);
        a = __smlad(__sadd16(tq_dsp_odd_bytes(xv), off2), tq_dsp_odd_bytes(u), a);
    }
    uint32_t s = (uint32_t)a;
    for (; d < n; ++d) s += (uint32_t)((x[d] + x_off) * w[d]);
    return s;
}

#endif /* __ARM_FEATURE_DSP */
#endif
