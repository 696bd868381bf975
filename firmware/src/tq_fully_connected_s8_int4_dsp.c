/* FULLY_CONNECTED with int4 weights on the Arm DSP extension, weights kept 4-bit in flash
 * (tinyq/tq_fully_connected_s8_interleaved_dsp.h "int4 weights", tinyq/specialize/int4_dsp.py). The walk is
 * tq_fully_connected_s8_interleaved_dsp.c's (4 output rows a pass, SXTB16 on the input word), but one weight word
 * holds a chunk of 4 inputs of two rows (r in the high nibbles, r + 1 in the low ones), read in four
 * one-instruction lane sets: SXTB16(w) and SXTB16(w, ROR #8) give 16 w_r + u, w AND 0x000F000F and
 * 0x000F000F AND (w LSR #8) give u = w_{r+1} + 8. 20 instructions for 16 multiply-accumulates (int8: 21).
 *
 * Exactness, with S = the sum of the input row and f the folded biases (all modulo 2^32):
 *   A_hi = 16 f_r + f_{r+1} + sum(x * (16 w_r + u)) = 16 acc_r + A_lo,  A_lo = f_{r+1} + sum(x * u) = acc_{r+1} + 8 S
 *   2 acc_r = (A_hi - A_lo) >> 3 (the preparer proved |acc_r| < 2^27, so 16 acc_r is that int32),
 *   2 acc_{r+1} = 2 A_lo - 16 S (|acc_{r+1}| < 2^30 proved, as for int8),
 * and tq_requant_fast starts from 2 acc. Inputs past K read as 0 (tail_word) and count 0 in S. */
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

typedef uint32_t __attribute__((may_alias)) word_t;

#define TQ_FC4_LOW_NIBBLES 0x000F000Fu

/* hi += x * (16 w_r + u), lo += x * u over one chunk word's lanes xe, xo and the pair's weight word u */
#define TQ_FC4_PAIR(xe, xo, u, hi, lo)                                                                              \
    do {                                                                                                            \
        hi = __smlad(xe, __sxtb16((int32_t)(u)), hi);                                                              \
        lo = __smlad(xe, (int16x2_t)((u)&TQ_FC4_LOW_NIBBLES), lo);                                                 \
        hi = __smlad(xo, tq_dsp_odd_bytes(u), hi);                                                                 \
        lo = __smlad(xo, (int16x2_t)(((u) >> 8) & TQ_FC4_LOW_NIBBLES), lo);                                        \
    } while (0)

#define TQ_FC4_CHUNK(xv, w, a0, a1, a2, a3)                                                                         \
    do {                                                                                                            \
        const int16x2_t xe = __sxtb16((int32_t)(xv)), xo = tq_dsp_odd_bytes(xv);                                   \
        const uint32_t u0 = (w)[0], u1 = (w)[1];                                                                   \
        TQ_FC4_PAIR(xe, xo, u0, a0, a1);                                                                           \
        TQ_FC4_PAIR(xe, xo, u1, a2, a3);                                                                           \
    } while (0)

#define TQ_FC4_ASM_PAIR(u, hi, lo)                                                                                  \
    "sxtb16 %[t], %[" u "]\n\t"                                                                                    \
    "smlad  %[" hi "], %[xe], %[t], %[" hi "]\n\t"                                                                  \
    "and    %[t], %[" u "], #0x000F000F\n\t"                                                                       \
    "smlad  %[" lo "], %[xe], %[t], %[" lo "]\n\t"                                                                  \
    "sxtb16 %[t], %[" u "], ror #8\n\t"                                                                            \
    "smlad  %[" hi "], %[xo], %[t], %[" hi "]\n\t"                                                                  \
    "and    %[" u "], %[mask], %[" u "], lsr #8\n\t"                                                               \
    "smlad  %[" lo "], %[xo], %[" u "], %[" lo "]\n\t"
#define TQ_FC4_ASM_CHUNK                                                                                            \
    "ldr    %[xe], [%[x]], #4\n\t" /* any alignment: an unaligned LDR is legal on Armv7E-M / Armv8-M Mainline */   \
    "ldrd   %[u], %[v], [%[w]], #8\n\t"                                                                            \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                                                                              \
    "sxtb16 %[xe], %[xe]\n\t" TQ_FC4_ASM_PAIR("u", "a0", "a1") TQ_FC4_ASM_PAIR("v", "a2", "a3")

/* `pairs` (>= 1) steps of two chunks (13 registers); advances *x and *w */
static inline void chunk_pairs(const int8_t **x, const word_t **w, int32_t pairs, int32_t *a0, int32_t *a1,
                               int32_t *a2, int32_t *a3) {
    uint32_t xe, xo, u, v, t;
    const uint32_t mask = TQ_FC4_LOW_NIBBLES;
    __asm__("1:\n\t" TQ_FC4_ASM_CHUNK TQ_FC4_ASM_CHUNK
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [x] "+r"(*x), [w] "+r"(*w),
              [n] "+r"(pairs), [xe] "=&r"(xe), [xo] "=&r"(xo), [u] "=&r"(u), [v] "=&r"(v), [t] "=&r"(t)
            : [mask] "r"(mask)
            : "cc", "memory");
}

