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

/* ---- topK (nested) weights: the parent's int8 bytes, each value (int8) byte >> s, s = 1..7 ----------------
 * The loops of tq_dsp_dot2 / tq_dsp_dot1 with each weight word decoded in registers. They are copies, not the
 * same functions with s = 0: GCC does not fold SSUB8, and a branch on s changes the int8 kernels' code. */

/* The 4 bytes of a word, each arithmetically shifted right by s, as 4 int8 lanes: the word's logical shift
 * brings each lane's top 8 - s bits down (the mask drops the next lane's bits), and (t ^ b) - b with b the
 * lanes' new sign bit sign-extends them (SSUB8: no lane leaves [-b, b)). */
static inline uint32_t tq_dsp_top_bytes(uint32_t x, int32_t s) {
    const uint32_t t = (x >> s) & ((0xFFu >> s) * 0x01010101u);
    const uint32_t b = (0x80u >> s) * 0x01010101u;
    return (uint32_t)__ssub8((int8x4_t)(t ^ b), (int8x4_t)b);
}

/* acc0 += Σ (x[d] + x_off) * (w0[d] >> s), acc1 += Σ (x[d] + x_off) * (w1[d] >> s), d < n */
static inline void tq_dsp_dot2_top(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t x_off,
                                   int32_t s, uint32_t *acc0, uint32_t *acc1) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a0 = (int32_t)*acc0, a1 = (int32_t)*acc1;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d);
        const uint32_t u = tq_dsp_top_bytes(tq_dsp_load4(w0 + d), s), v = tq_dsp_top_bytes(tq_dsp_load4(w1 + d), s);
        const int16x2_t x_even = __sadd16(__sxtb16((int32_t)xv), off2), x_odd = __sadd16(tq_dsp_odd_bytes(xv), off2);
        a0 = __smlad(x_even, __sxtb16((int32_t)u), a0);
        a0 = __smlad(x_odd, tq_dsp_odd_bytes(u), a0);
        a1 = __smlad(x_even, __sxtb16((int32_t)v), a1);
        a1 = __smlad(x_odd, tq_dsp_odd_bytes(v), a1);
    }
    uint32_t s0 = (uint32_t)a0, s1 = (uint32_t)a1;
    for (; d < n; ++d) {
        s0 += (uint32_t)((x[d] + x_off) * (w0[d] >> s));
        s1 += (uint32_t)((x[d] + x_off) * (w1[d] >> s));
    }
    *acc0 = s0;
    *acc1 = s1;
}

/* acc += Σ (x[d] + x_off) * (w[d] >> s), d < n */
static inline uint32_t tq_dsp_dot1_top(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off, int32_t s,
                                       uint32_t acc) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a = (int32_t)acc;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d), u = tq_dsp_top_bytes(tq_dsp_load4(w + d), s);
        a = __smlad(__sadd16(__sxtb16((int32_t)xv), off2), __sxtb16((int32_t)u), a);
        a = __smlad(__sadd16(tq_dsp_odd_bytes(xv), off2), tq_dsp_odd_bytes(u), a);
    }
    uint32_t sum = (uint32_t)a;
    for (; d < n; ++d) sum += (uint32_t)((x[d] + x_off) * (w[d] >> s));
    return sum;
}

/* ---- topK weights masked: each byte w & (0xFF << s), as int8 exactly (w >> s) · 2^s ---------------------
 * One AND per weight word instead of tq_dsp_top_bytes' four instructions: the loops of tq_dsp_dot2 / tq_dsp_dot1
 * then sum 2^s · Σ (x + x_off) · (w >> s), which the caller shifts back by s. That is exact only while the scaled
 * sum stays in int32 (the int8 kernel's sum may wrap, this one must not): tq_dsp_masked_fits. */

/* The replicated mask 0xFF << s (s = 1..7) of the bytes of a word: 0xF0F0F0F0 for s = 4. */
static inline uint32_t tq_dsp_mask_word(int32_t s) { return ((0xFFu << s) & 0xFFu) * 0x01010101u; }

