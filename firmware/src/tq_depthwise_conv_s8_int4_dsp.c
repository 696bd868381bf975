/* DEPTHWISE_CONV_2D int8 with int4 weights, depth multiplier 1, on a record prepared at compile time
 * (tinyq/tq_depthwise_conv_fast.h "int4 weights", tinyq/specialize/int4_dsp.py). The weights stay 4-bit in flash:
 * one word holds 2 taps of 4 channels, and each of the int16 lane registers that tq_depthwise_conv_s8_fast_dsp.c's
 * taps read from the record is decoded here in one instruction, an AND of the word (shifted by 0, 4, 8 or 12) with
 * 0xF000F000: the nibbles of a tap's channels {c, c+2} and {c+1, c+3} sit at the top of the halfwords, so each
 * lane is 4096 w exactly (a signed nibble at bits 12..15, zeros below). The taps are the int8 kernel's
 * (tq_depthwise_fast_dsp.h: same SXTB16 input lanes, same SMLABB/SMLATT), the accumulators start at 0 (the first
 * tap a SMULBB/SMULTT) and sum A = 4096 * sum(x * w) over the raw int8 input (padded taps read the zero point);
 * then 2 acc = 2 f + (A >> 11) (f the folded bias, modulo 2^32), one ADD with a shifted operand, which is exact
 * because the preparer proved 4096 * |sum(x * w)| < 2^31 for every channel (128 * sum|w| < 2^19), and
 * tq_requant_fast is exact because it proved |acc| < 2^30, as for int8. */

/* words of one 4-channel record for k taps: bias[4], w[ceil(k / 2)], rows[4][3] */
#define BLOCK_WORDS(k) (4 + ((k) + 1) / 2 + 12)

#include "tq_depthwise_fast_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_INT4_LANES 0xF000F000u

/* the lane register of nibbles 3 - S/4 and 7 - S/4 of w: (w << S) & mask, one instruction (GCC left to itself
 * may shift and AND with an immediate, two) */
#define TQ_LANES_FN(S)                                                                                         \
    TQ_INLINE uint32_t lanes##S(uint32_t w, uint32_t m) {                                                      \
        uint32_t l;                                                                                            \
        __asm__("and %[l], %[m], %[w], lsl #" #S : [l] "=r"(l) : [m] "r"(m), [w] "r"(w));                      \
        return l;                                                                                              \
    }
TQ_LANES_FN(0)
TQ_LANES_FN(4)
TQ_LANES_FN(8)
TQ_LANES_FN(12)
#define LANES(W, S, M) lanes##S(W, M)

/* MAC4_AT at channel c of the pixel loop */
#define MAC4_AT_C(PTR, W02, W13) MAC4_AT(PTR, c, W02, W13)

/* MAC4 of the first tap: the products start the accumulators */
#define MUL4(X, W02, W13)                                                                                      \
    do {                                                                                                       \
        int32_t e_, o_;                                                                                        \
        __asm__("sxtb16 %[e], %[x]\n\t"                                                                       \
                "sxtb16 %[o], %[x], ror #8\n\t"                                                               \
                "smulbb %[a0], %[e], %[w02]\n\t"                                                              \
                "smultt %[a2], %[e], %[w02]\n\t"                                                              \
                "smulbb %[a1], %[o], %[w13]\n\t"                                                              \
                "smultt %[a3], %[o], %[w13]"                                                                  \
                : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [e] "=&r"(e_), [o] "=&r"(o_)  \
                : [x] "r"(X), [w02] "r"(W02), [w13] "r"(W13));                                                 \
    } while (0)

/* taps 2i (nibbles 3, 7 and 2, 6) and 2i + 1 (nibbles 1, 5 and 0, 4) of word w */
#define TAP_EVEN(MAC, X, W, M) MAC(X, LANES(W, 0, M), LANES(W, 4, M))
#define TAP_ODD(MAC, X, W, M) MAC(X, LANES(W, 8, M), LANES(W, 12, M))

/* 2 acc = 2 f + (A >> 11), modulo 2^32 */
TQ_INLINE int32_t acc2(int32_t bias2, int32_t a) { return (int32_t)((uint32_t)bias2 + (uint32_t)(a >> 11)); }

TQ_INLINE int8_t *store_block(int8_t *out, const int32_t *blk, int32_t k, int32_t a0, int32_t a1, int32_t a2,
                              int32_t a3, const params *p, int full) {
    return store4(out, blk + 4 + (k + 1) / 2, acc2(blk[0], a0), acc2(blk[1], a1), acc2(blk[2], a2),
                  acc2(blk[3], a3), p, full);
}

/* the weight of tap t, channel j of a record's words w (the nibble TAP_EVEN / TAP_ODD put in its lane) */
static inline int32_t weight(const int32_t *w, int32_t t, int32_t j) {
    const uint32_t l = ((uint32_t)w[t >> 1] << (8 * (t & 1) + 4 * (j & 1))) & TQ_INT4_LANES;
    return (j & 2) ? (int32_t)l >> 28 : (int32_t)(l << 16) >> 28;
}

