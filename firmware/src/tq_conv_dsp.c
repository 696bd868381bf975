/* CONV_2D int8 for CPUs with the Arm DSP extension (Cortex-M4/M7/M33/M55). Same loops as tq_conv_s8,
 * except that two output channels of a pixel are computed together, sharing the widened input, and the
 * taps of a filter row that lie inside the image are summed as one run with SMLAD (tq_dsp_dot.h) when
 * they are contiguous (no groups, no horizontal dilation), else tap by tap. Bit-exact with tq_conv_s8:
 * the same int32 sum modulo 2^32. Selected at compile time (tinyq/kernel_select.py).
 * tq_conv_s8_wn_dsp (topK, nested) runs the same loops on the parent level's int8 filter bytes, each weight
 * word masked to its bytes' top K bits (one AND: the sums come out 2^(8-K) times larger and are shifted back)
 * where that scaled sum cannot leave int32, else shifted and sign-extended (tq_dsp_dot2_top): bit-exact with
 * tq_conv_s8_wn. */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)

static inline int8_t finish(const tq_conv_params *p, int32_t out_c, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* one channel (two = 0) or two channels sharing the input run */
static inline void dot(int two, const int8_t *in, const int8_t *w0, const int8_t *w1, int32_t n, int32_t in_off,
                       uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        tq_dsp_dot2(in, w0, w1, n, in_off, acc0, acc1);
    } else {
        *acc0 = tq_dsp_dot1(in, w0, n, in_off, *acc0);
    }
}

tq_status tq_conv_s8_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_CONV_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 SIMD lane */
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    const int32_t filter_stride = p->filter_height * p->filter_width * depth; /* one output channel's filter */
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
                    /* a pair only within one group: both channels then read the same input run */
                    const int two = out_c + 1 < p->output_depth && (out_c + 1) / filters_per_group == group;
                    const int8_t *filter0 = p->filter + out_c * filter_stride;
                    uint32_t acc0 = 0, acc1 = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
                        if (row_runs) {
                            /* the row's taps inside the image are one contiguous run in input and filter */
                            const int32_t x0 = in_x_origin < 0 ? -in_x_origin : 0;
                            const int32_t x1 = p->input_width - in_x_origin < p->filter_width
                                                   ? p->input_width - in_x_origin : p->filter_width;
                            if (x1 > x0) {
                                const int8_t *in = image + (in_y * p->input_width + in_x_origin + x0) * depth;
                                const int8_t *w0 = filter0 + (filter_y * p->filter_width + x0) * depth;
                                dot(two, in, w0, w0 + filter_stride, (x1 - x0) * depth, p->input_offset, &acc0, &acc1);
                            }
                            continue;
                        }
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int8_t *w0 = filter0 + (filter_y * p->filter_width + filter_x) * depth;
                            dot(two, in, w0, w0 + filter_stride, depth, p->input_offset, &acc0, &acc1);
                        }
                    }
                    *output++ = finish(p, out_c, acc0); /* NHWC order */
                    if (two) *output++ = finish(p, out_c + 1, acc1);
                    out_c += two ? 2 : 1;
                }
            }
        }
    }
    return TQ_OK;
}

/* ---- topK (nested): the parent's int8 filter bytes, each weight byte >> value_shift ------------------ */

/* dot() on topK weights: w >> s (mask 0), or masked, (w >> s) · 2^s (mask = tq_dsp_mask_word(s)) */
static inline void dot_top(int two, const int8_t *in, const int8_t *w0, const int8_t *w1, int32_t n, int32_t in_off,
                           int32_t s, uint32_t mask, uint32_t *acc0, uint32_t *acc1) {
    if (mask && two) {
        tq_dsp_dot2_masked(in, w0, w1, n, in_off, mask, acc0, acc1);
    } else if (mask) {
        *acc0 = tq_dsp_dot1_masked(in, w0, n, in_off, mask, *acc0);
    } else if (two) {
        tq_dsp_dot2_top(in, w0, w1, n, in_off, s, acc0, acc1);
    } else {
        *acc0 = tq_dsp_dot1_top(in, w0, n, in_off, s, *acc0);
    }
}

/* tq_conv_s8_dsp's loops, copied: one body shared through a constant encoding argument changed the int8
 * kernel's register allocation and compares (GCC 12 -O2), and that kernel's code must stay as it is. */
tq_status tq_conv_s8_wn_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT /* tq_conv_s8_wn's contract: the parent's bytes stand in for the absent int8 filter */
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes;
    TQ_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 SIMD lane */
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    const int8_t *filter = (const int8_t *)p->packed->codes; /* dense rows: the int8 filter's layout */
    const int32_t s = p->packed->value_shift;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    const int32_t filter_stride = p->filter_height * p->filter_width * depth;
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
    /* masked weights (one AND a word) when no output's sum of at most KH·KW·depth products can leave int32 in
     * its 2^s-scaled form; else each word shifted and sign-extended */
    const uint32_t mask = tq_dsp_masked_fits(filter_stride, p->input_offset, s) ? tq_dsp_mask_word(s) : 0;
    const int32_t unshift = mask ? s : 0; /* the masked sums are 2^s times the child's */
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
                    const int8_t *filter0 = filter + out_c * filter_stride;
                    uint32_t acc0 = 0, acc1 = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue;
                        if (row_runs) { /* the taps inside the image: one run in input and filter */
                            const int32_t x0 = in_x_origin < 0 ? -in_x_origin : 0;
                            const int32_t x1 = p->input_width - in_x_origin < p->filter_width
                                                   ? p->input_width - in_x_origin : p->filter_width;
                            if (x1 > x0) {
                                const int8_t *in = image + (in_y * p->input_width + in_x_origin + x0) * depth;
                                const int8_t *w0 = filter0 + (filter_y * p->filter_width + x0) * depth;
                                dot_top(two, in, w0, w0 + filter_stride, (x1 - x0) * depth, p->input_offset, s, mask,
                                        &acc0, &acc1);
                            }
                            continue;
                        }
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int8_t *w0 = filter0 + (filter_y * p->filter_width + filter_x) * depth;
                            dot_top(two, in, w0, w0 + filter_stride, depth, p->input_offset, s, mask, &acc0, &acc1);
                        }
                    }
                    *output++ = finish(p, out_c, tq_dsp_unmask(acc0, unshift));
                    if (two) *output++ = finish(p, out_c + 1, tq_dsp_unmask(acc1, unshift));
                    out_c += two ? 2 : 1;
                }
            }
        }
    }
    return TQ_OK;
}
#else
typedef int tq_conv_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
