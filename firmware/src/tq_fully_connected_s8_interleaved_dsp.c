/* FULLY_CONNECTED int8 on the Arm DSP extension with weights interleaved at compile time: 4 output rows per
 * pass, SXTB16 on the input word and on each weight word with the same byte lanes (bytes 0,2 then 1,3), two
 * SMLAD per word. Exactness: the kernel sums folded_bias + sum(x * w) in wrapping int32 (SMLAD wraps), which
 * equals TFLM's accumulator bias + sum((x + input_offset) * w) modulo 2^32, hence exactly since the preparer
 * proved |accumulator| < 2^30; then tq_requant_fast is TFLM's MultiplyByQuantizedMultiplier. */
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* the weights are an int8 array read by aligned words: an alias-safe word type says so to the compiler */
typedef uint32_t __attribute__((may_alias)) word_t;

/* acc[r] += sum over one input chunk word xv and the group's 4 weight words w[0..3] */
#define TQ_FCI_CHUNK(xv, w, a0, a1, a2, a3)                                                                         \
    do {                                                                                                            \
        const int16x2_t xe = __sxtb16((int32_t)(xv)), xo = tq_dsp_odd_bytes(xv);                                   \
        const uint32_t u0 = (w)[0], u1 = (w)[1], u2 = (w)[2], u3 = (w)[3];                                         \
        a0 = __smlad(xe, __sxtb16((int32_t)u0), a0);                                                               \
        a0 = __smlad(xo, tq_dsp_odd_bytes(u0), a0);                                                                \
        a1 = __smlad(xe, __sxtb16((int32_t)u1), a1);                                                               \
        a1 = __smlad(xo, tq_dsp_odd_bytes(u1), a1);                                                                \
        a2 = __smlad(xe, __sxtb16((int32_t)u2), a2);                                                               \
        a2 = __smlad(xo, tq_dsp_odd_bytes(u2), a2);                                                                \
        a3 = __smlad(xe, __sxtb16((int32_t)u3), a3);                                                               \
        a3 = __smlad(xo, tq_dsp_odd_bytes(u3), a3);                                                                \
    } while (0)

/* One chunk in assembly; TQ_FCI_ASM_ROWS does rows a, b of the group (one LDRD, then both lane sets of each word).
 * The C macro above spills accumulators when unrolled (GCC wants more registers than the 13 there are). 12
 * registers: 4 accumulators, 3 pointers/counter, the input word as two lane sets, 2 weight words and a widened
 * one. LDRD reads two rows' words (word-aligned: the array is TQ_ALIGN-aligned, a group's chunk is 16 bytes); on
 * the Cortex-M4 it takes 3 cycles, as two pipelined LDRs do. 21 instructions for 16 MACs. */
#define TQ_FCI_ASM_ROWS(a, b)                                                                                       \
    "ldrd   %[u], %[v], [%[w]], #8\n\t"                                                                            \
    "sxtb16 %[t], %[u]\n\t"                                                                                        \
    "smlad  %[" a "], %[xe], %[t], %[" a "]\n\t"                                                                    \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                                \
    "smlad  %[" a "], %[xo], %[t], %[" a "]\n\t"                                                                    \
    "sxtb16 %[t], %[v]\n\t"                                                                                        \
    "smlad  %[" b "], %[xe], %[t], %[" b "]\n\t"                                                                    \
    "sxtb16 %[t], %[v], ror #8\n\t"                                                                                \
    "smlad  %[" b "], %[xo], %[t], %[" b "]\n\t"
#define TQ_FCI_ASM_CHUNK                                                                                            \
    "ldr    %[xe], [%[x]], #4\n\t" /* any alignment: an unaligned LDR is legal on Armv7E-M / Armv8-M Mainline */   \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                                                                              \
    "sxtb16 %[xe], %[xe]\n\t" TQ_FCI_ASM_ROWS("a0", "a1") TQ_FCI_ASM_ROWS("a2", "a3")

