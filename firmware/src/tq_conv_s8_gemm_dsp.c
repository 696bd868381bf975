/* CONV_2D int8 as a GEMM (pixels x output channels) on the Arm DSP extension, parameters prepared at compile time
 * (tinyq/specialize/conv_dsp.py, tinyq/tq_conv_gemm.h).
 *
 * Two output pixels at a time: their patches are widened once into scratch as doubled int16 pairs, taps {0, 2}
 * and {1, 3} of each group of four (SXTB16, SXTB16 ROR #8, SADD16), interleaved pixel by pixel. Each pair of
 * output channels then runs one loop over the groups (pairs_asm, two groups a pass): per group, one weight word per channel widened
 * the same way (the same byte lanes on both sides, so no reordering) and 8 SMLAD for 16 multiply-accumulates.
 * Two pixels x two channels is what fits the registers (4 accumulators, 4 input words, 3 for the weights, 3
 * pointers = 14); a larger block spills.
 *
 * Exactness: the accumulator starts at 2 * the folded bias (bias + input_offset * sum(w), modulo 2^32) and adds
 * 2x * w on the raw int8 inputs, wrapping like SMLAD: 2 * TFLM's bias + sum((x + input_offset) * w) modulo 2^32.
 * That sum is proved below 2^30 in magnitude (tinyq/specialize/requant.py), so twice it is the same int32, the
 * one tq_requant_fast computes first; padded taps read the input zero point, whose (x + input_offset) is 0 as in
 * TFLM's skipped taps; the zero taps that pad a row to a multiple of 4 add 0. */
#include "tq_conv_gemm_dsp.h"

#if defined(__ARM_FEATURE_DSP)

/* taps 0, 2 and 1, 3 of v, doubled (|2x| <= 256 fits an int16 lane): the sums come out as 2 * acc, which
 * tq_requant_fast would compute first (see requant) */
static inline void widen_word(uint32_t *slot, uint32_t v) {
    const uint32_t e = even_lanes(v), o = odd_lanes(v);
    slot[0] = (uint32_t)__sadd16((int16x2_t)e, (int16x2_t)e);
    slot[1] = (uint32_t)__sadd16((int16x2_t)o, (int16x2_t)o);
}

/* one pixel's patch, `words` groups of 4 int8 taps (any alignment), into its slot of the interleaved int16 buffer:
 * two words a pass in assembly, 7 instructions a word (GCC's loop takes 10) */
static void widen(uint32_t *slot, const int8_t *src, int32_t words) {
    if (words & 1) {
        widen_word(slot, load4(src));
        slot += 4, src += 4;
    }
    int32_t n = words >> 1;
    if (n == 0) return;
    uint32_t e0, o0, e1, o1;
    __asm__ volatile("1:\n\t"
                     "ldr    %[e0], [%[src]], #4\n\t" /* unaligned LDR: allowed on Armv7-M / Armv8-M Mainline */
                     "ldr    %[e1], [%[src]], #4\n\t"
                     "sxtb16 %[o0], %[e0], ror #8\n\t"
                     "sxtb16 %[e0], %[e0]\n\t"
                     "sxtb16 %[o1], %[e1], ror #8\n\t"
                     "sxtb16 %[e1], %[e1]\n\t"
                     "sadd16 %[e0], %[e0], %[e0]\n\t"
                     "sadd16 %[o0], %[o0], %[o0]\n\t"
                     "sadd16 %[e1], %[e1], %[e1]\n\t"
                     "sadd16 %[o1], %[o1], %[o1]\n\t"
                     "strd   %[e0], %[o0], [%[slot]], #16\n\t"
                     "strd   %[e1], %[o1], [%[slot]], #16\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "bne    1b"
                     : [src] "+r"(src), [slot] "+r"(slot), [n] "+r"(n), [e0] "=&r"(e0), [o0] "=&r"(o0),
                       [e1] "=&r"(e1), [o1] "=&r"(o1)
                     :
                     : "cc", "memory");
}

