/* DEPTHWISE_CONV_2D on packed int4, int2, int<k>, ternary, binary and codebook weights for CPUs with the Arm
 * DSP extension (Cortex-M4/M7/M33/M55). Bit-exact with tq_depthwise_conv_s8_w4/_w2/_wk/_wt/_wb/_wc (so with
 * tq_depthwise_conv_s8 on the decoded filter): the same int32 sums modulo 2^32, the same requantization.
 *
 * Every output pixel of a channel uses the same KH·KW weights. So the loops run channel group outermost
 * (4 output channels), and a group's weights are decoded once, before its pixels, into a small stack array:
 * one tap's 4 weights as two int16 lane pairs, (c, c+2) and (c+1, c+3), the lanes SXTAB16 gives the input
 * of those channels. Ternary and binary store a_c · sign there, the int8 weight itself (|a_c| <= 127), so
 * their sums need no multiply at the end. The pixel loop is the int8 DSP kernel's (one input word per tap,
 * widened with the offset added, four SMLAxy into four accumulators), with the taps inside the image found
 * once per pixel instead of tested one by one; depth multiplier 2 widens an input half-word into channels
 * (c/2, c/2 + 1). Other depth multipliers, and filters of more than DW_TAPS taps, take the portable kernels
 * (tq_depthwise_conv_packed.c).
 * Stack: DW_TAPS · 8 = 200 bytes for the decoded group, about 480 bytes in all (GCC 12 -O2, -fstack-usage:
 * entry point 328, pixel loop 152; the int8 DSP kernel: 144). Defined only when the compiler targets the
 * extension (__ARM_FEATURE_DSP); tinyq/kernel_select.py chooses them for such boards. */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)

#define DW_TAPS 25 /* taps (KH·KW) of a group held decoded: up to 5x5 */
#define DW_GROUP 4 /* output channels per group */

typedef struct {
    int16x2_t w02, w13; /* the weights of channels (c, c+2) and (c+1, c+3) at one tap, int16 lanes */
} dw_lanes;

/* SXTAB16 with ROR #8: bytes {1, 3} of x, sign-extended, added to the two int16 lanes of acc */
static inline int16x2_t dw_add_odd_bytes(int16x2_t acc, uint32_t x) {
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

static inline int16x2_t dw_lane_pair(int32_t lo, int32_t hi) {
    return (int16x2_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* The int8 weight of output channel e at tap row `row` (codes LSB-first, docs/weight_encodings.md). */
TQ_W_BODY int32_t dw_weight(const tq_packed_weights *w, const uint8_t *row, int32_t e, int32_t enc,
                            int32_t bits) {
    const uint32_t code = tq_w_code(row, e, bits);
    if (enc == TQ_W_CODEBOOK) return tq_w_table(w, e)[code];
    const int32_t v = tq_w_value(code, enc, bits, NULL);
    return tq_w_scaled(enc) ? v * w->magnitude[e] : v; /* ternary, binary: a_c · sign */
}

/* Channels c .. c+n-1 (n <= 4; the others get weight 0) of every tap, as lanes. */
TQ_W_BODY void decode_group(const tq_packed_weights *w, int32_t taps, int32_t c, int32_t n, int32_t enc,
                            int32_t bits, dw_lanes *buf) {
    for (int32_t t = 0; t < taps; ++t) {
        const uint8_t *row = w->codes + (size_t)t * (size_t)w->row_bytes;
        int32_t v[DW_GROUP] = {0, 0, 0, 0};
        for (int32_t j = 0; j < n; ++j) v[j] = dw_weight(w, row, c + j, enc, bits);
        buf[t].w02 = dw_lane_pair(v[0], v[2]);
        buf[t].w13 = dw_lane_pair(v[1], v[3]);
    }
}

static inline int8_t finish(const tq_depthwise_conv_params *p, int32_t out_c, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* The input bytes a group reads at one pixel: 4 (mult 1) or 2 (mult 2), fewer (`have`) in the last group
 * when the depth is not a multiple of 4; assembled from bytes then, so nothing past the channels is read. */
TQ_W_BODY uint32_t load_input(const int8_t *x, int32_t mult, int part, int32_t have) {
    if (part) {
        uint32_t v = (uint8_t)x[0];
        if (have > 1) v |= (uint32_t)(uint8_t)x[1] << 8;
        if (have > 2) v |= (uint32_t)(uint8_t)x[2] << 16;
        return v;
    }
    if (mult == 1) return tq_dsp_load4(x);
    uint16_t h;
    memcpy(&h, x, sizeof h); /* one LDRH */
    return h;
}

/* The pixels of one group: channels c .. c+n-1 (n = 4 unless `part`), mult (1 or 2) and part constants. */
TQ_W_BODY void group_pixels(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output, int32_t c,
                            int32_t n, const dw_lanes *buf, int32_t mult, int part) {
    const int32_t depth = p->input_depth, out_depth = p->output_depth;
    const int32_t in_c = c / mult, have = part ? (mult == 1 ? n : (n + 1) / 2) : 0; /* input channels read */
    const int32_t x_step = p->dilation_width * depth;                            /* between taps of a row */
    const int16x2_t off2 = tq_dsp_pair(p->input_offset);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * depth + in_c;
        int8_t *out = output + batch * p->output_height * p->output_width * out_depth + c;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            int32_t fy0 = 0, fy1 = p->filter_height; /* the filter rows inside the image (zero padding) */
            while (fy0 < fy1 && in_y_origin + p->dilation_height * fy0 < 0) ++fy0;
            while (fy1 > fy0 && in_y_origin + p->dilation_height * (fy1 - 1) >= p->input_height) --fy1;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                int32_t fx0 = 0, fx1 = p->filter_width; /* the filter columns inside the image */
                while (fx0 < fx1 && in_x_origin + p->dilation_width * fx0 < 0) ++fx0;
                while (fx1 > fx0 && in_x_origin + p->dilation_width * (fx1 - 1) >= p->input_width) --fx1;
                int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0; /* int32 sums, wrapping as the reference's */
                if (fx1 > fx0) {
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_height * fy;
                        const int8_t *x = image + (in_y * p->input_width + in_x_origin + p->dilation_width * fx0) * depth;
                        const dw_lanes *wp = buf + fy * p->filter_width + fx0;
                        int32_t k = fx1 - fx0;
                        do {
                            const uint32_t v = load_input(x, mult, part, have);
                            x += x_step;
                            const int16x2_t xa = __sxtab16(off2, (int32_t)v), xb = dw_add_odd_bytes(off2, v);
                            if (mult == 1) { /* xa = (x_c, x_c+2), xb = (x_c+1, x_c+3) */
                                acc0 = __smlabb(xa, wp->w02, acc0);
                                acc2 = __smlatt(xa, wp->w02, acc2);
                                acc1 = __smlabb(xb, wp->w13, acc1);
                                acc3 = __smlatt(xb, wp->w13, acc3);
                            } else { /* channels c, c+1 read input c/2 (bottom of xa), c+2, c+3 the next (xb) */
                                acc0 = __smlabb(xa, wp->w02, acc0);
                                acc2 = __smlabt(xb, wp->w02, acc2);
                                acc1 = __smlabb(xa, wp->w13, acc1);
                                acc3 = __smlabt(xb, wp->w13, acc3);
                            }
                            ++wp;
                        } while (--k);
                    }
                }
                out[0] = finish(p, c, (uint32_t)acc0); /* NHWC */
                if (!part || n > 1) out[1] = finish(p, c + 1, (uint32_t)acc1);
                if (!part || n > 2) out[2] = finish(p, c + 2, (uint32_t)acc2);
                if (!part) out[3] = finish(p, c + 3, (uint32_t)acc3);
                out += out_depth;
            }
        }
    }
}