/* the same chunk with int16 weights (tq_fully_connected_s8_wide_params): w[0..7] the rows' even and odd lane words */
#define TQ_FCW_CHUNK(xv, w, a0, a1, a2, a3)                                                                         \
    do {                                                                                                            \
        const int16x2_t xe = __sxtb16((int32_t)(xv)), xo = tq_dsp_odd_bytes(xv);                                   \
        a0 = __smlad(xo, (int16x2_t)(w)[1], __smlad(xe, (int16x2_t)(w)[0], a0));                                    \
        a1 = __smlad(xo, (int16x2_t)(w)[3], __smlad(xe, (int16x2_t)(w)[2], a1));                                    \
        a2 = __smlad(xo, (int16x2_t)(w)[5], __smlad(xe, (int16x2_t)(w)[4], a2));                                    \
        a3 = __smlad(xo, (int16x2_t)(w)[7], __smlad(xe, (int16x2_t)(w)[6], a3));                                    \
    } while (0)

/* Two rows of a chunk with int16 weights: one LDM of their even and odd lane words (u, v, s, t: ascending registers,
 * as LDM's list must be), four SMLAD. 13 instructions for 16 MACs a chunk (21 with int8 weights), 22 cycles on the
 * M4 (LDM 1 + 4; two LDRD would take 6 for the same words). On the Cortex-M7 an LDRD is 1 cycle and an LDM of 4
 * words 3: two LDRD there (TQ_FCW_ASM_ROWS_LDRD, tq_fully_connected_s8_wide_ldrd_dsp, which the preparer picks for
 * that core). */
#define TQ_FCW_ASM_ROWS_LDRD(a, b)                                                                                  \
    "ldrd   %[u], %[v], [%[w]], #8\n\t"                                                                            \
    "smlad  %[" a "], %[xe], %[u], %[" a "]\n\t"                                                                    \
    "smlad  %[" a "], %[xo], %[v], %[" a "]\n\t"                                                                    \
    "ldrd   %[s], %[t], [%[w]], #8\n\t"                                                                            \
    "smlad  %[" b "], %[xe], %[s], %[" b "]\n\t"                                                                    \
    "smlad  %[" b "], %[xo], %[t], %[" b "]\n\t"
#define TQ_FCW_ASM_ROWS(a, b)                                                                                       \
    "ldm    %[w]!, {%[u], %[v], %[s], %[t]}\n\t"                                                                   \
    "smlad  %[" a "], %[xe], %[u], %[" a "]\n\t"                                                                    \
    "smlad  %[" a "], %[xo], %[v], %[" a "]\n\t"                                                                    \
    "smlad  %[" b "], %[xe], %[s], %[" b "]\n\t"                                                                    \
    "smlad  %[" b "], %[xo], %[t], %[" b "]\n\t" /* LDM rows' end */
#define TQ_FCW_ASM_CHUNK_OF(ROWS)                                                                                   \
    "ldr    %[xe], [%[x]], #4\n\t"                                                                                 \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                                                                              \
    "sxtb16 %[xe], %[xe]\n\t" ROWS("a0", "a1") ROWS("a2", "a3")
#define TQ_FCW_ASM_CHUNK TQ_FCW_ASM_CHUNK_OF(TQ_FCW_ASM_ROWS)
#define TQ_FCW_ASM_CHUNK_LDRD TQ_FCW_ASM_CHUNK_OF(TQ_FCW_ASM_ROWS_LDRD)

/* `steps` (>= 1) steps of two chunks (four: quad), acc[r] += the group's sums over 8 (16) inputs a step; advances
 * *x and *w. Four chunks a step halve the loop's SUBS + BNE (4 cycles a step on the M4) where the row is long.
 * wide: 1 LDM chunks, 2 LDRD chunks (the Cortex-M7's). */
