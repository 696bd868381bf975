/* FULLY_CONNECTED int8 with int16 weights on the Cortex-M4 / M33 (tinyq/specialize/fully_connected_dsp.py picks it
 * for those cores): the input row is widened once into scratch (per chunk of 4 inputs an even word, inputs 0 and 2,
 * and an odd word, 1 and 3), so the inner loop does no SXTB16 and its input words join the single loads of the
 * weights. One chunk of 4 rows (16 MACs): an LDM of the 4 rows' even weight words, 4 SMLAD with the even input word,
 * then 6 single loads (the odd input word, the 4 odd weight words, the next chunk's even input word: they pipeline,
 * 7 cycles on the M4), 4 SMLAD: 15 instructions, 20 cycles (the LDM-only chunk of tq_fully_connected_s8_wide_dsp:
 * 13, 22). The weights and biases are doubled at compile time (2w fits int16), so the sums are 2 * acc and
 * tq_requant_fast2 requantizes them with the output offset folded into its rows: 4 instructions an output.
 * Exactness: as tq_fully_connected_s8_interleaved_dsp.c (wrapping int32 sums, |acc| < 2^30 proved). */
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

typedef uint32_t __attribute__((may_alias)) word_t;

/* one chunk; xe holds its even input word on entry and the next chunk's on exit (the scratch has a word beyond the
 * last chunk, read and never used); e0..e3 ascending registers, as LDM's list must be */
#define TQ_FCX_CHUNK_IN(a0, a1, a2, a3, x, w, xe, xo, e0, e1, e2, e3)                                             \
    "ldm    " w "!, {" e0 ", " e1 ", " e2 ", " e3 "}\n\t"                                                           \
    "smlad  " a0 ", " xe ", " e0 ", " a0 "\n\t"                                                                     \
    "smlad  " a1 ", " xe ", " e1 ", " a1 "\n\t"                                                                     \
    "smlad  " a2 ", " xe ", " e2 ", " a2 "\n\t"                                                                     \
    "smlad  " a3 ", " xe ", " e3 ", " a3 "\n\t"                                                                     \
    "ldr    " xo ", [" x "], #4\n\t"                                                                                \
    "ldr    " e0 ", [" w "], #4\n\t"                                                                                \
    "ldr    " e1 ", [" w "], #4\n\t"                                                                                \
    "ldr    " e2 ", [" w "], #4\n\t"                                                                                \
    "ldr    " e3 ", [" w "], #4\n\t"                                                                                \
    "ldr    " xe ", [" x "], #4\n\t"                                                                                \
    "smlad  " a0 ", " xo ", " e0 ", " a0 "\n\t"                                                                     \
    "smlad  " a1 ", " xo ", " e1 ", " a1 "\n\t"                                                                     \
    "smlad  " a2 ", " xo ", " e2 ", " a2 "\n\t"                                                                     \
    "smlad  " a3 ", " xo ", " e3 ", " a3 "\n\t"
/* with the C loop's operands, and with groups_asm's registers */
#define TQ_FCX_CHUNK                                                                                                \
    TQ_FCX_CHUNK_IN("%[a0]", "%[a1]", "%[a2]", "%[a3]", "%[x]", "%[w]", "%[xe]", "%[xo]", "%[e0]", "%[e1]", "%[e2]", \
                    "%[e3]")
#define TQ_FCX_CHUNK_R TQ_FCX_CHUNK_IN("r0", "r1", "r2", "r3", "r4", "r12", "r6", "r7", "r8", "r9", "r10", "r11")
#define TQ_FCX_CHUNK_R2 TQ_FCX_CHUNK_R TQ_FCX_CHUNK_R
#define TQ_FCX_CHUNK_R8 TQ_FCX_CHUNK_R2 TQ_FCX_CHUNK_R2 TQ_FCX_CHUNK_R2 TQ_FCX_CHUNK_R2
#define TQ_FCX_CHUNK2 TQ_FCX_CHUNK TQ_FCX_CHUNK
#define TQ_FCX_CHUNK8 TQ_FCX_CHUNK2 TQ_FCX_CHUNK2 TQ_FCX_CHUNK2 TQ_FCX_CHUNK2

/* `steps` (>= 1) steps of 8 chunks (eight) or 1; advances *x, *w, *xe. Eight chunks a step: the loop's SUBS + BNE
 * (4 cycles on the M4) once every 160 cycles. */
