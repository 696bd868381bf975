/* Internal to tq_packed_s16_dsp.c and tq_packed_wk_dsp.c: packed codes turned into int16 lanes in
 * registers, for the Arm DSP extension's dual 16x16 multiply-accumulates (SMLAD: int32 sum, SMLALD: int64
 * sum; SMLAxy: one product of chosen halves). The formats are docs/weight_encodings.md; the scalar decoders
 * they fall back on (row heads and tails) are tq_weights_decode.h.
 *
 * Two ways to make lanes of a run of codes (a word of 32/bits codes, or 8 codes in `bits` bytes):
 *   planes - widths 1, 2, 4: each code is masked into the top bits of its byte, so SXTB16 reads two of
 *            them as code · 2^s (int4 s = 4, int2/ternary s = 6, int1 s = 7; binary, through SXTAB16 with
 *            a lane bias of 64, as -64 · sign). The lanes pair elements j and j + B/2 of a block of B
 *            codes, so the activations are paired to match (PKHBT/PKHTB; SXTAB16 for int8 ones). Every
 *            term of the sum is a multiple of 2^s: an arithmetic shift of the exact sum removes the scale.
 *   fields - any width: each code is one field extract at a constant position (SBFX gives the sign
 *            extension; codebook: UBFX and a table load); PKHBT pairs two values, unscaled.
 * The sums: int16 activations (zero point 0) into int64 with SMLALD, never overflowing (each product
 * |w · 2^s · x| <= 128 · 32768), so exact; int8 activations (x + input_offset in [-255, 255]) into int32 with
 * SMLAD, modulo 2^32 as the reference, in runs of at most TQ_WL_RUN elements where a plane scale must
 * not wrap. */
#ifndef TINYQ_TQ_PACKED_LANES_DSP_H
#define TINYQ_TQ_PACKED_LANES_DSP_H

#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

#define TQ_WL_RUN 4096  /* int8 activations, scaled lanes: 4096 · 128 · 255 < 2^31 */
#define TQ_WL_RUN16 256 /* int16 activations: 256 · 128 · 32768 = 2^30 */

/* Every helper here is inlined: in the big per-width kernel bodies GCC would otherwise call some of them
 * with their constant arguments lost (a field extract becoming a call). */
#if defined(__GNUC__)
#define TQ_WL_INLINE static inline __attribute__((always_inline))
#else
#define TQ_WL_INLINE static inline
#endif

TQ_WL_INLINE uint32_t tq_wl_load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* any alignment: one LDR on Cortex-M */
    return v;
}

/* PKHBT: lanes (a.lo, b.lo); PKHTB: lanes (a.hi, b.hi) */
TQ_WL_INLINE uint32_t tq_wl_pk_lo(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

TQ_WL_INLINE uint32_t tq_wl_pk_hi(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}

/* SXTB16 / SXTAB16 with ROR #8: bytes {1, 3} sign-extended (and added to the lanes of acc) */
TQ_WL_INLINE int16x2_t tq_wl_sx_odd(uint32_t w) {
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
}

TQ_WL_INLINE int16x2_t tq_wl_sxa_odd(int16x2_t acc, uint32_t w) {
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(w));
    return r;
}

/* an int32 in both int16 lanes (the value must fit int16) */
TQ_WL_INLINE int16x2_t tq_wl_pair(int32_t v) { return (int16x2_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16)); }

/* tq_w_code, tq_w_load_group and tq_w_group_code of tq_weights_decode.h, the same arithmetic, always inlined */
TQ_WL_INLINE uint32_t tq_wl_code(const uint8_t *s, int32_t k, int32_t bits) {
    if (bits == 8) return s[k];
    const uint32_t pos = (uint32_t)k * (uint32_t)bits;
    const uint8_t *b = s + (pos >> 3);
    const uint32_t sh = pos & 7u;
    uint32_t c = (uint32_t)b[0] >> sh;
    if (sh + (uint32_t)bits > 8u) c |= (uint32_t)b[1] << (8u - sh);
    return c & ((1u << bits) - 1u);
}

TQ_WL_INLINE void tq_wl_load_group(const uint8_t *b, int32_t bits, uint32_t *lo, uint32_t *hi) {
    if (bits < 4) {
        *lo = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        *hi = 0;
        return;
    }
    *lo = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    uint32_t h = 0;
    for (int32_t i = 4; i < bits; ++i) h |= (uint32_t)b[i] << (8 * (i - 4));
    *hi = h;
}