/* the same for a patch of n taps not a multiple of 4: the last group zero-filled (its weights are 0) */
static void widen_tail(uint32_t *slot, const int8_t *src, int32_t n) {
    widen(slot, src, n >> 2);
    if (n & 3) {
        uint32_t v = 0;
        for (int32_t k = n & ~3; k < n; ++k) v |= (uint32_t)(uint8_t)src[k] << (8 * (k & 3));
        widen_word(slot + 4 * (n >> 2), v);
    }
}

/* One group of 4 taps of one channel pair, both pixels: 2 LDRD of the pixels' widened words, one LDRD of the pair's
 * weight words, 4 SXTB16, 8 SMLAD (15 instructions for 16 multiply-accumulates). The operand names are those of
 * pairs_asm below. */
#define TQ_GEMM_GROUP                                                                                               \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                                                          \
    "ldrd   %[xae], %[xao], [%[xp]], #8\n\t"                                                                        \
    "ldrd   %[xbe], %[xbo], [%[xp]], #8\n\t"                                                                        \
    "sxtb16 %[t], %[w0]\n\t"                                                                                        \
    "smlad  %[a0], %[xae], %[t], %[a0]\n\t"                                                                         \
    "smlad  %[b0], %[xbe], %[t], %[b0]\n\t"                                                                         \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                                               \
    "smlad  %[a0], %[xao], %[w0], %[a0]\n\t"                                                                        \
    "smlad  %[b0], %[xbo], %[w0], %[b0]\n\t"                                                                        \
    "sxtb16 %[t], %[w1]\n\t"                                                                                        \
    "smlad  %[a1], %[xae], %[t], %[a1]\n\t"                                                                         \
    "smlad  %[b1], %[xbe], %[t], %[b1]\n\t"                                                                         \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                                               \
    "smlad  %[a1], %[xao], %[w1], %[a1]\n\t"                                                                        \
    "smlad  %[b1], %[xbo], %[w1], %[b1]\n\t"

/* The same group with the weights widened at compile time (tq_conv_gemm.h "int16 weights"): per channel its even
 * and odd lane words by one LDRD, no SXTB16 (12 instructions for 16 multiply-accumulates, 20 cycles on the M4
 * against 21: an LDRD for four SXTB16). */
#define TQ_GEMM_GROUP_WIDE                                                                                          \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                                                          \
    "ldrd   %[xae], %[xao], [%[xp]], #8\n\t"                                                                        \
    "ldrd   %[xbe], %[xbo], [%[xp]], #8\n\t"                                                                        \
    "smlad  %[a0], %[xae], %[w0], %[a0]\n\t"                                                                        \
    "smlad  %[b0], %[xbe], %[w0], %[b0]\n\t"                                                                        \
    "smlad  %[a0], %[xao], %[w1], %[a0]\n\t"                                                                        \
    "smlad  %[b0], %[xbo], %[w1], %[b0]\n\t"                                                                        \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                                                          \
    "smlad  %[a1], %[xae], %[w0], %[a1]\n\t"                                                                        \
    "smlad  %[b1], %[xbe], %[w0], %[b1]\n\t"                                                                        \
    "smlad  %[a1], %[xao], %[w1], %[a1]\n\t"                                                                        \
    "smlad  %[b1], %[xbo], %[w1], %[b1]\n\t"

/* tq_requant_fast of acc2 = 2 * acc with the output offset folded into the rounding term (conv_dsp.py proves it
 * exact), then SSAT to int8: SMMLAR (h + round), ADD ASR #31, ASR, SSAT. The sign added is acc2's, not h's: they
 * differ only when acc2 < 0 and h = 0 (m >= 0), where round = 2^(rs-1) (+ off * 2^rs) gives the same
 * (round - 1) >> rs = round >> rs. tmp: a register free here (ROWS##_TMP) */
#define TQ_GEMM_REQUANT(acc, m, rnd, rs, tmp)                                                                       \
    "smmlar %[" tmp "], %[" acc "], %[" m "], %[" rnd "]\n\t"                                                   \
    "add    %[" acc "], %[" tmp "], %[" acc "], asr #31\n\t"                                                      \
    "asr    %[" acc "], %[" acc "], %[" rs "]\n\t"                                                                \
    "ssat   %[" acc "], #8, %[" acc "]\n\t"

