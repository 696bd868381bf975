/* UNIDIRECTIONAL_SEQUENCE_LSTM, reference kernels: the order and rounding of TFLM's integer LstmStep
 * (lstm_eval.h). The int8 kernel's int32 sums wrap modulo 2^32 as TFLM's do (uint32 here: defined behaviour);
 * the 16x8 kernel sums in int64 (the lowering bounds the biases so the sums stay below 2^47). The _dsp variant
 * of the int8 kernel computes the same sums with the DSP extension's dual multiply-accumulates. */
#include "tinyq/tq_lstm.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_logistic.h"
#include "tq_dsp_dot.h"

/* The step's gate pre-activations (Q3.12, [4][units]) from its input row and the hidden state. */
typedef void (*tq_lstm_gates_s8_fn)(const tq_lstm_params *p, const int8_t *in, const int8_t *h, int16_t *gates);

static inline int16_t tq_lstm_sat16(int32_t v) { return (int16_t)tq_clamp_i32(v, INT16_MIN, INT16_MAX); }

/* Both FCs requantized into int16, then their saturating sum (TFLM's two FullyConnected + AddElementWise). */
static inline int16_t tq_lstm_gate(int32_t in_scaled, int32_t rec_scaled) {
    return tq_lstm_sat16(tq_lstm_sat16(in_scaled) + tq_lstm_sat16(rec_scaled));
}

static void tq_lstm_gates_s8(const tq_lstm_params *p, const int8_t *in, const int8_t *h, int16_t *gates) {
    const int32_t n = p->units, hidden_offset = -p->hidden_zero_point;
    const int32_t *bias = (const int32_t *)p->bias;
    for (int32_t g = 0; g < 4; ++g) {
        for (int32_t u = 0; u < n; ++u) {
            const int8_t *wi = p->input_weights + (g * n + u) * p->input_size;
            const int8_t *wr = p->recurrent_weights + (g * n + u) * n;
            uint32_t acc = (uint32_t)bias[g * n + u], rec = 0;
            for (int32_t k = 0; k < p->input_size; ++k) acc += (uint32_t)(wi[k] * (in[k] + p->input_offset));
            for (int32_t k = 0; k < n; ++k) rec += (uint32_t)(wr[k] * (h[k] + hidden_offset));
            gates[g * n + u] = tq_lstm_gate(
                tq_multiply_by_quantized_multiplier((int32_t)acc, p->input_multiplier[g], p->input_shift[g]),
                tq_multiply_by_quantized_multiplier((int32_t)rec, p->recurrent_multiplier[g], p->recurrent_shift[g]));
        }
    }
}

static void tq_lstm_gates_s16(const tq_lstm_params *p, const int16_t *in, const int16_t *h, int16_t *gates) {
    const int32_t n = p->units;
    const int64_t *bias = (const int64_t *)p->bias;
    for (int32_t g = 0; g < 4; ++g) {
        for (int32_t u = 0; u < n; ++u) {
            const int8_t *wi = p->input_weights + (g * n + u) * p->input_size;
            const int8_t *wr = p->recurrent_weights + (g * n + u) * n;
            int64_t acc = bias[g * n + u], rec = 0; /* zero points are 0 in 16x8 */
            for (int32_t k = 0; k < p->input_size; ++k) acc += (int64_t)(wi[k] * in[k]);
            for (int32_t k = 0; k < n; ++k) rec += (int64_t)(wr[k] * h[k]);
            gates[g * n + u] = tq_lstm_gate(
                tq_multiply_by_quantized_multiplier_int64(acc, p->input_multiplier[g], p->input_shift[g]),
                tq_multiply_by_quantized_multiplier_int64(rec, p->recurrent_multiplier[g], p->recurrent_shift[g]));
        }
    }
}

/* tq_multiply_by_quantized_multiplier(x, m, shift) for m >= 0 in the floor forms tinyq/sim/fixedpoint.py
 * computes (and tests against TFLM): SaturatingRoundingDoublingHighMul(a, m) = floor((a*m + 2^30) / 2^31)
 * (it cannot saturate with m >= 0), RoundingDivideByPOT(h, e) = (h + 2^(e-1) - [h < 0 and e > 0]) >> e, the
 * sum in int64. Fewer instructions than the general helper's sign-dependent nudge, division and masks; used
 * wherever the multiplier is one of the record's (never negative). */
typedef struct {
    int32_t multiplier, left, right;
    int64_t half; /* 2^(right-1), or 0 */
} tq_lstm_requant_t;