TQ_WL_INLINE uint32_t tq_wl_group_code(uint32_t lo, uint32_t hi, int32_t t, int32_t bits) {
    const int32_t at = t * bits;
    if (at >= 32) return hi >> (at - 32);
    if (at + bits <= 32) return lo >> at;
    return (lo >> at) | (hi << (32 - at));
}

/* the value of element e of a row (scalar heads and tails) */
TQ_WL_INLINE int32_t tq_wl_value(const uint8_t *row, int32_t e, int32_t enc, int32_t bits, const int8_t *table) {
    return tq_w_value(tq_wl_code(row, e, bits), enc, bits, table);
}

/* 1: the run of (enc, bits) is read as planes; 0: as fields */
TQ_WL_INLINE int tq_wl_planes(int32_t enc, int32_t bits) {
    if (enc == TQ_W_TERNARY || enc == TQ_W_BINARY) return 1;
    return enc == TQ_W_INTK && (bits == 1 || bits == 2 || bits == 4);
}

/* A planes stretch's sum back to Σ value · x: int4 / 16, int2 and ternary / 64, int1 / 128, binary / -64
 * (exact: every term is a multiple of the scale). */
TQ_WL_INLINE int32_t tq_wl_unscale32(int32_t enc, int32_t bits, int32_t a) {
    if (enc == TQ_W_BINARY) return -(a >> 6);
    return a >> (bits == 4 ? 4 : bits == 2 ? 6 : 7);
}

/* The lanes of a planes word w (plane k: the codes k, k + B/4, ... of the block in the tops of its bytes):
 * L[i] pairs with activation pair P[i] = (x_i, x_{i + B/2}), i < B/2. Each call gives lane words i and
 * i + B/4 for plane k = i (int2, int1) or the two halves of the nibbles (int4). */
TQ_WL_INLINE uint32_t tq_wl_plane(int32_t enc, int32_t bits, uint32_t w, int32_t k) {
    if (bits == 4) return k == 0 ? (w << 4) & 0xF0F0F0F0u : w & 0xF0F0F0F0u;
    if (bits == 2) return (w << (6 - 2 * k)) & 0xC0C0C0C0u;
    (void)enc;
    return (w << (7 - k)) & 0x80808080u;
}

TQ_WL_INLINE int16x2_t tq_wl_lanes_even(int32_t enc, uint32_t plane) {
    return enc == TQ_W_BINARY ? __sxtab16(0x00400040, (int32_t)plane) : __sxtb16((int32_t)plane);
}

TQ_WL_INLINE int16x2_t tq_wl_lanes_odd(int32_t enc, uint32_t plane) {
    return enc == TQ_W_BINARY ? tq_wl_sxa_odd(0x00400040, plane) : tq_wl_sx_odd(plane);
}

/* Index of the activation pair that lane word (plane k, even/odd bytes) multiplies. int4: plane 0 holds
 * codes (n0 n2 n4 n6), plane 1 (n1 n3 n5 n7): even bytes (n0, n4) -> P0, odd (n2, n6) -> P2, (n1, n5) -> P1,
 * (n3, n7) -> P3. int2: plane k bytes (t_k, t_{k+4}, t_{k+8}, t_{k+12}): even -> P_k, odd -> P_{k+4}. int1:
 * plane k bytes (c_k, c_{k+8}, c_{k+16}, c_{k+24}): even -> P_k, odd -> P_{k+8}. */
TQ_WL_INLINE int32_t tq_wl_pair_of(int32_t bits, int32_t k, int odd) {
    if (bits == 4) return k + (odd ? 2 : 0);
    return k + (odd ? 32 / bits / 4 : 0);
}

/* planes per word */
TQ_WL_INLINE int32_t tq_wl_plane_count(int32_t bits) { return bits == 4 ? 2 : bits == 2 ? 4 : 8; }

/* ---- int16 activations -------------------------------------------------------------------------------- */

/* The block's activation pairs P[i] = (x_i, x_{i + B/2}), i < B/2, from the B/2 words (x_{2m}, x_{2m+1}) */
TQ_WL_INLINE void tq_wl_pairs_s16(const int16_t *x, int32_t block, uint32_t *P) {
    const int32_t q = block / 4;
    TQ_W_UNROLL
    for (int32_t m = 0; m < q; ++m) {
        const uint32_t a = tq_wl_load4(x + 2 * m), b = tq_wl_load4(x + 2 * m + block / 2);
        P[2 * m] = tq_wl_pk_lo(a, b);
        P[2 * m + 1] = tq_wl_pk_hi(a, b);
    }
}

