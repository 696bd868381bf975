/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on a record prepared at compile time (tq_depthwise_conv_fast.h).
 * Four channels of a pixel at a time: one input word a tap (SXTB16 and SXTB16 ROR 8 give int16 lanes of
 * channels {c, c+2} and {c+1, c+3}), the filter already in those lanes, four SMLABB/SMLATT accumulators
 * started at the folded biases, then tq_requant_fast. Exact: the sums are TFLM's accumulators modulo 2^32
 * (a padded tap reads the zero point, so x * w there cancels its share of the folded bias), and the preparer
 * proved |acc| < 2^30, where tq_requant_fast equals MultiplyByQuantizedMultiplier. */
/* words of one 4-channel record for k taps: bias[4], w[k][2], rows[4][3] */
#define BLOCK_WORDS(k) (4 + 2 * (k) + 12)
#define TQ_SPAN_3X3 1 /* span_3x3 below: run() walks a row's interior pixels in one call */

#include "tq_depthwise_fast_dsp.h"

#if defined(__ARM_FEATURE_DSP)

/* the last depth % 4 channels, one at a time, from the zero-padded last record */
static int8_t *tail(const params *p, const int8_t *const *taps, int32_t k, int32_t c, const int32_t *blk,
                    int8_t *out) {
    for (int32_t j = 0; c + j < p->depth; ++j) {
        uint32_t acc = (uint32_t)blk[j]; /* doubled, as the weights */
        const int32_t *w = blk + 4 + (j & 1); /* lanes: c -> w02 low, c+1 -> w13 low, c+2 -> w02 high, ... */
        for (int32_t t = 0; t < k; ++t) {
            const int32_t wt = (j & 2) ? (w[2 * t] >> 16) : (int16_t)w[2 * t];
            acc += (uint32_t)(taps[t][c + j] * wt);
        }
        *out++ = finish((int32_t)acc, blk + 4 + 2 * k + 3 * j, p, 0);
    }
    return out;
}

/* tap T of a 4-channel block through the tap list: its pointer, the input word at channel c, the record's two
 * filter words for tap T (at word 4 + 2T), then MAC4's six instructions */
#define TAP9(T)                                                                                                \
    "ldr    %[x], [%[taps], #(4 * " #T ")]\n\t"                                                                \
    "ldr    %[x], [%[x], %[c]]\n\t"                                                                            \
    "ldrd   %[w02], %[w13], [%[blk], #(16 + 8 * (" #T "))]\n\t"                                              \
    "sxtb16 %[e], %[x]\n\t"                                                                                    \
    "sxtb16 %[o], %[x], ror #8\n\t"                                                                            \
    "smlabb %[a0], %[e], %[w02], %[a0]\n\t"                                                                    \
    "smlatt %[a2], %[e], %[w02], %[a2]\n\t"                                                                    \
    "smlabb %[a1], %[o], %[w13], %[a1]\n\t"                                                                    \
    "smlatt %[a3], %[o], %[w13], %[a3]\n\t"

/* the 9 taps of one 4-channel block in one statement, 9 instructions a tap: GCC 12, given the nine MAC4_AT
 * statements, spills and reloads around them (about 186 instructions a block instead of 81 + the requantization) */
static inline __attribute__((always_inline)) void mac9_taps(const int8_t *const *taps, int32_t c, const int32_t *blk,
                                                            int32_t *s0, int32_t *s1, int32_t *s2, int32_t *s3) {
    int32_t a0 = *s0, a1 = *s1, a2 = *s2, a3 = *s3;
    uint32_t x, e, o, w02, w13;
    __asm__ volatile(TAP9(0) TAP9(1) TAP9(2) TAP9(3) TAP9(4) TAP9(5) TAP9(6) TAP9(7) TAP9(8)
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x), [e] "=&r"(e),
                       [o] "=&r"(o), [w02] "=&r"(w02), [w13] "=&r"(w13)
                     : [taps] "r"(taps), [c] "r"(c), [blk] "r"(blk)
                     : "memory");
    *s0 = a0, *s1 = a1, *s2 = a2, *s3 = a3;
}

