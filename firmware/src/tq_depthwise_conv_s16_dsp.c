/* DEPTHWISE_CONV_2D 16x8 (depth multiplier 1) on the Arm DSP extension: four channels per pass, an int16
 * activation pair and an int16-widened weight pair per two channels, one SMLABB + one SMLATT into each
 * channel's int32 sum (started at the bias; exact by the preparer's bound, tinyq/specialize/s16_dsp.py).
 * The weights of each 4-channel group are stored tap by tap (group-major, tinyq/specialize/s16_dsp.py), so
 * one pointer streams them with post-increments; the channels past the last whole group follow, [H][W][rest].
 * The valid taps of an output pixel are found once, so the inner loops carry no padding tests (16x8 zero
 * points are 0: a padding tap adds nothing); a filter row of 3 (or 2) valid taps runs unrolled. Bit-exact with
 * tq_depthwise_conv_s16. */
#include "tinyq/tq_s16_dsp.h"
#include "tq_s16_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* [*first, *end) of the taps k < taps (dilation d) whose coordinate origin + d·k lies in [0, size) */
static void valid_taps(int32_t origin, int32_t d, int32_t taps, int32_t size, int32_t *first, int32_t *end) {
    const int32_t f = origin < 0 ? (-origin + d - 1) / d : 0;
    const int32_t e = size - origin <= 0 ? 0 : (size - origin + d - 1) / d;
    *first = f;
    *end = e < taps ? e : taps;
}

/* one tap of four channels: activations at x (two pairs), weights at *w (two pairs, then advanced) */
#define TAP4(x, w)                                                                                              \
    do {                                                                                                        \
        const int16x2_t x01 = tq_s16_load2(x), x23 = tq_s16_load2((x) + 2);                                     \
        const int16x2_t w01 = tq_s16_load2(w), w23 = tq_s16_load2((w) + 2);                                     \
        (w) += 4;                                                                                               \
        a0 = __smlabb(x01, w01, a0);                                                                            \
        a1 = __smlatt(x01, w01, a1);                                                                            \
        a2 = __smlabb(x23, w23, a2);                                                                            \
        a3 = __smlatt(x23, w23, a3);                                                                            \
    } while (0)

tq_status tq_depthwise_conv_s16_dsp(const tq_depthwise_conv_s16_dsp_params *p, const int16_t *input,
                                    int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->filter16 != NULL && p->bias != NULL &&
              p->rows != NULL && p->input_depth >= 1 && p->requant64 == 1); /* TFLM's 16x8 depthwise: int64 */
    const int32_t depth = p->input_depth, lo = p->act_min, hi = p->act_max, r64 = 1;
    const int32_t kw = p->filter_width, taps = p->filter_height * kw, whole = depth & ~3, rest = depth - whole;
    const int32_t x_step = p->dilation_width * depth, y_step = p->dilation_height * p->input_width * depth;
    const int16_t *w_rest = p->filter16 + whole * taps; /* [H][W][rest] */
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y0 = out_y * p->stride_height - p->pad_height;
            int32_t ky0, ky1;
            valid_taps(in_y0, p->dilation_height, p->filter_height, p->input_height, &ky0, &ky1);
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x0 = out_x * p->stride_width - p->pad_width;
                int32_t kx0, kx1;
                valid_taps(in_x0, p->dilation_width, kw, p->input_width, &kx0, &kx1);
                const int32_t nx = kx1 - kx0, first_tap = ky0 * kw + kx0;
                /* the first valid tap's activations (channel 0) */
                const int16_t *x_first = image + ((in_y0 + p->dilation_height * ky0) * p->input_width + in_x0 +
                                                  p->dilation_width * kx0) * depth;
                for (int32_t c = 0; c < whole; c += 4) {
                    int32_t a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3];
                    const int16_t *xr = x_first + c, *wr = p->filter16 + (c * taps + 4 * first_tap);
                    for (int32_t ky = ky0; ky < ky1; ++ky, xr += y_step, wr += 4 * kw) {
                        const int16_t *w = wr;
                        if (nx == 3) { /* a whole 3-wide filter row */
                            TAP4(xr, w);
                            TAP4(xr + x_step, w);
                            TAP4(xr + 2 * x_step, w);
                        } else if (nx == 2) { /* a 3-wide row at the left or right edge */
                            TAP4(xr, w);
                            TAP4(xr + x_step, w);
                        } else {
                            const int16_t *x = xr;
                            for (int32_t k = nx; k > 0; --k, x += x_step) TAP4(x, w);
                        }
                    }
                    const int32_t *row = p->rows + 3 * c;
                    output[c] = tq_s16_finish(a0, row, r64, lo, hi);
                    output[c + 1] = tq_s16_finish(a1, row + 3, r64, lo, hi);
                    output[c + 2] = tq_s16_finish(a2, row + 6, r64, lo, hi);
                    output[c + 3] = tq_s16_finish(a3, row + 9, r64, lo, hi);
                }
                for (int32_t r = 0; r < rest; ++r) { /* the last depth % 4 channels, one at a time */
                    const int32_t c = whole + r;
                    int32_t a = p->bias[c];
                    const int16_t *xr = x_first + c, *wr = w_rest + first_tap * rest + r;
                    for (int32_t ky = ky0; ky < ky1; ++ky, xr += y_step, wr += kw * rest) {
                        const int16_t *x = xr, *w = wr;
                        for (int32_t k = nx; k > 0; --k, x += x_step, w += rest) a += x[0] * w[0];
                    }
                    output[c] = tq_s16_finish(a, p->rows + 3 * c, r64, lo, hi);
                }
                output += depth; /* NHWC */
            }
        }
    }
    return TQ_OK;
}
#else
typedef int tq_depthwise_conv_s16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