/* Whether every sum of n products (x + x_off) · m, x int8 and m a masked weight in [-128, 128 - 2^s], lies in
 * int32. One product's extremes are at the corners of [-128, 128 - 2^s] x [x_off - 128, x_off + 127], and n
 * products at one corner are attained (all x and all weights equal), so the condition is exact for these ranges.
 * It then holds for every partial sum too (fewer products), and the int8 kernel's sum, 2^-s of it, cannot wrap. */
static inline int tq_dsp_masked_fits(int64_t n, int32_t x_off, int32_t s) {
    const int64_t w_lo = -128, w_hi = 128 - ((int64_t)1 << s), x_lo = (int64_t)x_off - 128, x_hi = (int64_t)x_off + 127;
    const int64_t c[4] = {w_lo * x_lo, w_lo * x_hi, w_hi * x_lo, w_hi * x_hi};
    int64_t hi = c[0], lo = c[0];
    for (int i = 1; i < 4; ++i) {
        hi = c[i] > hi ? c[i] : hi;
        lo = c[i] < lo ? c[i] : lo;
    }
    return n * hi <= INT32_MAX && n * lo >= INT32_MIN; /* n·hi, n·lo: |n| < 2^31, |corner| < 2^15, no int64 overflow */
}

/* (w >> s) · 2^s for one weight byte, mask the replicated mask: w & the byte mask sign-extended (its top bit is set) */
static inline int32_t tq_dsp_masked(int8_t w, uint32_t mask) { return (int32_t)w & ((int32_t)(mask & 0xFFu) - 256); }

/* acc0 += Σ (x[d] + x_off) · (w0[d] & mask), acc1 the same on w1, d < n: tq_dsp_dot2 on masked words */
static inline void tq_dsp_dot2_masked(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t x_off,
                                      uint32_t mask, uint32_t *acc0, uint32_t *acc1) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a0 = (int32_t)*acc0, a1 = (int32_t)*acc1;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d), u = tq_dsp_load4(w0 + d) & mask, v = tq_dsp_load4(w1 + d) & mask;
        const int16x2_t x_even = __sadd16(__sxtb16((int32_t)xv), off2), x_odd = __sadd16(tq_dsp_odd_bytes(xv), off2);
        a0 = __smlad(x_even, __sxtb16((int32_t)u), a0);
        a0 = __smlad(x_odd, tq_dsp_odd_bytes(u), a0);
        a1 = __smlad(x_even, __sxtb16((int32_t)v), a1);
        a1 = __smlad(x_odd, tq_dsp_odd_bytes(v), a1);
    }
    uint32_t s0 = (uint32_t)a0, s1 = (uint32_t)a1;
    for (; d < n; ++d) {
        s0 += (uint32_t)((x[d] + x_off) * tq_dsp_masked(w0[d], mask));
        s1 += (uint32_t)((x[d] + x_off) * tq_dsp_masked(w1[d], mask));
    }
    *acc0 = s0;
    *acc1 = s1;
}

/* acc += Σ (x[d] + x_off) · (w[d] & mask), d < n */
static inline uint32_t tq_dsp_dot1_masked(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off, uint32_t mask,
                                          uint32_t acc) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a = (int32_t)acc;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d), u = tq_dsp_load4(w + d) & mask;
        a = __smlad(__sadd16(__sxtb16((int32_t)xv), off2), __sxtb16((int32_t)u), a);
        a = __smlad(__sadd16(tq_dsp_odd_bytes(xv), off2), tq_dsp_odd_bytes(u), a);
    }
    uint32_t sum = (uint32_t)a;
    for (; d < n; ++d) sum += (uint32_t)((x[d] + x_off) * tq_dsp_masked(w[d], mask));
    return sum;
}

/* Σ back from its masked form: the masked sum is 2^s times it, exactly (tq_dsp_masked_fits), so the arithmetic
 * shift drops only zero bits */
static inline uint32_t tq_dsp_unmask(uint32_t acc, int32_t s) { return (uint32_t)((int32_t)acc >> s); }

#endif /* __ARM_FEATURE_DSP */
#endif
