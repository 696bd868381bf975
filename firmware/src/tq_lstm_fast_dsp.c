/* UNIDIRECTIONAL_SEQUENCE_LSTM int8 on the Arm DSP extension, prepared at compile time (tq_lstm_fast_dsp.h).
 * Exactness, beside tq_lstm_s8 (the TFLM order and rounding):
 *   - each FC sums folded_bias + sum(x * w) in wrapping int32 (SMLAD wraps): TFLM's bias + sum((x + offset) * w)
 *     modulo 2^32, hence that integer, since the preparer proved |sum| * 2^left < 2^30 for every input (left:
 *     the requantization's left shift; a right shift is at most 30): then requant_row is TFLM's
 *     MultiplyByQuantizedMultiplier;
 *   - the three cell products are int16 x a Q0.15 gate in [0, 32767] or tanh in [-32767, 32767]: below 2^30;
 *   - the sigmoid and tanh are tq_logistic_s16 / tq_tanh_s16 inlined: the gates' input rescale is x 3 with no
 *     shift, so |3x| >> 9 <= 192 and the sigmoid never takes its saturation branch. */
#include "tinyq/tq_lstm_fast_dsp.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* the weights are int8 arrays read by aligned words (TQ_ALIGN; a group's chunk is 16 bytes) */
typedef uint32_t __attribute__((may_alias)) word_t;

/* rows a, b of the group over one chunk: one LDRD of their weight words, both lane sets of each */
#define TQ_LSTM_ASM_ROWS(a, b)                                                                                     \
    "ldrd   %[u], %[v], [%[w]], #8\n\t"                                                                            \
    "sxtb16 %[t], %[u]\n\t"                                                                                        \
    "smlad  %[" a "], %[xe], %[t], %[" a "]\n\t"                                                                    \
    "sxtb16 %[t], %[u], ror #8\n\t"                                                                                \
    "smlad  %[" a "], %[xo], %[t], %[" a "]\n\t"                                                                    \
    "sxtb16 %[t], %[v]\n\t"                                                                                        \
    "smlad  %[" b "], %[xe], %[t], %[" b "]\n\t"                                                                    \
    "sxtb16 %[t], %[v], ror #8\n\t"                                                                                \
    "smlad  %[" b "], %[xo], %[t], %[" b "]\n\t"
/* one chunk: the widened input's two lane words (inputs 0, 2 and 1, 3) in one LDRD, then the 4 rows */
#define TQ_LSTM_ASM_CHUNK "ldrd   %[xe], %[xo], [%[x]], #8\n\t" TQ_LSTM_ASM_ROWS("a0", "a1") TQ_LSTM_ASM_ROWS("a2", "a3")
#define TQ_LSTM_ASM_OPERANDS(A0, A1, A2, A3, W)                                                                     \
    : [a0] "+r"(A0), [a1] "+r"(A1), [a2] "+r"(A2), [a3] "+r"(A3), [x] "+r"(x), [w] "+r"(W), [n] "+r"(pairs),       \
      [xe] "=&r"(xe), [xo] "=&r"(xo), [u] "=&r"(u), [v] "=&r"(v), [t] "=&r"(t)                                      \
    :                                                                                                              \
    : "cc", "memory"

/* A0..A3 (lvalues) += the group's 4 rows over `chunks` (>= 1) widened chunks from x; advances W past the group */
#define TQ_LSTM_GROUP_DOT(x_start, W, chunks, A0, A1, A2, A3)                                                      \
    do {                                                                                                           \
        const uint32_t *x = (x_start);                                                                             \
        int32_t pairs = (chunks) >> 1;                                                                             \
        uint32_t xe, xo, u, v, t;                                                                                  \
        if (pairs > 0) {                                                                                           \
            __asm__("1:\n\t" TQ_LSTM_ASM_CHUNK TQ_LSTM_ASM_CHUNK                                                    \
                    "subs   %[n], %[n], #1\n\t"                                                                    \
                    "bne    1b\n\t" TQ_LSTM_ASM_OPERANDS(A0, A1, A2, A3, W));                                      \
        }                                                                                                          \
        if ((chunks) & 1) {                                                                                        \
            __asm__(TQ_LSTM_ASM_CHUNK TQ_LSTM_ASM_OPERANDS(A0, A1, A2, A3, W));                                      \
        }                                                                                                          \
    } while (0)

/* x[0..n) as int16 lane words, two per chunk of 4: {x0, x2}, {x1, x3}; a last partial chunk zero-padded (read
 * byte by byte: never past the row) */
