/* Fully connected, reference kernels (loop order and rounding of TFLM reference_integer_ops). */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"

tq_status tq_fully_connected_s8(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_FULLY_CONNECTED_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    /* int8 zero points: each product of two offset int8 values fits int32 */
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128);
    const int32_t *bias = (const int32_t *)p->bias;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->accum_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *w = p->weights + o * p->accum_depth;
            uint32_t acc = 0; /* TFLM's int32 accumulator, wrapping modulo 2^32 (no signed overflow) */
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += (uint32_t)((in[d] + p->input_offset) * (w[d] + p->filter_offset));
            }
            if (bias) acc += (uint32_t)bias[o];
            const int32_t c = p->per_channel ? o : 0;
            const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]);
            output[b * p->output_depth + o] = (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}

tq_status tq_fully_connected_s16(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_FULLY_CONNECTED_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * p->accum_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *w = p->weights + o * p->accum_depth;
            int64_t acc = 0; /* exact sum; TFLM's int32 accumulator is this sum modulo 2^32 */
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += (int64_t)(in[d] + p->input_offset) * (w[d] + p->filter_offset);
            }
            const int32_t c = p->per_channel ? o : 0;
            int32_t y;
            if (p->acc64) {
                if (p->bias) acc = tq_add_wrap_i64(acc, ((const int64_t *)p->bias)[o]);
                y = tq_multiply_by_quantized_multiplier_int64(acc, p->multiplier[c], p->shift[c]);
            } else {
                uint32_t acc32 = (uint32_t)(uint64_t)acc;
                if (p->bias) acc32 += (uint32_t)((const int32_t *)p->bias)[o];
                y = tq_multiply_by_quantized_multiplier((int32_t)acc32, p->multiplier[c], p->shift[c]);
            }
            output[b * p->output_depth + o] = (int16_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}
