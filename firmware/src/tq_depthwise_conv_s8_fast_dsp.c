/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on a record prepared at compile time (tq_depthwise_conv_fast.h).
 * Four channels of a pixel at a time: one input word a tap (SXTB16 and SXTB16 ROR 8 give int16 lanes of
 * channels {c, c+2} and {c+1, c+3}), the filter already in those lanes, four SMLABB/SMLATT accumulators
 * started at the folded biases, then tq_requant_fast. Exact: the sums are TFLM's accumulators modulo 2^32
 * (a padded tap reads the zero point, so x * w there cancels its share of the folded bias), and the preparer
 * proved |acc| < 2^30, where tq_requant_fast equals MultiplyByQuantizedMultiplier. */
/* words of one 4-channel record for k taps: bias[4], w[k][2], rows[4][3] */
#define BLOCK_WORDS(k) (4 + 2 * (k) + 12)
#define TQ_SPAN_3X3 1 /* span_3x3 below: run() walks a row's interior pixels (and edge ones) in one call */

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

/* span1_3x3: the full 4-channel blocks (depth >= 4) of count >= 1 interior full-range pixels of a row one pixel
 * at a time, base = the first one's window's top-left pixel (count > 1: no tail, depth % 4 == 0). One asm
 * statement of 14 registers walks them all; between pixels, 9 instructions read the steps, the record's start
 * and the count left from the stack. */