static inline __attribute__((always_inline)) void chunk_steps(const int8_t **x, const word_t **w, int32_t steps,
                                                              int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3,
                                                              int wide, int quad) {
    uint32_t xe, xo;
    /* the weight words in fixed ascending registers: the wide chunk's LDM lists them (the int8 chunk uses u, v, t) */
    register uint32_t u __asm__("r8"), v __asm__("r9"), s __asm__("r10"), t __asm__("r11");
#define TQ_FCI_PAIRS(CHUNK)                                                                                         \
    __asm__("1:\n\t" CHUNK                                                                                         \
            "subs   %[n], %[n], #1\n\t"                                                                            \
            "bne    1b\n\t"                                                                                        \
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [x] "+r"(*x), [w] "+r"(*w),          \
              [n] "+r"(steps), [xe] "=&r"(xe), [xo] "=&r"(xo), [u] "=&r"(u), [v] "=&r"(v), [s] "=&r"(s),           \
              [t] "=&r"(t)                                                                                          \
            :                                                                                                       \
            : "cc", "memory")
#define TQ_FCW2 TQ_FCW_ASM_CHUNK TQ_FCW_ASM_CHUNK
#define TQ_FCD2 TQ_FCW_ASM_CHUNK_LDRD TQ_FCW_ASM_CHUNK_LDRD
#define TQ_FCI2 TQ_FCI_ASM_CHUNK TQ_FCI_ASM_CHUNK
    if (wide == 2 && quad) TQ_FCI_PAIRS(TQ_FCD2 TQ_FCD2);
    else if (wide == 2) TQ_FCI_PAIRS(TQ_FCD2);
    else if (wide && quad) TQ_FCI_PAIRS(TQ_FCW2 TQ_FCW2);
    else if (wide) TQ_FCI_PAIRS(TQ_FCW2);
    else if (quad) TQ_FCI_PAIRS(TQ_FCI2 TQ_FCI2);
    else TQ_FCI_PAIRS(TQ_FCI2);
#undef TQ_FCW2
#undef TQ_FCD2
#undef TQ_FCI2
#undef TQ_FCI_PAIRS
}

/* the last 1-3 inputs of a row as a word with zero bytes above them (their weights are zero-padded anyway;
 * reading bytes one by one never reads past the row) */
static inline uint32_t tail_word(const int8_t *x, int32_t n) {
    uint32_t v = (uint8_t)x[0];
    if (n > 1) v |= (uint32_t)(uint8_t)x[1] << 8;
    if (n > 2) v |= (uint32_t)(uint8_t)x[2] << 16;
    return v;
}

/* requantize one accumulator (row: its tq_requant_row), add the output offset, clamp: SSAT alone when the
 * activation is [-128, 127] (clamp = 0), else SSAT then [lo, hi] */
static inline __attribute__((always_inline)) int8_t finish(const int32_t *row, int32_t acc, int32_t offset,
                                                           int32_t lo, int32_t hi, int clamp) {
    int32_t y = __ssat(tq_requant_fast(acc, row[0], row[1], row[2]) + offset, 8);
    if (clamp) {
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
    }
    return (int8_t)y;
}

/* one input row; the caller passes clamp and wide (p->weights holds int16 weights; 2: read by LDRD) as constants so
 * each version has its own loop */
static inline __attribute__((always_inline)) void fc_row(const tq_fully_connected_s8_interleaved_params *p,
                                                         const int8_t *in, int8_t *out, int clamp, int wide) {
    /* locals, not p->: the int8 stores below may alias *p, which would make the compiler reload it */
    const int32_t depth = p->accum_depth, full = depth >> 2, tail = depth & 3, n = p->output_depth;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *bias = p->bias, *rq = p->requant, rq_step = p->requant_step;
    const word_t *w = (const word_t *)(const void *)p->weights;
    const uint32_t last = tail ? tail_word(in + 4 * full, tail) : 0;
    for (int32_t o = 0; o < n; o += 4, bias += 4, rq += rq_step) {
        int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
        const int8_t *x = in;
        if (full >= 4) chunk_steps(&x, &w, full >> 2, &a0, &a1, &a2, &a3, wide, 1);
        if (full & 2) chunk_steps(&x, &w, 1, &a0, &a1, &a2, &a3, wide, 0);
        if (full & 1) {
            if (wide) TQ_FCW_CHUNK(tq_dsp_load4(x), w, a0, a1, a2, a3);
            else TQ_FCI_CHUNK(tq_dsp_load4(x), w, a0, a1, a2, a3);
            w += wide ? 8 : 4;
        }
        if (tail) {
            if (wide) TQ_FCW_CHUNK(last, w, a0, a1, a2, a3);
            else TQ_FCI_CHUNK(last, w, a0, a1, a2, a3);
            w += wide ? 8 : 4;
        }
        out[o] = finish(rq, a0, offset, lo, hi, clamp);
        if (o + 4 <= n) { /* every group but a last one of 1-3 rows */
            out[o + 1] = finish(rq + 3, a1, offset, lo, hi, clamp);
            out[o + 2] = finish(rq + 6, a2, offset, lo, hi, clamp);
            out[o + 3] = finish(rq + 9, a3, offset, lo, hi, clamp);
        } else {
            if (o + 1 < n) out[o + 1] = finish(rq + 3, a1, offset, lo, hi, clamp);
            if (o + 2 < n) out[o + 2] = finish(rq + 6, a2, offset, lo, hi, clamp);
        }
    }
}

