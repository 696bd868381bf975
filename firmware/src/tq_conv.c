/* Convolution, reference kernels (loop order and rounding of TFLM reference_integer_ops::ConvPerChannel). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"

/* TFLM's int32 accumulator, wrapping modulo 2^32 as it does on every target (without signed-overflow UB).
 * With int8 operands each product is at most 255 * 128 in magnitude, so 2^16 taps never wrap. */
static inline int32_t add_wrap_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

tq_status tq_conv_s8(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_CONV_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0); /* an int32 bias */
    const int32_t *bias = (const int32_t *)p->bias;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
                    const int32_t group = out_c / filters_per_group;
                    int32_t acc = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            /* zero padding: taps outside the image are skipped */
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int32_t tap = (out_c * p->filter_height + filter_y) * p->filter_width + filter_x;
                            const int8_t *w = p->filter + tap * depth;
                            for (int32_t in_c = 0; in_c < depth; ++in_c) {
                                acc = add_wrap_i32(acc, w[in_c] * (in[in_c] + p->input_offset));
                            }
                        }
                    }
                    if (bias) acc = add_wrap_i32(acc, bias[out_c]);
                    acc = tq_multiply_by_quantized_multiplier(acc, p->multiplier[out_c], p->shift[out_c]);
                    *output++ = (int8_t)tq_add_clamp_i32(acc, p->output_offset, p->act_min, p->act_max); /* NHWC */
                }
            }
        }
    }
    return TQ_OK;
}

/* 16x8: TFLM sums 16x8 products in int64 with an int64 bias (then requantizes with the int64
 * MultiplyByQuantizedMultiplier), and in int32 with an int32 bias (then the int32 requant); the host picks
 * p->acc64 (also for an absent bias). Both come from one int64 sum here: the int32 sum is that sum modulo
 * 2^32. Zero points are 0. */
tq_status tq_conv_s16(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_CONV_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
                    const int32_t group = out_c / filters_per_group;
                    int64_t acc = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int16_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int32_t tap = (out_c * p->filter_height + filter_y) * p->filter_width + filter_x;
                            const int8_t *w = p->filter + tap * depth;
                            for (int32_t in_c = 0; in_c < depth; ++in_c) {
                                acc += (int64_t)w[in_c] * in[in_c];
                            }
                        }
                    }
                    int32_t y;
                    if (p->acc64) {
                        if (p->bias) acc = tq_add_wrap_i64(acc, ((const int64_t *)p->bias)[out_c]);
                        y = tq_multiply_by_quantized_multiplier_int64(acc, p->multiplier[out_c], p->shift[out_c]);
                    } else {
                        int32_t acc32 = (int32_t)(uint32_t)(uint64_t)acc;
                        if (p->bias) acc32 = add_wrap_i32(acc32, ((const int32_t *)p->bias)[out_c]);
                        y = tq_multiply_by_quantized_multiplier(acc32, p->multiplier[out_c], p->shift[out_c]);
                    }
                    *output++ = (int16_t)tq_clamp_i32(y, p->act_min, p->act_max); /* NHWC order */
                }
            }
        }
    }
    return TQ_OK;
}
