/* Internal to the packed-weight DSP variants (tq_*_packed_dsp.c): dot products of int8 activations with
 * int4, ternary and binary codes on the Arm DSP extension. A word of codes becomes int16 lanes without
 * unpacking a code at a time: each code is masked into the top bits of its byte, so SXTB16 reads it as
 * code · 2^s (int4: 16, ternary: 64, binary: -128 for a set bit), and SMLAD multiplies two lanes at once.
 * The activations are paired to match (PKHBT/PKHTB, then SXTB16). A run of at most TQ_WD_RUN elements
 * sums code · 2^s · (x + x_off) exactly in int32 (|term| <= 128 · 255 per product), then an arithmetic
 * shift by s gives its exact sum, so the result is the reference's int32 sum modulo 2^32.
 * Blocks: int4 8 elements (one word), ternary 16, binary 32; the elements before the first whole byte and
 * after the last whole block take the scalar decoders (tq_weights_decode.h). */
#ifndef TINYQ_TQ_WEIGHTS_DSP_H
#define TINYQ_TQ_WEIGHTS_DSP_H

#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_WD_RUN 4096 /* elements per exact int32 run: 4096 · 128 · 255 < 2^31 */

/* elements per block, and the scale 2^s of the lanes (as a shift) */
static inline int32_t tq_wd_block(int32_t enc) { return enc == TQ_W_BINARY ? 32 : enc == TQ_W_TERNARY ? 16 : 8; }
static inline int32_t tq_wd_shift(int32_t enc) { return enc == TQ_W_BINARY ? 7 : enc == TQ_W_TERNARY ? 6 : 4; }

/* PKHBT / PKHTB with a 16-bit shift: the low halves, or the high halves, of two words in one */
static inline uint32_t tq_wd_low_halves(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r; /* bytes a0 a1 b0 b1 */
}

static inline uint32_t tq_wd_high_halves(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r; /* bytes a2 a3 b2 b3 */
}

