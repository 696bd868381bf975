/* FULLY_CONNECTED on packed int4, int2, ternary and binary weights for CPUs with the Arm DSP extension:
 * two output rows per pass share each read of the input, codes become SMLAD lanes (int4, int2, ternary) or
 * SEL masks (binary) a word at a time (tq_weights_dsp.h). Bit-exact with tq_fully_connected_s8_w4/_w2/_wt/_wb
 * (so with tq_fully_connected_s8 on the decoded weights): the same int32 sum modulo 2^32. Stack: the padded
 * copy of the row tail, 32 bytes. Defined only when the compiler targets the extension
 * (__ARM_FEATURE_DSP); tinyq/kernel_select.py chooses them for such boards. */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_dsp.h"

#if defined(__ARM_FEATURE_DSP)

static inline int8_t finish(const tq_fully_connected_params *p, int32_t enc, int32_t o, uint32_t acc,
                            uint32_t offset_term) {
    if (tq_w_scaled(enc)) acc *= (uint32_t)p->packed->magnitude[o];
    acc += offset_term;
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[o];
    const int32_t c = p->per_channel ? o : 0;
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

TQ_W_BODY tq_status fc_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output, int32_t enc,
                           int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128); /* x + input_offset is an int16 lane; 128 - input_offset a byte */
    tq_w_expect(p->packed, enc, bits, 0);
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->accum_depth, block = tq_wd_block(bits);
    int8_t tail[TQ_WD_MAX_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        tq_wd_input x = {in, tail, depth / block, depth % block, p->input_offset, 0,
                         w->codes + (size_t)w->rows * (size_t)w->row_bytes};
        if (x.tail > 0) tq_wd_pad_tail(tail, in + x.blocks * block, x.tail, p->input_offset);
        uint32_t sum = 0; /* Σ (x + input_offset) */
        if (p->filter_offset != 0 || enc == TQ_W_BINARY) sum = tq_wd_input_sum(in, depth, p->input_offset);
        x.v = sum;
        const uint32_t offset_term = sum * (uint32_t)p->filter_offset; /* filter_offset · Σ (x + input_offset) */
        int32_t o = 0;
        for (; o + 1 < p->output_depth; o += 2) {
            const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
            uint32_t acc0, acc1;
            tq_wd_rows(enc, bits, 1, r0, r0 + w->row_bytes, &x, &acc0, &acc1);
            out[o] = finish(p, enc, o, acc0, offset_term);
            out[o + 1] = finish(p, enc, o + 1, acc1, offset_term);
        }
        if (o < p->output_depth) { /* odd output_depth: the last row alone */
            uint32_t acc, unused;
            tq_wd_rows(enc, bits, 0, w->codes + (size_t)o * (size_t)w->row_bytes, NULL, &x, &acc, &unused);
            out[o] = finish(p, enc, o, acc, offset_term);
        }
    }
    return TQ_OK;
}

tq_status tq_fully_connected_s8_w4_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    return fc_dsp(p, input, output, TQ_W_INTK, 4);
}

tq_status tq_fully_connected_s8_w2_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    return fc_dsp(p, input, output, TQ_W_INTK, 2);
}

tq_status tq_fully_connected_s8_wt_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    return fc_dsp(p, input, output, TQ_W_TERNARY, 2);
}

tq_status tq_fully_connected_s8_wb_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    return fc_dsp(p, input, output, TQ_W_BINARY, 1);
}
#else
typedef int tq_fully_connected_packed_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
