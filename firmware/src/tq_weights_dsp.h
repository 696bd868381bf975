/* Internal to the packed-weight DSP variants (tq_*_packed_dsp.c): dot products of int8 activations with
 * int4, int2, ternary and binary codes on the Arm DSP extension, two weight rows per pass sharing each
 * read of the input. A block is the elements of one 32-bit word of codes: int4 8, int2/ternary 16,
 * binary 32. Codes are never unpacked one at a time:
 *
 * int4, int2, ternary (SMLAD on halfword lanes). AND with the word shifted left puts code i of the low
 *   halfword and code i + B/2 of the high one at the top of their halfwords, so the lanes read as
 *   code · 2^(16-b), signed; one SMLAD per two codes against the input pair (x_i + off, x_{i+B/2} + off),
 *   which PKHBT/PKHTB and SXTAB16 (the offset added for free) build once for both rows. Every product is
 *   at most 2^15 · 255 in magnitude (ternary 2^14 · 255), so a run of TQ_WD_RUN elements (ternary: twice
 *   that) sums exactly in int32 and an
 *   arithmetic shift by 16 - b gives its exact sum. Ternary codes are first made 2-bit two's complement
 *   of their sign (10, which never occurs, reads 0 as in the spec's decoder).
 *
 * binary (SEL and USADA8, no multiply). With u = x + 128 (x EOR 0x80 per byte, in 0..255) and
 *   z = 128 - off (0..255, off = input_offset in [-127, 128]) in every byte: MSR APSR_g puts the four
 *   codes of four consecutive elements in the GE flags, SEL takes u where the code is 1 and z where it is
 *   0, USADA8 adds the four bytes. Over a set P of elements that gives A = Σ_{c=1} (x + off) + z·|P|
 *   exactly (u = (x + off) + z), so Σ (2c - 1)(x + off) = 2A - 2z·|P| - V with V = Σ_P (x + off), a sum
 *   of the input alone, computed once for all rows (tq_wd_input_sum).
 *
 * Everything else is modulo 2^32, so the results are the reference's int32 sums modulo 2^32. Tails: a
 * partial block is done as a whole one on an input padded with x = -off (x + off = 0, so any code there
 * adds nothing, binary's included: u = z whatever the code), the codes past the row end never read
 * (tq_wd_last_word). */
#ifndef TINYQ_TQ_WEIGHTS_DSP_H
#define TINYQ_TQ_WEIGHTS_DSP_H

#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_WD_RUN 256 /* elements per exact int32 run: 256 · 2^15 · 255 < 2^31 (ternary: 512 · 2^14 · 255) */
#define TQ_WD_MAX_BLOCK 32 /* elements of the largest block (binary) */

/* elements per block (one word of codes) */
static inline int32_t tq_wd_block(int32_t bits) { return 32 / bits; }

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

/* a + the four bytes of u where g's bits 16..19 are set, of zz elsewhere (MSR APSR_g, SEL, USADA8: one
 * asm, so that nothing can come between the flags and SEL) */
static inline uint32_t tq_wd_select_add(uint32_t g, uint32_t u, uint32_t zz, uint32_t zero, uint32_t a) {
    uint32_t t;
    __asm__("msr APSR_g, %[g]\n\tsel %[t], %[u], %[zz]\n\tusada8 %[a], %[t], %[zero], %[a]"
            : [t] "=&r"(t), [a] "+r"(a)
            : [g] "r"(g), [u] "r"(u), [zz] "r"(zz), [zero] "r"(zero));
    return a;
}

/* (w << sh) & mask in one instruction (AND with a shifted register: GCC would shift, then AND an immediate) */
static inline uint32_t tq_wd_and_shifted(uint32_t mask, uint32_t w, int32_t sh) {
    if (sh == 0) return w & mask;
    uint32_t r;
    __asm__("and %0, %1, %2, lsl %3" : "=r"(r) : "r"(mask), "r"(w), "I"(sh));
    return r;
}