/* SXTAB16 with ROR #8: bytes {1, 3} of x, sign-extended, added to the two lanes of acc */
static inline int16x2_t tq_wd_add_odd_bytes(int16x2_t acc, uint32_t x) {
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

/* x[0 .. 4q) (q = 2, 4, 8 words) as int16 lane pairs X[k] = (x_k + off, x_{k+2q} + off), k < 2q: word i
 * is paired with word i + q/2 (int4 0/1; ternary 0/2, 1/3; binary 0/4 .. 3/7). SXTAB16 widens and adds
 * the offset in one instruction. */
static inline void tq_wd_pairs(const int8_t *x, int32_t words, int16x2_t off2, int16x2_t *X) {
    const int32_t half = words / 2;
    TQ_W_UNROLL
    for (int32_t i = 0; i < half; ++i) {
        const uint32_t a = tq_dsp_load4(x + 4 * i), b = tq_dsp_load4(x + 4 * (i + half));
        const uint32_t lo = tq_wd_low_halves(a, b), hi = tq_wd_high_halves(a, b);
        X[4 * i + 0] = __sxtab16(off2, (int32_t)lo);       /* (x_{4i},   x_{4i+2q}) */
        X[4 * i + 1] = tq_wd_add_odd_bytes(off2, lo);      /* (x_{4i+1}, x_{4i+1+2q}) */
        X[4 * i + 2] = __sxtab16(off2, (int32_t)hi);
        X[4 * i + 3] = tq_wd_add_odd_bytes(off2, hi);
    }
}

/* One block of one row: a += Σ code · 2^s · (x + off). The lanes of X follow tq_wd_pairs. */
static inline int32_t tq_wd_block_mac(int32_t enc, const uint8_t *codes, const int16x2_t *X, int32_t a) {
    if (enc == TQ_W_INTK) { /* int4: nibbles n0..n7; lo bytes (n0 n2 n4 n6)·16, hi bytes (n1 n3 n5 n7)·16 */
        const uint32_t w = tq_w_load4(codes);
        const uint32_t lo = (w << 4) & 0xF0F0F0F0u, hi = w & 0xF0F0F0F0u;
        /* X = (x0,x4) (x1,x5) (x2,x6) (x3,x7) */
        a = __smlad(X[0], __sxtb16((int32_t)lo), a);
        a = __smlad(X[2], tq_dsp_odd_bytes(lo), a);
        a = __smlad(X[1], __sxtb16((int32_t)hi), a);
        a = __smlad(X[3], tq_dsp_odd_bytes(hi), a);
        return a;
    }
    if (enc == TQ_W_TERNARY) { /* codes t0..t15; plane k bytes (t_k t_{k+4} t_{k+8} t_{k+12})·64 */
        const uint32_t w = tq_w_prepare(tq_w_load4(codes), TQ_W_TERNARY);
        /* X[k] = (x_k, x_{k+8}), k < 8 */
        TQ_W_UNROLL
        for (int32_t k = 0; k < 4; ++k) {
            const uint32_t plane = (w << (6 - 2 * k)) & 0xC0C0C0C0u;
            a = __smlad(X[k], __sxtb16((int32_t)plane), a);
            a = __smlad(X[k + 4], tq_dsp_odd_bytes(plane), a);
        }
        return a;
    }
    /* binary: bits c0..c31; plane k bytes (c_k c_{k+8} c_{k+16} c_{k+24})·-128; X[j] = (x_j, x_{j+16}) */
    const uint32_t w = tq_w_load4(codes);
    TQ_W_UNROLL
    for (int32_t k = 0; k < 8; ++k) {
        const uint32_t plane = (w << (7 - k)) & 0x80808080u;
        a = __smlad(X[k], __sxtb16((int32_t)plane), a);
        a = __smlad(X[k + 8], tq_dsp_odd_bytes(plane), a);
    }
    return a;
}

/* Σ of the 16 lanes pairs of a binary block: Σ (x + off) over its 32 elements */
static inline int32_t tq_wd_lane_sum(const int16x2_t *X, int32_t a) {
    TQ_W_UNROLL
    for (int32_t k = 0; k < 16; ++k) a = __smlad(X[k], 0x00010001, a);
    return a;
}

/* The scaled run sum, back to Σ value · (x + off): exact (every term is a multiple of 2^s). Binary: the
 * code sum Σ c·(x+off) = -S / 128, and Σ (2c - 1)(x + off) = 2 Σ c·(x + off) - Σ (x + off). */
static inline uint32_t tq_wd_unscale(int32_t enc, int32_t scaled, int32_t lane_sum) {
    if (enc == TQ_W_BINARY) return (uint32_t)(-(scaled >> 7)) * 2u - (uint32_t)lane_sum;
    return (uint32_t)(scaled >> tq_wd_shift(enc));
}

/* acc0 += Σ_j w0(e0 + j)·(x[j] + x_off), j < n, modulo 2^32, and acc1 the same for row1 when `two` (a
 * constant at every call). enc: TQ_W_INTK (int4), TQ_W_TERNARY or TQ_W_BINARY; both rows share each
 * pairing of x. */
TQ_W_BODY void tq_wd_dot(int32_t enc, int two, const uint8_t *row0, const uint8_t *row1, int32_t e0, int32_t n,
                         const int8_t *x, int32_t x_off, uint32_t *acc0, uint32_t *acc1) {
    const int32_t bits = enc == TQ_W_INTK ? 4 : enc == TQ_W_TERNARY ? 2 : 1;
    const int32_t block = tq_wd_block(enc);
    const int16x2_t off2 = tq_dsp_pair(x_off);
    uint32_t s0 = *acc0, s1 = two ? *acc1 : 0;
    int32_t j = 0;
    for (; j < n && (((uint32_t)(e0 + j) * (uint32_t)bits) & 7u) != 0; ++j) { /* up to a whole byte */
        const int32_t xv = x[j] + x_off;
        s0 += (uint32_t)(tq_w_value(tq_w_code(row0, e0 + j, bits), enc, bits, NULL) * xv);
        if (two) s1 += (uint32_t)(tq_w_value(tq_w_code(row1, e0 + j, bits), enc, bits, NULL) * xv);
    }
    const uint8_t *c0 = row0 + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    const uint8_t *c1 = two ? row1 + (c0 - row0) : NULL;
    const int8_t *xp = x + j;
    int32_t blocks = (n - j) / block;
    j += blocks * block;
    while (blocks > 0) { /* runs of at most TQ_WD_RUN elements, each summed exactly in int32 */
        int32_t count = blocks < TQ_WD_RUN / block ? blocks : TQ_WD_RUN / block;
        blocks -= count;
        int32_t a0 = 0, a1 = 0, sum = 0;
        do {
            int16x2_t X[16];
            tq_wd_pairs(xp, block / 4, off2, X);
            xp += block;
            a0 = tq_wd_block_mac(enc, c0, X, a0);
            c0 += 4;
            if (two) {
                a1 = tq_wd_block_mac(enc, c1, X, a1);
                c1 += 4;
            }
            if (enc == TQ_W_BINARY) sum = tq_wd_lane_sum(X, sum);
        } while (--count);
        s0 += tq_wd_unscale(enc, a0, sum);
        if (two) s1 += tq_wd_unscale(enc, a1, sum);
    }
    for (; j < n; ++j) { /* the tail */
        const int32_t xv = x[j] + x_off;
        s0 += (uint32_t)(tq_w_value(tq_w_code(row0, e0 + j, bits), enc, bits, NULL) * xv);
        if (two) s1 += (uint32_t)(tq_w_value(tq_w_code(row1, e0 + j, bits), enc, bits, NULL) * xv);
    }
    *acc0 = s0;
    if (two) *acc1 = s1;
}

#endif /* __ARM_FEATURE_DSP */
#endif