static int8_t *tail(const params *p, const int8_t *const *taps, int32_t k, int32_t c, const int32_t *blk,
                    int8_t *out) {
    for (int32_t j = 0; c + j < p->depth; ++j) {
        int32_t sum = 0; /* |sum| < 2^19, proved */
        for (int32_t t = 0; t < k; ++t) sum += taps[t][c + j] * weight(blk + 4, t, j);
        *out++ = finish((int32_t)((uint32_t)blk[j] + 2u * (uint32_t)sum), blk + 4 + (k + 1) / 2 + 3 * j, p, 0);
    }
    return out;
}

TQ_INLINE int8_t *pixel_taps(const params *p, const int8_t *const *taps, int32_t k, int8_t *out, int full) {
    const int32_t *blk = p->blocks;
    const uint32_t m = TQ_INT4_LANES;
    int32_t c = 0;
    for (; c + 4 <= p->depth; c += 4) {
        int32_t a0, a1, a2, a3;
        const uint32_t *w = (const uint32_t *)blk + 4;
        if (k == 9) {
            uint32_t v = w[0];
            MUL4(tq_dsp_load4(taps[0] + c), LANES(v, 0, m), LANES(v, 4, m));
            TAP_ODD(MAC4_AT_C, taps[1], v, m);
            v = w[1];
            TAP_EVEN(MAC4_AT_C, taps[2], v, m);
            TAP_ODD(MAC4_AT_C, taps[3], v, m);
            v = w[2];
            TAP_EVEN(MAC4_AT_C, taps[4], v, m);
            TAP_ODD(MAC4_AT_C, taps[5], v, m);
            v = w[3];
            TAP_EVEN(MAC4_AT_C, taps[6], v, m);
            TAP_ODD(MAC4_AT_C, taps[7], v, m);
            v = w[4];
            TAP_EVEN(MAC4_AT_C, taps[8], v, m);
        } else {
            a0 = a1 = a2 = a3 = 0;
            int32_t t = 0;
            for (; t + 2 <= k; t += 2, ++w) {
                const uint32_t v = *w;
                TAP_EVEN(MAC4, tq_dsp_load4(taps[t] + c), v, m);
                TAP_ODD(MAC4, tq_dsp_load4(taps[t + 1] + c), v, m);
            }
            if (t < k) TAP_EVEN(MAC4, tq_dsp_load4(taps[t] + c), *w, m);
        }
        out = store_block(out, blk, k, a0, a1, a2, a3, p, full);
        blk += BLOCK_WORDS(k);
    }
    return c < p->depth ? tail(p, taps, k, c, blk, out) : out;
}

TQ_INLINE int8_t *pixel_3x3(const params *p, const int8_t *base, int8_t *out, int full) {
    const int32_t depth = p->depth, row = p->input_width * depth;
    const int32_t *blk = p->blocks;
    const uint32_t m = TQ_INT4_LANES;
    for (const int8_t *end = base + (depth & ~3); base < end; base += 4) {
        int32_t a0, a1, a2, a3;
        const uint32_t *w = (const uint32_t *)blk + 4;
        const int8_t *r = base;
        uint32_t v = w[0];
        MUL4(tq_dsp_load4(r), LANES(v, 0, m), LANES(v, 4, m));
        TAP_ODD(MAC4, tq_dsp_load4(r + depth), v, m);
        v = w[1];
        TAP_EVEN(MAC4, tq_dsp_load4(r + 2 * depth), v, m);
        r += row;
        TAP_ODD(MAC4, tq_dsp_load4(r), v, m);
        v = w[2];
        TAP_EVEN(MAC4, tq_dsp_load4(r + depth), v, m);
        TAP_ODD(MAC4, tq_dsp_load4(r + 2 * depth), v, m);
        r += row;
        v = w[3];
        TAP_EVEN(MAC4, tq_dsp_load4(r), v, m);
        TAP_ODD(MAC4, tq_dsp_load4(r + depth), v, m);
        v = w[4];
        TAP_EVEN(MAC4, tq_dsp_load4(r + 2 * depth), v, m);
        out = store_block(out, blk, 9, a0, a1, a2, a3, p, full);
        blk += BLOCK_WORDS(9);
    }
    return out;
}

tq_status tq_depthwise_conv3x3_s8_int4_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return full_range(p) ? run(p, input, output, scratch, 1, 1) : run(p, input, output, scratch, 0, 1);
}

tq_status tq_depthwise_convkxk_s8_int4_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return full_range(p) ? run(p, input, output, scratch, 1, 0) : run(p, input, output, scratch, 0, 0);
}
#else
typedef int tq_depthwise_conv_s8_int4_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
