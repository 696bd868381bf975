/* UNIDIRECTIONAL_SEQUENCE_LSTM, reference kernels: the order and rounding of TFLM's integer LstmStep
 * (lstm_eval.h). The int8 kernel's int32 sums wrap modulo 2^32 as TFLM's do (uint32 here: defined behaviour);
 * the 16x8 kernel sums in int64 (the lowering bounds the biases so the sums stay below 2^47). */
#include "tinyq/tq_lstm.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_logistic.h"

static inline int16_t tq_lstm_sat16(int32_t v) { return (int16_t)tq_clamp_i32(v, INT16_MIN, INT16_MAX); }

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

/* After the gates: the cell update, tanh(cell) (into the spent forget-gate slot), the new hidden state. */
static void tq_lstm_cell_update(const tq_lstm_params *p, int16_t *gates, int16_t *cell) {
    const int32_t n = p->units;
    const int16_t *ig = gates, *cg = gates + 2 * n;
    int16_t *fg = gates + n;
    for (int32_t u = 0; u < n; ++u) {
        const int32_t kept = tq_multiply_by_quantized_multiplier(fg[u] * cell[u], p->forget_multiplier, p->forget_shift);
        const int32_t add = tq_multiply_by_quantized_multiplier(ig[u] * cg[u], p->update_multiplier, p->update_shift);
        int32_t c = tq_lstm_sat16(tq_lstm_sat16(kept) + tq_lstm_sat16(add));
        if (p->use_cell_clip) c = tq_clamp_i32(c, -p->cell_clip, p->cell_clip);
        cell[u] = (int16_t)c;
        fg[u] = (int16_t)c;
    }
    tq_lstm_activate(p, fg, n, p->cell_tanh_multiplier, p->cell_tanh_right_shift, 1);
}

/* One step of one batch row: gates from `in` and the hidden state `h`, then cell and hidden. */
#define TQ_LSTM_STEP(ACT_T, LO, HI, ACC64)                                                                           \
    do {                                                                                                           \
        for (int32_t g = 0; g < 4; ++g) {                                                                          \
            for (int32_t u = 0; u < n; ++u) {                                                                      \
                const int8_t *wi = p->input_weights + (g * n + u) * p->input_size;                                  \
                const int8_t *wr = p->recurrent_weights + (g * n + u) * n;                                          \
                int32_t a, r;                                                                                       \
                if (ACC64) {                                                                                        \
                    int64_t acc = ((const int64_t *)p->bias)[g * n + u], rec = 0;                                   \
                    for (int32_t k = 0; k < p->input_size; ++k) acc += (int64_t)(wi[k] * (in[k] + p->input_offset)); \
                    for (int32_t k = 0; k < n; ++k) rec += (int64_t)(wr[k] * (h[k] + hidden_offset));              \
                    a = tq_multiply_by_quantized_multiplier_int64(acc, p->input_multiplier[g], p->input_shift[g]);  \
                    r = tq_multiply_by_quantized_multiplier_int64(rec, p->recurrent_multiplier[g],                 \
                                                                  p->recurrent_shift[g]);                          \
                } else {                                                                                            \
                    uint32_t acc = (uint32_t)((const int32_t *)p->bias)[g * n + u], rec = 0;                        \
                    for (int32_t k = 0; k < p->input_size; ++k) acc += (uint32_t)(wi[k] * (in[k] + p->input_offset)); \
                    for (int32_t k = 0; k < n; ++k) rec += (uint32_t)(wr[k] * (h[k] + hidden_offset));             \
                    a = tq_multiply_by_quantized_multiplier((int32_t)acc, p->input_multiplier[g], p->input_shift[g]); \
                    r = tq_multiply_by_quantized_multiplier((int32_t)rec, p->recurrent_multiplier[g],              \
                                                            p->recurrent_shift[g]);                                \
                }                                                                                                   \
                gates[g * n + u] = tq_lstm_sat16(tq_lstm_sat16(a) + tq_lstm_sat16(r));                              \
            }                                                                                                       \
        }                                                                                                           \
        /* gate activations: Q3.12 in (multiplier 3, no shift), Q0.15 out; tanh for the cell gate */               \
        tq_lstm_activate(p, gates, 2 * n, 3, 0, 0);                                                                \
        tq_lstm_activate(p, gates + 2 * n, n, 3, 0, 1);                                                            \
        tq_lstm_activate(p, gates + 3 * n, n, 3, 0, 0);                                                            \
        tq_lstm_cell_update(p, gates, c);                                                                          \
        for (int32_t u = 0; u < n; ++u) {                                                                          \
            const int32_t y = tq_multiply_by_quantized_multiplier(gates[n + u] * gates[3 * n + u],                  \
                                                                  p->output_multiplier, p->output_shift);          \
            h[u] = (ACT_T)tq_add_clamp_i32(y, p->hidden_zero_point, (LO), (HI));                                   \
            out[u] = h[u];                                                                                          \
        }                                                                                                           \
    } while (0)

#define TQ_LSTM_BODY(ACT_T, LO, HI, ACC64, OFFSET_LO, OFFSET_HI)                                                     \
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && hidden != NULL && cell != NULL && scratch != NULL &&  \
              p->input_weights != NULL && p->recurrent_weights != NULL && p->bias != NULL &&                       \
              p->sigmoid_table != NULL);                                                                           \
    TQ_ASSERT(p->batches >= 1 && p->time_steps >= 1 && p->input_size >= 1 && p->units >= 1 &&                     \
              p->hidden_zero_point >= (LO) && p->hidden_zero_point <= (HI) && p->cell_clip >= 0 &&                 \
              p->input_offset >= (OFFSET_LO) && p->input_offset <= (OFFSET_HI) &&                                  \
              p->cell_tanh_multiplier >= 1 && p->cell_tanh_multiplier <= 32767 &&                                  \
              p->cell_tanh_right_shift >= 0 && p->cell_tanh_right_shift <= 31);                                    \
    const int32_t n = p->units, hidden_offset = -p->hidden_zero_point;                                             \
    int16_t *gates = (int16_t *)scratch;                                                                           \
    for (int32_t b = 0; b < p->batches; ++b) {                                                                     \
        ACT_T *h = hidden + b * n;                                                                                 \
        int16_t *c = cell + b * n;                                                                                 \
        for (int32_t t = 0; t < p->time_steps; ++t) {                                                              \
            const int32_t row = p->time_major ? t * p->batches + b : b * p->time_steps + t;                        \
            const ACT_T *in = input + row * p->input_size;                                                         \
            ACT_T *out = output + row * n;                                                                         \
            TQ_LSTM_STEP(ACT_T, LO, HI, ACC64);                                                                    \
        }                                                                                                          \
    }                                                                                                              \
    return TQ_OK

tq_status tq_lstm_s8(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                     void *scratch) {
    TQ_LSTM_BODY(int8_t, INT8_MIN, INT8_MAX, 0, -127, 128);
}

tq_status tq_lstm_s16(const tq_lstm_params *p, const int16_t *input, int16_t *output, int16_t *hidden,
                      int16_t *cell, void *scratch) {
    TQ_LSTM_BODY(int16_t, INT16_MIN, INT16_MAX, 1, 0, 0); /* int16 activations: zero point 0 */
}