/* The pixel loops do not depend on the encoding: one copy of each serves every entry point. */
static __attribute__((noinline)) void pixels_m1(const tq_depthwise_conv_params *p, const int8_t *input,
                                                int8_t *output, int32_t c, const dw_lanes *buf) {
    group_pixels(p, input, output, c, DW_GROUP, buf, 1, 0);
}

static __attribute__((noinline)) void pixels_m2(const tq_depthwise_conv_params *p, const int8_t *input,
                                                int8_t *output, int32_t c, const dw_lanes *buf) {
    group_pixels(p, input, output, c, DW_GROUP, buf, 2, 0);
}

static __attribute__((noinline)) void pixels_part(const tq_depthwise_conv_params *p, const int8_t *input,
                                                  int8_t *output, int32_t c, int32_t n, const dw_lanes *buf) {
    if (p->depth_multiplier == 1) {
        group_pixels(p, input, output, c, n, buf, 1, 1);
    } else {
        group_pixels(p, input, output, c, n, buf, 2, 1);
    }
}

TQ_W_BODY tq_status dw_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output, int32_t enc,
                           int32_t bits) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_depthwise_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_DEPTHWISE_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, (int64_t)p->filter_height * p->filter_width, p->output_depth, 1);
#endif
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 lane */
    tq_w_expect(p->packed, enc, bits, 0);
    const tq_packed_weights *w = p->packed;
    const int32_t taps = p->filter_height * p->filter_width, mult = p->depth_multiplier;
    const int32_t width = bits > 0 ? bits : w->bits;
    dw_lanes buf[DW_TAPS];
    const int32_t whole = p->output_depth - p->output_depth % DW_GROUP, rest = p->output_depth - whole;
    for (int32_t c = 0; c < whole; c += DW_GROUP) {
        decode_group(w, taps, c, DW_GROUP, enc, width, buf);
        if (mult == 1) {
            pixels_m1(p, input, output, c, buf);
        } else {
            pixels_m2(p, input, output, c, buf);
        }
    }
    if (rest > 0) {
        decode_group(w, taps, whole, rest, enc, width, buf);
        pixels_part(p, input, output, whole, rest, buf);
    }
    return TQ_OK;
}

/* Entry points: each fixes the encoding it was chosen for; _wk and _wc read the width from the record.
 * Depth multipliers other than 1 and 2, and filters of more than DW_TAPS taps, take the portable kernel. */
#define DW_FAST(p) ((p)->depth_multiplier <= 2 && (p)->filter_height * (p)->filter_width <= DW_TAPS)

tq_status tq_depthwise_conv_s8_w4_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_w4(p, input, output);
    return dw_dsp(p, input, output, TQ_W_INTK, 4);
}

tq_status tq_depthwise_conv_s8_w2_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_w2(p, input, output);
    return dw_dsp(p, input, output, TQ_W_INTK, 2);
}

tq_status tq_depthwise_conv_s8_wk_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_wk(p, input, output);
    return dw_dsp(p, input, output, TQ_W_INTK, 0);
}

tq_status tq_depthwise_conv_s8_wt_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_wt(p, input, output);
    return dw_dsp(p, input, output, TQ_W_TERNARY, 2);
}

tq_status tq_depthwise_conv_s8_wb_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_wb(p, input, output);
    return dw_dsp(p, input, output, TQ_W_BINARY, 1);
}

tq_status tq_depthwise_conv_s8_wc_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL);
    if (!DW_FAST(p)) return tq_depthwise_conv_s8_wc(p, input, output);
    return dw_dsp(p, input, output, TQ_W_CODEBOOK, 0);
}
#else
typedef int tq_depthwise_conv_packed_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