/* the last 1-3 inputs of a row as a word with zero bytes above them */
static inline uint32_t tail_word(const int8_t *x, int32_t n) {
    uint32_t v = (uint8_t)x[0];
    if (n > 1) v |= (uint32_t)(uint8_t)x[1] << 8;
    if (n > 2) v |= (uint32_t)(uint8_t)x[2] << 16;
    return v;
}

/* 16 * the sum of the row's inputs (modulo 2^32) */
static int32_t sum16(const int8_t *x, int32_t full, uint32_t last) {
    int32_t s = 0;
    const int16x2_t ones = (int16x2_t)0x00010001;
    for (int32_t c = 0; c < full; ++c) {
        const uint32_t v = tq_dsp_load4(x + 4 * c);
        s = __smlad(__sxtb16((int32_t)v), ones, s);
        s = __smlad(tq_dsp_odd_bytes(v), ones, s);
    }
    s = __smlad(__sxtb16((int32_t)last), ones, s);
    s = __smlad(tq_dsp_odd_bytes(last), ones, s);
    return (int32_t)((uint32_t)s << 4);
}

/* requantize 2 * acc (row: its tq_requant_row), add the output offset, clamp as the int8 kernel does */
static inline __attribute__((always_inline)) int8_t finish2(const int32_t *row, int32_t acc2, int32_t offset,
                                                            int32_t lo, int32_t hi, int clamp) {
    const int32_t h = tq_smmulr(acc2, row[0]);
    int32_t y = __ssat(((h + row[1] + (h >> 31)) >> row[2]) + offset, 8);
    if (clamp) {
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
    }
    return (int8_t)y;
}

static inline int32_t high_acc2(int32_t hi, int32_t lo) { return (int32_t)((uint32_t)hi - (uint32_t)lo) >> 3; }
static inline int32_t low_acc2(int32_t lo, int32_t s16) { return (int32_t)(((uint32_t)lo << 1) - (uint32_t)s16); }

static inline __attribute__((always_inline)) void fc4_row(const tq_fully_connected_s8_int4_params *p,
                                                          const int8_t *in, int8_t *out, int clamp) {
    const int32_t depth = p->accum_depth, full = depth >> 2, tail = depth & 3, n = p->output_depth;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *bias = p->bias, *rq = p->requant, rq_step = p->requant_step;
    const word_t *w = (const word_t *)(const void *)p->weights;
    const uint32_t last = tail ? tail_word(in + 4 * full, tail) : 0;
    const int32_t s16 = sum16(in, full, last);
    for (int32_t o = 0; o < n; o += 4, bias += 4, rq += rq_step) {
        int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
        const int8_t *x = in;
        if (full >= 2) chunk_pairs(&x, &w, full >> 1, &a0, &a1, &a2, &a3);
        if (full & 1) {
            TQ_FC4_CHUNK(tq_dsp_load4(x), w, a0, a1, a2, a3);
            w += 2;
        }
        if (tail) {
            TQ_FC4_CHUNK(last, w, a0, a1, a2, a3);
            w += 2;
        }
        out[o] = finish2(rq, high_acc2(a0, a1), offset, lo, hi, clamp);
        if (o + 4 <= n) {
            out[o + 1] = finish2(rq + 3, low_acc2(a1, s16), offset, lo, hi, clamp);
            out[o + 2] = finish2(rq + 6, high_acc2(a2, a3), offset, lo, hi, clamp);
            out[o + 3] = finish2(rq + 9, low_acc2(a3, s16), offset, lo, hi, clamp);
        } else {
            if (o + 1 < n) out[o + 1] = finish2(rq + 3, low_acc2(a1, s16), offset, lo, hi, clamp);
            if (o + 2 < n) out[o + 2] = finish2(rq + 6, high_acc2(a2, a3), offset, lo, hi, clamp);
        }
    }
}

static void fc4_row_full(const tq_fully_connected_s8_int4_params *p, const int8_t *in, int8_t *out) {
    fc4_row(p, in, out, 0);
}

static void fc4_row_clamped(const tq_fully_connected_s8_int4_params *p, const int8_t *in, int8_t *out) {
    fc4_row(p, in, out, 1);
}

tq_status tq_fully_connected_s8_int4_dsp(const tq_fully_connected_s8_int4_params *p, const int8_t *input,
                                         int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->batches >= 1 && p->accum_depth >= 1 &&
              p->output_depth >= 1);
    const int32_t batches = p->batches, depth = p->accum_depth, n = p->output_depth;
    void (*const row)(const tq_fully_connected_s8_int4_params *, const int8_t *, int8_t *) =
        p->act_min == INT8_MIN && p->act_max == INT8_MAX ? fc4_row_full : fc4_row_clamped;
    for (int32_t b = 0; b < batches; ++b) row(p, input + b * depth, output + b * n);
    return TQ_OK;
}
#else
typedef int tq_fully_connected_s8_int4_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
