/* CONV_2D on packed int4, ternary and binary weights for CPUs with the Arm DSP extension. The loops of
 * tq_conv_s8_dsp: two output channels of a pixel per pass share each pairing of the input, and a filter
 * row's taps inside the image are one run when they are contiguous (no groups, no horizontal dilation),
 * else tap by tap; each run is one tq_wd_dot (tq_weights_dsp.h). Bit-exact with tq_conv_s8_w4/_wt/_wb (so
 * with tq_conv_s8 on the decoded filter): the same int32 sums modulo 2^32. Defined only when the compiler
 * targets the extension (__ARM_FEATURE_DSP). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_dsp.h"

#if defined(__ARM_FEATURE_DSP)

static inline int8_t finish(const tq_conv_params *p, int32_t enc, int32_t out_c, uint32_t acc) {
    if (tq_w_scaled(enc)) acc *= (uint32_t)p->packed->magnitude[out_c];
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* one channel, or two sharing the input run (a constant `two` at each tq_wd_dot keeps both loops tight) */
TQ_W_BODY void run(int32_t enc, int two, const uint8_t *row0, const uint8_t *row1, int32_t e0, int32_t n,
                   const int8_t *in, int32_t in_off, uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        tq_wd_dot(enc, 1, row0, row1, e0, n, in, in_off, acc0, acc1);
    } else {
        tq_wd_dot(enc, 0, row0, NULL, e0, n, in, in_off, acc0, NULL);
    }
}

TQ_W_BODY tq_status conv_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output, int32_t enc,
                             int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 lane */
    tq_w_expect(p->packed, enc, bits, 0);
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    /* no groups and no horizontal dilation: a filter row's taps are adjacent in the input and the filter */
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                int32_t out_c = 0;
                while (out_c < p->output_depth) {
                    const int32_t group = out_c / filters_per_group;
                    const int two = out_c + 1 < p->output_depth && (out_c + 1) / filters_per_group == group;
                    const uint8_t *row0 = w->codes + (size_t)out_c * (size_t)w->row_bytes;
                    const uint8_t *row1 = row0 + w->row_bytes;
                    uint32_t acc0 = 0, acc1 = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
                        if (row_runs) {
                            const int32_t x0 = in_x_origin < 0 ? -in_x_origin : 0;
                            const int32_t x1 = p->input_width - in_x_origin < p->filter_width
                                                   ? p->input_width - in_x_origin : p->filter_width;
                            if (x1 > x0) {
                                const int8_t *in = image + (in_y * p->input_width + in_x_origin + x0) * depth;
                                run(enc, two, row0, row1, (filter_y * p->filter_width + x0) * depth, (x1 - x0) * depth,
                                    in, p->input_offset, &acc0, &acc1);
                            }
                            continue;
                        }
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            run(enc, two, row0, row1, (filter_y * p->filter_width + filter_x) * depth, depth, in,
                                p->input_offset, &acc0, &acc1);
                        }
                    }
                    *output++ = finish(p, enc, out_c, acc0); /* NHWC order */
                    if (two) *output++ = finish(p, enc, out_c + 1, acc1);
                    out_c += two ? 2 : 1;
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_conv_s8_w4_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    return conv_dsp(p, input, output, TQ_W_INTK, 4);
}

tq_status tq_conv_s8_wt_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    return conv_dsp(p, input, output, TQ_W_TERNARY, 2);
}

tq_status tq_conv_s8_wb_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    return conv_dsp(p, input, output, TQ_W_BINARY, 1);
}
#else
typedef int tq_conv_packed_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
