/* 16x8 kernels on packed weights for CPUs with the Arm DSP extension: FULLY_CONNECTED, CONV_2D and
 * DEPTHWISE_CONV_2D with int16 activations (zero point 0) and every dense weight form (tq_packed_lanes_dsp.h).
 * Bit-exact with tq_*_s16_w4/_w2/_wk/_wt/_wb/_wc (so with tq_*_s16 on the decoded weights): the same exact
 * int64 sums (SMLALD never overflows them), then the same acc64 / acc32 requantization.
 *   FULLY_CONNECTED, CONV_2D: two output rows per pass share each load and pairing of the activations;
 *     int4, int2, ternary, binary and int1 codes become lanes a plane at a time, the other widths and
 *     codebooks a field at a time. CONV_2D sums a filter row's taps inside the image as one run when they
 *     are contiguous (no groups, no horizontal dilation), as tq_conv_s8_dsp does.
 *   DEPTHWISE_CONV_2D (depth multiplier 1, fewer than 512 taps): 8 channels per pass, each code one field
 *     extract, each product one SMLAxy into that channel's int32 sum, exact: |sum| <= taps · 128 · 32768 <
 *     2^31. Other depth multipliers and larger filters take the portable kernel.
 * _ws (sparse) has no DSP variant: 16x8 sparse layers run the portable kernels. Each kernel exists once
 * per (encoding, width) it serves: _w4 and _wk of width 4 run the same copy; _wk and _wc switch on the
 * record's width once per call (_wk of width 8, an int8 record, takes the portable kernel). Defined only
 * when the compiler targets the extension (__ARM_FEATURE_DSP); tinyq/kernel_select.py chooses them for such
 * boards. */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_packed_s16_wk_dsp.h"
#include "tq_packed_lanes_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define DW_TAPS_MAX 511 /* depthwise int32 sums stay exact: 511 · 128 · 32768 < 2^31 */

/* one row, or two sharing the activations (a constant `two` at each tq_wl_dot_s16 keeps both loops tight) */
TQ_W_BODY void dot(int32_t enc, int32_t bits, int two, const uint8_t *row0, const uint8_t *row1, const int8_t *tab0,
                   const int8_t *tab1, int32_t e0, int32_t n, const int16_t *x, uint64_t *acc0, uint64_t *acc1) {
    if (two) {
        tq_wl_dot_s16(enc, bits, 1, row0, row1, tab0, tab1, e0, n, x, acc0, acc1);
    } else {
        tq_wl_dot_s16(enc, bits, 0, row0, NULL, tab0, NULL, e0, n, x, acc0, NULL);
    }
}

/* ---- FULLY_CONNECTED ------------------------------------------------------------------------------- */