/* Ternary: 10 becomes 00, so each code is the 2-bit two's complement of its sign (01 +1, 11 -1) */
static inline uint32_t tq_wd_ternary_signs(uint32_t w) { return w & (0x55555555u | (w << 1)); }

/* ---- one block of one or two rows ----------------------------------------------------------------- */

/* int4 / int2 / ternary: a += Σ code · 2^(16-b) · (x + off) over the block's B elements at x (both rows
 * when `two`; w0, w1 are the rows' words of codes). */
TQ_W_BODY void tq_wd_mac_block(int32_t enc, int32_t bits, int two, uint32_t w0, uint32_t w1, const int8_t *x,
                               int16x2_t off2, int32_t *a0, int32_t *a1) {
    const int32_t lanes = 16 / bits; /* lane pairs per block = B / 2 */
    const uint32_t top = ((1u << bits) - 1u) << (16 - bits), mask = top | top << 16;
    if (enc == TQ_W_TERNARY) {
        w0 = tq_wd_ternary_signs(w0);
        if (two) w1 = tq_wd_ternary_signs(w1);
    }
    int32_t s0 = *a0, s1 = *a1;
    TQ_W_UNROLL
    for (int32_t k = 0; k < lanes / 4; ++k) { /* input words k and k + lanes/4: elements 4k.. and 4k+B/2.. */
        const uint32_t xa = tq_dsp_load4(x + 4 * k), xb = tq_dsp_load4(x + 4 * (k + lanes / 4));
        const uint32_t lo = tq_wd_low_halves(xa, xb), hi = tq_wd_high_halves(xa, xb);
        int16x2_t X[4];
        X[0] = __sxtab16(off2, (int32_t)lo); /* (x_{4k}, x_{4k+B/2}) */
        X[1] = tq_wd_add_odd_bytes(off2, lo);
        X[2] = __sxtab16(off2, (int32_t)hi);
        X[3] = tq_wd_add_odd_bytes(off2, hi);
        TQ_W_UNROLL
        for (int32_t j = 0; j < 4; ++j) {
            const int32_t sh = 16 - bits - bits * (4 * k + j); /* code 4k+j to the top of the low halfword */
            s0 = __smlad(X[j], (int32_t)tq_wd_and_shifted(mask, w0, sh), s0);
            if (two) s1 = __smlad(X[j], (int32_t)tq_wd_and_shifted(mask, w1, sh), s1);
        }
    }
    *a0 = s0;
    *a1 = s1;
}

/* binary: A += the SEL sums of the first `words` input words of the block (8 for a whole one) */
TQ_W_BODY void tq_wd_sel_block(int two, uint32_t w0, uint32_t w1, const int8_t *x, int32_t words, uint32_t zz,
                               uint32_t *a0, uint32_t *a1) {
    uint32_t s0 = *a0, s1 = *a1;
    const uint32_t zero = 0;
    if (words == 8) {
        TQ_W_UNROLL
        for (int32_t k = 0; k < 8; ++k) { /* codes 4k..4k+3 to bits 16..19 */
            /* each word read after the previous one is used: GCC would read all eight first, and spill */
            __asm__("" : "+r"(x) : "r"(s0), "r"(s1));
            const uint32_t u = tq_dsp_load4(x + 4 * k) ^ 0x80808080u;
            s0 = tq_wd_select_add(k < 4 ? w0 << (16 - 4 * k) : w0 >> (4 * k - 16), u, zz, zero, s0);
            if (two) s1 = tq_wd_select_add(k < 4 ? w1 << (16 - 4 * k) : w1 >> (4 * k - 16), u, zz, zero, s1);
        }
    } else {
        for (int32_t k = 0; k < words; ++k) {
            const uint32_t u = tq_dsp_load4(x + 4 * k) ^ 0x80808080u;
            s0 = tq_wd_select_add(w0 << 16, u, zz, zero, s0);
            w0 >>= 4;
            if (two) {
                s1 = tq_wd_select_add(w1 << 16, u, zz, zero, s1);
                w1 >>= 4;
            }
        }
    }
    *a0 = s0;
    *a1 = s1;
}