/* The full-range loops (full: the clamp is SSAT alone) walk a pixel's 4-channel blocks in one asm statement,
 * reading each record once from start to end: the biases by one LDM (LDRD on the dual-issue M7, where LDM costs
 * more), the taps' filter words by post-indexed LDRD, each channel's row {multiplier, round, shift} by one LDM
 * into r4-r6 (ascending: the register variables below fix the allocation), then SMMLAR, ADD, ASR, SSAT and a
 * post-indexed STRB: 6 instructions and 9 estimated M4 cycles an output, against 7 and 10 through store4. */
#if defined(TQ_DUAL_ISSUE)
#define LD_BIAS "ldrd   %[a0], %[a1], [%[blk]], #16\n\t" "ldrd   %[a2], %[a3], [%[blk], #-8]\n\t"
#define LD_ROW "ldrd   %[x], %[e], [%[blk]], #12\n\t" "ldr    %[w02], [%[blk], #-4]\n\t"
#else
#define LD_BIAS "ldmia  %[blk]!, {%[a0], %[a1], %[a2], %[a3]}\n\t"
#define LD_ROW "ldmia  %[blk]!, {%[x], %[e], %[w02]}\n\t"
#endif
/* tq_requant_fast2 of accumulator A (x = multiplier, e = round, w02 = shift), saturated and stored */
#define REQ(A)                                                                                                 \
    LD_ROW "smmlar %[x], %[" #A "], %[x], %[e]\n\t"                                                            \
    "add    %[x], %[x], %[" #A "], asr #31\n\t"                                                                \
    "asr    %[x], %[x], %[w02]\n\t"                                                                            \
    "ssat   %[x], #8, %[x]\n\t"                                                                                \
    "strb   %[x], [%[out]], #1\n\t"
#define REQ4 REQ(a0) REQ(a1) REQ(a2) REQ(a3)
/* the six products of a tap whose input word is in x, its filter words read from blk (post-indexed) */
#define MACW                                                                                                   \
    "ldrd   %[w02], %[w13], [%[blk]], #8\n\t"                                                                  \
    "sxtb16 %[e], %[x]\n\t"                                                                                    \
    "sxtb16 %[x], %[x], ror #8\n\t"                                                                            \
    "smlabb %[a0], %[e], %[w02], %[a0]\n\t"                                                                    \
    "smlatt %[a2], %[e], %[w02], %[a2]\n\t"                                                                    \
    "smlabb %[a1], %[x], %[w13], %[a1]\n\t"                                                                    \
    "smlatt %[a3], %[x], %[w13], %[a3]\n\t"
#define BLOCK_REGS                                                                                             \
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");                  \
    register uint32_t x __asm__("r4"), e __asm__("r5"), w02 __asm__("r6"), w13 __asm__("r7")
#define BLOCK_OUTS                                                                                             \
    [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x), [e] "=&r"(e),               \
        [w02] "=&r"(w02), [w13] "=&r"(w13)

/* tap T of the tap list at channel offset c */
#define TAPL(T) "ldr    %[x], [%[taps], #(4 * " #T ")]\n\t" "ldr    %[x], [%[x], %[c]]\n\t" MACW