static inline int16_t fc_finish(const tq_fully_connected_params *p, int32_t enc, int32_t o, uint64_t acc,
                                uint64_t offset_term) {
    if (tq_w_scaled(enc)) acc *= (uint64_t)(int64_t)p->packed->magnitude[o];
    acc += offset_term;
    const int32_t c = p->per_channel ? o : 0;
    int32_t y;
    if (p->acc64) {
        if (p->bias) acc += (uint64_t)((const int64_t *)p->bias)[o];
        y = tq_multiply_by_quantized_multiplier_int64((int64_t)acc, p->multiplier[c], p->shift[c]);
    } else {
        uint32_t acc32 = (uint32_t)acc;
        if (p->bias) acc32 += (uint32_t)((const int32_t *)p->bias)[o];
        y = tq_multiply_by_quantized_multiplier((int32_t)acc32, p->multiplier[c], p->shift[c]);
    }
    return (int16_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* One input row: every output. bits > 0. */
TQ_W_BODY void fc_row(const tq_fully_connected_params *p, const int16_t *in, int16_t *out, int32_t enc, int32_t bits) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->accum_depth;
    uint64_t offset_term = 0; /* filter_offset · Σ x */
    if (p->filter_offset != 0) {
        for (int32_t d = 0; d < depth; ++d) offset_term += (uint64_t)(int64_t)in[d];
        offset_term *= (uint64_t)(int64_t)p->filter_offset;
    }
    const int cb = enc == TQ_W_CODEBOOK;
    int32_t o = 0;
    for (; o + 1 < p->output_depth; o += 2) {
        const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
        uint64_t acc0 = 0, acc1 = 0;
        dot(enc, bits, 1, r0, r0 + w->row_bytes, cb ? tq_w_table(w, o) : NULL, cb ? tq_w_table(w, o + 1) : NULL, 0,
            depth, in, &acc0, &acc1);
        out[o] = fc_finish(p, enc, o, acc0, offset_term);
        out[o + 1] = fc_finish(p, enc, o + 1, acc1, offset_term);
    }
    if (o < p->output_depth) { /* odd output_depth: the last row alone */
        uint64_t acc = 0;
        dot(enc, bits, 0, w->codes + (size_t)o * (size_t)w->row_bytes, NULL, cb ? tq_w_table(w, o) : NULL, NULL, 0,
            depth, in, &acc, NULL);
        out[o] = fc_finish(p, enc, o, acc, offset_term);
    }
}

TQ_W_BODY tq_status fc_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output, int32_t enc,
                           int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT16_MIN, INT16_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    tq_w_expect(p->packed, enc, bits, 0);
    for (int32_t b = 0; b < p->batches; ++b) fc_row(p, input + b * p->accum_depth, output + b * p->output_depth, enc, bits);
    return TQ_OK;
}

/* One noinline copy of a kernel per (encoding, width), for the entry points below (see the top). */
#define BODIES(body, ptype)                                                                                        \
    BODY(body, ptype, i1, TQ_W_INTK, 1) BODY(body, ptype, i2, TQ_W_INTK, 2) BODY(body, ptype, i3, TQ_W_INTK, 3)      \
    BODY(body, ptype, i4, TQ_W_INTK, 4) BODY(body, ptype, i5, TQ_W_INTK, 5) BODY(body, ptype, i6, TQ_W_INTK, 6)      \
    BODY(body, ptype, i7, TQ_W_INTK, 7) BODY(body, ptype, t, TQ_W_TERNARY, 2) BODY(body, ptype, b, TQ_W_BINARY, 1)   \
    BODY(body, ptype, c1, TQ_W_CODEBOOK, 1) BODY(body, ptype, c2, TQ_W_CODEBOOK, 2)                                \
    BODY(body, ptype, c3, TQ_W_CODEBOOK, 3) BODY(body, ptype, c4, TQ_W_CODEBOOK, 4)                                \
    BODY(body, ptype, c5, TQ_W_CODEBOOK, 5) BODY(body, ptype, c6, TQ_W_CODEBOOK, 6)                                \
    BODY(body, ptype, c7, TQ_W_CODEBOOK, 7)
#define BODY(body, ptype, name, enc, bits)                                                                         \
    static __attribute__((noinline)) tq_status body##_##name(const ptype *p, const int16_t *in, int16_t *out) {    \
        return body(p, in, out, enc, bits);                                                                     \
    }

/* The entry points of one op: _w4 _w2 _wt _wb one body each, _wk and _wc by the record's width; `guard`
 * sends a call the fast path does not serve to the portable kernel tq_<op>_s16_<form>. */
