/* SVDF, reference kernels: the loop order and rounding of TFLM's EvalIntegerSvdfReference (svdf_common.cc).
 * The int32 sums wrap modulo 2^32 as TFLM's do on every target (int16 time weights can overflow them); here
 * they are uint32 sums, so the C is defined behaviour. */
#include "tinyq/tq_svdf.h"
#include "tinyq/tq_fixedpoint.h"

/* v wrapped into [lo, lo + span): C's conversion to the state type, written out (defined behaviour). */
static inline int32_t tq_svdf_wrap(int32_t v, int32_t lo, uint32_t span) {
    return (int32_t)(((uint32_t)(v - lo)) % span) + lo;
}

#define TQ_SVDF_BODY(STATE_T, LO, HI)                                                                            \
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && state != NULL && p->weights_feature != NULL &&        \
              p->weights_time != NULL && p->bias != NULL);                                                         \
    TQ_ASSERT(p->batches >= 1 && p->input_size >= 1 && p->rank >= 1 && p->memory_size >= 1 &&                      \
              p->num_filters == p->num_units * p->rank && p->num_units >= 1);                                      \
    TQ_ASSERT(p->input_offset >= -127 && p->input_offset <= 128 && p->state_zero_point >= (LO) &&                 \
              p->state_zero_point <= (HI) && TQ_OFFSET_OK(p->output_offset));                                      \
    const STATE_T *wt = (const STATE_T *)p->weights_time;                                                           \
    const int32_t m = p->memory_size, f = p->num_filters;                                                           \
    for (int32_t b = 0; b < p->batches; ++b) {                                                                      \
        const int8_t *in = input + b * p->input_size;                                                               \
        STATE_T *st = state + b * f * m;                                                                            \
        for (int32_t r = 0; r < f; ++r) {                                                                           \
            STATE_T *row = st + r * m;                                                                              \
            for (int32_t j = 0; j + 1 < m; ++j) row[j] = row[j + 1]; /* the oldest time step drops out */          \
            const int8_t *w = p->weights_feature + r * p->input_size;                                               \
            uint32_t dot = 0;                                                                                       \
            for (int32_t c = 0; c < p->input_size; ++c) dot += (uint32_t)(w[c] * (in[c] + p->input_offset));        \
            const int32_t y = tq_clamp_i32(                                                                         \
                tq_multiply_by_quantized_multiplier((int32_t)dot, p->feature_multiplier, p->feature_shift), (LO),    \
                (HI));                                                                                              \
            row[m - 1] = (STATE_T)tq_svdf_wrap(p->state_zero_point + y, (LO), (uint32_t)(HI) - (uint32_t)(LO) + 1u); \
        }                                                                                                           \
        for (int32_t u = 0; u < p->num_units; ++u) {                                                                \
            uint32_t acc = (uint32_t)p->bias[u];                                                                    \
            for (int32_t k = 0; k < p->rank; ++k) {                                                                 \
                const int32_t r = u * p->rank + k;                                                                  \
                const STATE_T *row = st + r * m;                                                                    \
                const STATE_T *tw = wt + r * m;                                                                     \
                for (int32_t j = 0; j < m; ++j) acc += (uint32_t)(tw[j] * (row[j] - p->state_zero_point));          \
            }                                                                                                       \
            const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->output_multiplier, p->output_shift); \
            output[b * p->num_units + u] = (int8_t)tq_add_clamp_i32(y, p->output_offset, INT8_MIN, INT8_MAX);      \
        }                                                                                                           \
    }                                                                                                               \
    return TQ_OK

tq_status tq_svdf_s8(const tq_svdf_params *p, const int8_t *input, int8_t *output, int8_t *state) {
    TQ_SVDF_BODY(int8_t, INT8_MIN, INT8_MAX);
}

tq_status tq_svdf_s8_state16(const tq_svdf_params *p, const int8_t *input, int8_t *output, int16_t *state) {
    TQ_SVDF_BODY(int16_t, INT16_MIN, INT16_MAX);
}