/* the full 4-channel blocks (n >= 1) of a full-range pixel through its 9-tap list: 13 registers */
TQ_INLINE int8_t *blocks_taps9(const int8_t *const *taps, int32_t n, const int32_t *blocks, int8_t *out) {
    BLOCK_REGS;
    register const int8_t *const *tp __asm__("r8") = taps;
    register int32_t c __asm__("r9") = 0, end __asm__("r10") = 4 * n;
    register const int32_t *blk __asm__("r11") = blocks;
    register int8_t *o __asm__("r12") = out;
    __asm__ volatile("1:\n\t" LD_BIAS TAPL(0) TAPL(1) TAPL(2) TAPL(3) TAPL(4) TAPL(5) TAPL(6) TAPL(7) TAPL(8)
                     REQ4 "add    %[c], %[c], #4\n\t"
                     "cmp    %[c], %[end]\n\t"
                     "bne    1b\n\t"
                     : BLOCK_OUTS, [c] "+r"(c), [blk] "+r"(blk), [out] "+r"(o)
                     : [taps] "r"(tp), [end] "r"(end)
                     : "cc", "memory");
    return o;
}

/* tap of an interior 3x3 block at ADDR */
#define TAPR(ADDR) "ldr    %[x], " ADDR "\n\t" MACW
#define ROWR TAPR("[%[r]]") TAPR("[%[r], %[d]]") TAPR("[%[r], %[d], lsl #1]")

/* BLOCKS3: the full 4-channel blocks of an interior 3x3 pixel, r = its window's top-left pixel, to r = end, 103
 * instructions a block (the rows' pointer r stepped by row and back, then 4 on) */
#define BLOCKS3                                                                                                \
    "1:\n\t" LD_BIAS ROWR "add    %[r], %[r], %[row]\n\t" ROWR "add    %[r], %[r], %[row]\n\t" ROWR            \
    "sub    %[r], %[r], %[row], lsl #1\n\t"                                                                    \
    "add    %[r], %[r], #4\n\t" REQ4 "cmp    %[r], %[end]\n\t"                                                 \
    "bne    1b\n\t"

/* span_3x3 (run's hook, TQ_SPAN_3X3): the full 4-channel blocks (depth >= 4) of count >= 1 interior full-range
 * pixels of a row, base = the first one's window's top-left pixel (count > 1: no tail, depth % 4 == 0). One asm
 * statement of 14 registers walks them all; between pixels, 9 instructions read the steps, the record's start
 * and the count left from the stack. */
TQ_INLINE int8_t *span_3x3(const params *p, const int8_t *base, int32_t count, int8_t *out) {
    const int32_t depth = p->depth, step = p->stride_width * depth;
    const int32_t *const blocks = p->blocks;
    const int32_t full4 = depth & ~3, back = step - full4; /* r: the window's start + full4 after the blocks */
    int32_t left = count;
    BLOCK_REGS;
    register const int8_t *r __asm__("r8") = base;
    register int32_t d __asm__("r9") = depth, rw __asm__("r10") = p->input_width * depth;
    register const int32_t *blk __asm__("r11") = blocks;
    register int8_t *o __asm__("r12") = out;
    register const int8_t *end __asm__("r14") = base + full4;
    __asm__ volatile("0:\n\t" BLOCKS3 "ldr    %[x], %[back]\n\t"
                     "ldr    %[e], %[step]\n\t"
                     "ldr    %[blk], %[blocks]\n\t"
                     "add    %[r], %[r], %[x]\n\t"
                     "add    %[end], %[end], %[e]\n\t"
                     "ldr    %[x], %[left]\n\t"
                     "subs   %[x], %[x], #1\n\t"
                     "str    %[x], %[left]\n\t"
                     "bne    0b\n\t"
                     : BLOCK_OUTS, [r] "+r"(r), [blk] "+r"(blk), [out] "+r"(o), [end] "+r"(end), [left] "+m"(left)
                     : [d] "r"(d), [row] "r"(rw), [back] "m"(back), [step] "m"(step), [blocks] "m"(blocks)
                     : "cc", "memory");
    return o;
}
/* all channels of a pixel through its tap list (any filter, border pixels of the 3x3 path); 9 taps unrolled */
TQ_INLINE int8_t *pixel_taps(const params *p, const int8_t *const *taps, int32_t k, int8_t *out, int full) {
    const int32_t *blk = p->blocks;
    int32_t c = 0;
    if (full && k == 9) {
        const int32_t n = p->depth >> 2;
        if (n > 0) out = blocks_taps9(taps, n, blk, out);
        c = 4 * n, blk += n * BLOCK_WORDS(9);
    }
    for (; c + 4 <= p->depth; c += 4) {
        int32_t a0 = blk[0], a1 = blk[1], a2 = blk[2], a3 = blk[3];
        const int32_t *w = blk + 4;
        if (k == 9) {
            mac9_taps(taps, c, blk, &a0, &a1, &a2, &a3);
            w += 18;
        } else {
            for (int32_t t = 0; t < k; ++t, w += 2) MAC4(tq_dsp_load4(taps[t] + c), w[0], w[1]);
        }
        out = store4(out, w, a0, a1, a2, a3, p, full);
        blk = w + 12;
    }
    return c < p->depth ? tail(p, taps, k, c, blk, out) : out;
}

