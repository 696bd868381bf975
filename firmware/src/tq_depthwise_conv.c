/* Depthwise convolution, reference kernels (loop order and rounding of TFLM
 * reference_integer_ops::DepthwiseConvPerChannel). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"

/* TFLM's int32 accumulator, wrapping modulo 2^32 as it does on every target (without signed-overflow UB). */
static inline int32_t add_wrap_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

tq_status tq_depthwise_conv_s8(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_DEPTHWISE_CONV_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0); /* an int32 bias */
    const int32_t *bias = (const int32_t *)p->bias;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                for (int32_t in_c = 0; in_c < p->input_depth; ++in_c) {
                    for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t out_c = m + in_c * p->depth_multiplier;
                        const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                        const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
                        int32_t acc = 0;
                        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                            for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                                const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                                const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                                /* zero padding: taps outside the image are skipped */
                                if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) {
                                    continue;
                                }
                                const int32_t input_val = image[(in_y * p->input_width + in_x) * p->input_depth + in_c];
                                const int32_t filter_val =
                                    p->filter[(filter_y * p->filter_width + filter_x) * p->output_depth + out_c];
                                acc = add_wrap_i32(acc, filter_val * (input_val + p->input_offset));
                            }
                        }
                        if (bias) acc = add_wrap_i32(acc, bias[out_c]);
                        acc = tq_multiply_by_quantized_multiplier(acc, p->multiplier[out_c], p->shift[out_c]);
                        /* NHWC: out_c = in_c*M + m */
                        *output++ = (int8_t)tq_add_clamp_i32(acc, p->output_offset, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return TQ_OK;
}

/* 16x8: int64 accumulator and int64 bias, the int64 requant; zero points are 0 (TFLM ignores them). */
tq_status tq_depthwise_conv_s16(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_DEPTHWISE_CONV_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    TQ_ASSERT(p->acc64 == 1); /* an int64 bias */
    const int64_t *bias = (const int64_t *)p->bias;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                for (int32_t in_c = 0; in_c < p->input_depth; ++in_c) {
                    for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t out_c = m + in_c * p->depth_multiplier;
                        const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                        const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
                        int64_t acc = 0;
                        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                            for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                                const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                                const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                                if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) {
                                    continue;
                                }
                                const int32_t input_val = image[(in_y * p->input_width + in_x) * p->input_depth + in_c];
                                const int32_t filter_val =
                                    p->filter[(filter_y * p->filter_width + filter_x) * p->output_depth + out_c];
                                acc += (int64_t)filter_val * input_val;
                            }
                        }
                        if (bias) acc = tq_add_wrap_i64(acc, bias[out_c]);
                        const int32_t y =
                            tq_multiply_by_quantized_multiplier_int64(acc, p->multiplier[out_c], p->shift[out_c]);
                        *output++ = (int16_t)tq_clamp_i32(y, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return TQ_OK;
}
