/* CONV_2D on packed int4, int2, ternary and binary weights for CPUs with the Arm DSP extension. The loops of
 * tq_conv_s8_dsp, two output channels of a pixel per pass (tq_weights_dsp.h), but a filter row is one run
 * from its element 0: the pixel's receptive field (of the channel pair's group) is
 *   - read in place when it is contiguous in the input (1x1 and 1xK filters, or K x W ones, without groups,
 *     all taps inside the image);
 *   - else gathered into a stack buffer of TQ_WD_PATCH bytes, taps in the padding written as -input_offset
 *     (x + input_offset = 0: they add nothing, as the reference's skipped taps), once per pixel and group
 *     for all its channels;
 *   - else (a larger filter row) summed tap run by tap run, as tq_conv_s8_dsp does (tq_wd_segment).
 * Bit-exact with tq_conv_s8_w4/_w2/_wt/_wb (so with tq_conv_s8 on the decoded filter): the same int32 sums
 * modulo 2^32. Stack: TQ_WD_PATCH + 32 bytes (the buffer and its block padding) + 32 (a row tail).
 * Defined only when the compiler targets the extension (__ARM_FEATURE_DSP). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_WD_PATCH 512 /* bytes of the gathered receptive field: up to 3x3x56, 10x4x12 */

static inline int8_t finish(const tq_conv_params *p, int32_t enc, int32_t out_c, uint32_t acc) {
    if (tq_w_scaled(enc)) acc *= (uint32_t)p->packed->magnitude[out_c];
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* n bytes from src to dst, a word at a time (newlib's memcpy goes byte by byte) */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = tq_dsp_load4(src + i);
        memcpy(dst + i, &v, 4);
    }
    for (; i < n; ++i) dst[i] = src[i];
}

/* n bytes of the replicated byte value v4 */
static inline void fill_bytes(int8_t *dst, uint32_t v4, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) memcpy(dst + i, &v4, 4);
    for (; i < n; ++i) dst[i] = (int8_t)v4;
}

/* The receptive field of the pixel at input origin (in_y0, in_x0) for channels group·depth.., in filter
 * order, padding taps as pad4's byte (-input_offset), then that byte up to a whole block. */
static void gather(const tq_conv_params *p, const int8_t *image, int32_t in_y0, int32_t in_x0, int32_t group,
                   int32_t block, uint32_t pad4, int8_t *patch) {
    const int32_t depth = p->filter_input_depth, row = p->filter_width * depth;
    int8_t *d = patch;
    for (int32_t fy = 0; fy < p->filter_height; ++fy, d += row) {
        const int32_t in_y = in_y0 + p->dilation_height * fy;
        if (in_y < 0 || in_y >= p->input_height) {
            fill_bytes(d, pad4, row);
            continue;
        }
        const int8_t *line = image + in_y * p->input_width * p->input_depth + group * depth;
        if (depth == p->input_depth && p->dilation_width == 1) { /* the taps inside: one contiguous run */
            const int32_t x0 = in_x0 < 0 ? -in_x0 : 0;
            int32_t x1 = p->input_width - in_x0 < p->filter_width ? p->input_width - in_x0 : p->filter_width;
            if (x1 < x0) x1 = x0;
            fill_bytes(d, pad4, x0 * depth);
            copy_bytes(d + x0 * depth, line + (in_x0 + x0) * depth, (x1 - x0) * depth);
            fill_bytes(d + x1 * depth, pad4, (p->filter_width - x1) * depth);
            continue;
        }
        for (int32_t fx = 0; fx < p->filter_width; ++fx) {
            const int32_t in_x = in_x0 + p->dilation_width * fx;
            if (in_x < 0 || in_x >= p->input_width) {
                fill_bytes(d + fx * depth, pad4, depth);
            } else {
                copy_bytes(d + fx * depth, line + in_x * p->input_depth, depth);
            }
        }
    }
    const int32_t length = p->filter_height * row;
    fill_bytes(patch + length, pad4, (block - length % block) % block);
}

/* one channel, or two sharing the input (a constant `two` at each call keeps both loops tight) */
TQ_W_BODY void rows(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1, const tq_wd_input *x,
                    uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        tq_wd_rows(enc, bits, 1, row0, row1, x, acc0, acc1);
    } else {
        tq_wd_rows(enc, bits, 0, row0, NULL, x, acc0, acc1);
    }
}

TQ_W_BODY void segment(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1, int32_t e0,
                       int32_t n, const int8_t *in, int32_t in_off, uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        tq_wd_segment(enc, bits, 1, row0, row1, e0, n, in, in_off, acc0, acc1);
    } else {
        tq_wd_segment(enc, bits, 0, row0, NULL, e0, n, in, in_off, acc0, acc1);
    }
}

