/* Internal to tq_*_s16_dsp.c: dot products of int16 activations with int16-widened weights on the Arm DSP
 * extension, and the requantization rows of firmware/include/tinyq/tq_s16_dsp.h. The sums are int32 and never
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

/* a0 += Σ x[d] · w0[d], a1 += Σ x[d] · w1[d], d < n: both rows share each activation load. The block loop
 * counts down and post-increments its pointers (12 instructions for 8 multiply-accumulates on Cortex-M4). */
static inline void tq_s16_dot2(const int16_t *x, const int16_t *w0, const int16_t *w1, int32_t n, int32_t *a0,
                               int32_t *a1) {
    int32_t s0 = *a0, s1 = *a1;
    int32_t i = n >> 2;
    if (i > 0) { /* in assembly: GCC keeps three pointer adds and a compare instead of post-increments */
        int32_t t, u, v;
        __asm__("1: ldr %[t], [%[x]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   ldr %[v], [%[w1]], #4\n"
                "   smlad %[s0], %[t], %[u], %[s0]\n"
                "   smlad %[s1], %[t], %[v], %[s1]\n"
                "   ldr %[t], [%[x]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   ldr %[v], [%[w1]], #4\n"
                "   smlad %[s0], %[t], %[u], %[s0]\n"
                "   smlad %[s1], %[t], %[v], %[s1]\n"
                "   subs %[i], %[i], #1\n"
                "   bne 1b\n"
                : [s0] "+r"(s0), [s1] "+r"(s1), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [i] "+r"(i),
                  [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                :
                : "cc", "memory");
    }
    if (n & 2) {
        const int16x2_t x01 = tq_s16_load2(x);
        s0 = __smlad(x01, tq_s16_load2(w0), s0);
        s1 = __smlad(x01, tq_s16_load2(w1), s1);
        x += 2, w0 += 2, w1 += 2;
    }
    if (n & 1) {
        s0 += x[0] * w0[0];
        s1 += x[0] * w1[0];
    }
    *a0 = s0;
    *a1 = s1;
}

/* a[r] += Σ x[d] · w[r][d], d < n, r < 4, with w[r] = w + r · stride: four rows share each activation load
 * (20 instructions for 16 multiply-accumulates on Cortex-M4; the block loop in assembly, as tq_s16_dot2). */
static inline void tq_s16_dot4(const int16_t *x, const int16_t *w, int32_t stride, int32_t n, int32_t a[4]) {
    const int16_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
    int32_t s0 = a[0], s1 = a[1], s2 = a[2], s3 = a[3];
    int32_t i = n >> 2;
    if (i > 0) {
        int32_t t, u;
        __asm__("1: ldr %[t], [%[x]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   smlad %[s0], %[t], %[u], %[s0]\n"
                "   ldr %[u], [%[w1]], #4\n"
                "   smlad %[s1], %[t], %[u], %[s1]\n"
                "   ldr %[u], [%[w2]], #4\n"
                "   smlad %[s2], %[t], %[u], %[s2]\n"
                "   ldr %[u], [%[w3]], #4\n"
                "   smlad %[s3], %[t], %[u], %[s3]\n"
                "   ldr %[t], [%[x]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   smlad %[s0], %[t], %[u], %[s0]\n"
                "   ldr %[u], [%[w1]], #4\n"
                "   smlad %[s1], %[t], %[u], %[s1]\n"
                "   ldr %[u], [%[w2]], #4\n"
                "   smlad %[s2], %[t], %[u], %[s2]\n"
                "   ldr %[u], [%[w3]], #4\n"
                "   smlad %[s3], %[t], %[u], %[s3]\n"
                "   subs %[i], %[i], #1\n"
                "   bne 1b\n"
                : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [x] "+r"(x), [w0] "+r"(w0),
                  [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [i] "+r"(i), [t] "=&r"(t), [u] "=&r"(u)
                :
                : "cc", "memory");
    }
    for (int32_t d = 0; d < (n & 3); ++d) { /* the last n % 4 */
        s0 += x[d] * w0[d];
        s1 += x[d] * w1[d];
        s2 += x[d] * w2[d];
        s3 += x[d] * w3[d];
    }
    a[0] = s0, a[1] = s1, a[2] = s2, a[3] = s3;
}

/* a[2i + j] += Σ x_i[d] · w_j[d], d < n, for two activation rows x0, x1 and two weight rows w0, w1: each
 * load serves two products (18 instructions for 16 multiply-accumulates on Cortex-M4, against 20 for
 * tq_s16_dot4, which shares only the activation loads). */
static inline void tq_s16_dot2x2(const int16_t *x0, const int16_t *x1, const int16_t *w0, const int16_t *w1,
                                 int32_t n, int32_t a[4]) {
    int32_t s00 = a[0], s01 = a[1], s10 = a[2], s11 = a[3];
    int32_t i = n >> 2;
    if (i > 0) {
        int32_t t, u, v;
        __asm__("1: ldr %[t], [%[x0]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   ldr %[v], [%[x1]], #4\n"
                "   smlad %[s00], %[t], %[u], %[s00]\n"
                "   smlad %[s10], %[v], %[u], %[s10]\n"
                "   ldr %[u], [%[w1]], #4\n"
                "   smlad %[s01], %[t], %[u], %[s01]\n"
                "   smlad %[s11], %[v], %[u], %[s11]\n"
                "   ldr %[t], [%[x0]], #4\n"
                "   ldr %[u], [%[w0]], #4\n"
                "   ldr %[v], [%[x1]], #4\n"
                "   smlad %[s00], %[t], %[u], %[s00]\n"
                "   smlad %[s10], %[v], %[u], %[s10]\n"
                "   ldr %[u], [%[w1]], #4\n"
                "   smlad %[s01], %[t], %[u], %[s01]\n"
                "   smlad %[s11], %[v], %[u], %[s11]\n"
                "   subs %[i], %[i], #1\n"
                "   bne 1b\n"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [x0] "+r"(x0),
                  [x1] "+r"(x1), [w0] "+r"(w0), [w1] "+r"(w1), [i] "+r"(i), [t] "=&r"(t), [u] "=&r"(u),
                  [v] "=&r"(v)
                :
                : "cc", "memory");
    }
    for (int32_t d = 0; d < (n & 3); ++d) { /* the last n % 4 */
        s00 += x0[d] * w0[d];
        s01 += x0[d] * w1[d];
        s10 += x1[d] * w0[d];
        s11 += x1[d] * w1[d];
    }
    a[0] = s00, a[1] = s01, a[2] = s10, a[3] = s11;
}

/* a + Σ x[d] · w[d], d < n */
static inline int32_t tq_s16_dot1(const int16_t *x, const int16_t *w, int32_t n, int32_t a) {
    for (int32_t i = n >> 2; i > 0; --i) {
        const int16x2_t x01 = tq_s16_load2(x), x23 = tq_s16_load2(x + 2);
        const int16x2_t w01 = tq_s16_load2(w), w23 = tq_s16_load2(w + 2);
        x += 4, w += 4;
        a = __smlad(x01, w01, a);
        a = __smlad(x23, w23, a);
    }
    if (n & 2) {
        a = __smlad(tq_s16_load2(x), tq_s16_load2(w), a);
        x += 2, w += 2;
    }
    if (n & 1) a += x[0] * w[0];
    return a;
}

/* b + ((acc · a) >> 32): one SMMLA */
static inline int32_t tq_s16_smmla(int32_t acc, int32_t a, int32_t b) {
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(acc), "r"(a), "r"(b));
    return r;
}

/* The clamp of an output to [lo, hi] as one saturation when the range is a saturation's: int16 (no activation)
 * and [0, 32767] (ReLU), else two compares. A kernel finds its kind once (tq_s16_clamp_kind) and passes it
 * as a constant into an always-inline copy of its loops. */
enum { TQ_S16_CLAMP_ANY = 0, TQ_S16_CLAMP_INT16 = 1, TQ_S16_CLAMP_RELU = 2 };

static inline int32_t tq_s16_clamp_kind(int32_t lo, int32_t hi) {
    if (lo == -32768 && hi == 32767) return TQ_S16_CLAMP_INT16;
    return lo == 0 && hi == 32767 ? TQ_S16_CLAMP_RELU : TQ_S16_CLAMP_ANY;
}

static inline int16_t tq_s16_clamp(int32_t y, int32_t kind, int32_t lo, int32_t hi) {
    if (kind == TQ_S16_CLAMP_INT16) return (int16_t)__ssat(y, 16);
    if (kind == TQ_S16_CLAMP_RELU) return (int16_t)__usat(y, 15);
    const int32_t z = y < lo ? lo : y;
    return (int16_t)(z > hi ? hi : z);
}

/* The output of one channel: requantize the exact int32 sum with its row (tq_s16_dsp.h), then clamp. */
static inline int16_t tq_s16_finish(int32_t acc, const int32_t *row, int32_t requant64, int32_t clamp, int32_t lo,
                                    int32_t hi) {
    const int32_t y = requant64 ? tq_s16_smmla(acc, row[0], row[1]) >> row[2]
                                : tq_requant_fast(acc, row[0], row[1], row[2]);
    return tq_s16_clamp(y, clamp, lo, hi);
}

/* KERNEL(r64, clamp) for the params p, with both as constants: one always-inline copy of the kernel's loops
 * per requantization path and clamp kind */
#define TQ_S16_SPECIALIZED(p, KERNEL)                                                                          \
    do {                                                                                                       \
        const int32_t kind_ = tq_s16_clamp_kind((p)->act_min, (p)->act_max);                                  \
        if ((p)->requant64) {                                                                                  \
            if (kind_ == TQ_S16_CLAMP_INT16) KERNEL(1, TQ_S16_CLAMP_INT16);                                    \
            else if (kind_ == TQ_S16_CLAMP_RELU) KERNEL(1, TQ_S16_CLAMP_RELU);                                 \
            else KERNEL(1, TQ_S16_CLAMP_ANY);                                                                  \
        } else {                                                                                               \
            if (kind_ == TQ_S16_CLAMP_INT16) KERNEL(0, TQ_S16_CLAMP_INT16);                                    \
            else if (kind_ == TQ_S16_CLAMP_RELU) KERNEL(0, TQ_S16_CLAMP_RELU);                                 \
            else KERNEL(0, TQ_S16_CLAMP_ANY);                                                                  \
        }                                                                                                      \
    } while (0)

#endif /* __ARM_FEATURE_DSP */
#endif
