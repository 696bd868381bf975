/* DEPTHWISE_CONV_2D int8 with 2-bit weights (int2, ternary, binary), depth multiplier 1, on a record prepared at
 * compile time (tinyq/tq_depthwise_conv_fast.h "2-bit weights", tinyq/specialize/lowbit_dsp.py). The weights stay
 * 2-bit in flash: each is w = m_c * t, t in [-2, 1] (int2: m_c = 1), and one word holds 4 taps of 4 channels. Each
 * int16 lane register a tap multiplies is decoded in one instruction, an AND of the word (shifted by 4s or 4s + 2)
 * with 0xC000C000: t's two bits land at the top of the halfwords, so each lane is 2^14 t exactly. The taps are the
 * int4 kernel's (tq_depthwise_conv_s8_int4_dsp.c: same SXTB16 input lanes, same SMLABB/SMLATT, the first tap a
 * SMULBB/SMULTT), so the accumulators hold A = 2^14 T, T = sum(x * t) over the raw int8 input (padded taps read the
 * zero point). Then one SMMLA gives 2 acc' = 2 f' + hi32(A * 2^(L+19) m) = 2 f' + 2^(L+1) m T, with f' = 2^L f
 * (the folded bias, modulo 2^32) and L the channel's left shift (0 when its shift is a right one): exact because
 * the preparer proved |A| < 2^31 (128 * sum|t| < 2^17) and |acc'| < 2^30. The requantization is tq_requant_fast2's
 * with the negative-tie term masked: (SMMLAR(2 acc', M, round) + (mask AND (2 acc') ASR #31)) >> R, mask = 0 where
 * R = 0 (a left-shifted channel: TFLM's result is SRDHM's alone), -1 elsewhere. */

/* words of one 4-channel record for k taps: per channel {bias2, mag, M, round, mask, R} (pairs that LDRD loads
 * together, at offsets that do not depend on k), then w[ceil(k / 4)] */
#define BLOCK_WORDS(k) (24 + ((k) + 3) / 4)

#include "tq_depthwise_fast_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_INT2_LANES 0xC000C000u

/* The taps are TQ_TAP_ASM and TAP_AT of tq_depthwise_fast_dsp.h (as the int4 kernel's), the lanes decoded with
 * TQ_INT2_LANES. Tap s (0-3) of a word; a pixel's first tap (s = 0): the tap list of other filters than 3x3 */
#define TAP_AT_S(PTR, OFF, W, M, S) TAP_AT(TQ_MLA, TQ_PLUS, PTR, OFF, W, M, 4 * (S), 4 * (S) + 2)
#define FIRST_AT(PTR, OFF, W, M) TAP_AT(TQ_MUL, TQ_EARLY, PTR, OFF, W, M, 0, 2)

/* The 9 taps of one 4-channel block in one statement (13 registers), the record's three words loaded inside it:
 * given nine tap statements GCC hoists the words and the block's requantization words ahead of the taps and
 * spills them (checked with objdump). LANES: tap s's two lane registers and four products, x its input word. */
#define TQ_BLOCK_OUT                                                                                           \
    [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x_), [e] "=&r"(e_),            \
        [l] "=&r"(l_), [w] "=&r"(w_)
#define WORD(I) "ldr    %[w], [%[blk], #(96 + " #I ")]\n\t"

