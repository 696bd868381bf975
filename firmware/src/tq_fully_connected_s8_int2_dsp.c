/* FULLY_CONNECTED with 2-bit weights (int2, ternary, binary) on the Arm DSP extension, weights kept 2-bit in flash
 * (tinyq/tq_lowbit_dsp.h, tinyq/specialize/lowbit_dsp.py). The walk is tq_fully_connected_s8_interleaved_dsp.c's
 * (4 output rows a pass, SXTB16 on the input word), but one weight word holds a chunk of 4 inputs of all 4 rows:
 * 0x00030003 AND (w LSR #2i) gives row i's codes of inputs (0, 2), 0x00030003 AND (w LSR #(8 + 2i)) those of
 * inputs (1, 3), one instruction a lane set: 20 instructions for 16 multiply-accumulates (int8: 21), two chunks a
 * loop pass. With u = t + 2 the codes, U_r = sum(x * u_r) (it fits int32: |x| <= 128, u <= 3) and S the sum of
 * the input row, acc_r = f_r + m_r (U_r - 2 S) modulo 2^32, TFLM's accumulator; tq_requant_fast starts from
 * 2 acc. Inputs past K read as 0 (tail_word) and count 0 in S. */
#include "tinyq/tq_lowbit_dsp.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

typedef uint32_t __attribute__((may_alias)) word_t;

#define TQ_FC2_ASM_LANES(x, s0, s1, s2, s3)                                                                        \
    "and    %[t], %[mask], %[w], lsr #" s0 "\n\t"                                                                  \
    "smlad  %[a0], %[" x "], %[t], %[a0]\n\t"                                                                       \
    "and    %[t], %[mask], %[w], lsr #" s1 "\n\t"                                                                  \
    "smlad  %[a1], %[" x "], %[t], %[a1]\n\t"                                                                       \
    "and    %[t], %[mask], %[w], lsr #" s2 "\n\t"                                                                  \
    "smlad  %[a2], %[" x "], %[t], %[a2]\n\t"                                                                       \
    "and    %[t], %[mask], %[w], lsr #" s3 "\n\t"                                                                  \
    "smlad  %[a3], %[" x "], %[t], %[a3]\n\t"
/* one chunk: the input word's lanes xe (inputs 0, 2), xo (1, 3), the weight word's 8 lane sets */
#define TQ_FC2_ASM_CHUNK                                                                                            \
    "ldr    %[xe], [%[x]], #4\n\t" /* any alignment: an unaligned LDR is legal on Armv7E-M / Armv8-M Mainline */   \
    "ldr    %[w], [%[wp]], #4\n\t"                                                                                 \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                                                                              \
    "sxtb16 %[xe], %[xe]\n\t"                                                                                      \
    "and    %[t], %[w], #0x00030003\n\t"                                                                          \
    "smlad  %[a0], %[xe], %[t], %[a0]\n\t"                                                                          \
    "and    %[t], %[mask], %[w], lsr #2\n\t"                                                                       \
    "smlad  %[a1], %[xe], %[t], %[a1]\n\t"                                                                          \
    "and    %[t], %[mask], %[w], lsr #4\n\t"                                                                       \
    "smlad  %[a2], %[xe], %[t], %[a2]\n\t"                                                                          \
    "and    %[t], %[mask], %[w], lsr #6\n\t"                                                                       \
    "smlad  %[a3], %[xe], %[t], %[a3]\n\t" TQ_FC2_ASM_LANES("xo", "8", "10", "12", "14")