TQ_INLINE int8_t *span1_3x3(const params *p, const int8_t *base, int32_t count, int8_t *out) {
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
/* Two horizontally adjacent pixels a, b (stride 1) of a 4-channel block: pixel b's tap (ky, kx) is pixel
 * a's tap (ky, kx + 1), so per filter row 4 input words and 3 filter words serve 6 taps of each pixel. Two lane
 * passes, P = 0: channels {c, c+2} (SXTB16, the record's w02 words), P = 1: {c+1, c+3} (SXTB16 ROR 8, w13), each
 * with 4 accumulators: a = r0 (low lane), r1 (high lane), b = r2, r3. The sums are those of span1_3x3, in another
 * order (modulo 2^32). M4: about 3.1 estimated cycles a MAC against 4.1 a pixel at a time. */
#define SX0 ""
#define SX1 ", ror #8"
/* where a pair reads its outer columns' input words: column 0 (a's tap kx = 0) and column 3 (b's kx = 2) from the
 * image, or, at a row's left / right edge, the input zero point's word on the stack (the padded tap, as the tap
 * list's zero-point row: x * w there cancels the folded bias's share) */
#define X0_MEM "[%[r]]"
#define X3_MEM "[%[r], %[d3]]"
#define X_ZP "%[zpw]"
/* the record's filter word of lane pass P for tap T (w02 at byte 16 + 8T, w13 4 bytes on) */
#define PW(P, T) "[%[blk], #(16 + 8 * (" #T ") + 4 * " #P ")]"
#define PMAC(ACC0, ACC1, X, W)                                                                                 \
    "smlabb %[" #ACC0 "], %[" #X "], %[" #W "], %[" #ACC0 "]\n\t"                                              \
    "smlatt %[" #ACC1 "], %[" #X "], %[" #W "], %[" #ACC1 "]\n\t"
/* columns 2 and 3 of a filter row (r = its column 0, wq = tap T0 + 1's word), their three loads back to back
 * (pipelined): column 2 is a's tap T0 + 2 and b's T0 + 1, column 3 (in t) b's T0 + 2 */
#define PCOLS23(P, T0, X3)                                                                                     \
    "ldr    %[e], [%[r], %[d], lsl #1]\n\t"                                                                    \
    "ldr    %[wp], " PW(P, T0 + 2) "\n\t"                                                                      \
    "ldr    %[t], " X3 "\n\t"                                                                                  \
    "sxtb16 %[e], %[e]" SX##P "\n\t" PMAC(b0, b1, e, wq) PMAC(a0, a1, e, wp)                                   \
    "sxtb16 %[t], %[t]" SX##P "\n\t" PMAC(b0, b1, t, wp)
/* columns 0 and 1 of a filter row after its loads (column 0 in t, 1 in e, tap T0's word in wp, T0 + 1's in wq) */
#define PCOLS01(P)                                                                                             \
    "sxtb16 %[t], %[t]" SX##P "\n\t" PMAC(a0, a1, t, wp)                                                       \
    "sxtb16 %[e], %[e]" SX##P "\n\t" PMAC(b0, b1, e, wp) PMAC(a0, a1, e, wq)
/* the loads of columns 0 and 1 and of taps T0, T0 + 1's words, back to back */
#define PLOAD01(P, T0, X0)                                                                                     \
    "ldr    %[t], " X0 "\n\t"                                                                                  \
    "ldr    %[wp], " PW(P, T0) "\n\t"                                                                          \
    "ldr    %[e], [%[r], %[d]]\n\t"                                                                            \
    "ldr    %[wq], " PW(P, T0 + 1) "\n\t"
/* a filter row (taps T0..T0 + 2) after the first */
#define PROW(P, T0, X0, X3) PLOAD01(P, T0, X0) PCOLS01(P) PCOLS23(P, T0, X3)
/* a pass's first row: the biases of its lanes start both pixels' sums (b's first products add to them before a's)
 * instead of two MOVs */
#define PROW_FIRST(P, T0, X0, X3)                                                                              \
    "ldr    %[a0], [%[blk], #(4 * " #P ")]\n\t"                                                                \
    "ldr    %[a1], [%[blk], #(8 + 4 * " #P ")]\n\t" PLOAD01(P, T0, X0)                                            \
    "sxtb16 %[t], %[t]" SX##P "\n\t"                                                                           \
    "sxtb16 %[e], %[e]" SX##P "\n\t"                                                                           \
    "smlabb %[b0], %[e], %[wp], %[a0]\n\t"                                                                     \
    "smlatt %[b1], %[e], %[wp], %[a1]\n\t" PMAC(a0, a1, t, wp) PMAC(a0, a1, e, wq) PCOLS23(P, T0, X3)
/* requantize a's and b's sums of channel c + J (one row read for both: e, wp, wq = multiplier, round, shift),
 * store b's at out + depth and a's at out, then out += STEP */
#define PREQ(J, A, B, STEP)                                                                                    \
    "ldr    %[e], [%[blk], #(88 + 12 * " #J ")]\n\t"                                                           \
    "ldr    %[wp], [%[blk], #(92 + 12 * " #J ")]\n\t"                                                          \
    "ldr    %[wq], [%[blk], #(96 + 12 * " #J ")]\n\t"                                                          \
    "smmlar %[t], %[" #A "], %[e], %[wp]\n\t"                                                                  \
    "add    %[" #A "], %[t], %[" #A "], asr #31\n\t"                                                           \
    "asr    %[" #A "], %[" #A "], %[wq]\n\t"                                                                   \
    "ssat   %[" #A "], #8, %[" #A "]\n\t"                                                                      \
    "smmlar %[t], %[" #B "], %[e], %[wp]\n\t"                                                                  \
    "add    %[" #B "], %[t], %[" #B "], asr #31\n\t"                                                           \
    "asr    %[" #B "], %[" #B "], %[wq]\n\t"                                                                   \
    "ssat   %[" #B "], #8, %[" #B "]\n\t"                                                                      \
    "strb   %[" #B "], [%[out], %[d]]\n\t"                                                                     \
    "strb   %[" #A "], [%[out]], #" #STEP "\n\t"

/* the pair loop's statement, the outer columns read from X0, X3 */
#define PAIRS(X0, X3)                                                                                          \
    __asm__ volatile("0:\n\t"                                                                                  \
                     "1:\n\t" PROW_FIRST(0, 0, X0, X3) "add    %[r], %[r], %[row]\n\t" PROW(0, 3, X0, X3)            \
                     "add    %[r], %[r], %[row]\n\t" PROW(0, 6, X0, X3) PREQ(0, a0, b0, 2) PREQ(2, a1, b1, -1)       \
                     PROW_FIRST(1, 6, X0, X3) "sub    %[r], %[r], %[row]\n\t" PROW(1, 3, X0, X3)                     \
                     "sub    %[r], %[r], %[row]\n\t" PROW(1, 0, X0, X3) PREQ(1, a0, b0, 2) PREQ(3, a1, b1, 1)        \
                     "add    %[r], %[r], #4\n\t"                                                                \
                     "add    %[blk], %[blk], #(4 * (4 + 2 * 9 + 12))\n\t"                                       \
                     "ldr    %[t], %[bend]\n\t"                                                                 \
                     "cmp    %[blk], %[t]\n\t"                                                                  \
                     "bne    1b\n\t"                                                                            \
                     "add    %[out], %[out], %[d]\n\t" /* past b's outputs */                                   \
                     "add    %[r], %[r], %[d]\n\t"     /* the next pair's window */                             \
                     "ldr    %[blk], %[blocks]\n\t"                                                             \
                     "ldr    %[t], %[left]\n\t"                                                                 \
                     "subs   %[t], %[t], #1\n\t"                                                                \
                     "str    %[t], %[left]\n\t"                                                                 \
                     "bne    0b\n\t"                                                                            \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [e] "=&r"(e), [wp] "=&r"(wp), \
                       [wq] "=&r"(wq), [t] "=&r"(t), [r] "+r"(r), [blk] "+r"(blk), [out] "+r"(o), [left] "+m"(left) \
                     : [d] "r"(d), [d3] "r"(d3), [row] "r"(rw), [bend] "m"(bend), [blocks] "m"(blocks),          \
                       [zpw] "m"(zpw)                                                                         \
                     : "cc", "memory")
enum { PAIR_INNER, PAIR_LEFT, PAIR_RIGHT }; /* span2_3x3's pairs: inside, or the padded column left / right */

/* span2_3x3: pairs >= 1 pixel pairs of a row (stride 1, full range, depth % 4 == 0, depth >= 4), base = the first
 * pixel's window's top-left pixel; edge: inside the image, or one pair whose column 0 / 3 is the padding. The even
 * pass walks the filter rows down, the odd one back up; the stores go c, c+2, c+1, c+3 by post-indexed steps.
 * 14 registers; the record's end, its start and the pairs left are read from the stack. */
static __attribute__((noinline)) int8_t *span2_3x3(const params *p, uintptr_t base, int32_t pairs, int8_t *out,
                                                   int edge) {
    const int32_t depth = p->depth;
    const int32_t *const blocks = p->blocks, *const bend = blocks + (depth >> 2) * BLOCK_WORDS(9);
    int32_t left = pairs;
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), b0 __asm__("r2"), b1 __asm__("r3");
    register uint32_t e __asm__("r4"), wp __asm__("r5"), wq __asm__("r6"), t __asm__("r7");
    register uintptr_t r __asm__("r8") = base;
    register int32_t d __asm__("r9") = depth, d3 __asm__("r10") = 3 * depth, rw __asm__("r11") = p->input_width * depth;
    register const int32_t *blk __asm__("r12") = blocks;
    register int8_t *o __asm__("r14") = out;
    const uint32_t zpw = (uint8_t)p->input_zero_point * 0x01010101u; /* the padded tap's input word */
    if (edge == PAIR_INNER)
        PAIRS(X0_MEM, X3_MEM);
    else if (edge == PAIR_LEFT)
        PAIRS(X_ZP, X3_MEM);
    else
        PAIRS(X0_MEM, X_ZP);
    return o;
}