/* The last, partial, word of codes of a row whose codes end `bytes` (1..4) bytes after c: one load when
 * four bytes from c are still inside the codes (those of the next row then meet padding), else the row's
 * bytes alone (the others read 0) */
static inline uint32_t tq_wd_last_word(const uint8_t *c, int32_t bytes, const uint8_t *codes_end) {
    if (codes_end - c >= 4) return tq_w_load4(c);
    uint32_t w = 0;
    for (int32_t i = 0; i < bytes; ++i) w |= (uint32_t)c[i] << (8 * i);
    return w;
}

/* ---- rows --------------------------------------------------------------------------------------------
 * The input of a row dot: `blocks` whole blocks at x, then, when tail > 0, the row's last `tail` elements
 * at xt, which is padded with -off to a whole block (binary: to a whole word). V: Σ (x + off) over all
 * of them (binary only; tq_wd_input_sum). codes_end: the end of the weights' codes (tails read below it). */
typedef struct {
    const int8_t *x, *xt;
    int32_t blocks, tail;
    int32_t off;
    uint32_t v;
    const uint8_t *codes_end;
} tq_wd_input;

/* Σ (x[i] + off), i < n, modulo 2^32: USADA8 on x + 128 a word at a time */
static inline uint32_t tq_wd_input_sum(const int8_t *x, int32_t n, int32_t off) {
    uint32_t s = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) s = __usada8(tq_dsp_load4(x + i) ^ 0x80808080u, 0u, s);
    s -= (uint32_t)i * (128u - (uint32_t)off); /* Σ (x + 128) - (128 - off) per element */
    for (; i < n; ++i) s += (uint32_t)(x[i] + off);
    return s;
}

/* elements the binary SEL sums run over (tail rounded up to whole words) */
static inline uint32_t tq_wd_binary_count(const tq_wd_input *in) {
    return (uint32_t)in->blocks * 32u + (uint32_t)((in->tail + 3) & ~3);
}

/* s0 (and s1 when `two`) = Σ value · (x + off) over the rows r0 (and r1), from element 0: the sign for
 * ternary and binary, modulo 2^32 */
TQ_W_BODY void tq_wd_rows(int32_t enc, int32_t bits, int two, const uint8_t *r0, const uint8_t *r1,
                          const tq_wd_input *in, uint32_t *s0, uint32_t *s1) {
    const int32_t block = tq_wd_block(bits);
    const int8_t *x = in->x;
    int32_t blocks = in->blocks;
    uint32_t t0 = 0, t1 = 0;
    if (enc == TQ_W_BINARY) {
        const uint32_t z = 128u - (uint32_t)in->off, zz = z * 0x01010101u;
        uint32_t a0 = 0, a1 = 0;
        for (; blocks > 0; --blocks) {
            tq_wd_sel_block(two, tq_w_load4(r0), two ? tq_w_load4(r1) : 0, x, 8, zz, &a0, &a1);
            r0 += 4;
            if (two) r1 += 4;
            x += 32;
        }
        if (in->tail > 0) {
            const int32_t bytes = (in->tail + 7) >> 3;
            tq_wd_sel_block(two, tq_wd_last_word(r0, bytes, in->codes_end),
                            two ? tq_wd_last_word(r1, bytes, in->codes_end) : 0, in->xt,
                            (in->tail + 3) >> 2, zz, &a0, &a1);
        }
        const uint32_t k = 2u * z * tq_wd_binary_count(in) + in->v;
        *s0 = 2u * a0 - k;
        if (two) *s1 = 2u * a1 - k;
        return;
    }
    const int16x2_t off2 = tq_dsp_pair(in->off);
    const int32_t scale = 16 - bits;
    const int32_t run = (enc == TQ_W_TERNARY ? 2 * TQ_WD_RUN : TQ_WD_RUN) / block * 4; /* code bytes per run */
    const uint8_t *const end = r0 + 4 * blocks;
    while (r0 != end) { /* runs of at most TQ_WD_RUN elements (ternary: twice), each summed exactly in int32 */
        const uint8_t *const stop = end - r0 > run ? r0 + run : end;
        int32_t a0 = 0, a1 = 0;
        do {
            tq_wd_mac_block(enc, bits, two, tq_w_load4(r0), two ? tq_w_load4(r1) : 0, x, off2, &a0, &a1);
            r0 += 4;
            if (two) r1 += 4;
            x += block;
        } while (r0 != stop);
        t0 += (uint32_t)(a0 >> scale);
        if (two) t1 += (uint32_t)(a1 >> scale);
    }
    if (in->tail > 0) {
        const int32_t bytes = (in->tail * bits + 7) >> 3;
        int32_t a0 = 0, a1 = 0;
        tq_wd_mac_block(enc, bits, two, tq_wd_last_word(r0, bytes, in->codes_end),
                            two ? tq_wd_last_word(r1, bytes, in->codes_end) : 0, in->xt,
                        off2, &a0, &a1);
        t0 += (uint32_t)(a0 >> scale);
        if (two) t1 += (uint32_t)(a1 >> scale);
    }
    *s0 = t0;
    if (two) *s1 = t1;
}

