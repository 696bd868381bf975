/* FULLY_CONNECTED on packed int4, int2, ternary and binary weights for CPUs with the Arm DSP extension:
 * two output rows per pass share each read of the input, codes become SMLAD lanes (int4, int2, ternary) or
 * SEL masks (binary) a word at a time (tq_weights_dsp.h). Bit-exact with tq_fully_connected_s8_w4/_w2/_wt/_wb
 * (so with tq_fully_connected_s8 on the decoded weights): the same int32 sum modulo 2^32. Stack: the padded
 * copy of the row tail, 32 bytes. Defined only when the compiler targets the extension
 * (__ARM_FEATURE_DSP); tinyq/kernel_select.py chooses them for such boards. tq_fully_connected_s8_wn_dsp
 * (topK, nested) masks each parent word to its bytes' top K bits (one AND; the sum comes out 2^(8-K) times
 * larger and is shifted back) where that scaled sum cannot leave int32, else sign-extends 4 shifted parent bytes
 * per word, then runs tq_fully_connected_s8_dsp's SMLAD loop. */
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
/* ---- topK (nested): another level's int8 bytes, each value their top K bits ------------------------ */

/* The 4 bytes of a parent word, each arithmetically shifted right by s (1..7), in 4 int8 lanes: the word's
 * logical shift brings each lane's top 8 - s bits down (the mask drops the next lane's bits), and
 * (t ^ b) - b with b the lanes' new sign bit sign-extends them (SSUB8: no lane leaves [-b, b)). */
static inline uint32_t wn_word(uint32_t x, int32_t s) {
    const uint32_t t = (x >> s) & ((0xFFu >> s) * 0x01010101u);
    const uint32_t b = (0x80u >> s) * 0x01010101u;
    return (uint32_t)__ssub8((int8x4_t)(t ^ b), (int8x4_t)b);
}

static inline int32_t wn_value(const uint8_t *row, int32_t d, int32_t s) { return (int32_t)(int8_t)row[d] >> s; }

/* acc0/acc1 += Σ (x[d] + x_off) · w(r0[d]) / w(r1[d]): tq_dsp_dot2's loop on the decoded words (r1 NULL: one row) */
static inline void wn_dot(const int8_t *x, const uint8_t *r0, const uint8_t *r1, int32_t n, int32_t x_off,
                          int32_t s, uint32_t *acc0, uint32_t *acc1) {
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a0 = (int32_t)*acc0, a1 = (int32_t)*acc1;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const uint32_t xv = tq_dsp_load4(x + d);
        const int16x2_t x_even = __sadd16(__sxtb16((int32_t)xv), off2), x_odd = __sadd16(tq_dsp_odd_bytes(xv), off2);
        const uint32_t u = wn_word(tq_dsp_load4((const int8_t *)r0 + d), s);
        a0 = __smlad(x_even, __sxtb16((int32_t)u), a0);
        a0 = __smlad(x_odd, tq_dsp_odd_bytes(u), a0);
        if (r1) {
            const uint32_t v = wn_word(tq_dsp_load4((const int8_t *)r1 + d), s);
            a1 = __smlad(x_even, __sxtb16((int32_t)v), a1);
            a1 = __smlad(x_odd, tq_dsp_odd_bytes(v), a1);
        }
    }
    uint32_t s0 = (uint32_t)a0, s1 = (uint32_t)a1;
    for (; d < n; ++d) {
        s0 += (uint32_t)((x[d] + x_off) * wn_value(r0, d, s));
        if (r1) s1 += (uint32_t)((x[d] + x_off) * wn_value(r1, d, s));
    }
    *acc0 = s0;
    *acc1 = s1;
}

/* wn_dot on masked words, w & mask = (w >> s) · 2^s: one AND a word, the sums 2^s times wn_dot's */
static inline void wn_dot_masked(const int8_t *x, const uint8_t *r0, const uint8_t *r1, int32_t n, int32_t x_off,
                                 uint32_t mask, uint32_t *acc0, uint32_t *acc1) {
    if (r1) {
        tq_dsp_dot2_masked(x, (const int8_t *)r0, (const int8_t *)r1, n, x_off, mask, acc0, acc1);
    } else {
        *acc0 = tq_dsp_dot1_masked(x, (const int8_t *)r0, n, x_off, mask, *acc0);
    }
}

tq_status tq_fully_connected_s8_wn_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128); /* x + input_offset is an int16 lane */
    tq_w_expect(p->packed, TQ_W_TOP, 8, 0);
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->accum_depth, s = w->value_shift;
    /* masked weights (one AND a word) when no row's sum of depth products can leave int32 in its 2^s-scaled
     * form; only that sum is scaled: the filter_offset term and the bias are added after the shift back */
    const uint32_t mask = tq_dsp_masked_fits(depth, p->input_offset, s) ? tq_dsp_mask_word(s) : 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        const uint32_t offset_term = p->filter_offset != 0 ? tq_wd_input_sum(in, depth, p->input_offset) *
                                                                 (uint32_t)p->filter_offset
                                                           : 0;
        int32_t o = 0;
        for (; o + 1 < p->output_depth; o += 2) { /* two rows share each widened input word */
            const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
            uint32_t acc0 = 0, acc1 = 0;
            if (mask) {
                wn_dot_masked(in, r0, r0 + w->row_bytes, depth, p->input_offset, mask, &acc0, &acc1);
                acc0 = tq_dsp_unmask(acc0, s);
                acc1 = tq_dsp_unmask(acc1, s);
            } else {
                wn_dot(in, r0, r0 + w->row_bytes, depth, p->input_offset, s, &acc0, &acc1);
            }
            out[o] = finish(p, TQ_W_TOP, o, acc0, offset_term);
            out[o + 1] = finish(p, TQ_W_TOP, o + 1, acc1, offset_term);
        }
        if (o < p->output_depth) { /* odd output_depth: the last row alone */
            const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
            uint32_t acc = 0, unused = 0;
            if (mask) {
                wn_dot_masked(in, r0, NULL, depth, p->input_offset, mask, &acc, &unused);
                acc = tq_dsp_unmask(acc, s);
            } else {
                wn_dot(in, r0, NULL, depth, p->input_offset, s, &acc, &unused);
            }
            out[o] = finish(p, TQ_W_TOP, o, acc, offset_term);
        }
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_packed_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
