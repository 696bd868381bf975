/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on Helium: four channels in the int32 lanes. Per output pixel
 * and group of four channels, each tap is a widening 4-byte input load, a 4-byte weight load (laid out at
 * compile time [group][tap][4], zero past the depth), a VMUL and a VADD (MVE has no vector-by-vector VMLA). The bias has the input offset folded in
 * (bias + input_offset * sum of the channel's taps, mod 2^32), so a tap outside the image multiplies the input
 * zero point instead of being skipped: (zero_point + input_offset) * w = 0, TFLM's skipped tap. Pixels whose
 * taps all lie inside the image take a loop without bounds checks. The last group's loads are predicated on
 * the channels that exist (no read past the tensor); its weights past the depth are 0. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#include "tq_mve_requant.h"

/* the sum of one group of one pixel: `in` = the group's channels at the pixel's first tap (maybe outside) */
static inline int32x4_t taps(const tq_depthwise_conv_s8_mve_params *p, const int8_t *in, const int8_t *w,
                             int32_t in_y0, int32_t in_x0, int inside, mve_pred16_t keep, int32x4_t acc) {
    const int32_t row_step = p->dilation_height * p->input_width * p->depth, col_step = p->dilation_width * p->depth;
    const int32x4_t pad = vdupq_n_s32(p->pad_value);
    for (int32_t ky = 0; ky < p->filter_height; ++ky, in += row_step) {
        const int32_t in_y = in_y0 + ky * p->dilation_height;
        const int row_inside = inside || (in_y >= 0 && in_y < p->input_height);
        const int8_t *x = in;
        for (int32_t kx = 0; kx < p->filter_width; ++kx, x += col_step, w += 4) {
            const int32_t in_x = in_x0 + kx * p->dilation_width;
            const int32x4_t wv = vldrbq_s32(w);
            if (inside || (row_inside && in_x >= 0 && in_x < p->input_width))
                acc = vaddq_s32(acc, vmulq_s32(vldrbq_z_s32(x, keep), wv));
            else
                acc = vaddq_s32(acc, vmulq_s32(pad, wv));
        }
    }
    return acc;
}

/* the interior loop, unpredicated: every tap inside the image, every lane a channel */
static inline int32x4_t taps_inside(const tq_depthwise_conv_s8_mve_params *p, const int8_t *in, const int8_t *w,
                                    int32x4_t acc) {
    const int32_t row_step = p->dilation_height * p->input_width * p->depth, col_step = p->dilation_width * p->depth;
    for (int32_t ky = 0; ky < p->filter_height; ++ky, in += row_step) {
        const int8_t *x = in;
        for (int32_t kx = 0; kx < p->filter_width; ++kx, x += col_step, w += 4)
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x), vldrbq_s32(w)));
    }
    return acc;
}

tq_status tq_depthwise_conv_s8_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->groups >= 1);
    const int32_t c = p->depth, tap_bytes = 4 * p->filter_height * p->filter_width;
    const int32_t span_y = (p->filter_height - 1) * p->dilation_height, span_x = (p->filter_width - 1) * p->dilation_width;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * c;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y0 = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x, output += c) {
                const int32_t in_x0 = out_x * p->stride_width - p->pad_width;
                const int inside = in_y0 >= 0 && in_y0 + span_y < p->input_height && in_x0 >= 0 &&
                                   in_x0 + span_x < p->input_width;
                /* may point outside the image: only dereferenced at taps inside it */
                const int8_t *origin = image + (in_y0 * p->input_width + in_x0) * c;
                for (int32_t g = 0; g < p->groups; ++g) {
                    const mve_pred16_t keep = vctp32q((uint32_t)(c - 4 * g));
                    const int8_t *w = p->blocked + g * tap_bytes;
                    int32x4_t acc = vldrwq_s32(p->bias + 4 * g);
                    if (inside && 4 * g + 4 <= c)
                        acc = taps_inside(p, origin + 4 * g, w, acc);
                    else
                        acc = taps(p, origin + 4 * g, w, in_y0, in_x0, inside, keep, acc);
                    const int32x4_t m = vldrwq_s32(p->multiplier + 4 * g), s = vldrwq_s32(p->shift + 4 * g);
                    vstrbq_p_s32(output + 4 * g, tq_mve_requant(acc, m, s, p->output_offset, lo, hi), keep);
                }
            }
        }
    }
    return TQ_OK;
}

#endif
