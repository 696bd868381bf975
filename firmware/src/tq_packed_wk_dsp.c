/* int8 kernels on k-bit packed weights (_wk: int1, int3, int5, int6, int7; any width 1..8 is accepted) for
 * CPUs with the Arm DSP extension: FULLY_CONNECTED and CONV_2D (tq_packed_lanes_dsp.h; DEPTHWISE_CONV_2D's is
 * in tq_depthwise_conv_packed_dsp.c, which decodes a channel group's taps once for all its pixels).
 * Bit-exact with tq_*_s8_wk (so with tq_*_s8 on the decoded weights): the same int32 sums modulo 2^32.
 *   FULLY_CONNECTED, CONV_2D: two output rows per pass share each load and widening of the activations
 *     (SXTAB16 adds the input offset); int1 codes become lanes a plane at a time (code · 128, in runs of at
 *     most TQ_WL_RUN elements), the other widths a field at a time (SBFX; 8 codes in k bytes), paired by
 *     PKHBT for SMLAD. CONV_2D sums a filter row's taps inside the image as one run when they are
 *     contiguous (no groups, no horizontal dilation).
 * Each kernel exists once per width; the entry points switch on the record's width once per call. Defined
 * only when the compiler targets the extension (__ARM_FEATURE_DSP). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_packed_s16_wk_dsp.h"
#include "tq_packed_lanes_dsp.h"

#if defined(__ARM_FEATURE_DSP)

TQ_W_BODY void dot(int32_t bits, int two, const uint8_t *row0, const uint8_t *row1, int32_t e0, int32_t n,
                   const int8_t *x, int32_t x_off, uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        tq_wl_dot_s8(TQ_W_INTK, bits, 1, row0, row1, NULL, NULL, e0, n, x, x_off, acc0, acc1);
    } else {
        tq_wl_dot_s8(TQ_W_INTK, bits, 0, row0, NULL, NULL, NULL, e0, n, x, x_off, acc0, NULL);
    }
}

/* One noinline copy of a kernel per width, and the entry point that picks it. */
#define WIDTH_BODIES(entry, body, ptype)                                                                          \
    WIDTH_BODY(body, ptype, 1) WIDTH_BODY(body, ptype, 2) WIDTH_BODY(body, ptype, 3) WIDTH_BODY(body, ptype, 4)    \
    WIDTH_BODY(body, ptype, 5) WIDTH_BODY(body, ptype, 6) WIDTH_BODY(body, ptype, 7) WIDTH_BODY(body, ptype, 8)    \
    tq_status entry(const ptype *p, const int8_t *in, int8_t *out) {                                            \
        TQ_ASSERT(p != NULL && p->packed != NULL);                                                              \
        tq_w_expect(p->packed, TQ_W_INTK, 0, 0);                                                                \
        switch (p->packed->bits) {                                                                              \
        case 1: return body##_1(p, in, out);                                                                    \
        case 2: return body##_2(p, in, out);                                                                    \
        case 3: return body##_3(p, in, out);                                                                    \
        case 4: return body##_4(p, in, out);                                                                    \
        case 5: return body##_5(p, in, out);                                                                    \
        case 6: return body##_6(p, in, out);                                                                    \
        case 7: return body##_7(p, in, out);                                                                    \
        default: return body##_8(p, in, out);                                                                   \
        }                                                                                                       \
    }
#define WIDTH_BODY(body, ptype, bits)                                                                             \
    static __attribute__((noinline)) tq_status body##_##bits(const ptype *p, const int8_t *in, int8_t *out) {     \
        return body(p, in, out, bits);                                                                          \
    }

/* ---- FULLY_CONNECTED ------------------------------------------------------------------------------- */

static inline int8_t fc_finish(const tq_fully_connected_params *p, int32_t o, uint32_t acc, uint32_t offset_term) {
    acc += offset_term;
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[o];
    const int32_t c = p->per_channel ? o : 0;
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

TQ_W_BODY void fc_row(const tq_fully_connected_params *p, const int8_t *in, int8_t *out, int32_t bits,
                      uint32_t offset_term) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->accum_depth;
    int32_t o = 0;
    for (; o + 1 < p->output_depth; o += 2) {
        const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
        uint32_t acc0 = 0, acc1 = 0;
        dot(bits, 1, r0, r0 + w->row_bytes, 0, depth, in, p->input_offset, &acc0, &acc1);
        out[o] = fc_finish(p, o, acc0, offset_term);
        out[o + 1] = fc_finish(p, o + 1, acc1, offset_term);
    }
    if (o < p->output_depth) { /* odd output_depth: the last row alone */
        uint32_t acc = 0;
        dot(bits, 0, w->codes + (size_t)o * (size_t)w->row_bytes, NULL, 0, depth, in, p->input_offset, &acc, NULL);
        out[o] = fc_finish(p, o, acc, offset_term);
    }
}

TQ_W_BODY tq_status fc_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output, int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128); /* x + input_offset is an int16 lane */
    tq_w_expect(p->packed, TQ_W_INTK, bits, 0);
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        uint32_t offset_term = 0; /* filter_offset · Σ (x + input_offset) */
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint32_t)(in[d] + p->input_offset);
            offset_term *= (uint32_t)p->filter_offset;
        }
        fc_row(p, in, output + b * p->output_depth, bits, offset_term);
    }
    return TQ_OK;
}

WIDTH_BODIES(tq_fully_connected_s8_wk_dsp, fc_dsp, tq_fully_connected_params)

/* ---- CONV_2D ---------------------------------------------------------------------------------------- */

static inline int8_t conv_finish(const tq_conv_params *p, int32_t out_c, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

TQ_W_BODY void conv_pixel(const tq_conv_params *p, const int8_t *image, int32_t in_y_origin, int32_t in_x_origin,
                          int8_t *out, int32_t bits) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
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
                const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                dot(bits, two, row0, row1, (filter_y * p->filter_width + fx) * depth, span, in, p->input_offset, &acc0,
                    &acc1);
            }
        }
        *out++ = conv_finish(p, out_c, acc0); /* NHWC order */
        if (two) *out++ = conv_finish(p, out_c + 1, acc1);
        out_c += two ? 2 : 1;
    }
}

TQ_W_BODY tq_status conv_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output, int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 lane */
    tq_w_expect(p->packed, TQ_W_INTK, bits, 0);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                conv_pixel(p, image, in_y_origin, out_x * p->stride_width - p->pad_width, output, bits);
                output += p->output_depth;
            }
        }
    }
    return TQ_OK;
}

WIDTH_BODIES(tq_conv_s8_wk_dsp, conv_dsp, tq_conv_params)

#else
typedef int tq_packed_wk_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