/* tap T of an interior 3x3 block: the input word at ADDR, the record's filter words for tap T, MAC4's six */
#define TAP3(ADDR, T)                                                                                          \
    "ldr    %[x], " ADDR "\n\t"                                                                                \
    "ldrd   %[w02], %[w13], [%[blk], #(16 + 8 * (" #T "))]\n\t"                                              \
    "sxtb16 %[e], %[x]\n\t"                                                                                    \
    "sxtb16 %[o], %[x], ror #8\n\t"                                                                            \
    "smlabb %[a0], %[e], %[w02], %[a0]\n\t"                                                                    \
    "smlatt %[a2], %[e], %[w02], %[a2]\n\t"                                                                    \
    "smlabb %[a1], %[o], %[w13], %[a1]\n\t"                                                                    \
    "smlatt %[a3], %[o], %[w13], %[a3]\n\t"
/* a filter row: the taps at r, r + depth, r + 2 depth */
#define ROW3(T0) TAP3("[%[r]]", T0) TAP3("[%[r], %[d]]", T0 + 1) TAP3("[%[r], %[d], lsl #1]", T0 + 2)

/* the full 4-channel blocks of an interior 3x3 pixel (dilation 1): base = its window's top-left pixel. The biases
 * and the 9 taps of a block are one asm statement (8 instructions a tap, 13 registers): GCC, given the nine MAC4
 * statements, kept the row pointers on the stack and copied the biases through a scratch register. */
TQ_INLINE int8_t *pixel_3x3(const params *p, const int8_t *base, int8_t *out, int full) {
    const int32_t depth = p->depth, row = p->input_width * depth;
    const int32_t *blk = p->blocks;
    if (full) return depth >= 4 ? span_3x3(p, base, 1, out) : out;
    for (const int8_t *end = base + (depth & ~3); base < end; base += 4) {
        int32_t a0, a1, a2, a3;
        uint32_t x, e, o, w02, w13;
        const int8_t *r = base;
        __asm__ volatile("ldrd   %[a0], %[a1], [%[blk]]\n\t"
                         "ldrd   %[a2], %[a3], [%[blk], #8]\n\t" ROW3(0)
                         "add    %[r], %[r], %[row]\n\t" ROW3(3)
                         "add    %[r], %[r], %[row]\n\t" ROW3(6)
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x),
                           [e] "=&r"(e), [o] "=&r"(o), [w02] "=&r"(w02), [w13] "=&r"(w13), [r] "+r"(r)
                         : [blk] "r"(blk), [d] "r"(depth), [row] "r"(row)
                         : "memory");
        out = store4(out, blk + 22, a0, a1, a2, a3, p, full);
        blk += BLOCK_WORDS(9);
    }
    return out;
}

tq_status tq_depthwise_conv3x3_s8_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return run_range(p, input, output, scratch, 1);
}

tq_status tq_depthwise_convkxk_s8_dsp(const params *p, const int8_t *input, int8_t *output, void *scratch) {
    return run_range(p, input, output, scratch, 0);
}
#else
typedef int tq_depthwise_conv_fast_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
