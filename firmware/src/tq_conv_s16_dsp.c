/* CONV_2D 16x8 on the Arm DSP extension: for each output pixel and block of 4 output channels (then 2, then
 * 1; same group), the taps inside the image are summed with tq_s16_dot4 (one activation load serves 4
 * channels); a filter row's taps form one contiguous run of activations and weights when there are no groups and no horizontal
 * dilation. Padding taps are skipped (16x8 zero points are 0, so they add nothing). int32 sums started at the
 * bias, exact by the preparer's bound (tinyq/specialize/s16_dsp.py); bit-exact with tq_conv_s16. */
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

/* one run of n activations at x against filters o.. (`rows` = 4, 2 or 1 of them, `stride` apart) at w */
static inline void run(const int16_t *x, const int16_t *w, int32_t stride, int32_t n, int32_t rows, int32_t *a) {
    if (rows == 4) tq_s16_dot4(x, w, stride, n, a);
    else if (rows == 2) tq_s16_dot2(x, w, w + stride, n, a, a + 1);
    else a[0] = tq_s16_dot1(x, w, n, a[0]);
}

/* the sums a[0..rows) of filters o.. over the valid taps of one output pixel */
static inline void pixel_sums(const tq_conv_s16_dsp_params *p, const int16_t *image, int32_t o, int32_t rows,
                              int32_t in_y0, int32_t in_x0, int32_t ky0, int32_t ky1, int32_t kx0, int32_t kx1,
                              int32_t channel0, int32_t *a) {
    const int32_t depth = p->filter_input_depth, kw = p->filter_width;
    const int32_t run_whole_row = p->dilation_width == 1 && depth == p->input_depth;
    const int32_t filter_size = p->filter_height * kw * depth;
    for (int32_t ky = ky0; ky < ky1; ++ky) {
        const int32_t in_y = in_y0 + p->dilation_height * ky;
        const int16_t *row = image + in_y * p->input_width * p->input_depth + channel0;
        const int16_t *w = p->filter16 + o * filter_size + ky * kw * depth;
        if (run_whole_row) { /* taps kx0..kx1 of this filter row: adjacent pixels, adjacent weights */
            const int16_t *x = row + (in_x0 + kx0) * depth;
            const int32_t n = (kx1 - kx0) * depth;
            run(x, w + kx0 * depth, filter_size, n, rows, a);
            continue;
        }
        for (int32_t kx = kx0; kx < kx1; ++kx) {
            const int16_t *x = row + (in_x0 + p->dilation_width * kx) * p->input_depth;
            run(x, w + kx * depth, filter_size, depth, rows, a);
        }
    }
}

/* the kernel for one requantization path and clamp kind (constants: TQ_S16_SPECIALIZED makes each copy) */
static inline __attribute__((always_inline)) void conv(const tq_conv_s16_dsp_params *p, const int16_t *input,
                                                       int16_t *output, const int32_t r64,
                                                       const int32_t clamp) {
    const int32_t groups = p->input_depth / p->filter_input_depth, per_group = p->output_depth / groups;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y0 = out_y * p->stride_height - p->pad_height;
            int32_t ky0, ky1;
            valid_taps(in_y0, p->dilation_height, p->filter_height, p->input_height, &ky0, &ky1);
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x0 = out_x * p->stride_width - p->pad_width;
                int32_t kx0, kx1;
                valid_taps(in_x0, p->dilation_width, p->filter_width, p->input_width, &kx0, &kx1);
                for (int32_t g = 0; g < groups; ++g) {
                    const int32_t channel0 = g * p->filter_input_depth, end = (g + 1) * per_group;
                    int32_t o = g * per_group;
                    for (; o + 3 < end; o += 4) { /* four filters share each activation load */
                        int32_t a[4] = {p->bias[o], p->bias[o + 1], p->bias[o + 2], p->bias[o + 3]};
                        pixel_sums(p, image, o, 4, in_y0, in_x0, ky0, ky1, kx0, kx1, channel0, a);
                        const int32_t *row = p->rows + 3 * o; /* unrolled: a[] stays in registers */
                        output[o] = tq_s16_finish(a[0], row, r64, clamp, p->act_min, p->act_max);
                        output[o + 1] = tq_s16_finish(a[1], row + 3, r64, clamp, p->act_min, p->act_max);
                        output[o + 2] = tq_s16_finish(a[2], row + 6, r64, clamp, p->act_min, p->act_max);
                        output[o + 3] = tq_s16_finish(a[3], row + 9, r64, clamp, p->act_min, p->act_max);
                    }
                    if (o + 1 < end) {
                        int32_t a[2] = {p->bias[o], p->bias[o + 1]};
                        pixel_sums(p, image, o, 2, in_y0, in_x0, ky0, ky1, kx0, kx1, channel0, a);
                        output[o] = tq_s16_finish(a[0], p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
                        output[o + 1] =
                            tq_s16_finish(a[1], p->rows + 3 * o + 3, r64, clamp, p->act_min, p->act_max);
                        o += 2;
                    }
                    if (o < end) { /* the group's last filter alone */
                        int32_t a[1] = {p->bias[o]};
                        pixel_sums(p, image, o, 1, in_y0, in_x0, ky0, ky1, kx0, kx1, channel0, a);
                        output[o] = tq_s16_finish(a[0], p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
                    }
                }
                output += p->output_depth; /* NHWC */
            }
        }
    }
}