/* a block through the tap list (9 taps): tap T's pointer, its input word at channel c */
#define TAPL(T) "ldr    %[x], [%[taps], #(4 * " #T ")]\n\tldr    %[x], [%[x], %[c]]"
#define BLOCK9_TAPS(TAPS, C, BLK, M)                                                                           \
    do {                                                                                                       \
        int32_t x_, e_, l_, w_;                                                                                \
        __asm__ volatile(WORD(0) TQ_TAP_ASM(TAPL(0), TQ_MUL, 0, 2) TQ_TAP_ASM(TAPL(1), TQ_MLA, 4, 6)         \
                         TQ_TAP_ASM(TAPL(2), TQ_MLA, 8, 10) TQ_TAP_ASM(TAPL(3), TQ_MLA, 12, 14) WORD(4)       \
                         TQ_TAP_ASM(TAPL(4), TQ_MLA, 0, 2) TQ_TAP_ASM(TAPL(5), TQ_MLA, 4, 6)                  \
                         TQ_TAP_ASM(TAPL(6), TQ_MLA, 8, 10) TQ_TAP_ASM(TAPL(7), TQ_MLA, 12, 14) WORD(8)       \
                         TQ_TAP_ASM(TAPL(8), TQ_MLA, 0, 2)                                                    \
                         : TQ_BLOCK_OUT                                                                       \
                         : [taps] "r"(TAPS), [c] "r"(C), [blk] "r"(BLK), [m] "r"(M)                           \
                         : "memory");                                                                         \
    } while (0)

/* an interior 3x3 block (dilation 1): the taps at r, r + d, r + 2d of three rows `row` bytes apart */
#define AT0 "ldr    %[x], [%[r]]"
#define AT1 "ldr    %[x], [%[r], %[d]]"
#define AT2 "ldr    %[x], [%[r], %[d], lsl #1]"
#define NEXT_ROW "add    %[r], %[r], %[row]\n\t"
#define BLOCK3X3(R, D, ROW, BLK, M)                                                                            \
    do {                                                                                                       \
        int32_t x_, e_, l_, w_;                                                                                \
        __asm__ volatile(WORD(0) TQ_TAP_ASM(AT0, TQ_MUL, 0, 2) TQ_TAP_ASM(AT1, TQ_MLA, 4, 6)                 \
                         TQ_TAP_ASM(AT2, TQ_MLA, 8, 10) NEXT_ROW TQ_TAP_ASM(AT0, TQ_MLA, 12, 14) WORD(4)       \
                         TQ_TAP_ASM(AT1, TQ_MLA, 0, 2) TQ_TAP_ASM(AT2, TQ_MLA, 4, 6) NEXT_ROW                 \
                         TQ_TAP_ASM(AT0, TQ_MLA, 8, 10) TQ_TAP_ASM(AT1, TQ_MLA, 12, 14) WORD(8)               \
                         TQ_TAP_ASM(AT2, TQ_MLA, 0, 2)                                                        \
                         : TQ_BLOCK_OUT, [r] "+r"(R)                                                          \
                         : [d] "r"(D), [row] "r"(ROW), [blk] "r"(BLK), [m] "r"(M)                             \
                         : "memory");                                                                         \
    } while (0)

/* channel j's output from its accumulator a = 2^14 T and its words ch = blk + 6j = {bias2, mag, M, round, mask, R}:
 * 2 acc' = SMMLA(a, mag, bias2), then (SMMLAR(2 acc', M, round) + (mask AND 2 acc' ASR #31)) >> R, then the output
 * offset added and clamped (clamp_out of tq_depthwise_fast_dsp.h). One statement, the three word pairs
 * loaded with LDRD: GCC, given the C, loaded the pair {mask, R} with two LDRs. */
#define FINISH2(A, BLK, J, P, FULL) finish2(A, BLK, 24 * (J), P, FULL)
TQ_INLINE int8_t finish2(int32_t a, const int32_t *blk, const int32_t off, const params *p, int full) {
    int32_t v, g, s;
    __asm__("ldrd   %[v], %[g], [%[ch], #%c[o]]\n\t"
            "smmla  %[a], %[a], %[g], %[v]\n\t"
            "ldrd   %[v], %[g], [%[ch], #(%c[o] + 8)]\n\t"
            "smmlar %[v], %[a], %[v], %[g]\n\t"
            "ldrd   %[g], %[s], [%[ch], #(%c[o] + 16)]\n\t"
            "and    %[g], %[g], %[a], asr #31\n\t"
            "add    %[v], %[v], %[g]\n\t"
            "asr    %[v], %[v], %[s]"
            : [a] "+&r"(a), [v] "=&r"(v), [g] "=&r"(g), [s] "=&r"(s)
            : [ch] "r"(blk), [o] "i"(off), "m"(*(const int32_t(*)[6])(blk + off / 4)));
    return clamp_out(v, p, full);
}

