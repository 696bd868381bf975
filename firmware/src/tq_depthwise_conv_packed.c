/* DEPTHWISE_CONV_2D on packed weights (p->packed, tinyq/tq_weights.h): the integers of tq_depthwise_conv_s8
 * / _s16 on the decoded int8 filter, bit for bit. The [1, KH, KW, C·M] filter is KH·KW rows (one per tap)
 * whose element out_c is output channel out_c (channel axis 1). A row is read along the channels, so each
 * output pixel is computed DW_CHUNK channels at a time with local accumulators: per tap inside the image,
 * the chunk's weights are decoded (dense) or walked (sparse), as the reference's (in_c, m) order gives
 * out_c = in_c·M + m ascending. Each channel sums the same products as the reference: the same result.
 * Encoding arguments as in tq_fully_connected_packed.c: enc -1 and bits 0 mean "the record's". */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_decode.h"

#define DW_CHUNK 16 /* output channels per pass (stack: 16 accumulators) */

/* The int8 kernel's contract, with the packed codes standing in for the (absent) int8 filter array. */
static inline void check(const tq_depthwise_conv_params *p, const void *input, const void *output, int32_t lo,
                         int32_t hi) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_depthwise_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes;
    TQ_DEPTHWISE_CONV_CHECK(&q, input, output, lo, hi);
    tq_w_check(p->packed, (int64_t)p->filter_height * p->filter_width, p->output_depth, 1);
#else
    (void)p;
    (void)input;
    (void)output;
    (void)lo;
    (void)hi;
#endif
}

/* The weights of channels c0 .. c0+n-1 at tap `tap`, into wv (dense), or for the stored ones their
 * positions in the chunk (sparse); returns how many. Encoding arguments as in the bodies. */
TQ_W_BODY int32_t chunk_weights(const tq_packed_weights *w, int32_t enc, int32_t bits, int32_t form, int32_t tap,
                                    int32_t c0, int32_t n, int8_t *wv, uint8_t *at) {
    const int32_t venc = enc < 0 ? w->value_encoding : enc, width = bits > 0 ? bits : w->bits;
    if (form == TQ_S_DENSE) {
        const int8_t *table = NULL;
        int32_t step = 0;
        if (enc == TQ_W_CODEBOOK) {
            table = tq_w_table(w, c0);
            step = w->table_per_channel ? 1 << width : 0;
        }
        tq_w_decode_any(w->codes + (size_t)tap * (size_t)w->row_bytes, c0, n, enc, bits, width, w->value_shift, table,
                        step, wv);
        return n;
    }
    int8_t signs[4];
    const int per_element = venc == TQ_W_CODEBOOK && w->table_per_channel; /* channel axis 1: lut per element */
    const int8_t *lut = per_element ? NULL : tq_w_lut(w, venc, 0, signs);
    tq_w_cursor cur;
    tq_w_row_begin(w, form, tap, &cur);
    tq_w_seek(form, &cur, c0);
    int32_t count = 0, e;
    uint32_t code;
    while (tq_w_next(form, width, &cur, c0 + n, &e, &code)) {
        wv[count] = (int8_t)tq_w_lut_value(code, per_element ? tq_w_table(w, e) : lut, width);
        at[count++] = (uint8_t)(e - c0);
    }
    return count;
}

TQ_W_BODY tq_status dw_s8(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output, int32_t enc,
                              int32_t bits, int32_t form) {
    check(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0); /* an int32 bias */
    const tq_packed_weights *w = p->packed;
    const int32_t *bias = (const int32_t *)p->bias;
    const int32_t mult = p->depth_multiplier;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t c0 = 0; c0 < p->output_depth; c0 += DW_CHUNK) {
                    const int32_t n = p->output_depth - c0 < DW_CHUNK ? p->output_depth - c0 : DW_CHUNK;
                    const int32_t in_c0 = c0 / mult, m0 = c0 - in_c0 * mult; /* of channel c0 */
                    uint32_t acc[DW_CHUNK] = {0}; /* TFLM's int32 accumulators, wrapping modulo 2^32 */
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            /* zero padding: taps outside the image are skipped */
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int8_t *pixel = image + (in_y * p->input_width + in_x) * p->input_depth;
                            int8_t wv[DW_CHUNK];
                            uint8_t at[DW_CHUNK];
                            const int32_t tap = filter_y * p->filter_width + filter_x;
                            const int32_t count = chunk_weights(w, enc, bits, form, tap, c0, n, wv, at);
                            if (form == TQ_S_DENSE) {
                                int32_t in_c = in_c0, m = m0; /* out_c = in_c·M + m */
                                for (int32_t j = 0; j < count; ++j) {
                                    acc[j] += (uint32_t)(wv[j] * (pixel[in_c] + p->input_offset));
                                    if (++m == mult) {
                                        m = 0;
                                        ++in_c;
                                    }
                                }
                            } else {
                                for (int32_t j = 0; j < count; ++j) {
                                    const int32_t out_c = c0 + at[j];
                                    const int32_t in_c = mult == 1 ? out_c : out_c / mult;
                                    acc[at[j]] += (uint32_t)(wv[j] * (pixel[in_c] + p->input_offset));
                                }
                            }
                        }
                    }
                    for (int32_t j = 0; j < n; ++j) {
                        const int32_t out_c = c0 + j;
                        uint32_t a = acc[j];
                        if (tq_w_scaled(enc < 0 ? w->value_encoding : enc)) a *= (uint32_t)w->magnitude[out_c];
                        if (bias) a += (uint32_t)bias[out_c];
                        const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)a, p->multiplier[out_c], p->shift[out_c]);
                        *output++ = (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max); /* NHWC */
                    }
                }
            }
        }
    }
    return TQ_OK;
}