/* The padded copy of a tail: n (< one block) elements of x, then -off up to a whole block */
static inline void tq_wd_pad_tail(int8_t *xt, const int8_t *x, int32_t n, int32_t off) {
    memset(xt, -off, TQ_WD_MAX_BLOCK);
    memcpy(xt, x, (size_t)n);
}

/* ---- segments from any element (CONV_2D taps when the receptive field is not gathered) --------------
 * s0 (and s1) += Σ_j value(row, e0 + j) · (x[j] + off), j < n: element by element up to a byte boundary
 * of the codes, whole blocks, then element by element. */
TQ_W_BODY void tq_wd_segment(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1, int32_t e0,
                             int32_t n, const int8_t *x, int32_t off, uint32_t *s0, uint32_t *s1) {
    const int32_t block = tq_wd_block(bits);
    uint32_t t0 = *s0, t1 = two ? *s1 : 0;
    int32_t j = 0;
    for (; j < n && (((uint32_t)(e0 + j) * (uint32_t)bits) & 7u) != 0; ++j) {
        const int32_t xv = x[j] + off;
        t0 += (uint32_t)(tq_w_value(tq_w_code(row0, e0 + j, bits), enc, bits, NULL) * xv);
        if (two) t1 += (uint32_t)(tq_w_value(tq_w_code(row1, e0 + j, bits), enc, bits, NULL) * xv);
    }
    const int32_t blocks = (n - j) / block;
    if (blocks > 0) {
        const size_t at = ((size_t)(e0 + j) * (size_t)bits) >> 3;
        tq_wd_input in = {x + j, NULL, blocks, 0, off, 0, NULL};
        if (enc == TQ_W_BINARY) in.v = tq_wd_input_sum(x + j, blocks * block, off);
        uint32_t u0 = 0, u1 = 0;
        tq_wd_rows(enc, bits, two, row0 + at, two ? row1 + at : NULL, &in, &u0, &u1);
        t0 += u0;
        t1 += u1;
        j += blocks * block;
    }
    for (; j < n; ++j) {
        const int32_t xv = x[j] + off;
        t0 += (uint32_t)(tq_w_value(tq_w_code(row0, e0 + j, bits), enc, bits, NULL) * xv);
        if (two) t1 += (uint32_t)(tq_w_value(tq_w_code(row1, e0 + j, bits), enc, bits, NULL) * xv);
    }
    *s0 = t0;
    if (two) *s1 = t1;
}

#endif /* __ARM_FEATURE_DSP */
#endif