/* `n` (>= 1) chunks from *x and *w, two a pass (an odd one first); advances *x and *w */
static inline void chunks(const int8_t **x, const word_t **w, int32_t n, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xe, xo, v, t;
    const uint32_t mask = 0x00030003u;
    const int8_t *xp = *x;
    const word_t *wp = *w;
    if (n & 1) {
        __asm__(TQ_FC2_ASM_CHUNK
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [wp] "+r"(wp),
                  [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(v), [t] "=&r"(t)
                : [mask] "r"(mask)
                : "memory");
    }
    int32_t pairs = n >> 1;
    if (pairs) {
        __asm__("1:\n\t" TQ_FC2_ASM_CHUNK TQ_FC2_ASM_CHUNK
                "subs   %[n], %[n], #1\n\t"
                "bne    1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [wp] "+r"(wp),
                  [n] "+r"(pairs), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(v), [t] "=&r"(t)
                : [mask] "r"(mask)
                : "cc", "memory");
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    *x = xp;
    *w = wp;
}

/* the last 1-3 inputs of a row as a word with zero bytes above them */
static inline uint32_t tail_word(const int8_t *x, int32_t n) {
    uint32_t v = (uint8_t)x[0];
    if (n > 1) v |= (uint32_t)(uint8_t)x[1] << 8;
    if (n > 2) v |= (uint32_t)(uint8_t)x[2] << 16;
    return v;
}

/* 2 * the sum of the row's inputs (modulo 2^32) */
static int32_t sum2(const int8_t *x, int32_t full, uint32_t last) {
    int32_t s = 0;
    const int16x2_t ones = (int16x2_t)0x00010001;
    for (int32_t c = 0; c < full; ++c) {
        const uint32_t v = tq_dsp_load4(x + 4 * c);
        s = __smlad(__sxtb16((int32_t)v), ones, s);
        s = __smlad(tq_dsp_odd_bytes(v), ones, s);
    }
    s = __smlad(__sxtb16((int32_t)last), ones, s);
    s = __smlad(tq_dsp_odd_bytes(last), ones, s);
    return (int32_t)((uint32_t)s << 1);
}

/* row i of a group: acc = f + m (U - 2 S); requantize 2 acc (rq: its tq_requant_row), offset, clamp */
static inline __attribute__((always_inline)) int8_t finish(const int32_t *bias, int32_t i, int32_t u, int32_t s2,
                                                           const int32_t *rq, int32_t offset, int32_t lo,
                                                           int32_t hi, int clamp) {
    const int32_t acc = (int32_t)((uint32_t)bias[i] + (uint32_t)bias[4 + i] * ((uint32_t)u - (uint32_t)s2));
    int32_t y = __ssat(tq_requant_lowbit((int32_t)((uint32_t)acc << 1), rq) + offset, 8);
    if (clamp) {
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
    }
    return (int8_t)y;
}

static inline __attribute__((always_inline)) void fc2_row(const tq_fully_connected_s8_int2_params *p,
                                                          const int8_t *in, int8_t *out, int clamp) {
    const int32_t depth = p->accum_depth, full = depth >> 2, tail = depth & 3, n = p->output_depth;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int32_t *bias = p->bias, *rq = p->requant, rq_step = p->requant_step;
    const word_t *w = (const word_t *)(const void *)p->weights;
    const uint32_t last = tail ? tail_word(in + 4 * full, tail) : 0;
    const int32_t s2 = sum2(in, full, last);
    for (int32_t o = 0; o < n; o += 4, bias += 8, rq += rq_step) {
        int32_t acc[4] = {0, 0, 0, 0};
        const int8_t *x = in;
        if (full) chunks(&x, &w, full, acc);
        if (tail) {
            const int8_t *t = (const int8_t *)&last;
            chunks(&t, &w, 1, acc);
        }
        const int32_t m = n - o < 4 ? n - o : 4; /* the last group may hold 1-3 rows */
        for (int32_t i = 0; i < m; ++i) out[o + i] = finish(bias, i, acc[i], s2, rq + 4 * i, offset, lo, hi, clamp);
    }
}

static void fc2_row_full(const tq_fully_connected_s8_int2_params *p, const int8_t *in, int8_t *out) {
    fc2_row(p, in, out, 0);
}

static void fc2_row_clamped(const tq_fully_connected_s8_int2_params *p, const int8_t *in, int8_t *out) {
    fc2_row(p, in, out, 1);
}

tq_status tq_fully_connected_s8_int2_dsp(const tq_fully_connected_s8_int2_params *p, const int8_t *input,
                                         int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->batches >= 1 && p->accum_depth >= 1 &&
              p->output_depth >= 1);
    const int32_t batches = p->batches, depth = p->accum_depth, n = p->output_depth;
    void (*const row)(const tq_fully_connected_s8_int2_params *, const int8_t *, int8_t *) =
        p->act_min == INT8_MIN && p->act_max == INT8_MAX ? fc2_row_full : fc2_row_clamped;
    for (int32_t b = 0; b < batches; ++b) row(p, input + b * depth, output + b * n);
    return TQ_OK;
}
#else
typedef int tq_fully_connected_s8_int2_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