static inline tq_lstm_requant_t tq_lstm_requant_of(int32_t multiplier, int32_t shift) {
    const int32_t right = shift > 0 ? 0 : -shift;
    const tq_lstm_requant_t r = {multiplier, shift > 0 ? shift : 0, right, right > 0 ? (INT64_C(1) << (right - 1)) : 0};
    return r;
}

static inline int32_t tq_lstm_requant(int32_t x, const tq_lstm_requant_t *r) {
    const int32_t a = (int32_t)((uint32_t)x << r->left);
    const int64_t h = ((int64_t)a * r->multiplier + (INT64_C(1) << 30)) >> 31;
    return (int32_t)((h + r->half - (h < 0 && r->right > 0)) >> r->right);
}

/* The int16 sigmoid or tanh of TFLM (tq_logistic.c), in place over n values. */
static void tq_lstm_activate(const tq_lstm_params *p, int16_t *x, int32_t n, int32_t multiplier, int32_t right_shift,
                             int is_tanh) {
    const tq_logistic_s16_params a = {n, multiplier, right_shift, p->sigmoid_table};
    if (is_tanh) {
        (void)tq_tanh_s16(&a, x, x);
    } else {
        (void)tq_logistic_s16(&a, x, x);
    }
}

/* After the gates: their activations (Q3.12 in, multiplier 3 and no shift; Q0.15 out; tanh for the cell
 * gate), the cell update, and tanh(cell) x output gate into gates[0..units) (the spent input gate), before
 * the hidden zero point and the clamp. */
static void tq_lstm_cell_update(const tq_lstm_params *p, int16_t *gates, int16_t *cell, int32_t *hidden_raw) {
    const int32_t n = p->units;
    int16_t *ig = gates, *fg = gates + n, *cg = gates + 2 * n, *og = gates + 3 * n;
    tq_lstm_activate(p, gates, 2 * n, 3, 0, 0);
    tq_lstm_activate(p, cg, n, 3, 0, 1);
    tq_lstm_activate(p, og, n, 3, 0, 0);
    const tq_lstm_requant_t forget = tq_lstm_requant_of(p->forget_multiplier, p->forget_shift);
    const tq_lstm_requant_t update = tq_lstm_requant_of(p->update_multiplier, p->update_shift);
    const tq_lstm_requant_t output = tq_lstm_requant_of(p->output_multiplier, p->output_shift);
    for (int32_t u = 0; u < n; ++u) {
        const int32_t kept = tq_lstm_requant(fg[u] * cell[u], &forget);
        const int32_t add = tq_lstm_requant(ig[u] * cg[u], &update);
        int32_t c = tq_lstm_sat16(tq_lstm_sat16(kept) + tq_lstm_sat16(add));
        if (p->use_cell_clip) c = tq_clamp_i32(c, -p->cell_clip, p->cell_clip);
        cell[u] = (int16_t)c;
        fg[u] = (int16_t)c;
    }
    tq_lstm_activate(p, fg, n, p->cell_tanh_multiplier, p->cell_tanh_right_shift, 1);
    for (int32_t u = 0; u < n; ++u) {
        hidden_raw[u] = tq_lstm_requant(fg[u] * og[u], &output);
    }
}

#define TQ_LSTM_CHECK(OFFSET_LO, OFFSET_HI, LO, HI)                                                                  \
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && hidden != NULL && cell != NULL && scratch != NULL &&  \
              p->input_weights != NULL && p->recurrent_weights != NULL && p->bias != NULL &&                       \
              p->sigmoid_table != NULL);                                                                           \
    TQ_ASSERT(p->batches >= 1 && p->time_steps >= 1 && p->input_size >= 1 && p->units >= 1 &&                     \
              p->input_offset >= (OFFSET_LO) && p->input_offset <= (OFFSET_HI) &&                                  \
              p->hidden_zero_point >= (LO) && p->hidden_zero_point <= (HI) && p->cell_clip >= 0 &&                 \
              p->cell_tanh_multiplier >= 1 && p->cell_tanh_multiplier <= 32767 &&                                  \
              p->cell_tanh_right_shift >= 0 && p->cell_tanh_right_shift <= 31)