static void widen(const int8_t *x, int32_t n, uint32_t *out) {
    int32_t c = 0;
    for (; c + 4 <= n; c += 4, out += 2) {
        const uint32_t v = tq_dsp_load4(x + c);
        out[0] = (uint32_t)__sxtb16((int32_t)v);
        out[1] = (uint32_t)tq_dsp_odd_bytes(v);
    }
    if (c < n) {
        uint32_t v = (uint8_t)x[c];
        if (c + 1 < n) v |= (uint32_t)(uint8_t)x[c + 1] << 8;
        if (c + 2 < n) v |= (uint32_t)(uint8_t)x[c + 2] << 16;
        out[0] = (uint32_t)__sxtb16((int32_t)v);
        out[1] = (uint32_t)tq_dsp_odd_bytes(v);
    }
}

/* table[a >> bits] + fraction * (table[(a >> bits) + 1] - table[a >> bits]), `bits` of fraction (tq_logistic.c) */
static inline uint32_t interpolate(const uint16_t *table, uint32_t a, int bits) {
    const uint32_t uh = a >> bits, ua = table[uh], ub = table[uh + 1];
    return (ua << bits) + (a & ((UINT32_C(1) << bits) - 1)) * (ub - ua);
}

/* tq_logistic_s16 of a gate (Q3.12; rescaled by 3, no shift): |v| >> 9 <= 192 < 255, no saturation. With
 * m = -1 for v < 0 (else 0), the reference's v < 0 branch 2^25 - r + 2^9 - 1 is (r ^ m) + 2^9 + 2^25 modulo 2^32,
 * and its v >= 0 branch r + 2^9 the same expression with m = 0. */
static inline int32_t gate_sigmoid(int32_t x, const uint16_t *table) {
    const int32_t v = 3 * x, m = v >> 31;
    const uint32_t r = interpolate(table, (uint32_t)((v ^ m) - m), 9);
    return (int16_t)(((r ^ (uint32_t)m) + (1u << 9) + ((uint32_t)m & (1u << 25))) >> 10);
}

/* tq_tanh_s16 of an already rescaled input v: the branches s - 2^23 + 2^7 (v >= 0) and -s + 2^23 + 2^7 - 1
 * (v < 0) as one expression in m, as gate_sigmoid's */
static inline int32_t tanh_rescaled(int32_t v, const uint16_t *table) {
    const int32_t m = v >> 31;
    const uint32_t a = (uint32_t)((v ^ m) - m);
    const int32_t s = (a >> 8) >= 255 ? 0xFFFF << 8 : (int32_t)interpolate(table, a, 8);
    return (int16_t)(((s ^ m) + (1 << 7) - (1 << 23) + (m & (1 << 24))) >> 8);
}

/* TFLM's MultiplyByQuantizedMultiplier by a row {multiplier, 1 + left shift, round, right shift, mask}: as
 * tq_requant_fast.h with the left shift in the doubling. a = acc * 2^left is below 2^30 (proved), so 2a fits and
 * SMMULR(2a, m) = SaturatingRoundingDoublingHighMul(a, m); the rounding divide then adds [h < 0] (mask -1) only
 * when there is a right shift: without one it is h itself (round 0, mask 0). */
static inline int32_t requant_row(int32_t acc, const int32_t *row) {
    const int32_t h = tq_smmulr((int32_t)((uint32_t)acc << row[1]), row[0]);
    return (h + row[2] + ((h >> 31) & row[4])) >> row[3];
}

/* two sums requantized into Q3.12 and saturated to int16, in one word (the first in the low half: at the lower
 * address) */
static inline uint32_t requant_pair(int32_t s0, int32_t s1, const int32_t *rq) {
    return ((uint32_t)__ssat(requant_row(s0, rq), 16) & 0xFFFFu) | ((uint32_t)__ssat(requant_row(s1, rq), 16) << 16);
}

/* The gates of one step, Q3.12 [4][4 groups]: each group's input FC requantized and stored, then its recurrent
 * FC's added with QADD16 (int16 saturation per lane: TFLM's saturating add of the two FC outputs). */