static inline __attribute__((always_inline)) void chunk_steps(const word_t **x, const word_t **w, uint32_t *xe,
                                                              int32_t steps, int32_t *a, int eight) {
    uint32_t xo;
    register uint32_t e0 __asm__("r8"), e1 __asm__("r9"), e2 __asm__("r10"), e3 __asm__("r11");
#define TQ_FCX_LOOP(BODY)                                                                                           \
    __asm__("1:\n\t" BODY                                                                                          \
            "subs   %[n], %[n], #1\n\t"                                                                            \
            "bne    1b\n\t"                                                                                        \
            : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [x] "+r"(*x), [w] "+r"(*w),      \
              [n] "+r"(steps), [xe] "+r"(*xe), [xo] "=&r"(xo), [e0] "=&r"(e0), [e1] "=&r"(e1), [e2] "=&r"(e2),     \
              [e3] "=&r"(e3)                                                                                        \
            :                                                                                                       \
            : "cc", "memory")
    if (eight) TQ_FCX_LOOP(TQ_FCX_CHUNK8);
    else TQ_FCX_LOOP(TQ_FCX_CHUNK);
#undef TQ_FCX_LOOP
}

/* The whole group loop in assembly for full-range layers with one requant row and chunks a multiple of
 * TQ_FCX_UNROLL: the 4 accumulators from the biases, the chunks, tq_requant_fast2 and SSAT, 4 STRB. The loop's state
 * lives in 8 words pushed on the stack (all 13 registers go to the chunks): per group about 43 cycles on the M4
 * besides the chunks and their loop (the C loop below: about 75). frame: {multiplier, round, right_shift, out,
 * out end (4 outputs a group), the widened row, steps, bias}; returns the weights pointer after the groups. */
#define TQ_FCX_RQ(a)                                                                                                \
    "smmlar r9, " a ", r4, r5\n\t"                                                                                 \
    "add    " a ", r9, " a ", asr #31\n\t"                                                                         \
    "asr    " a ", " a ", r6\n\t"                                                                                  \
    "ssat   " a ", #8, " a "\n\t"                                                                                  \
    "strb   " a ", [r7], #1\n\t"
#define TQ_FCX_GROUPS(name, BODY)                                                                                   \
    static const word_t *name(const int32_t *frame, const word_t *w) {                                             \
        register const int32_t *f __asm__("r0") = frame;                                                           \
        register const word_t *wp __asm__("r12") = w;                                                              \
        __asm__ volatile("ldm    r0, {r4-r11}\n\t"                                                                 \
                         "push   {r4-r11}\n\t"                                                                     \
                         "2:\n\t"                                                                                  \
                         "ldr    r4, [sp, #20]\n\t"                                                                \
                         "ldr    r7, [sp, #28]\n\t"                                                                \
                         "ldr    r5, [sp, #24]\n\t" /* r4 loaded two loads back: the next load pipelines */       \
                         "ldr    r6, [r4], #4\n\t"                                                                 \
                         "ldm    r7!, {r0-r3}\n\t"                                                                 \
                         "str    r7, [sp, #28]\n\t"                                                                \
                         "1:\n\t" BODY "subs   r5, r5, #1\n\t"                                                    \
                         "bne    1b\n\t"                                                                           \
                         "ldm    sp, {r4-r8}\n\t" TQ_FCX_RQ("r0") TQ_FCX_RQ("r1") TQ_FCX_RQ("r2") TQ_FCX_RQ("r3") \
                         "str    r7, [sp, #12]\n\t"                                                                \
                         "cmp    r7, r8\n\t"                                                                       \
                         "bne    2b\n\t"                                                                           \
                         "add    sp, sp, #32\n\t"                                                                  \
                         : "+r"(f), "+r"(wp)                                                                        \
                         : "m"(*(const int32_t(*)[8])frame)                                                         \
                         : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "lr", "cc", "memory"); \
        return wp;                                                                                                  \
    }
/* steps of 16 chunks (the chunks a multiple of 16), or of 1 (any chunks) */
TQ_FCX_GROUPS(groups16, TQ_FCX_CHUNK_R8 TQ_FCX_CHUNK_R8)
TQ_FCX_GROUPS(groups1, TQ_FCX_CHUNK_R)
#undef TQ_FCX_GROUPS

/* the input row as chunks' even and odd words (int16 pairs); a last partial chunk's missing inputs are zero */
static void widen_input(const int8_t *in, int32_t depth, word_t *s) {
    const int32_t full = depth >> 2, tail = depth & 3;
    int32_t c = 0;
    for (; c + 4 <= full; c += 4, s += 8) { /* 4 loads first: they pipeline */
        const uint32_t v0 = tq_dsp_load4(in + 4 * c), v1 = tq_dsp_load4(in + 4 * c + 4);
        const uint32_t v2 = tq_dsp_load4(in + 4 * c + 8), v3 = tq_dsp_load4(in + 4 * c + 12);
        s[0] = (uint32_t)__sxtb16((int32_t)v0);
        s[1] = (uint32_t)tq_dsp_odd_bytes(v0);
        s[2] = (uint32_t)__sxtb16((int32_t)v1);
        s[3] = (uint32_t)tq_dsp_odd_bytes(v1);
        s[4] = (uint32_t)__sxtb16((int32_t)v2);
        s[5] = (uint32_t)tq_dsp_odd_bytes(v2);
        s[6] = (uint32_t)__sxtb16((int32_t)v3);
        s[7] = (uint32_t)tq_dsp_odd_bytes(v3);
    }
    for (; c < full; ++c, s += 2) {
        const uint32_t v = tq_dsp_load4(in + 4 * c);
        s[0] = (uint32_t)__sxtb16((int32_t)v);
        s[1] = (uint32_t)tq_dsp_odd_bytes(v);
    }
    if (tail) {
        const int8_t *x = in + 4 * full;
        s[0] = ((uint32_t)(uint16_t)x[0]) | (tail > 2 ? (uint32_t)x[2] << 16 : 0u);
        s[1] = tail > 1 ? (uint32_t)(uint16_t)x[1] : 0u;
    }
}

