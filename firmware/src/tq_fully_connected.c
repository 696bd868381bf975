/* Fully connected, reference kernels (loop order and rounding of TFLM reference_integer_ops). */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"

tq_status tq_fully_connected_s8(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    const int32_t *bias = (const int32_t *)p->bias;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->accum_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *w = p->weights + o * p->accum_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += (in[d] + p->input_offset) * (w[d] + p->filter_offset);
            }
            if (bias) acc += bias[o];
            const int32_t c = p->per_channel ? o : 0;
            acc = tq_multiply_by_quantized_multiplier(acc, p->multiplier[c], p->shift[c]);
            acc += p->output_offset;
            output[b * p->output_depth + o] = (int8_t)tq_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}

tq_status tq_fully_connected_s16(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
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
                if (p->bias) acc += ((const int64_t *)p->bias)[o];
                y = tq_multiply_by_quantized_multiplier_int64(acc, p->multiplier[c], p->shift[c]);
            } else {
                uint32_t acc32 = (uint32_t)(uint64_t)acc;
                if (p->bias) acc32 += (uint32_t)((const int32_t *)p->bias)[o];
                y = tq_multiply_by_quantized_multiplier((int32_t)acc32, p->multiplier[c], p->shift[c]);
            }
            y += p->output_offset;
            output[b * p->output_depth + o] = (int16_t)tq_clamp_i32(y, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}
