/* FULLY_CONNECTED on packed weights (p->packed, tinyq/tq_weights.h): the integers of tq_fully_connected_s8 /
 * _s16 on the decoded int8 weights, bit for bit. Row o of the [O, I] weights is output o (channel axis 0).
 * A dense row is one tq_w_dot (codes decoded in registers); a sparse row is walked pair by pair
 * (tq_weights_decode.h). The filter offset enters as filter_offset · Σ(x + input_offset), once per input
 * row: the stored weights alone then make the rest of the sum (zeros of sparse rows add nothing).
 *
 * The bodies take the encoding as constants where the entry point fixes it: enc (-1: the record's, _ws),
 * bits (0: the record's width, _wk/_wc/_ws); the sparse form is always a constant (_ws switches on it). */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_decode.h"

/* The int8 kernel's contract, with the packed codes standing in for the (absent) int8 weights array. */
static inline void check(const tq_fully_connected_params *p, const void *input, const void *output, int32_t lo,
                         int32_t hi) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes;
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, lo, hi);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#else
    (void)p;
    (void)input;
    (void)output;
    (void)lo;
    (void)hi;
#endif
}

TQ_W_BODY tq_status fc_s8(const tq_fully_connected_params *p, const int8_t *input, int8_t *output, int32_t enc,
                          int32_t bits, int32_t form) {
    check(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128);
    const tq_packed_weights *w = p->packed;
    const int32_t venc = enc < 0 ? w->value_encoding : enc, width = bits > 0 ? bits : w->bits;
    const int32_t *bias = (const int32_t *)p->bias;
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        uint32_t offset_term = 0; /* filter_offset · Σ (x + input_offset), modulo 2^32 */
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint32_t)(in[d] + p->input_offset);
            offset_term *= (uint32_t)p->filter_offset;
        }
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *table = form == TQ_S_DENSE && enc == TQ_W_CODEBOOK ? tq_w_table(w, o) : NULL;
            uint32_t acc = 0; /* TFLM's int32 accumulator, wrapping modulo 2^32 */
            if (form == TQ_S_DENSE) {
                acc = tq_w_dot_s8_any(w->codes + (size_t)o * (size_t)w->row_bytes, 0, depth, in, p->input_offset,
                                      enc, bits, width, w->value_shift, table);
            } else {
                int8_t signs[4];
                const int8_t *lut = tq_w_lut(w, venc, o, signs);
                tq_w_cursor c;
                tq_w_row_begin(w, form, o, &c);
                int32_t e;
                uint32_t code;
                while (tq_w_next(form, width, &c, depth, &e, &code)) {
                    acc += (uint32_t)(tq_w_lut_value(code, lut, width) * (in[e] + p->input_offset));
                }
            }
            if (tq_w_scaled(venc)) acc *= (uint32_t)w->magnitude[o];
            acc += offset_term;
            if (bias) acc += (uint32_t)bias[o];
            const int32_t c = p->per_channel ? o : 0;
            const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]);
            output[b * p->output_depth + o] = (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}

/* 16x8: the exact sum (as uint64, modulo 2^64: the reference's int64 sum wherever that is defined);
 * p->acc64 picks TFLM's int64 or int32 path as in tq_fully_connected_s16. */
TQ_W_BODY tq_status fc_s16(const tq_fully_connected_params *p, const int16_t *input, int16_t *output, int32_t enc,
                           int32_t bits, int32_t form) {
    check(p, input, output, INT16_MIN, INT16_MAX);
    const tq_packed_weights *w = p->packed;
    const int32_t venc = enc < 0 ? w->value_encoding : enc, width = bits > 0 ? bits : w->bits;
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * depth;
        uint64_t offset_term = 0;
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint64_t)(int64_t)(in[d] + p->input_offset);
            offset_term *= (uint64_t)(int64_t)p->filter_offset;
        }
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *table = form == TQ_S_DENSE && enc == TQ_W_CODEBOOK ? tq_w_table(w, o) : NULL;
            uint64_t acc = 0;
            if (form == TQ_S_DENSE) {
                acc = tq_w_dot_s16_any(w->codes + (size_t)o * (size_t)w->row_bytes, 0, depth, in, p->input_offset,
                                       enc, bits, width, w->value_shift, table);
            } else {
                int8_t signs[4];
                const int8_t *lut = tq_w_lut(w, venc, o, signs);
                tq_w_cursor c;
                tq_w_row_begin(w, form, o, &c);
                int32_t e;
                uint32_t code;
                while (tq_w_next(form, width, &c, depth, &e, &code)) {
                    acc += (uint64_t)((int64_t)tq_w_lut_value(code, lut, width) * (in[e] + p->input_offset));
                }
            }
            if (tq_w_scaled(venc)) acc *= (uint64_t)(int64_t)w->magnitude[o];
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
            output[b * p->output_depth + o] = (int16_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
        }
    }
    return TQ_OK;
}

/* Entry points: each fixes the encoding it was chosen for; _wk and _wc read the width from the record, _wn
 * (topK, nested levels: another level's int8 bytes) the shift. */

tq_status tq_fully_connected_s8_w4(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return fc_s8(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_w2(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return fc_s8(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_wk(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return fc_s8(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_wt(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return fc_s8(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_wb(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return fc_s8(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_wc(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return fc_s8(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_fully_connected_s8_ws(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return fc_s8(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return fc_s8(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return fc_s8(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_fully_connected_s8_wn(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return fc_s8(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_w4(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 4, 0);
    return fc_s16(p, input, output, TQ_W_INTK, 4, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_w2(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 2, 0);
    return fc_s16(p, input, output, TQ_W_INTK, 2, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_wk(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_INTK, 0, 0);
    return fc_s16(p, input, output, TQ_W_INTK, 0, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_wt(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TERNARY, 2, 0);
    return fc_s16(p, input, output, TQ_W_TERNARY, 2, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_wb(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_BINARY, 1, 0);
    return fc_s16(p, input, output, TQ_W_BINARY, 1, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_wc(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    return fc_s16(p, input, output, TQ_W_CODEBOOK, 0, TQ_S_DENSE);
}

tq_status tq_fully_connected_s16_ws(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, -1, 0, 1);
    switch (p->packed->sparse_form) { /* one body per sparse form: the walk is the inner loop */
    case TQ_S_BITMAP: return fc_s16(p, input, output, -1, 0, TQ_S_BITMAP);
    case TQ_S_NM: return fc_s16(p, input, output, -1, 0, TQ_S_NM);
    case TQ_S_BLOCK: return fc_s16(p, input, output, -1, 0, TQ_S_BLOCK);
    default: TQ_ASSERT(!"unknown sparse form"); return TQ_ERR_ARG;
    }
}

tq_status tq_fully_connected_s16_wn(const tq_fully_connected_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL);
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    return fc_s16(p, input, output, TQ_W_TOP, 8, TQ_S_DENSE);
}
