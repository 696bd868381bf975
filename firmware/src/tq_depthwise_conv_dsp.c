/* DEPTHWISE_CONV_2D int8 for CPUs with the Arm DSP extension (Cortex-M4/M7/M33/M55). With depth
 * multiplier 1, four channels of a pixel are computed together: one word of input and one of filter per
 * tap, widened to int16 lanes, and four separate accumulators fed by SMLABB/SMLATT. Same products and
 * the same int32 sums modulo 2^32 as tq_depthwise_conv_s8, so bit-exact; other depth multipliers (and
 * the last depth % 4 channels) take the reference arithmetic. Selected at compile time
 * (tinyq/kernel_select.py). tq_depthwise_conv_s8_wn_dsp (topK, nested) runs the same loops on the parent
 * level's int8 filter bytes, each filter word masked to its bytes' top K bits (one AND; the four sums come out
 * 2^(8-K) times larger and are shifted back, tq_dsp_masked_fits): bit-exact with tq_depthwise_conv_s8_wn. */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)

static inline int8_t finish(const tq_depthwise_conv_params *p, int32_t out_c, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

tq_status tq_depthwise_conv_s8_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_DEPTHWISE_CONV_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 SIMD lane */
    if (p->depth_multiplier != 1) return tq_depthwise_conv_s8(p, input, output);
    const int32_t depth = p->input_depth;
    const int16x2_t off2 = tq_dsp_pair(p->input_offset);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                int32_t c = 0;
                for (; c + 4 <= depth; c += 4) {
                    int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const uint32_t x = tq_dsp_load4(image + (in_y * p->input_width + in_x) * depth + c);
                            const uint32_t w = tq_dsp_load4(p->filter + (filter_y * p->filter_width + filter_x) * depth + c);
                            const int16x2_t x02 = __sadd16(__sxtb16((int32_t)x), off2), x13 = __sadd16(tq_dsp_odd_bytes(x), off2);
                            const int16x2_t w02 = __sxtb16((int32_t)w), w13 = tq_dsp_odd_bytes(w);
                            acc0 = __smlabb(x02, w02, acc0);
                            acc2 = __smlatt(x02, w02, acc2);
                            acc1 = __smlabb(x13, w13, acc1);
                            acc3 = __smlatt(x13, w13, acc3);
                        }
                    }
                    *output++ = finish(p, c, (uint32_t)acc0); /* NHWC */
                    *output++ = finish(p, c + 1, (uint32_t)acc1);
                    *output++ = finish(p, c + 2, (uint32_t)acc2);
                    *output++ = finish(p, c + 3, (uint32_t)acc3);
                }
                for (; c < depth; ++c) { /* the last depth % 4 channels */
                    uint32_t acc = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int32_t x = image[(in_y * p->input_width + in_x) * depth + c];
                            const int32_t w = p->filter[(filter_y * p->filter_width + filter_x) * depth + c];
                            acc += (uint32_t)(w * (x + p->input_offset));
                        }
                    }
                    *output++ = finish(p, c, acc);
                }
            }
        }
    }
    return TQ_OK;
}

/* ---- topK (nested): the parent's int8 filter bytes, each weight byte >> value_shift ------------------ */

/* tq_depthwise_conv_s8_dsp's loops, copied rather than shared through a constant encoding argument: that
 * changed the int8 conv kernel's code (tq_conv_dsp.c), and the int8 kernels' code must stay as it is. */
tq_status tq_depthwise_conv_s8_wn_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT /* tq_depthwise_conv_s8_wn's contract: the parent's bytes stand in for the int8 filter */
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_depthwise_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes;
    TQ_DEPTHWISE_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, (int64_t)p->filter_height * p->filter_width, p->output_depth, 1);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 SIMD lane */
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    const int32_t s = p->packed->value_shift;
    /* four channels' words masked, (w >> s) · 2^s, one AND a tap; the sums, 2^s times the child's, are exact
     * while KH·KW products cannot leave int32 in that form (any real filter: the bound is 65793 taps at worst),
     * and beyond it the portable kernel does it, as for depth multipliers other than 1 */
    if (p->depth_multiplier != 1 || !tq_dsp_masked_fits((int64_t)p->filter_height * p->filter_width, p->input_offset, s))
        return tq_depthwise_conv_s8_wn(p, input, output);
    const int8_t *filter = (const int8_t *)p->packed->codes; /* [KH·KW, C]: the int8 filter's layout */
    const uint32_t mask = tq_dsp_mask_word(s);
    const int32_t depth = p->input_depth;
    const int16x2_t off2 = tq_dsp_pair(p->input_offset);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                int32_t c = 0;
                for (; c + 4 <= depth; c += 4) {
                    int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const uint32_t x = tq_dsp_load4(image + (in_y * p->input_width + in_x) * depth + c);
                            const uint32_t w = tq_dsp_load4(filter + (filter_y * p->filter_width + filter_x) * depth + c) & mask;
                            const int16x2_t x02 = __sadd16(__sxtb16((int32_t)x), off2), x13 = __sadd16(tq_dsp_odd_bytes(x), off2);
                            const int16x2_t w02 = __sxtb16((int32_t)w), w13 = tq_dsp_odd_bytes(w);
                            acc0 = __smlabb(x02, w02, acc0);
                            acc2 = __smlatt(x02, w02, acc2);
                            acc1 = __smlabb(x13, w13, acc1);
                            acc3 = __smlatt(x13, w13, acc3);
                        }
                    }
                    *output++ = finish(p, c, tq_dsp_unmask((uint32_t)acc0, s)); /* NHWC */
                    *output++ = finish(p, c + 1, tq_dsp_unmask((uint32_t)acc1, s));
                    *output++ = finish(p, c + 2, tq_dsp_unmask((uint32_t)acc2, s));
                    *output++ = finish(p, c + 3, tq_dsp_unmask((uint32_t)acc3, s));
                }
                for (; c < depth; ++c) { /* the last depth % 4 channels */
                    uint32_t acc = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        if (in_y < 0 || in_y >= p->input_height) continue;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int32_t x = image[(in_y * p->input_width + in_x) * depth + c];
                            const int32_t w = filter[(filter_y * p->filter_width + filter_x) * depth + c] >> s;
                            acc += (uint32_t)(w * (x + p->input_offset));
                        }
                    }
                    *output++ = finish(p, c, acc);
                }
            }
        }
    }
    return TQ_OK;
}
#else
typedef int tq_depthwise_conv_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