/* the activation clamp beyond SSAT's int8 range: max(lo), min(hi) */
#define TQ_GEMM_CLAMP(acc)                                                                                          \
    "cmp    %[" acc "], %[xae]\n\t"                                                                                 \
    "it     lt\n\t"                                                                                                 \
    "movlt  %[" acc "], %[xae]\n\t"                                                                                 \
    "cmp    %[" acc "], %[xao]\n\t"                                                                                 \
    "it     gt\n\t"                                                                                                 \
    "movgt  %[" acc "], %[xao]\n\t"

/* what pairs_asm keeps in memory (the loop needs all 14 registers): GCC addresses this local by SP + offset */
typedef struct {
    const uint32_t *x;     /* the widened pair */
    const int32_t *row;    /* the next channel pair's 8 row words (conv_dsp.py): 2 biases, 2 tq_requant_rows */
    const int32_t *row_end;
    int8_t *oa, *ob;       /* the next outputs of pixels a and b */
    int32_t lo, hi;        /* the activation range (clamp only) */
} pairs_state;

/* Every channel pair of two pixels in one assembly statement: per pair, the biases, the groups two at a time (an
 * odd count: one first), the four requantizations and the four stores. 17 + 15 (groups - 1) + 40 instructions a
 * pair (+24 with the clamp) for 4 * 4 * groups multiply-accumulates. With int16 weights (wide) four groups a loop
 * step (pre = groups % 4 first): half the CMP + BNE, 4 cycles a step. pre and clamp are constants of each caller.
 * Returns the weights after the pairs. GCC 12 does not find the registers for this in C (it spills inside the
 * loop and keeps the block's pointers on the stack: about 14 instructions an output besides the products). */