/* 2 * acc -> the int8 output: tq_requant_fast2 (output offset folded into r[1]), SSAT, the clamp when asked */
static inline __attribute__((always_inline)) int32_t finish(int32_t acc2, const int32_t *r, int32_t lo, int32_t hi,
                                                            int clamp) {
    int32_t y = __ssat(tq_requant_fast2(acc2, r[0], r[1], r[2]), 8);
    if (clamp) {
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
    }
    return y;
}

static inline __attribute__((always_inline)) void finish4(const int32_t *a, const int32_t *rq, int32_t step,
                                                          int32_t lo, int32_t hi, int clamp, int32_t left,
                                                          int8_t *out) {
    const int32_t y0 = finish(a[0], rq, lo, hi, clamp), y1 = finish(a[1], rq + step, lo, hi, clamp);
    const int32_t y2 = finish(a[2], rq + 2 * step, lo, hi, clamp), y3 = finish(a[3], rq + 3 * step, lo, hi, clamp);
    out[0] = (int8_t)y0;
    if (left >= 4) { /* every group but a last one of 1-3 rows */
        out[1] = (int8_t)y1;
        out[2] = (int8_t)y2;
        out[3] = (int8_t)y3;
    } else {
        if (left > 1) out[1] = (int8_t)y1;
        if (left > 2) out[2] = (int8_t)y2;
    }
}

static inline __attribute__((always_inline)) void fc_row(const tq_fully_connected_s8_wide_x16_params *p,
                                                         const word_t *s, int8_t *out, int clamp) {
    const int32_t chunks = (p->accum_depth + 3) >> 2, n = p->output_depth, lo = p->act_min, hi = p->act_max;
    const int32_t shared = p->shared, steps = chunks >> 3, rest = chunks & 7;
    const int32_t *bias = p->bias, *rq = p->requant;
    const word_t *w = (const word_t *)(const void *)p->weights;
    int32_t o = 0;
    if (!clamp && shared && n >= 4) {
        const int by16 = !(chunks & 15);
        o = n & ~3;
        const int32_t frame[8] = {rq[0], rq[1], rq[2], (int32_t)(uintptr_t)out, (int32_t)(uintptr_t)(out + o),
                                  (int32_t)(uintptr_t)s, by16 ? chunks >> 4 : chunks, (int32_t)(uintptr_t)bias};
        w = by16 ? groups16(frame, w) : groups1(frame, w);
        bias += o;
    }
    for (; o < n; o += 4, bias += 4) {
        int32_t a[4] = {bias[0], bias[1], bias[2], bias[3]};
        const word_t *x = s;
        uint32_t xe = *x++;
        if (steps) chunk_steps(&x, &w, &xe, steps, a, 1);
        if (rest) chunk_steps(&x, &w, &xe, rest, a, 0);
        if (shared) { /* one row: read once a group */
            finish4(a, rq, 0, lo, hi, clamp, n - o, out + o);
        } else {
            finish4(a, rq, 3, lo, hi, clamp, n - o, out + o);
            rq += 12;
        }
    }
}

static void fc_row_full(const tq_fully_connected_s8_wide_x16_params *p, const word_t *s, int8_t *out) {
    fc_row(p, s, out, 0);
}

static void fc_row_clamped(const tq_fully_connected_s8_wide_x16_params *p, const word_t *s, int8_t *out) {
    fc_row(p, s, out, 1);
}

tq_status tq_fully_connected_s8_wide_x16_dsp(const tq_fully_connected_s8_wide_x16_params *p, const int8_t *input,
                                             int8_t *output, void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->batches >= 1 &&
              p->accum_depth >= 1 && p->output_depth >= 1);
    const int32_t batches = p->batches, depth = p->accum_depth, n = p->output_depth;
    const int full = p->act_min == INT8_MIN && p->act_max == INT8_MAX;
    word_t *s = (word_t *)scratch;
    for (int32_t b = 0; b < batches; ++b) {
        widen_input(input + b * depth, depth, s);
        if (full) fc_row_full(p, s, output + b * n);
        else fc_row_clamped(p, s, output + b * n);
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_s8_wide_x16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