/* im2col: the output pixel's whole patch gathered into `patch` in the filter's (ky, kx, c) order, padding taps
 * as 0 (16x8 zero points are 0), so that each block of 4 filters is one long run (tinyq/specialize/s16_dsp.py
 * takes this kernel when a filter row's runs are short, e.g. a first layer with 1-3 input channels) */
static inline void fill(int16_t *to, const int16_t *from, int32_t n) { /* from NULL: zeros */
    for (int32_t i = 0; i < n; ++i) to[i] = from ? from[i] : 0;
}

static void gather(const tq_conv_s16_dsp_params *p, const int16_t *image, int32_t in_y0, int32_t in_x0,
                   int16_t *patch) {
    const int32_t depth = p->input_depth, kw = p->filter_width, row_taps = kw * depth;
    int32_t kx0, kx1; /* the filter columns inside the image, the same for every row */
    valid_taps(in_x0, p->dilation_width, kw, p->input_width, &kx0, &kx1);
    for (int32_t ky = 0; ky < p->filter_height; ++ky, patch += row_taps) {
        const int32_t in_y = in_y0 + p->dilation_height * ky;
        if (in_y < 0 || in_y >= p->input_height || kx0 >= kx1) {
            fill(patch, NULL, row_taps);
            continue;
        }
        const int16_t *row = image + in_y * p->input_width * depth;
        fill(patch, NULL, kx0 * depth);
        if (p->dilation_width == 1) { /* the columns inside: one run of adjacent pixels */
            fill(patch + kx0 * depth, row + (in_x0 + kx0) * depth, (kx1 - kx0) * depth);
        } else {
            for (int32_t kx = kx0; kx < kx1; ++kx)
                fill(patch + kx * depth, row + (in_x0 + p->dilation_width * kx) * depth, depth);
        }
        fill(patch + kx1 * depth, NULL, (kw - kx1) * depth);
    }
}

/* gathers the patch of output pixel `pixel` (row-major over the batch's output image) */
static inline void gather_pixel(const tq_conv_s16_dsp_params *p, const int16_t *image, int32_t pixel,
                                int16_t *patch) {
    const int32_t out_y = pixel / p->output_width, out_x = pixel - out_y * p->output_width;
    gather(p, image, out_y * p->stride_height - p->pad_height, out_x * p->stride_width - p->pad_width, patch);
}