static void step_gates(const tq_lstm_s8_fast_params *p, const uint32_t *xw, const uint32_t *hw, uint32_t *gates) {
    const int32_t groups = p->hidden_chunks, in_chunks = p->input_chunks;
    const word_t *wi = (const word_t *)(const void *)p->input_weights;
    const word_t *wr = (const word_t *)(const void *)p->recurrent_weights;
    const int32_t *bi = p->input_bias, *br = p->recurrent_bias;
    for (int32_t g = 0; g < 4; ++g) {
        const int32_t *rq = p->gate_requant + 10 * g;
        for (int32_t j = 0; j < groups; ++j, bi += 4, br += 4, gates += 2) {
            int32_t a0 = bi[0], a1 = bi[1], a2 = bi[2], a3 = bi[3];
            TQ_LSTM_GROUP_DOT(xw, wi, in_chunks, a0, a1, a2, a3);
            gates[0] = requant_pair(a0, a1, rq);
            gates[1] = requant_pair(a2, a3, rq);
            int32_t r0 = br[0], r1 = br[1], r2 = br[2], r3 = br[3];
            TQ_LSTM_GROUP_DOT(hw, wr, groups, r0, r1, r2, r3);
            gates[0] = (uint32_t)__qadd16((int16x2_t)gates[0], (int16x2_t)requant_pair(r0, r1, rq + 5));
            gates[1] = (uint32_t)__qadd16((int16x2_t)gates[1], (int16x2_t)requant_pair(r2, r3, rq + 5));
        }
    }
}

tq_status tq_lstm_s8_fast_dsp(const tq_lstm_s8_fast_params *p, const int8_t *input, int8_t *output, int8_t *hidden,
                              int16_t *cell, void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && hidden != NULL && cell != NULL && scratch != NULL &&
              p->input_weights != NULL && p->recurrent_weights != NULL && p->input_bias != NULL &&
              p->recurrent_bias != NULL && p->gate_requant != NULL && p->cell_requant != NULL &&
              p->sigmoid_table != NULL);
    TQ_ASSERT(p->batches >= 1 && p->time_steps >= 1 && p->input_size >= 1 && p->units >= 1 &&
              p->input_chunks == (p->input_size + 3) / 4 && p->hidden_chunks == (p->units + 3) / 4 &&
              p->hidden_zero_point >= INT8_MIN && p->hidden_zero_point <= INT8_MAX && p->cell_clip >= 0 &&
              p->cell_tanh_multiplier >= 1 && p->cell_tanh_multiplier <= 32767 && p->cell_tanh_right_shift >= 0 &&
              p->cell_tanh_right_shift <= 31);
    const int32_t n = p->units, n4 = 4 * p->hidden_chunks;
    int16_t *gates = (int16_t *)scratch;
    uint32_t *xw = (uint32_t *)(void *)(gates + 4 * n4); /* 8 n4 bytes in: 4-byte aligned */
    uint32_t *hw = xw + 2 * p->input_chunks;
    const int16_t *ig = gates, *fg = gates + n4, *cg = gates + 2 * n4, *og = gates + 3 * n4;
    const int32_t *cr = p->cell_requant;
    const uint16_t *table = p->sigmoid_table;
    const int32_t tanh_m = p->cell_tanh_multiplier, tanh_rs = p->cell_tanh_right_shift;
    const int32_t tanh_round = tanh_rs > 0 ? (INT32_C(1) << (tanh_rs - 1)) : 0;
    const int32_t clip = p->use_cell_clip ? p->cell_clip : INT16_MAX + 1; /* a clip of 2^15 clips nothing */
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = hidden + b * n;
        int16_t *c = cell + b * n;
        for (int32_t t = 0; t < p->time_steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->time_steps + t;
            int8_t *out = output + row * n;
            widen(input + row * p->input_size, p->input_size, xw);
            widen(h, n, hw);
            step_gates(p, xw, hw, (uint32_t *)scratch);
            for (int32_t u = 0; u < n; ++u) { /* TFLM's UpdateLstmCell and CalculateLstmOutput, one unit at a time */
                const int32_t i_gate = gate_sigmoid(ig[u], table), f_gate = gate_sigmoid(fg[u], table);
                const int32_t c_gate = tanh_rescaled(3 * cg[u], table), o_gate = gate_sigmoid(og[u], table);
                const int32_t kept = __ssat(requant_row(f_gate * c[u], cr), 16);
                const int32_t add = __ssat(requant_row(i_gate * c_gate, cr + 5), 16);
                const int32_t cv = tq_clamp_i32(__ssat(kept + add, 16), -clip, clip);
                c[u] = (int16_t)cv;
                const int32_t tanh_c = tanh_rescaled((cv * tanh_m + tanh_round) >> tanh_rs, table);
                const int32_t hv = __ssat(requant_row(tanh_c * o_gate, cr + 10) + p->hidden_zero_point, 8);
                h[u] = (int8_t)hv;
                out[u] = (int8_t)hv;
            }
        }
    }
    return TQ_OK;
}
#endif
