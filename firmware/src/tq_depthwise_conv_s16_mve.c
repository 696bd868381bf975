/* DEPTHWISE_CONV_2D 16x8, depth multiplier 1, on Helium. The input is first copied into scratch, group-major
 * ([groups][padded_height][padded_width][4] int16), inside a zero border wide enough for every tap (the
 * preparer sizes it): a border tap multiplies 0, as TFLM's skipped tap adds nothing (16x8 zero points are 0).
 * The int32 lanes are four neighbouring output pixels of one channel (along x, or along y when that takes
 * fewer chunks): each tap is one widening gather of the four pixels' int16 inputs and one VMLA by the tap's
 * weight as a scalar, onto int32 sums started at the bias (exact: |bias| + sum|w| * 32768 < 2^31, proved by the
 * preparer). A 3x3 filter runs with its nine taps unrolled. Requantization: tq_s16_mve.h, the channel's row
 * as scalars (VQDMULH, VADD, VSHL by a register), the clamp, one scatter store of the four outputs. A line's
 * partial last chunk is predicated. */
#include "tinyq/tq_s16_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

static void pad_image(const tq_depthwise_conv_s16_mve_params *p, const int16_t *image, int16_t *dst) {
    const int32_t c = p->depth, w = p->input_width, plane = p->padded_height * p->padded_width * 4;
    const int16x8_t zero = vdupq_n_s16(0);
    int32_t n = p->groups * plane;
    int16_t *d = dst;
    for (; n >= 8; n -= 8, d += 8) vst1q_s16(d, zero);
    if (n > 0) vstrhq_p_s16(d, zero, vctp16q((uint32_t)n));
    int16_t *first = dst + (p->pad_height * p->padded_width + p->pad_width) * 4; /* pixel (0, 0) of group 0 */
    for (int32_t g = 0; g < p->groups; ++g) {
        const mve_pred16_t live = vctp32q((uint32_t)(c - 4 * g)); /* the group's channels that exist */
        const int16_t *src = image + 4 * g;
        int16_t *row = first + g * plane;
        for (int32_t y = 0; y < p->input_height; ++y, row += p->padded_width * 4) {
            int16_t *to = row;
            for (int32_t x = 0; x < w; ++x, src += c, to += 4) vstrhq_p_s32(to, vldrhq_z_s32(src, live), live);
        }
    }
}

#define TQ_GATHER(ptr, o)                                                                                      \
    (tail ? vldrhq_gather_shifted_offset_z_s32((ptr), (o), pred) : vldrhq_gather_shifted_offset_s32((ptr), (o)))

/* the sum of one chunk: fh x fw taps (constants for 3x3), weights w[tap * 4] */
static inline __attribute__((always_inline)) int32x4_t taps(const int16_t *x, int32_t row_step, int32_t col_step,
                                                            uint32x4_t o, const int8_t *w, int32x4_t acc,
                                                            int32_t fh, int32_t fw, int tail, mve_pred16_t pred) {
    for (int32_t ky = 0; ky < fh; ++ky, x += row_step) {
        const int16_t *xr = x;
        for (int32_t kx = 0; kx < fw; ++kx, xr += col_step, w += 4) acc = vmlaq_n_s32(acc, TQ_GATHER(xr, o), *w);
    }
    return acc;
}

typedef struct {
    int32_t count, in_step, out_step; /* pixels along the dimension; elements between neighbours in copy, output */
} tq_dw16_dim;

static inline __attribute__((always_inline)) void channel(const tq_depthwise_conv_s16_mve_params *p,
                                                          const int16_t *in_line, int16_t *out_line,
                                                          const int8_t *w, const int32_t *row, tq_dw16_dim inner,
                                                          tq_dw16_dim outer, int32_t fh, int32_t fw) {
    const int32_t row_step = p->dilation_height * p->padded_width * 4, col_step = p->dilation_width * 4;
    const uint32x4_t o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.in_step);
    const uint32x4_t out_o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.out_step);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t full = inner.count / 4, rest = inner.count % 4;
    const mve_pred16_t pred = vctp32q((uint32_t)rest);
    const int32_t bias = row[0], a = row[1], b = row[2], shift = row[3];
    for (int32_t n = 0; n < outer.count; ++n, in_line += outer.in_step, out_line += outer.out_step) {
        const int16_t *x = in_line;
        int16_t *out = out_line;
        for (int32_t k = 0; k <= full; ++k, x += 4 * inner.in_step, out += 4 * inner.out_step) {
            const int tail = k == full;
            if (tail && rest == 0) break;
            int32x4_t acc = vdupq_n_s32(bias);
            acc = tail ? taps(x, row_step, col_step, o, w, acc, fh, fw, 1, pred)
                       : taps(x, row_step, col_step, o, w, acc, fh, fw, 0, pred);
            int32x4_t h = vshlq_r_s32(vaddq_n_s32(vqdmulhq_n_s32(acc, a), b), shift);
            h = vminq_s32(vmaxq_s32(h, lo), hi);
            if (tail) vstrhq_scatter_shifted_offset_p_s32(out, out_o, h, pred);
            else vstrhq_scatter_shifted_offset_s32(out, out_o, h);
        }
    }
}

tq_status tq_depthwise_conv_s16_mve(const tq_depthwise_conv_s16_mve_params *p, const int16_t *input,
                                    int16_t *output, void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->groups >= 1);
    const int32_t c = p->depth, taps_ = p->filter_height * p->filter_width;
    const int32_t plane = p->padded_height * p->padded_width * 4;
    /* the four lanes are four neighbouring pixels along x, or along y when that takes fewer chunks */
    tq_dw16_dim inner = {p->output_width, p->stride_width * 4, c};
    tq_dw16_dim outer = {p->output_height, p->stride_height * p->padded_width * 4, p->output_width * c};
    if ((p->output_height + 3) / 4 * p->output_width < (p->output_width + 3) / 4 * p->output_height) {
        const tq_dw16_dim t = inner;
        inner = outer, outer = t;
    }
    const int is3x3 = p->filter_height == 3 && p->filter_width == 3;
    int16_t *padded = (int16_t *)scratch;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        pad_image(p, input + batch * p->input_height * p->input_width * c, padded);
        int16_t *image_out = output + batch * p->output_height * p->output_width * c;
        for (int32_t ch = 0; ch < c; ++ch) {
            const int32_t g = ch / 4, lane = ch % 4;
            const int8_t *w = p->weights + g * taps_ * 4 + lane;
            const int16_t *in_line = padded + g * plane + lane;
            if (is3x3) channel(p, in_line, image_out + ch, w, p->rows + 4 * ch, inner, outer, 3, 3);
            else channel(p, in_line, image_out + ch, w, p->rows + 4 * ch, inner, outer, p->filter_height,
                         p->filter_width);
        }
    }
    return TQ_OK;
}

#else
typedef int tq_depthwise_conv_s16_mve_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