/* a stride-1 interior row from pixel ox (the first interior one or the border one before it) by pairs: the left
 * border pixel (ox = inner_x0 - 1, its window's column 0 the padding) with the first interior one, the right
 * border one (inner_x1, its column 2 the padding) with the last, the odd one out alone; *end as span_3x3's */
static __attribute__((noinline)) int8_t *row_pairs_3x3(const params *p, uintptr_t at, int32_t ox, int32_t *end,
                                                       int8_t *out) {
    const int32_t d = p->depth, x1 = p->inner_x1;
    int32_t n = x1 - ox; /* ox .. the last interior pixel */
    *end = ox;
    if (ox < p->inner_x0) { /* in_x = -1 */
        if (n < 2) return out; /* no interior pixel to pair with: the border path's */
        out = span2_3x3(p, at, 1, out, PAIR_LEFT);
        at += (uintptr_t)(2 * d), n -= 2;
    }
    const int right = x1 < p->output_width && n >= 1; /* pixel x1 reads one padded column, x1 - 1 none */
    n -= right;
    if (n > 1) {
        out = span2_3x3(p, at, n >> 1, out, PAIR_INNER);
        at += (uintptr_t)((n & ~1) * d), n &= 1;
    }
    if (n) out = span1_3x3(p, (const int8_t *)at, 1, out), at += (uintptr_t)d;
    if (right) out = span2_3x3(p, at, 1, out, PAIR_RIGHT);
    *end = x1 + right;
    return out;
}

/* span_3x3 (run's hook, TQ_SPAN_3X3): from pixel ox of an interior row (row: its input row in_y) through the
 * row's interior, full range, depth % 4 == 0; *end = the pixel after the last one done (ox: none). Stride 1:
 * row_pairs_3x3; other strides: the interior one pixel at a time (inline: a call per row cost the stride-2 rows
 * the registers' saves) */
TQ_INLINE int8_t *span_3x3(const params *p, const int8_t *row, int32_t ox, int32_t *end, int8_t *out) {
    const uintptr_t at = (uintptr_t)row + (uintptr_t)(intptr_t)((ox * p->stride_width - p->pad_width) * p->depth);
    if (p->stride_width == 1) return row_pairs_3x3(p, at, ox, end, out);
    *end = p->inner_x1;
    return span1_3x3(p, (const int8_t *)at, p->inner_x1 - ox, out);
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
    if (full) return depth >= 4 ? span1_3x3(p, base, 1, out) : out;
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