/* the outputs of one pixel's patch (the odd last pixel of an image): 4 filters share each activation load */
static inline __attribute__((always_inline)) void one_pixel(const tq_conv_s16_dsp_params *p, const int16_t *patch,
                                                            int16_t *output, const int32_t r64, const int32_t clamp) {
    const int32_t k = p->filter_height * p->filter_width * p->input_depth, n_out = p->output_depth;
    int32_t o = 0;
    for (; o + 3 < n_out; o += 4) {
        int32_t a[4] = {p->bias[o], p->bias[o + 1], p->bias[o + 2], p->bias[o + 3]};
        tq_s16_dot4(patch, p->filter16 + o * k, k, k, a);
        const int32_t *row = p->rows + 3 * o; /* unrolled: a[] stays in registers */
        output[o] = tq_s16_finish(a[0], row, r64, clamp, p->act_min, p->act_max);
        output[o + 1] = tq_s16_finish(a[1], row + 3, r64, clamp, p->act_min, p->act_max);
        output[o + 2] = tq_s16_finish(a[2], row + 6, r64, clamp, p->act_min, p->act_max);
        output[o + 3] = tq_s16_finish(a[3], row + 9, r64, clamp, p->act_min, p->act_max);
    }
    for (; o < n_out; ++o) output[o] = tq_s16_finish(tq_s16_dot1(patch, p->filter16 + o * k, k, p->bias[o]),
                                                     p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
}

/* pixels in pairs, both patches gathered first (scratch holds two): each filter pair meets both in
 * tq_s16_dot2x2, whose loads each serve two products */
static inline __attribute__((always_inline)) void conv_im2col(const tq_conv_s16_dsp_params *p, const int16_t *input,
                                                              int16_t *output, int16_t *patch0, const int32_t r64,
                                                              const int32_t clamp) {
    const int32_t k = p->filter_height * p->filter_width * p->input_depth, n_out = p->output_depth;
    const int32_t pixels = p->output_height * p->output_width;
    int16_t *const patch1 = patch0 + k;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        int32_t px = 0;
        for (; px + 1 < pixels; px += 2, output += 2 * n_out) {
            gather_pixel(p, image, px, patch0);
            gather_pixel(p, image, px + 1, patch1);
            int16_t *const out1 = output + n_out;
            int32_t o = 0;
            for (; o + 1 < n_out; o += 2) {
                const int16_t *w0 = p->filter16 + o * k;
                int32_t a[4] = {p->bias[o], p->bias[o + 1], p->bias[o], p->bias[o + 1]};
                tq_s16_dot2x2(patch0, patch1, w0, w0 + k, k, a);
                const int32_t *row = p->rows + 3 * o;
                output[o] = tq_s16_finish(a[0], row, r64, clamp, p->act_min, p->act_max);
                output[o + 1] = tq_s16_finish(a[1], row + 3, r64, clamp, p->act_min, p->act_max);
                out1[o] = tq_s16_finish(a[2], row, r64, clamp, p->act_min, p->act_max);
                out1[o + 1] = tq_s16_finish(a[3], row + 3, r64, clamp, p->act_min, p->act_max);
            }
            if (o < n_out) { /* odd filter count: the last filter against both patches */
                int32_t a0 = p->bias[o], a1 = p->bias[o];
                tq_s16_dot2(p->filter16 + o * k, patch0, patch1, k, &a0, &a1);
                output[o] = tq_s16_finish(a0, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
                out1[o] = tq_s16_finish(a1, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
            }
        }
        if (px < pixels) { /* odd pixel count */
            gather_pixel(p, image, px, patch0);
            one_pixel(p, patch0, output, r64, clamp);
            output += n_out;
        }
    }
}

tq_status tq_conv_s16_im2col_dsp(const tq_conv_s16_dsp_params *p, const int16_t *input, int16_t *output,
                                 void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->filter16 != NULL &&
              p->bias != NULL && p->rows != NULL && p->filter_input_depth == p->input_depth);
#define IM2COL(r64, clamp) conv_im2col(p, input, output, (int16_t *)scratch, r64, clamp)
    TQ_S16_SPECIALIZED(p, IM2COL);
#undef IM2COL
    return TQ_OK;
}

tq_status tq_conv_s16_dsp(const tq_conv_s16_dsp_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->filter16 != NULL && p->bias != NULL &&
              p->rows != NULL && p->filter_input_depth >= 1 && p->input_depth % p->filter_input_depth == 0);
    /* one clamp kind only: the loop nest around tq_s16_dot4 leaves GCC too few registers in more copies */
    if (p->requant64) conv(p, input, output, 1, TQ_S16_CLAMP_ANY);
    else conv(p, input, output, 0, TQ_S16_CLAMP_ANY);
    return TQ_OK;
}
#else
typedef int tq_conv_s16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