/* a += Σ lanes · P over one planes word (scaled: see tq_wl_unscale32) */
TQ_WL_INLINE int32_t tq_wl_planes_s16(int32_t enc, int32_t bits, uint32_t w, const uint32_t *P, int32_t a) {
    if (enc == TQ_W_TERNARY) w = tq_w_prepare(w, TQ_W_TERNARY);
    TQ_W_UNROLL
    for (int32_t k = 0; k < tq_wl_plane_count(bits); ++k) {
        const uint32_t plane = tq_wl_plane(enc, bits, w, k);
        a = __smlad((int16x2_t)P[tq_wl_pair_of(bits, k, 0)], tq_wl_lanes_even(enc, plane), a);
        a = __smlad((int16x2_t)P[tq_wl_pair_of(bits, k, 1)], tq_wl_lanes_odd(enc, plane), a);
    }
    return a;
}

/* The values of a fields run: 32/bits codes of a word (1, 2, 4, 8) or 8 codes in `bits` bytes (3, 5, 6, 7),
 * read from b; ternary and binary as their signs, codebook through table (table_step apart per code). */
TQ_WL_INLINE void tq_wl_fields(const uint8_t *b, int32_t enc, int32_t bits, const int8_t *table, int32_t table_step,
                            int32_t *v) {
    if (tq_w_words(bits)) {
        const uint32_t w = tq_w_prepare(tq_wl_load4(b), enc);
        TQ_W_UNROLL
        for (int32_t t = 0; t < 32 / bits; ++t) {
            v[t] = tq_w_field(w >> (t * bits), enc, bits, enc == TQ_W_CODEBOOK ? table + t * table_step : NULL);
        }
    } else {
        uint32_t lo, hi;
        tq_wl_load_group(b, bits, &lo, &hi);
        TQ_W_UNROLL
        for (int32_t t = 0; t < 8; ++t) {
            v[t] = tq_w_field(tq_wl_group_code(lo, hi, t, bits), enc, bits,
                              enc == TQ_W_CODEBOOK ? table + t * table_step : NULL);
        }
    }
}

/* acc0 += Σ_j w0(e0 + j) · x[j], j < n, the exact int64 sum (as uint64), and acc1 for row1 when `two` (a
 * constant at every call: the rows share each load and pairing of x). tab0 / tab1: the rows' codebooks.
 * The runs are summed in stretches of at most TQ_WL_RUN16 elements in int32 (SMLAD), exactly: every lane
 * product is at most 128 · 32768 = 2^22 in magnitude, so a stretch's sum stays below 2^30; each stretch is
 * then added to the int64 sum. (SMLALD into int64 directly needs two more registers per row, which GCC
 * spills in the two-row loop.) */
TQ_W_BODY void tq_wl_dot_s16(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1,
                             const int8_t *tab0, const int8_t *tab1, int32_t e0, int32_t n, const int16_t *x,
                             uint64_t *acc0, uint64_t *acc1) {
    const int planes = tq_wl_planes(enc, bits);
    const int32_t run = tq_w_run(bits);
    uint64_t s0 = *acc0, s1 = two ? *acc1 : 0;
    int32_t j = 0;
    for (; j < n && !tq_w_run_start(e0 + j, bits); ++j) { /* up to a run boundary */
        s0 += (uint64_t)(int64_t)(tq_wl_value(row0, e0 + j, enc, bits, tab0) * x[j]);
        if (two) s1 += (uint64_t)(int64_t)(tq_wl_value(row1, e0 + j, enc, bits, tab1) * x[j]);
    }
    const uint8_t *c0 = row0 + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    const uint8_t *c1 = two ? row1 + (c0 - row0) : NULL;
    const int32_t run_bytes = tq_w_words(bits) ? 4 : bits;
    const int16_t *xp = x + j;
    int32_t runs = (n - j) / run;
    j += runs * run;
    while (runs > 0) {
        int32_t count = runs < TQ_WL_RUN16 / run ? runs : TQ_WL_RUN16 / run;
        runs -= count;
        int32_t a0 = 0, a1 = 0;
        do {
            if (planes) {
                uint32_t P[16];
                tq_wl_pairs_s16(xp, run, P);
                a0 = tq_wl_planes_s16(enc, bits, tq_wl_load4(c0), P, a0);
                if (two) a1 = tq_wl_planes_s16(enc, bits, tq_wl_load4(c1), P, a1);
            } else {
                int32_t v[32], u[32];
                tq_wl_fields(c0, enc, bits, tab0, 0, v);
                if (two) tq_wl_fields(c1, enc, bits, tab1, 0, u);
                TQ_W_UNROLL
                for (int32_t t = 0; t < run; t += 2) { /* lanes (x_t, x_{t+1}) as stored */
                    const int16x2_t xx = (int16x2_t)tq_wl_load4(xp + t);
                    a0 = __smlad(xx, (int16x2_t)tq_wl_pk_lo((uint32_t)v[t], (uint32_t)v[t + 1]), a0);
                    if (two) a1 = __smlad(xx, (int16x2_t)tq_wl_pk_lo((uint32_t)u[t], (uint32_t)u[t + 1]), a1);
                }
            }
            xp += run;
            c0 += run_bytes;
            if (two) c1 += run_bytes;
        } while (--count);
        s0 += (uint64_t)(int64_t)(planes ? tq_wl_unscale32(enc, bits, a0) : a0);
        if (two) s1 += (uint64_t)(int64_t)(planes ? tq_wl_unscale32(enc, bits, a1) : a1);
    }
    for (; j < n; ++j) { /* the tail */
        s0 += (uint64_t)(int64_t)(tq_wl_value(row0, e0 + j, enc, bits, tab0) * x[j]);
        if (two) s1 += (uint64_t)(int64_t)(tq_wl_value(row1, e0 + j, enc, bits, tab1) * x[j]);
    }
    *acc0 = s0;
    if (two) *acc1 = s1;
}