#define ENTRIES(op, body, ptype, guard)                                                                           \
    tq_status tq_##op##_s16_w4_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        if (guard) return tq_##op##_s16_w4(p, in, out);                                                         \
        return body##_i4(p, in, out);                                                                           \
    }                                                                                                           \
    tq_status tq_##op##_s16_w2_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        if (guard) return tq_##op##_s16_w2(p, in, out);                                                         \
        return body##_i2(p, in, out);                                                                           \
    }                                                                                                           \
    tq_status tq_##op##_s16_wt_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        if (guard) return tq_##op##_s16_wt(p, in, out);                                                         \
        return body##_t(p, in, out);                                                                            \
    }                                                                                                           \
    tq_status tq_##op##_s16_wb_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        if (guard) return tq_##op##_s16_wb(p, in, out);                                                         \
        return body##_b(p, in, out);                                                                            \
    }                                                                                                           \
    tq_status tq_##op##_s16_wk_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        TQ_ASSERT(p != NULL && p->packed != NULL);                                                              \
        tq_w_expect(p->packed, TQ_W_INTK, 0, 0);                                                                \
        if (guard) return tq_##op##_s16_wk(p, in, out);                                                         \
        switch (p->packed->bits) {                                                                              \
        case 1: return body##_i1(p, in, out);                                                                   \
        case 2: return body##_i2(p, in, out);                                                                   \
        case 3: return body##_i3(p, in, out);                                                                   \
        case 4: return body##_i4(p, in, out);                                                                   \
        case 5: return body##_i5(p, in, out);                                                                   \
        case 6: return body##_i6(p, in, out);                                                                   \
        case 7: return body##_i7(p, in, out);                                                                   \
        default: return tq_##op##_s16_wk(p, in, out); /* int8 stored as int<8> */                              \
        }                                                                                                       \
    }                                                                                                           \
    tq_status tq_##op##_s16_wc_dsp(const ptype *p, const int16_t *in, int16_t *out) {                           \
        TQ_ASSERT(p != NULL && p->packed != NULL);                                                              \
        tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);                                                            \
        if (guard) return tq_##op##_s16_wc(p, in, out);                                                         \
        switch (p->packed->bits) {                                                                              \
        case 1: return body##_c1(p, in, out);                                                                   \
        case 2: return body##_c2(p, in, out);                                                                   \
        case 3: return body##_c3(p, in, out);                                                                   \
        case 4: return body##_c4(p, in, out);                                                                   \
        case 5: return body##_c5(p, in, out);                                                                   \
        case 6: return body##_c6(p, in, out);                                                                   \
        default: return body##_c7(p, in, out);                                                                  \
        }                                                                                                       \
    }

/* int16 activations have zero point 0; a record with another input_offset takes the portable kernel */
BODIES(fc_dsp, tq_fully_connected_params)
ENTRIES(fully_connected, fc_dsp, tq_fully_connected_params, (TQ_ASSERT(p != NULL), p->input_offset != 0))

/* ---- CONV_2D ---------------------------------------------------------------------------------------- */

static inline int16_t conv_finish(const tq_conv_params *p, int32_t enc, int32_t out_c, uint64_t acc) {
    if (tq_w_scaled(enc)) acc *= (uint64_t)(int64_t)p->packed->magnitude[out_c];
    int32_t y;
    if (p->acc64) {
        if (p->bias) acc += (uint64_t)((const int64_t *)p->bias)[out_c];
        y = tq_multiply_by_quantized_multiplier_int64((int64_t)acc, p->multiplier[out_c], p->shift[out_c]);
    } else {
        uint32_t acc32 = (uint32_t)acc;
        if (p->bias) acc32 += (uint32_t)((const int32_t *)p->bias)[out_c];
        y = tq_multiply_by_quantized_multiplier((int32_t)acc32, p->multiplier[out_c], p->shift[out_c]);
    }
    return (int16_t)tq_clamp_i32(y, p->act_min, p->act_max);
}

