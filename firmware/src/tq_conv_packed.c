/* CONV_2D on packed weights (p->packed, tinyq/tq_weights.h): the integers of tq_conv_s8 / tq_conv_s16 on
 * the decoded int8 filter, bit for bit, with the same loops (skipped padding taps, groups, the 16x8
 * acc64/acc32 paths). Row out_c of the [O, KH·KW·I] filter is output channel out_c (channel axis 0); tap t
 * of it is elements t·I .. t·I+I-1. A dense tap is one tq_w_dot_s8/_s16 (codes decoded in registers); a
 * sparse row is one forward walk per output pixel, stepping over the taps that fall in the padding.
 * Encoding arguments as in tq_fully_connected_packed.c: enc -1 and bits 0 mean "the record's". */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_decode.h"

/* The int8 kernel's contract, with the packed codes standing in for the (absent) int8 filter array. */
static inline void check(const tq_conv_params *p, const void *input, const void *output, int32_t lo, int32_t hi) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes;
    TQ_CONV_CHECK(&q, input, output, lo, hi);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#else
    (void)p;
    (void)input;
    (void)output;
    (void)lo;
    (void)hi;
#endif
}

TQ_W_BODY tq_status conv_s8(const tq_conv_params *p, const int8_t *input, int8_t *output, int32_t enc,
                                int32_t bits, int32_t form) {
    check(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0); /* an int32 bias */
    const tq_packed_weights *w = p->packed;
    const int32_t venc = enc < 0 ? w->value_encoding : enc, width = bits > 0 ? bits : w->bits;
    const int32_t *bias = (const int32_t *)p->bias;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
                    const int32_t group = out_c / filters_per_group;
                    const int8_t *table = form == TQ_S_DENSE && enc == TQ_W_CODEBOOK ? tq_w_table(w, out_c) : NULL;
                    int8_t signs[4];
                    const int8_t *lut = form == TQ_S_DENSE ? NULL : tq_w_lut(w, venc, out_c, signs);
                    const uint8_t *row = w->codes + (size_t)out_c * (size_t)w->row_bytes; /* dense */
                    tq_w_cursor cur = {0};
                    if (form != TQ_S_DENSE) tq_w_row_begin(w, form, out_c, &cur);
                    uint32_t acc = 0; /* TFLM's int32 accumulator, wrapping modulo 2^32 */
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            /* zero padding: taps outside the image are skipped */
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int32_t e0 = (filter_y * p->filter_width + filter_x) * depth;
                            if (form == TQ_S_DENSE) {
                                acc += tq_w_dot_s8_any(row, e0, depth, in, p->input_offset, enc, bits, width, w->value_shift,
                                                       table);
                            } else {
                                tq_w_seek(form, &cur, e0); /* past the taps skipped since the last one */
                                int32_t e;
                                uint32_t code;
                                while (tq_w_next(form, width, &cur, e0 + depth, &e, &code)) {
                                    acc += (uint32_t)(tq_w_lut_value(code, lut, width) * (in[e - e0] + p->input_offset));
                                }
                            }
                        }
                    }
                    if (tq_w_scaled(venc)) acc *= (uint32_t)w->magnitude[out_c];
                    if (bias) acc += (uint32_t)bias[out_c];
                    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
                    *output++ = (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max); /* NHWC */
                }
            }
        }
    }
    return TQ_OK;
}

/* 16x8: one exact sum (uint64 modulo 2^64); p->acc64 picks the int64 or the int32 path (tq_conv_s16). */
TQ_W_BODY tq_status conv_s16(const tq_conv_params *p, const int16_t *input, int16_t *output, int32_t enc,
                                 int32_t bits, int32_t form) {
    check(p, input, output, INT16_MIN, INT16_MAX);
    const tq_packed_weights *w = p->packed;
    const int32_t venc = enc < 0 ? w->value_encoding : enc, width = bits > 0 ? bits : w->bits;
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
                    const int32_t group = out_c / filters_per_group;
                    const int8_t *table = form == TQ_S_DENSE && enc == TQ_W_CODEBOOK ? tq_w_table(w, out_c) : NULL;
                    int8_t signs[4];
                    const int8_t *lut = form == TQ_S_DENSE ? NULL : tq_w_lut(w, venc, out_c, signs);
                    const uint8_t *row = w->codes + (size_t)out_c * (size_t)w->row_bytes;
                    tq_w_cursor cur = {0};
                    if (form != TQ_S_DENSE) tq_w_row_begin(w, form, out_c, &cur);
                    uint64_t acc = 0;
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int16_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            const int32_t e0 = (filter_y * p->filter_width + filter_x) * depth;
                            if (form == TQ_S_DENSE) {
                                acc += tq_w_dot_s16_any(row, e0, depth, in, 0, enc, bits, width, w->value_shift, table);
                            } else {
                                tq_w_seek(form, &cur, e0);
                                int32_t e;
                                uint32_t code;
                                while (tq_w_next(form, width, &cur, e0 + depth, &e, &code)) {
                                    acc += (uint64_t)((int64_t)tq_w_lut_value(code, lut, width) * in[e - e0]);
                                }
                            }
                        }
                    }
                    if (tq_w_scaled(venc)) acc *= (uint64_t)(int64_t)w->magnitude[out_c];
                    int32_t y;
                    if (p->acc64) {
                        if (p->bias) acc += (uint64_t)((const int64_t *)p->bias)[out_c];
                        y = tq_multiply_by_quantized_multiplier_int64((int64_t)acc, p->multiplier[out_c], p->shift[out_c]);
                    } else {
                        uint32_t acc32 = (uint32_t)acc;
                        if (p->bias) acc32 += (uint32_t)((const int32_t *)p->bias)[out_c];
                        y = tq_multiply_by_quantized_multiplier((int32_t)acc32, p->multiplier[out_c], p->shift[out_c]);
                    }
                    *output++ = (int16_t)tq_clamp_i32(y, p->act_min, p->act_max); /* NHWC order */
                }
            }
        }
    }
    return TQ_OK;
}


/* Entry points: each fixes the encoding it was chosen for; _wk and _wc read the width from the record, _wn
 * (topK, nested levels: another level's int8 bytes) the shift. */

tq_status tq_conv_s8_w4(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return conv_s8(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_conv_s8_w2(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return conv_s8(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_conv_s8_wk(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return conv_s8(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_conv_s8_wt(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return conv_s8(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_conv_s8_wb(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return conv_s8(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_conv_s8_wc(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return conv_s8(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_conv_s8_ws(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return conv_s8(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return conv_s8(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return conv_s8(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_conv_s8_wn(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return conv_s8(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}

tq_status tq_conv_s16_w4(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return conv_s16(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_conv_s16_w2(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return conv_s16(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_conv_s16_wk(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return conv_s16(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_conv_s16_wt(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return conv_s16(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_conv_s16_wb(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return conv_s16(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_conv_s16_wc(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return conv_s16(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_conv_s16_ws(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return conv_s16(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return conv_s16(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return conv_s16(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_conv_s16_wn(const tq_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return conv_s16(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}