/* Every step of every batch row; scratch: the gates [4][units], then the raw hidden values [units] (int32). */
#define TQ_LSTM_LOOP(ACT_T, LO, HI, GATES)                                                                           \
    const int32_t n = p->units;                                                                                    \
    int16_t *gates = (int16_t *)scratch;                                                                           \
    int32_t *hidden_raw = (int32_t *)(void *)(gates + 4 * n); /* 8n bytes in: 4-byte aligned */                      \
    for (int32_t b = 0; b < p->batches; ++b) {                                                                     \
        ACT_T *h = hidden + b * n;                                                                                 \
        int16_t *c = cell + b * n;                                                                                 \
        for (int32_t t = 0; t < p->time_steps; ++t) {                                                              \
            const int32_t row = p->time_major ? t * p->batches + b : b * p->time_steps + t;                        \
            ACT_T *out = output + row * n;                                                                         \
            GATES(p, input + row * p->input_size, h, gates);                                                       \
            tq_lstm_cell_update(p, gates, c, hidden_raw);                                                          \
            for (int32_t u = 0; u < n; ++u) {                                                                      \
                h[u] = (ACT_T)tq_add_clamp_i32(hidden_raw[u], p->hidden_zero_point, (LO), (HI));                   \
                out[u] = h[u];                                                                                     \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
    return TQ_OK

static tq_status tq_lstm_s8_with(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden,
                                 int16_t *cell, void *scratch, tq_lstm_gates_s8_fn gates_fn) {
    TQ_LSTM_CHECK(-127, 128, INT8_MIN, INT8_MAX);
    TQ_LSTM_LOOP(int8_t, INT8_MIN, INT8_MAX, gates_fn);
}

tq_status tq_lstm_s8(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                     void *scratch) {
    return tq_lstm_s8_with(p, input, output, hidden, cell, scratch, tq_lstm_gates_s8);
}

tq_status tq_lstm_s16(const tq_lstm_params *p, const int16_t *input, int16_t *output, int16_t *hidden,
                      int16_t *cell, void *scratch) {
    TQ_LSTM_CHECK(0, 0, INT16_MIN, INT16_MAX); /* int16 activations: zero point 0 */
    TQ_LSTM_LOOP(int16_t, INT16_MIN, INT16_MAX, tq_lstm_gates_s16);
}

#if defined(__ARM_FEATURE_DSP)
/* The int8 gates with SMLAD: two weight rows of one gate per pass share each widened input word
 * (tq_dsp_dot.h); the same uint32 sums as tq_lstm_gates_s8. */
static void tq_lstm_gates_s8_dsp(const tq_lstm_params *p, const int8_t *in, const int8_t *h, int16_t *gates) {
    const int32_t n = p->units, hidden_offset = -p->hidden_zero_point;
    const int32_t *bias = (const int32_t *)p->bias;
    for (int32_t g = 0; g < 4; ++g) {
        const tq_lstm_requant_t rq_in = tq_lstm_requant_of(p->input_multiplier[g], p->input_shift[g]);
        const tq_lstm_requant_t rq_rec = tq_lstm_requant_of(p->recurrent_multiplier[g], p->recurrent_shift[g]);
        const int8_t *wi = p->input_weights + g * n * p->input_size;
        const int8_t *wr = p->recurrent_weights + g * n * n;
        int32_t u = 0;
        for (; u + 2 <= n; u += 2) {
            uint32_t a0 = (uint32_t)bias[g * n + u], a1 = (uint32_t)bias[g * n + u + 1], r0 = 0, r1 = 0;
            tq_dsp_dot2(in, wi + u * p->input_size, wi + (u + 1) * p->input_size, p->input_size, p->input_offset,
                        &a0, &a1);
            tq_dsp_dot2(h, wr + u * n, wr + (u + 1) * n, n, hidden_offset, &r0, &r1);
            gates[g * n + u] =
                tq_lstm_gate(tq_lstm_requant((int32_t)a0, &rq_in), tq_lstm_requant((int32_t)r0, &rq_rec));
            gates[g * n + u + 1] =
                tq_lstm_gate(tq_lstm_requant((int32_t)a1, &rq_in), tq_lstm_requant((int32_t)r1, &rq_rec));
        }
        if (u < n) { /* an odd unit count: the last row alone */
            const uint32_t a = tq_dsp_dot1(in, wi + u * p->input_size, p->input_size, p->input_offset,
                                           (uint32_t)bias[g * n + u]);
            const uint32_t r = tq_dsp_dot1(h, wr + u * n, n, hidden_offset, 0);
            gates[g * n + u] =
                tq_lstm_gate(tq_lstm_requant((int32_t)a, &rq_in), tq_lstm_requant((int32_t)r, &rq_rec));
        }
    }
}

tq_status tq_lstm_s8_dsp(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden,
                         int16_t *cell, void *scratch) {
    return tq_lstm_s8_with(p, input, output, hidden, cell, scratch, tq_lstm_gates_s8_dsp);
}
#endif