/* The taps of filter row out_c (and out_c + 1) run by run, for a receptive field too big to gather */
TQ_W_BODY void by_taps(const tq_conv_params *p, int32_t enc, int32_t bits, int two, const uint8_t *row0,
                       const uint8_t *row1, const int8_t *image, int32_t in_y_origin, int32_t in_x_origin,
                       int32_t group, uint32_t *acc0, uint32_t *acc1) {
    const int32_t depth = p->filter_input_depth;
    /* no groups and no horizontal dilation: a filter row's taps are adjacent in the input and the filter */
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
        if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
        if (row_runs) {
            const int32_t x0 = in_x_origin < 0 ? -in_x_origin : 0;
            const int32_t x1 = p->input_width - in_x_origin < p->filter_width ? p->input_width - in_x_origin
                                                                               : p->filter_width;
            if (x1 > x0) {
                const int8_t *in = image + (in_y * p->input_width + in_x_origin + x0) * depth;
                segment(enc, bits, two, row0, row1, (filter_y * p->filter_width + x0) * depth, (x1 - x0) * depth, in,
                        p->input_offset, acc0, acc1);
            }
            continue;
        }
        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
            if (in_x < 0 || in_x >= p->input_width) continue;
            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
            segment(enc, bits, two, row0, row1, (filter_y * p->filter_width + filter_x) * depth, depth, in,
                    p->input_offset, acc0, acc1);
        }
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
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 lane; 128 - off a byte */
    tq_w_expect(p->packed, enc, bits, 0);
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->filter_input_depth, block = tq_wd_block(bits);
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    const int32_t length = p->filter_height * p->filter_width * depth; /* of a filter row */
    const int gathered = length <= TQ_WD_PATCH;
    /* contiguous receptive fields (when all taps are inside): one group, and filter rows that follow each other */
    const int flat = depth == p->input_depth && p->dilation_width == 1 &&
                     (p->filter_height == 1 || (p->filter_width == p->input_width && p->dilation_height == 1));
    const uint32_t pad4 = (uint32_t)(uint8_t)(int8_t)-p->input_offset * 0x01010101u;
    int8_t patch[TQ_WD_PATCH + TQ_WD_MAX_BLOCK], tail[TQ_WD_MAX_BLOCK];
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            const int inside_y = in_y_origin >= 0 &&
                                 in_y_origin + p->dilation_height * (p->filter_height - 1) < p->input_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                const int inside = inside_y && in_x_origin >= 0 &&
                                   in_x_origin + p->dilation_width * (p->filter_width - 1) < p->input_width;
                tq_wd_input x = {NULL, NULL, length / block, length % block, p->input_offset, 0,
                                 w->codes + (size_t)w->rows * (size_t)w->row_bytes};
                int32_t ready = -1; /* the group whose receptive field x holds */
                int32_t out_c = 0;
                while (out_c < p->output_depth) {
                    const int32_t group = out_c / filters_per_group;
                    const int two = out_c + 1 < p->output_depth && (out_c + 1) / filters_per_group == group;
                    const uint8_t *row0 = w->codes + (size_t)out_c * (size_t)w->row_bytes;
                    const uint8_t *row1 = row0 + w->row_bytes;
                    uint32_t acc0 = 0, acc1 = 0;
                    if (inside && flat) {
                        if (ready < 0) {
                            x.x = image + (in_y_origin * p->input_width + in_x_origin) * depth;
                            if (x.tail > 0) tq_wd_pad_tail(tail, x.x + x.blocks * block, x.tail, p->input_offset);
                            x.xt = tail;
                            if (enc == TQ_W_BINARY) x.v = tq_wd_input_sum(x.x, length, p->input_offset);
                            ready = group;
                        }
                        rows(enc, bits, two, row0, row1, &x, &acc0, &acc1);
                    } else if (gathered) {
                        if (ready != group) {
                            gather(p, image, in_y_origin, in_x_origin, group, block, pad4, patch);
                            x.x = patch;
                            x.xt = patch + x.blocks * block;
                            if (enc == TQ_W_BINARY) x.v = tq_wd_input_sum(patch, length, p->input_offset);
                            ready = group;
                        }
                        rows(enc, bits, two, row0, row1, &x, &acc0, &acc1);
                    } else {
                        by_taps(p, enc, bits, two, row0, row1, image, in_y_origin, in_x_origin, group, &acc0, &acc1);
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

tq_status tq_conv_s8_w2_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    return conv_dsp(p, input, output, TQ_W_INTK, 2);
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
