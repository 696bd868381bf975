/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on Helium: four channels in the int32 lanes.
 * The input is first copied into scratch, group-major, with a border of the input zero point wide enough for
 * every tap (tinyq/specialize/depthwise_mve.py sizes it), so the tap loops need no bounds checks: the bias has the input
 * offset folded in (bias + input_offset * sum of the channel's taps, mod 2^32), and a border tap multiplies
 * the zero point, (zero_point + input_offset) * w = 0, as TFLM's skipped tap adds nothing.
 * Per output pixel and group of four channels, each tap is a widening 4-byte input load, a 4-byte weight load
 * (laid out at compile time [group][tap][4], zero past the depth), a VMUL and a VADD (MVE has no
 * vector-by-vector VMLA); 3x3 filters take an unrolled loop with immediate offsets. The last group's lanes past
 * the depth hold the border value (their weights are 0 and their outputs are not stored). */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#include "tq_mve_bytes.h"
#include "tq_mve_requant.h"

/* the image with its zero-point border, group-major: [groups][padded_height][padded_width][4], so that within
 * a group the taps of a filter row are 4 * dilation_width bytes apart (immediate offsets for 3x3) */
static void pad_image(const tq_depthwise_conv_s8_mve_params *p, const int8_t *image, int8_t *dst) {
    const int32_t c = p->depth, plane = p->padded_height * p->padded_width * 4;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->pad_value);
    tq_mve_fill(dst, zp, p->groups * plane);
    for (int32_t g = 0; g < p->groups; ++g) {
        const int32_t n = c - 4 * g < 4 ? c - 4 * g : 4; /* channels of this group that exist */
        const int8_t *src = image + 4 * g;
        int8_t *row = dst + g * plane + (p->pad_height * p->padded_width + p->pad_width) * 4;
        for (int32_t y = 0; y < p->input_height; ++y, row += p->padded_width * 4) {
            int8_t *d = row;
            if (n == 4) {
                for (int32_t x = 0; x < p->input_width; ++x, src += c, d += 4) __builtin_memcpy(d, src, 4);
            } else {
                for (int32_t x = 0; x < p->input_width; ++x, src += c, d += 4) __builtin_memcpy(d, src, (size_t)n);
            }
        }
    }
}

static inline int32x4_t mac(int32x4_t acc, const int8_t *x, const int8_t *w) {
    return vaddq_s32(acc, vmulq_s32(vldrbq_s32(x), vldrbq_s32(w)));
}

/* 3x3, dilation 1: nine taps at immediate offsets from three row pointers and from w */
static inline int32x4_t taps3x3(const int8_t *x, const int8_t *w, int32_t row_step, int32x4_t acc) {
    const int8_t *x1 = x + row_step, *x2 = x1 + row_step;
    acc = mac(acc, x, w), acc = mac(acc, x + 4, w + 4), acc = mac(acc, x + 8, w + 8);
    acc = mac(acc, x1, w + 12), acc = mac(acc, x1 + 4, w + 16), acc = mac(acc, x1 + 8, w + 20);
    acc = mac(acc, x2, w + 24), acc = mac(acc, x2 + 4, w + 28), acc = mac(acc, x2 + 8, w + 32);
    return acc;
}

static inline int32x4_t taps(const tq_depthwise_conv_s8_mve_params *p, const int8_t *x, const int8_t *w,
                             int32_t row_step, int32_t col_step, int32x4_t acc) {
    for (int32_t ky = 0; ky < p->filter_height; ++ky, x += row_step) {
        const int8_t *xr = x;
        for (int32_t kx = 0; kx < p->filter_width; ++kx, xr += col_step, w += 4) acc = mac(acc, xr, w);
    }
    return acc;
}

tq_status tq_depthwise_conv_s8_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output,
                                   void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->groups >= 1);
    const int32_t c = p->depth, tap_bytes = 4 * p->filter_height * p->filter_width;
    const int32_t plane = p->padded_height * p->padded_width * 4;
    const int32_t row_step = p->dilation_height * p->padded_width * 4, col_step = p->dilation_width * 4;
    const int32_t pixel_step = p->stride_width * 4, line_step = p->stride_height * p->padded_width * 4;
    const int is3x3 = p->filter_height == 3 && p->filter_width == 3 && p->dilation_width == 1;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int8_t *padded = (const int8_t *)scratch;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        pad_image(p, input + batch * p->input_height * p->input_width * c, (int8_t *)scratch);
        for (int32_t g = 0; g < p->groups; ++g) {
            const mve_pred16_t keep = vctp32q((uint32_t)(c - 4 * g)); /* the channels that exist */
            const int8_t *w = p->blocked + g * tap_bytes;
            const int32x4_t bias = vldrwq_s32(p->bias + 4 * g);
            const int32x4_t m = vldrwq_s32(p->multiplier + 4 * g), s = vldrwq_s32(p->shift + 4 * g);
            int8_t *out = output + batch * p->output_height * p->output_width * c + 4 * g;
            const int8_t *line = padded + g * plane;
            for (int32_t out_y = 0; out_y < p->output_height; ++out_y, line += line_step) {
                const int8_t *x = line;
                for (int32_t out_x = 0; out_x < p->output_width; ++out_x, x += pixel_step, out += c) {
                    const int32x4_t acc = is3x3 ? taps3x3(x, w, row_step, bias)
                                                : taps(p, x, w, row_step, col_step, bias);
                    vstrbq_p_s32(out, tq_mve_requant(acc, m, s, p->output_offset, lo, hi), keep);
                }
            }
        }
    }
    return TQ_OK;
}

#endif