typedef void (*row_fn)(const tq_fully_connected_s8_interleaved_params *, const int8_t *, int8_t *);
#define TQ_FCI_ROW_FN(name, clamp, wide)                                                                            \
    static void name(const tq_fully_connected_s8_interleaved_params *p, const int8_t *in, int8_t *out) {          \
        fc_row(p, in, out, clamp, wide);                                                                            \
    }
TQ_FCI_ROW_FN(fc_row_full, 0, 0)
TQ_FCI_ROW_FN(fc_row_clamped, 1, 0)
TQ_FCI_ROW_FN(fc_row_full_wide, 0, 1)
TQ_FCI_ROW_FN(fc_row_clamped_wide, 1, 1)
TQ_FCI_ROW_FN(fc_row_full_ldrd, 0, 2)
TQ_FCI_ROW_FN(fc_row_clamped_ldrd, 1, 2)
#undef TQ_FCI_ROW_FN

static tq_status fc(const tq_fully_connected_s8_interleaved_params *p, const int8_t *input, int8_t *output,
                    row_fn full_row, row_fn clamped_row) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->batches >= 1 && p->accum_depth >= 1 &&
              p->output_depth >= 1);
    const int32_t batches = p->batches, depth = p->accum_depth, n = p->output_depth;
    const row_fn row = p->act_min == INT8_MIN && p->act_max == INT8_MAX ? full_row : clamped_row;
    for (int32_t b = 0; b < batches; ++b) row(p, input + b * depth, output + b * n);
    return TQ_OK;
}

tq_status tq_fully_connected_s8_interleaved_dsp(const tq_fully_connected_s8_interleaved_params *p, const int8_t *input,
                                                int8_t *output) {
    return fc(p, input, output, fc_row_full, fc_row_clamped);
}

/* the same members but the weights' type: run the shared walk on a copy (once a call) */
static tq_status fc_wide(const tq_fully_connected_s8_wide_params *p, const int8_t *input, int8_t *output,
                         row_fn full_row, row_fn clamped_row) {
    TQ_ASSERT(p != NULL);
    const tq_fully_connected_s8_interleaved_params q = {
        p->batches, p->accum_depth, p->output_depth, p->output_offset, p->act_min, p->act_max,
        (const int8_t *)(const void *)p->weights, p->bias, p->requant, p->requant_step};
    return fc(&q, input, output, full_row, clamped_row);
}

tq_status tq_fully_connected_s8_wide_dsp(const tq_fully_connected_s8_wide_params *p, const int8_t *input,
                                         int8_t *output) {
    return fc_wide(p, input, output, fc_row_full_wide, fc_row_clamped_wide);
}

tq_status tq_fully_connected_s8_wide_ldrd_dsp(const tq_fully_connected_s8_wide_params *p, const int8_t *input,
                                              int8_t *output) {
    return fc_wide(p, input, output, fc_row_full_ldrd, fc_row_clamped_ldrd);
}
#else
typedef int tq_fully_connected_s8_interleaved_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