/* Every output channel of one output pixel (the loops of tq_conv_s8_dsp). bits > 0. */
TQ_W_BODY void conv_pixel(const tq_conv_params *p, const int16_t *image, int32_t in_y_origin, int32_t in_x_origin,
                          int16_t *out, int32_t enc, int32_t bits) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    /* no groups and no horizontal dilation: a filter row's taps are adjacent in the input and the filter */
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
    const int cb = enc == TQ_W_CODEBOOK;
    int32_t out_c = 0;
    while (out_c < p->output_depth) {
        const int32_t group = out_c / filters_per_group;
        const int two = out_c + 1 < p->output_depth && (out_c + 1) / filters_per_group == group;
        const uint8_t *row0 = w->codes + (size_t)out_c * (size_t)w->row_bytes;
        const uint8_t *row1 = row0 + w->row_bytes;
        const int8_t *tab0 = cb ? tq_w_table(w, out_c) : NULL;
        const int8_t *tab1 = cb && two ? tq_w_table(w, out_c + 1) : NULL;
        uint64_t acc0 = 0, acc1 = 0;
        for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
            const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
            if (in_y < 0 || in_y >= p->input_height) continue; /* zero padding: skipped taps */
            /* row runs: the taps x0 .. x1-1 inside the image as one segment; else tap by tap */
            int32_t fx = 0, fx_end = p->filter_width, span = depth;
            if (row_runs) {
                fx = in_x_origin < 0 ? -in_x_origin : 0;
                const int32_t x1 =
                    p->input_width - in_x_origin < p->filter_width ? p->input_width - in_x_origin : p->filter_width;
                span = (x1 - fx) * depth;
                fx_end = x1 > fx ? fx + 1 : fx;
            }
            for (; fx < fx_end; ++fx) {
                const int32_t in_x = in_x_origin + p->dilation_width * fx;
                if (in_x < 0 || in_x >= p->input_width) continue;
                const int16_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                dot(enc, bits, two, row0, row1, tab0, tab1, (filter_y * p->filter_width + fx) * depth, span, in, &acc0,
                    &acc1);
            }
        }
        *out++ = conv_finish(p, enc, out_c, acc0); /* NHWC order */
        if (two) *out++ = conv_finish(p, enc, out_c + 1, acc1);
        out_c += two ? 2 : 1;
    }
}


TQ_W_BODY tq_status conv_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output, int32_t enc,
                             int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_CONV_CHECK(&q, input, output, INT16_MIN, INT16_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    tq_w_expect(p->packed, enc, bits, 0);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                conv_pixel(p, image, in_y_origin, in_x_origin, output, enc, bits);
                output += p->output_depth;
            }
        }
    }
    return TQ_OK;
}

BODIES(conv_dsp, tq_conv_params)
ENTRIES(conv, conv_dsp, tq_conv_params, 0)

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------------------------------------- */