static inline __attribute__((always_inline)) const uint32_t *pairs_asm(pairs_state *s, const uint32_t *wp,
                                                                       const uint32_t *x_end, int pre, int clamp,
                                                                       int wide) {
    int32_t a0, b0, a1, b1;
    uint32_t xae, xao, xbe, xbo, w0, w1;
    uintptr_t t = (uintptr_t)s->row; /* wide: the row pointer (its groups leave t free), else a scratch register */
    const uint32_t *xp;
/* the channel pair's rows: its biases first, its requant rows after the groups, and the loop's end test; in memory
 * (s->row) for int8 weights, whose groups need every register, in t for int16 weights (3 instructions less) */
#define TQ_MEM_START "ldr    %[xp], %[row]\n\t" "ldrd   %[a0], %[a1], [%[xp]]\n\t"
#define TQ_MEM_NEXT                                                                                                 \
    "ldr    %[xp], %[row]\n\t"                                                                                      \
    "ldrd   %[xae], %[xao], [%[xp], #8]\n\t"                                                                        \
    "ldrd   %[xbe], %[xbo], [%[xp], #16]\n\t"                                                                       \
    "ldrd   %[w0], %[w1], [%[xp], #24]\n\t"                                                                         \
    "add    %[xp], %[xp], #32\n\t"                                                                                  \
    "str    %[xp], %[row]\n\t"
#define TQ_MEM_END "ldr    %[t], %[row_end]\n\t" "cmp    %[xp], %[t]\n\t"
#define TQ_MEM_TMP "t" /* the requantization's scratch: t is reloaded by TQ_MEM_END */
#define TQ_REG_START "ldrd   %[a0], %[a1], [%[t]]\n\t"
#define TQ_REG_NEXT                                                                                                 \
    "ldrd   %[xae], %[xao], [%[t], #8]\n\t"                                                                         \
    "ldrd   %[xbe], %[xbo], [%[t], #16]\n\t"                                                                        \
    "ldrd   %[w0], %[w1], [%[t], #24]\n\t"                                                                          \
    "add    %[t], %[t], #32\n\t"
#define TQ_REG_END "ldr    %[xp], %[row_end]\n\t" "cmp    %[t], %[xp]\n\t"
#define TQ_REG_TMP "xp" /* xp is reloaded by TQ_REG_END */
#define TQ_GEMM_PAIRS(BODY, PRE_GROUPS, CLAMP4, ROWS)                                                               \
    __asm__ volatile(                                                                                               \
        "1:\n\t" ROWS##_START                                                                                       \
        "mov    %[b0], %[a0]\n\t"                                                                                   \
        "mov    %[b1], %[a1]\n\t"                                                                                   \
        "ldr    %[xp], %[x]\n\t" PRE_GROUPS                                                                         \
        "2:\n\t" BODY                                                                                               \
        "cmp    %[xp], %[x_end]\n\t"                                                                                \
        "bne    2b\n\t"                                                                                             \
        "3:\n\t" ROWS##_NEXT                                                                                        \
        TQ_GEMM_REQUANT("a0", "xae", "xao", "xbe", ROWS##_TMP) TQ_GEMM_REQUANT("b0", "xae", "xao", "xbe", ROWS##_TMP) \
        TQ_GEMM_REQUANT("a1", "xbo", "w0", "w1", ROWS##_TMP) TQ_GEMM_REQUANT("b1", "xbo", "w0", "w1", ROWS##_TMP)  \
        CLAMP4                                                                                                      \
        "ldr    %[xbe], %[oa]\n\t"                                                                                  \
        "ldr    %[xbo], %[ob]\n\t"                                                                                  \
        "strb   %[a0], [%[xbe]], #1\n\t"                                                                            \
        "strb   %[a1], [%[xbe]], #1\n\t"                                                                            \
        "strb   %[b0], [%[xbo]], #1\n\t"                                                                            \
        "strb   %[b1], [%[xbo]], #1\n\t"                                                                            \
        "str    %[xbe], %[oa]\n\t"                                                                                  \
        "str    %[xbo], %[ob]\n\t"                                                                                  \
        ROWS##_END                                                                                                  \
        "bne    1b"                                                                                                 \
        : [a0] "=&r"(a0), [b0] "=&r"(b0), [a1] "=&r"(a1), [b1] "=&r"(b1), [xp] "=&r"(xp), [wp] "+r"(wp),           \
          [xae] "=&r"(xae), [xao] "=&r"(xao), [xbe] "=&r"(xbe), [xbo] "=&r"(xbo), [w0] "=&r"(w0), [w1] "=&r"(w1),  \
          [t] "+&r"(t), [row] "+m"(s->row), [oa] "+m"(s->oa), [ob] "+m"(s->ob)                                      \
        : [x_end] "r"(x_end), [x] "m"(s->x), [row_end] "m"(s->row_end), [lo] "m"(s->lo), [hi] "m"(s->hi)           \
        : "cc", "memory")
#define TQ_GEMM_PRE(GROUPS) GROUPS "cmp    %[xp], %[x_end]\n\t" "beq    3f\n\t"
#define TQ_GEMM_CLAMP4                                                                                              \
    "ldr    %[xae], %[lo]\n\t"                                                                                      \
    "ldr    %[xao], %[hi]\n\t" TQ_GEMM_CLAMP("a0") TQ_GEMM_CLAMP("b0") TQ_GEMM_CLAMP("a1") TQ_GEMM_CLAMP("b1")
#define TQ_GEMM_CASE(BODY, PRE_GROUPS, ROWS)                                                                              \
    do {                                                                                                            \
        if (clamp) TQ_GEMM_PAIRS(BODY, PRE_GROUPS, TQ_GEMM_CLAMP4, ROWS);                                                 \
        else TQ_GEMM_PAIRS(BODY, PRE_GROUPS, "", ROWS);                                                                  \
    } while (0)
#define G TQ_GEMM_GROUP
#define W TQ_GEMM_GROUP_WIDE
    if (!wide) {
        if (pre) TQ_GEMM_CASE(G G, TQ_GEMM_PRE(G), TQ_MEM);
        else TQ_GEMM_CASE(G G, "", TQ_MEM);
    } else if (pre == 0) {
        TQ_GEMM_CASE(W W W W, "", TQ_REG);
    } else if (pre == 1) {
        TQ_GEMM_CASE(W W W W, TQ_GEMM_PRE(W), TQ_REG);
    } else if (pre == 2) {
        TQ_GEMM_CASE(W W W W, TQ_GEMM_PRE(W W), TQ_REG);
    } else {
        TQ_GEMM_CASE(W W W W, TQ_GEMM_PRE(W W W), TQ_REG);
    }
#undef G
#undef W
#undef TQ_GEMM_CASE
#undef TQ_GEMM_PAIRS
#undef TQ_GEMM_PRE
#undef TQ_MEM_START
#undef TQ_MEM_NEXT
#undef TQ_MEM_END
#undef TQ_REG_START
#undef TQ_REG_NEXT
#undef TQ_REG_END
#undef TQ_MEM_TMP
#undef TQ_REG_TMP
#undef TQ_GEMM_CLAMP4
    return wp;
}

/* an odd last channel (its row: bias, tq_requant_row) of both pixels, in C */
static inline __attribute__((always_inline)) void last_channel(const int32_t *row, const uint32_t *w,
                                                               const uint32_t *x, const uint32_t *x_end, int8_t *oa,
                                                               int8_t *ob, int32_t out_off, int full, int32_t lo,
                                                               int32_t hi, int wide) {
    int32_t a0 = row[0], b0 = a0;
    for (const uint32_t *xp = x; xp != x_end; xp += 4, w += wide ? 2 : 1) {
        const uint32_t we = wide ? w[0] : even_lanes(w[0]), wo = wide ? w[1] : odd_lanes(w[0]);
        a0 = __smlad((int16x2_t)xp[0], (int16x2_t)we, a0);
        a0 = __smlad((int16x2_t)xp[1], (int16x2_t)wo, a0);
        b0 = __smlad((int16x2_t)xp[2], (int16x2_t)we, b0);
        b0 = __smlad((int16x2_t)xp[3], (int16x2_t)wo, b0);
    }
    const int8_t ya0 = clamp(requant(a0, row[1], row[2], row[3], out_off), full, lo, hi);
    const int8_t yb0 = clamp(requant(b0, row[1], row[2], row[3], out_off), full, lo, hi);
    oa[0] = ya0, ob[0] = yb0;
}

/* Two pixels' patches (x, interleaved) times every output channel; pixel a's outputs to oa, b's to ob. pre: the
 * groups the channel pairs' loop runs before its first step (groups % 2, wide: groups % 4). The output offset is in the rows' rounding terms (p->output_offset == 0). */
static inline __attribute__((always_inline)) void gemm_2px(const tq_conv_gemm_params *p, const uint32_t *x,
                                                           int8_t *oa, int8_t *ob, int full, int pre, int wide) {
    const uint32_t *const x_end = x + p->patch_padded; /* 4 words a group of 4 taps */
    const int32_t pairs = p->output_depth >> 1;
    const uint32_t *w = (const uint32_t *)p->weights;
    if (pairs) {
        pairs_state s = {x, p->rows, p->rows + 8 * pairs, oa, ob, p->act_min, p->act_max};
        w = pairs_asm(&s, w, x_end, pre, !full, wide); /* patch_padded >= 4: at least one group */
    }
    if (p->output_depth & 1)
        last_channel(p->rows + 8 * pairs, w, x, x_end, oa + 2 * pairs, ob + 2 * pairs, 0, full, p->act_min,
                     p->act_max, wide);
}

/* the same in C, for a layer whose output offset could not be folded (a large right shift): the rows' rounding
 * terms are tq_requant_fast's and the offset is added after the shift */
static inline __attribute__((always_inline)) void gemm_2px_c(const tq_conv_gemm_params *p, const uint32_t *x,
                                                             int8_t *oa, int8_t *ob, int wide) {
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int full = lo == INT8_MIN && hi == INT8_MAX;
    const uint32_t *w = (const uint32_t *)p->weights;
    const uint32_t *const x_end = x + p->patch_padded;
    const int32_t *row = p->rows;
    const int32_t *const pairs_end = row + 4 * (p->output_depth & ~1);
    for (; row != pairs_end; row += 8, oa += 2, ob += 2) {
        int32_t a0 = row[0], b0 = a0, a1 = row[1], b1 = a1;
        for (const uint32_t *xp = x; xp != x_end; xp += 4, w += wide ? 4 : 2) {
            const uint32_t e0 = wide ? w[0] : even_lanes(w[0]), o0 = wide ? w[1] : odd_lanes(w[0]);
            const uint32_t e1 = wide ? w[2] : even_lanes(w[1]), o1 = wide ? w[3] : odd_lanes(w[1]);
            a0 = __smlad((int16x2_t)xp[1], (int16x2_t)o0, __smlad((int16x2_t)xp[0], (int16x2_t)e0, a0));
            b0 = __smlad((int16x2_t)xp[3], (int16x2_t)o0, __smlad((int16x2_t)xp[2], (int16x2_t)e0, b0));
            a1 = __smlad((int16x2_t)xp[1], (int16x2_t)o1, __smlad((int16x2_t)xp[0], (int16x2_t)e1, a1));
            b1 = __smlad((int16x2_t)xp[3], (int16x2_t)o1, __smlad((int16x2_t)xp[2], (int16x2_t)e1, b1));
        }
        const int8_t ya0 = clamp(requant(a0, row[2], row[3], row[4], out_off), full, lo, hi);
        const int8_t yb0 = clamp(requant(b0, row[2], row[3], row[4], out_off), full, lo, hi);
        const int8_t ya1 = clamp(requant(a1, row[5], row[6], row[7], out_off), full, lo, hi);
        const int8_t yb1 = clamp(requant(b1, row[5], row[6], row[7], out_off), full, lo, hi);
        oa[0] = ya0, oa[1] = ya1, ob[0] = yb0, ob[1] = yb1; /* after every read of row (int8 stores may alias) */
    }
    if (p->output_depth & 1) last_channel(row, w, x, x_end, oa, ob, out_off, full, lo, hi, wide);
}

/* the block for every pixel pair: the clamp, the group count's parity and the weight layout picked once per call */
typedef void (*gemm_fn)(const tq_conv_gemm_params *p, const uint32_t *x, int8_t *oa, int8_t *ob);

#define TQ_GEMM_FN(name, full, pre, wide)                                                                           \
    static void name(const tq_conv_gemm_params *p, const uint32_t *x, int8_t *oa, int8_t *ob) {                     \
        gemm_2px(p, x, oa, ob, full, pre, wide);                                                                    \
    }
TQ_GEMM_FN(gemm_full_0, 1, 0, 0)
TQ_GEMM_FN(gemm_full_1, 1, 1, 0)
TQ_GEMM_FN(gemm_clamped_0, 0, 0, 0)
TQ_GEMM_FN(gemm_clamped_1, 0, 1, 0)
TQ_GEMM_FN(gemm_full_0_wide, 1, 0, 1)
TQ_GEMM_FN(gemm_full_1_wide, 1, 1, 1)
TQ_GEMM_FN(gemm_full_2_wide, 1, 2, 1)
TQ_GEMM_FN(gemm_full_3_wide, 1, 3, 1)
TQ_GEMM_FN(gemm_clamped_0_wide, 0, 0, 1)
TQ_GEMM_FN(gemm_clamped_1_wide, 0, 1, 1)
TQ_GEMM_FN(gemm_clamped_2_wide, 0, 2, 1)
TQ_GEMM_FN(gemm_clamped_3_wide, 0, 3, 1)
#undef TQ_GEMM_FN

static void gemm_c(const tq_conv_gemm_params *p, const uint32_t *x, int8_t *oa, int8_t *ob) {
    gemm_2px_c(p, x, oa, ob, 0);
}

static void gemm_c_wide(const tq_conv_gemm_params *p, const uint32_t *x, int8_t *oa, int8_t *ob) {
    gemm_2px_c(p, x, oa, ob, 1);
}

static inline gemm_fn pick_gemm(const tq_conv_gemm_params *p, int wide) {
    if (p->output_offset != 0) return wide ? gemm_c_wide : gemm_c;
    static const gemm_fn table[2][6] = {
        {gemm_clamped_0, gemm_clamped_1, gemm_clamped_0_wide, gemm_clamped_1_wide, gemm_clamped_2_wide,
         gemm_clamped_3_wide},
        {gemm_full_0, gemm_full_1, gemm_full_0_wide, gemm_full_1_wide, gemm_full_2_wide, gemm_full_3_wide}};
    const int32_t groups = p->patch_padded >> 2;
    return table[p->act_min == INT8_MIN && p->act_max == INT8_MAX][wide ? 2 + (groups & 3) : groups & 1];
}

static tq_status conv1x1(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch, int wide) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    TQ_ASSERT(p->filter_height == 1 && p->filter_width == 1 && p->pad_height == 0 && p->pad_width == 0);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const dummy = dummy_outputs(p, scratch, 0);
    const int32_t depth = p->input_depth, pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * depth;
    const gemm_fn gemm = pick_gemm(p, wide);
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        const int8_t *a = input + batch * image + (y * p->stride_height * p->input_width + xo * p->stride_width) * depth;
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        const int8_t *b = two ? input + batch * image +
                                    (y * p->stride_height * p->input_width + xo * p->stride_width) * depth : a;
        next_pixel(p, &batch, &y, &xo);
        widen_tail(x, a, depth);
        widen_tail(x + 2, b, depth);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}

/* pixel (iy0, ix0)'s patch widened into slot: straight from the image when its window is inside and each filter
 * row is whole groups of 4 taps (rows: 1) or it is a first layer's 3x3x3 (rows: 2), else gathered into `patch`
 * (padding, odd row lengths) first */
static void load_patch(const tq_conv_gemm_params *p, const int8_t *image, int32_t iy0, int32_t ix0, uint32_t *slot,
                       int8_t *patch, int rows) {
    const int32_t depth = p->input_depth, w = p->input_width, run = p->filter_width * depth;
    const int inside = iy0 >= 0 && iy0 + (p->filter_height - 1) * p->dilation_height < p->input_height && ix0 >= 0 &&
                       ix0 + p->filter_width <= w;
    if (inside && rows == 2) { /* tq_gemm_patch333 */
        uint32_t v[7];
        tq_gemm_patch333(image + (iy0 * w + ix0) * 3, p->dilation_height * w * 3, v);
        for (int32_t g = 0; g < 7; ++g) widen_word(slot + 4 * g, v[g]);
        return;
    }
    if (rows == 1 && inside) {
        const int8_t *src = image + (iy0 * w + ix0) * depth;
        for (int32_t fy = 0; fy < p->filter_height; ++fy, src += p->dilation_height * w * depth, slot += run)
            widen(slot, src, run >> 2); /* a filter row: run / 4 groups, 4 words each in the slot */
        return;
    }
    tq_gemm_gather(p, image, iy0, ix0, patch);
    widen(slot, patch, p->patch_padded >> 2);
}

static tq_status im2col(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch, int wide) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const patch = (int8_t *)scratch + 4 * p->patch_padded;
    int8_t *const dummy = dummy_outputs(p, scratch, 1);
    const int32_t pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * p->input_depth;
    const int rows = tq_gemm_is_patch333(p) ? 2 : p->dilation_width == 1 && (p->filter_width * p->input_depth) % 4 == 0;
    const gemm_fn gemm = pick_gemm(p, wide);
    fill(patch + p->patch, 0, p->patch_padded - p->patch); /* the row's zero taps: any value, 0 is tidy */
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        const int8_t *ia = input + batch * image;
        const int32_t ya = y * p->stride_height - p->pad_height, xa = xo * p->stride_width - p->pad_width;
        load_patch(p, ia, ya, xa, x, patch, rows);
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        if (two) {
            load_patch(p, input + batch * image, y * p->stride_height - p->pad_height,
                       xo * p->stride_width - p->pad_width, x + 2, patch, rows);
        } else { /* pixel a again: its outputs go to the dummy row */
            load_patch(p, ia, ya, xa, x + 2, patch, rows);
        }
        next_pixel(p, &batch, &y, &xo);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}

tq_status tq_conv1x1_s8_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch) {
    return conv1x1(p, input, output, scratch, 0);
}

tq_status tq_conv1x1_s8_wide_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch) {
    return conv1x1(p, input, output, scratch, 1);
}

tq_status tq_conv_s8_im2col_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch) {
    return im2col(p, input, output, scratch, 0);
}

tq_status tq_conv_s8_im2col_wide_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    return im2col(p, input, output, scratch, 1);
}
#else
typedef int tq_conv_s8_gemm_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