/* ---- int8 activations --------------------------------------------------------------------------------- */

/* int1 block of 32: pairs X[i] = (x_i + off, x_{i+16} + off), i < 16, from 8 words (SXTAB16 adds the offset) */
TQ_WL_INLINE void tq_wl_pairs_s8_32(const int8_t *x, int16x2_t off2, uint32_t *X) {
    TQ_W_UNROLL
    for (int32_t m = 0; m < 4; ++m) {
        const uint32_t a = tq_wl_load4(x + 4 * m), b = tq_wl_load4(x + 4 * m + 16);
        const uint32_t lo = tq_wl_pk_lo(a, b), hi = tq_wl_pk_hi(a, b); /* bytes a0 a1 b0 b1, a2 a3 b2 b3 */
        X[4 * m + 0] = (uint32_t)__sxtab16(off2, (int32_t)lo);
        X[4 * m + 1] = (uint32_t)tq_wl_sxa_odd(off2, lo);
        X[4 * m + 2] = (uint32_t)__sxtab16(off2, (int32_t)hi);
        X[4 * m + 3] = (uint32_t)tq_wl_sxa_odd(off2, hi);
    }
}

TQ_WL_INLINE int32_t tq_wl_planes1_s8(uint32_t w, const uint32_t *X, int32_t a) {
    TQ_W_UNROLL
    for (int32_t k = 0; k < 8; ++k) {
        const uint32_t plane = (w << (7 - k)) & 0x80808080u;
        a = __smlad((int16x2_t)X[k], __sxtb16((int32_t)plane), a);
        a = __smlad((int16x2_t)X[k + 8], tq_wl_sx_odd(plane), a);
    }
    return a;
}

/* acc0 += Σ_j w0(e0 + j) · (x[j] + x_off), j < n, modulo 2^32, and acc1 for row1 when `two`. enc
 * TQ_W_INTK (any width 1..8: int1 as planes, the others as fields) or TQ_W_CODEBOOK (fields). */