static inline int16_t dw_finish(const tq_depthwise_conv_params *p, int32_t enc, int32_t out_c, int32_t sum) {
    uint64_t a = (uint64_t)(int64_t)sum; /* the exact int64 sum */
    if (tq_w_scaled(enc)) a *= (uint64_t)(int64_t)p->packed->magnitude[out_c];
    if (p->bias) a += (uint64_t)((const int64_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier_int64((int64_t)a, p->multiplier[out_c], p->shift[out_c]);
    return (int16_t)tq_clamp_i32(y, p->act_min, p->act_max);
}

/* Every channel of one output pixel, depth multiplier 1. bits > 0. */
TQ_W_BODY void dw_pixel(const tq_depthwise_conv_params *p, const int16_t *image, int32_t in_y_origin,
                        int32_t in_x_origin, int16_t *out, int32_t enc, int32_t bits) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->input_depth;
    const int cb = enc == TQ_W_CODEBOOK;
    const int32_t step = cb && w->table_per_channel ? 1 << bits : 0;
    /* the taps inside the image */
    const int32_t fy0 = in_y_origin < 0 ? (-in_y_origin + p->dilation_height - 1) / p->dilation_height : 0;
    const int32_t fx0 = in_x_origin < 0 ? (-in_x_origin + p->dilation_width - 1) / p->dilation_width : 0;
    int32_t c = 0;
    for (; c + 8 <= depth; c += 8) {
        const int8_t *table = cb ? tq_w_table(w, c) : NULL;
        const uint8_t *codes = w->codes + (((uint32_t)c * (uint32_t)bits) >> 3);
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (int32_t filter_y = fy0; filter_y < p->filter_height; ++filter_y) {
            const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
            if (in_y >= p->input_height) break;
            for (int32_t filter_x = fx0; filter_x < p->filter_width; ++filter_x) {
                const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                if (in_x >= p->input_width) break;
                int32_t v[8];
                tq_wl_values8(codes + (size_t)(filter_y * p->filter_width + filter_x) * (size_t)w->row_bytes, enc, bits,
                              table, step, v);
                const int16_t *px = image + (in_y * p->input_width + in_x) * depth + c;
                const int32_t x01 = (int32_t)tq_wl_load4(px), x23 = (int32_t)tq_wl_load4(px + 2);
                const int32_t x45 = (int32_t)tq_wl_load4(px + 4), x67 = (int32_t)tq_wl_load4(px + 6);
                a0 = __smlabb(x01, v[0], a0);
                a1 = __smlatb(x01, v[1], a1);
                a2 = __smlabb(x23, v[2], a2);
                a3 = __smlatb(x23, v[3], a3);
                a4 = __smlabb(x45, v[4], a4);
                a5 = __smlatb(x45, v[5], a5);
                a6 = __smlabb(x67, v[6], a6);
                a7 = __smlatb(x67, v[7], a7);
            }
        }
        *out++ = dw_finish(p, enc, c, a0);
        *out++ = dw_finish(p, enc, c + 1, a1);
        *out++ = dw_finish(p, enc, c + 2, a2);
        *out++ = dw_finish(p, enc, c + 3, a3);
        *out++ = dw_finish(p, enc, c + 4, a4);
        *out++ = dw_finish(p, enc, c + 5, a5);
        *out++ = dw_finish(p, enc, c + 6, a6);
        *out++ = dw_finish(p, enc, c + 7, a7);
    }
    for (; c < depth; ++c) { /* the last depth % 8 channels */
        const int8_t *table = cb ? tq_w_table(w, c) : NULL;
        int32_t a = 0;
        for (int32_t filter_y = fy0; filter_y < p->filter_height; ++filter_y) {
            const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
            if (in_y >= p->input_height) break;
            for (int32_t filter_x = fx0; filter_x < p->filter_width; ++filter_x) {
                const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                if (in_x >= p->input_width) break;
                const uint8_t *row = w->codes + (size_t)(filter_y * p->filter_width + filter_x) * (size_t)w->row_bytes;
                a += tq_wl_value(row, c, enc, bits, table) * image[(in_y * p->input_width + in_x) * depth + c];
            }
        }
        *out++ = dw_finish(p, enc, c, a);
    }
}


/* 1: the shape has the fast path (depth multiplier 1, int32 sums exact) */
static inline int dw_fast(const tq_depthwise_conv_params *p) {
    return p->depth_multiplier == 1 && (int64_t)p->filter_height * p->filter_width <= DW_TAPS_MAX;
}

TQ_W_BODY tq_status dw_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output, int32_t enc,
                           int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_depthwise_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_DEPTHWISE_CONV_CHECK(&q, input, output, INT16_MIN, INT16_MAX);
    tq_w_check(p->packed, (int64_t)p->filter_height * p->filter_width, p->output_depth, 1);
#endif
    TQ_ASSERT(p->acc64 == 1); /* an int64 bias */
    tq_w_expect(p->packed, enc, bits, 0);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                dw_pixel(p, image, in_y_origin, in_x_origin, output, enc, bits);
                output += p->output_depth;
            }
        }
    }
    return TQ_OK;
}

BODIES(dw_dsp, tq_depthwise_conv_params)
ENTRIES(depthwise_conv, dw_dsp, tq_depthwise_conv_params, (TQ_ASSERT(p != NULL), !dw_fast(p)))
#else
typedef int tq_packed_s16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