/* 16x8: int64 accumulators (uint64 modulo 2^64) and int64 bias, the int64 requant (tq_depthwise_conv_s16). */
TQ_W_BODY tq_status dw_s16(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output, int32_t enc,
                               int32_t bits, int32_t form) {
    check(p, input, output, INT16_MIN, INT16_MAX);
    TQ_ASSERT(p->acc64 == 1); /* an int64 bias */
    const tq_packed_weights *w = p->packed;
    const int64_t *bias = (const int64_t *)p->bias;
    const int32_t mult = p->depth_multiplier;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                for (int32_t c0 = 0; c0 < p->output_depth; c0 += DW_CHUNK) {
                    const int32_t n = p->output_depth - c0 < DW_CHUNK ? p->output_depth - c0 : DW_CHUNK;
                    const int32_t in_c0 = c0 / mult, m0 = c0 - in_c0 * mult; /* of channel c0 */
                    uint64_t acc[DW_CHUNK] = {0};
                    for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                        const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                            const int16_t *pixel = image + (in_y * p->input_width + in_x) * p->input_depth;
                            int8_t wv[DW_CHUNK];
                            uint8_t at[DW_CHUNK];
                            const int32_t tap = filter_y * p->filter_width + filter_x;
                            const int32_t count = chunk_weights(w, enc, bits, form, tap, c0, n, wv, at);
                            if (form == TQ_S_DENSE) {
                                int32_t in_c = in_c0, m = m0;
                                for (int32_t j = 0; j < count; ++j) {
                                    acc[j] += (uint64_t)((int64_t)wv[j] * pixel[in_c]);
                                    if (++m == mult) {
                                        m = 0;
                                        ++in_c;
                                    }
                                }
                            } else {
                                for (int32_t j = 0; j < count; ++j) {
                                    const int32_t out_c = c0 + at[j];
                                    const int32_t in_c = mult == 1 ? out_c : out_c / mult;
                                    acc[at[j]] += (uint64_t)((int64_t)wv[j] * pixel[in_c]);
                                }
                            }
                        }
                    }
                    for (int32_t j = 0; j < n; ++j) {
                        const int32_t out_c = c0 + j;
                        uint64_t a = acc[j];
                        if (tq_w_scaled(enc < 0 ? w->value_encoding : enc)) a *= (uint64_t)(int64_t)w->magnitude[out_c];
                        if (bias) a += (uint64_t)bias[out_c];
                        const int32_t y =
                            tq_multiply_by_quantized_multiplier_int64((int64_t)a, p->multiplier[out_c], p->shift[out_c]);
                        *output++ = (int16_t)tq_clamp_i32(y, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return TQ_OK;
}


/* Entry points: each fixes the encoding it was chosen for; _wk and _wc read the width from the record, _wn
 * (topK, nested levels: another level's int8 bytes) the shift. */

tq_status tq_depthwise_conv_s8_w4(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return dw_s8(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_w2(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return dw_s8(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_wk(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return dw_s8(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_wt(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return dw_s8(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_wb(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return dw_s8(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_wc(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return dw_s8(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s8_ws(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return dw_s8(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return dw_s8(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return dw_s8(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_depthwise_conv_s8_wn(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return dw_s8(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_w4(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return dw_s16(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_w2(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return dw_s16(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_wk(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return dw_s16(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_wt(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return dw_s16(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_wb(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return dw_s16(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_wc(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return dw_s16(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_depthwise_conv_s16_ws(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return dw_s16(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return dw_s16(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return dw_s16(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_depthwise_conv_s16_wn(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return dw_s16(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}