TQ_W_BODY void tq_wl_dot_s8(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1,
                            const int8_t *tab0, const int8_t *tab1, int32_t e0, int32_t n, const int8_t *x,
                            int32_t x_off, uint32_t *acc0, uint32_t *acc1) {
    const int planes = enc == TQ_W_INTK && bits == 1;
    const int32_t run = tq_w_run(bits);
    const int32_t run_bytes = tq_w_words(bits) ? 4 : bits;
    const int16x2_t off2 = tq_wl_pair(x_off);
    uint32_t s0 = *acc0, s1 = two ? *acc1 : 0;
    int32_t j = 0;
    for (; j < n && !tq_w_run_start(e0 + j, bits); ++j) {
        const int32_t xv = x[j] + x_off;
        s0 += (uint32_t)(tq_wl_value(row0, e0 + j, enc, bits, tab0) * xv);
        if (two) s1 += (uint32_t)(tq_wl_value(row1, e0 + j, enc, bits, tab1) * xv);
    }
    const uint8_t *c0 = row0 + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    const uint8_t *c1 = two ? row1 + (c0 - row0) : NULL;
    int32_t runs = (n - j) / run;
    const int8_t *xp = x + j;
    j += runs * run;
    if (planes) {
        while (runs > 0) { /* stretches of at most TQ_WL_RUN elements, each summed exactly in int32 */
            int32_t count = runs < TQ_WL_RUN / 32 ? runs : TQ_WL_RUN / 32;
            runs -= count;
            int32_t a0 = 0, a1 = 0;
            do {
                uint32_t X[16];
                tq_wl_pairs_s8_32(xp, off2, X);
                xp += 32;
                a0 = tq_wl_planes1_s8(tq_wl_load4(c0), X, a0);
                c0 += 4;
                if (two) {
                    a1 = tq_wl_planes1_s8(tq_wl_load4(c1), X, a1);
                    c1 += 4;
                }
            } while (--count);
            s0 += (uint32_t)tq_wl_unscale32(TQ_W_INTK, 1, a0);
            if (two) s1 += (uint32_t)tq_wl_unscale32(TQ_W_INTK, 1, a1);
        }
    } else {
        int32_t a0 = (int32_t)s0, a1 = (int32_t)s1; /* unscaled: SMLAD's wrap is the reference's */
        for (; runs > 0; --runs) {
            int32_t v[32], u[32];
            tq_wl_fields(c0, enc, bits, tab0, 0, v);
            c0 += run_bytes;
            if (two) {
                tq_wl_fields(c1, enc, bits, tab1, 0, u);
                c1 += run_bytes;
            }
            TQ_W_UNROLL
            for (int32_t t = 0; t < run; t += 4) { /* (x_t, x_{t+2}) and (x_{t+1}, x_{t+3}) */
                const uint32_t xw = tq_wl_load4(xp + t);
                const int16x2_t ev = __sxtab16(off2, (int32_t)xw), od = tq_wl_sxa_odd(off2, xw);
                a0 = __smlad(ev, (int16x2_t)tq_wl_pk_lo((uint32_t)v[t], (uint32_t)v[t + 2]), a0);
                a0 = __smlad(od, (int16x2_t)tq_wl_pk_lo((uint32_t)v[t + 1], (uint32_t)v[t + 3]), a0);
                if (two) {
                    a1 = __smlad(ev, (int16x2_t)tq_wl_pk_lo((uint32_t)u[t], (uint32_t)u[t + 2]), a1);
                    a1 = __smlad(od, (int16x2_t)tq_wl_pk_lo((uint32_t)u[t + 1], (uint32_t)u[t + 3]), a1);
                }
            }
            xp += run;
        }
        s0 = (uint32_t)a0;
        s1 = (uint32_t)a1;
    }
    for (; j < n; ++j) {
        const int32_t xv = x[j] + x_off;
        s0 += (uint32_t)(tq_wl_value(row0, e0 + j, enc, bits, tab0) * xv);
        if (two) s1 += (uint32_t)(tq_wl_value(row1, e0 + j, enc, bits, tab1) * xv);
    }
    *acc0 = s0;
    if (two) *acc1 = s1;
}

/* ---- depthwise: 8 channels of one pixel, each its own accumulator -------------------------------------
 * Channels c .. c+7 (c a multiple of 8, so their codes start a byte: 8 codes in `bits` bytes) of tap row
 * `row`, as exact values (fields), then one SMLAxy per channel: no scale, so int32 sums are the reference's
 * modulo 2^32 (int8 activations) or exact while taps · 128 · 32768 < 2^31 (int16 activations). */
TQ_WL_INLINE void tq_wl_values8(const uint8_t *g, int32_t enc, int32_t bits, const int8_t *table, int32_t table_step,
                             int32_t *v) {
    uint32_t lo, hi = 0;
    if (bits == 1) {
        lo = g[0];
    } else if (bits == 2) {
        lo = (uint32_t)g[0] | (uint32_t)g[1] << 8;
    } else if (bits == 8) {
        lo = tq_wl_load4(g);
        hi = tq_wl_load4(g + 4);
    } else if (bits == 4) {
        lo = tq_wl_load4(g);
    } else {
        tq_wl_load_group(g, bits, &lo, &hi);
    }
    if (enc == TQ_W_TERNARY || enc == TQ_W_BINARY) lo = tq_w_prepare(lo, enc); /* 16 or 8 bits: lo only */
    TQ_W_UNROLL
    for (int32_t t = 0; t < 8; ++t) {
        v[t] = tq_w_field(tq_wl_group_code(lo, hi, t, bits), enc, bits, enc == TQ_W_CODEBOOK ? table + t * table_step : NULL);
    }
}

#endif /* __ARM_FEATURE_DSP */
#endif