TQ_INLINE int8_t *store_block(int8_t *out, const int32_t *blk, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                              const params *p, int full) {
    out[0] = FINISH2(a0, blk, 0, p, full);
    out[1] = FINISH2(a1, blk, 1, p, full);
    out[2] = FINISH2(a2, blk, 2, p, full);
    out[3] = FINISH2(a3, blk, 3, p, full);
    return out + 4;
}

/* t of tap t, channel j of a record's words w (the bits the taps AND into their lane) */
static inline int32_t level(const int32_t *w, int32_t t, int32_t j) {
    const uint32_t l = ((uint32_t)w[t >> 2] << (4 * (t & 3) + 2 * (j & 1))) & TQ_INT2_LANES;
    return (j & 2) ? (int32_t)l >> 30 : (int32_t)(l << 16) >> 30;
}

static int8_t *tail(const params *p, const int8_t *const *taps, int32_t k, int32_t c, const int32_t *blk,
                    int8_t *out) {
    for (int32_t j = 0; c + j < p->depth; ++j) {
        int32_t sum = 0; /* |2^14 sum| < 2^31, proved */
        for (int32_t t = 0; t < k; ++t) sum += taps[t][c + j] * level(blk + 24, t, j);
        *out++ = FINISH2((int32_t)((uint32_t)sum << 14), blk + 6 * j, 0, p, 0);
    }
    return out;
}

TQ_INLINE int8_t *pixel_taps(const params *p, const int8_t *const *taps, int32_t k, int8_t *out, int full) {
    const int32_t *blk = p->blocks;
    const uint32_t m = TQ_INT2_LANES;
    int32_t c = 0;
    for (; c + 4 <= p->depth; c += 4) {
        int32_t a0, a1, a2, a3;
        if (k == 9) {
            BLOCK9_TAPS(taps, c, blk, m);
        } else {
            const uint32_t *w = (const uint32_t *)blk + 24;
            uint32_t v = w[0];
            FIRST_AT(taps[0], c, v, m); /* k >= 1 */
            int32_t t = 1;
            for (; t + 4 <= k; t += 4) { /* taps t..t+3: the rest of this word, then the next one's first */
                TAP_AT_S(taps[t], c, v, m, 1);
                TAP_AT_S(taps[t + 1], c, v, m, 2);
                TAP_AT_S(taps[t + 2], c, v, m, 3);
                v = *++w;
                TAP_AT_S(taps[t + 3], c, v, m, 0);
            }
            if (t < k) TAP_AT_S(taps[t], c, v, m, 1);
            if (t + 1 < k) TAP_AT_S(taps[t + 1], c, v, m, 2);
            if (t + 2 < k) TAP_AT_S(taps[t + 2], c, v, m, 3);
        }
        out = store_block(out, blk, a0, a1, a2, a3, p, full);
        blk += BLOCK_WORDS(k);
    }
    return c < p->depth ? tail(p, taps, k, c, blk, out) : out;
}

TQ_INLINE int8_t *pixel_3x3(const params *p, const int8_t *base, int8_t *out, int full) {
    const int32_t depth = p->depth, row = p->input_width * depth;
    const int32_t *blk = p->blocks;
    const uint32_t m = TQ_INT2_LANES;
    for (const int8_t *end = base + (depth & ~3); base < end; base += 4) {
        int32_t a0, a1, a2, a3;
        const int8_t *r = base;
        BLOCK3X3(r, depth, row, blk, m);
        out = store_block(out, blk, a0, a1, a2, a3, p, full);
        blk += BLOCK_WORDS(9);
    }
    return out;
}

tq_status tq_depthwise_conv3x3_s8_int2_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return run_range(p, input, output, scratch, 1);
}

tq_status tq_depthwise_convkxk_s8_int2_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return run_range(p, input, output, scratch, 0);
}
#else
typedef int tq_depthwise_conv_s8_int2_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
