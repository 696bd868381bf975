/* FULLY_CONNECTED and CONV_2D on codebook:4 weights with a per-tensor table, for CPUs with the Arm DSP
 * extension (the other codebooks - widths other than 4, per-channel tables - take the portable
 * tq_fully_connected_s8_wc / tq_conv_s8_wc). Bit-exact with them (so with the int8 kernels on the decoded
 * weights): the same int32 sums modulo 2^32.
 *
 * A byte of codes holds two elements (the even one in the low nibble). Each call builds, on the stack, the
 * table of all 256 bytes: pairs[b] = (table[b & 15], table[b >> 4]) as int16 lanes, so one LDRB of codes and
 * one LDR of pairs make the weight lanes of one SMLAD against the inputs (x_2i + off, x_2i+1 + off). Two
 * rows (output channels) per pass share each pairing of the input, as in tq_fully_connected_s8_dsp and
 * tq_conv_s8_dsp, whose loops these follow.
 * CONV_2D with few input channels (short runs of taps) or per-channel tables decodes each row once per call into
 * the stack list of tq_conv_packed_sparse_dsp.c instead, when the row fits it.
 * Stack: the pair table, 1,024 bytes (about 1,330 with the frames; the list path about 1,950); its build
 * costs about 550 instructions per call (ORR + STR per entry). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_sparse_dsp.h"

#if defined(__ARM_FEATURE_DSP)

static void build_pairs(const int8_t *table, uint32_t *pairs) {
    uint32_t low[16];
    for (int32_t c = 0; c < 16; ++c) low[c] = (uint32_t)(uint16_t)(int16_t)table[c];
    for (int32_t hi = 0; hi < 16; ++hi, pairs += 16) {
        const uint32_t h = (uint32_t)(int32_t)table[hi] << 16;
        TQ_W_UNROLL
        for (int32_t lo = 0; lo < 16; ++lo) pairs[lo] = low[lo] | h;
    }
}

/* acc0 += Σ_j w0(e0 + j)·(x[j] + x_off), j < n, and acc1 for row1 when `two` (a constant at each call). */
TQ_W_BODY void cb_dot(int two, const uint8_t *row0, const uint8_t *row1, int32_t e0, int32_t n, const int8_t *x,
                      int32_t x_off, const int8_t *table, const uint32_t *pairs, uint32_t *acc0, uint32_t *acc1) {
    int32_t j = 0;
    uint32_t s0 = *acc0, s1 = two ? *acc1 : 0;
    if ((e0 & 1) && n > 0) { /* an odd first element: the high nibble of its byte */
        const int32_t xv = x[0] + x_off;
        s0 += (uint32_t)(table[row0[e0 >> 1] >> 4] * xv);
        if (two) s1 += (uint32_t)(table[row1[e0 >> 1] >> 4] * xv);
        j = 1;
        ++x;
    }
    const uint8_t *c0 = row0 + ((e0 + j) >> 1), *c1 = two ? row1 + ((e0 + j) >> 1) : NULL;
    const int16x2_t off2 = tq_dsp_pair(x_off);
    int32_t a0 = (int32_t)s0, a1 = (int32_t)s1;
    /* four elements per step (TQ_CB_STEP2: two rows, TQ_CB_STEP1: one): LDR, SXTAB16 x2 (the inputs plus
     * the offset), PKHBT/PKHTB into (x0, x1) and (x2, x3); then for each row LDRB of a code byte
     * (post-incremented), LDR of its pair, SMLAD, twice. Two steps per turn of the loop (GCC neither
     * unrolls nor schedules these itself without spilling). */
#define TQ_CB_STEP2 __asm__("ldr     %[t0], [%[x]], #4\n\t" \
                    "sxtab16 %[t1], %[off], %[t0]\n\t" \
                    "sxtab16 %[t0], %[off], %[t0], ror #8\n\t" \
                    "pkhbt   %[t2], %[t1], %[t0], lsl #16\n\t" \
                    "pkhtb   %[t1], %[t0], %[t1], asr #16\n\t" \
                    "ldrb    %[t3], [%[c0]], #1\n\t" \
                    "ldr     %[t3], [%[tbl], %[t3], lsl #2]\n\t" \
                    "ldrb    %[t4], [%[c1]], #1\n\t" \
                    "ldr     %[t4], [%[tbl], %[t4], lsl #2]\n\t" \
                    "smlad   %[a0], %[t2], %[t3], %[a0]\n\t" \
                    "smlad   %[a1], %[t2], %[t4], %[a1]\n\t" \
                    "ldrb    %[t3], [%[c0]], #1\n\t" \
                    "ldr     %[t3], [%[tbl], %[t3], lsl #2]\n\t" \
                    "ldrb    %[t4], [%[c1]], #1\n\t" \
                    "ldr     %[t4], [%[tbl], %[t4], lsl #2]\n\t" \
                    "smlad   %[a0], %[t1], %[t3], %[a0]\n\t" \
                    "smlad   %[a1], %[t1], %[t4], %[a1]" \
                    : [a0] "+r"(a0), [a1] "+r"(a1), [x] "+r"(x), [c0] "+r"(c0), [c1] "+r"(c1), [t0] "=&r"(t0), \
                      [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4) \
                    : [off] "r"(off2), [tbl] "r"(pairs) \
                    : "memory");
#define TQ_CB_STEP1 __asm__("ldr     %[t0], [%[x]], #4\n\t" \
                    "sxtab16 %[t1], %[off], %[t0]\n\t" \
                    "sxtab16 %[t0], %[off], %[t0], ror #8\n\t" \
                    "pkhbt   %[t2], %[t1], %[t0], lsl #16\n\t" \
                    "pkhtb   %[t1], %[t0], %[t1], asr #16\n\t" \
                    "ldrb    %[t3], [%[c0]], #1\n\t" \
                    "ldr     %[t3], [%[tbl], %[t3], lsl #2]\n\t" \
                    "ldrb    %[t4], [%[c0]], #1\n\t" \
                    "ldr     %[t4], [%[tbl], %[t4], lsl #2]\n\t" \
                    "smlad   %[a0], %[t2], %[t3], %[a0]\n\t" \
                    "smlad   %[a0], %[t1], %[t4], %[a0]" \
                    : [a0] "+r"(a0), [x] "+r"(x), [c0] "+r"(c0), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), \
                      [t3] "=&r"(t3), [t4] "=&r"(t4) \
                    : [off] "r"(off2), [tbl] "r"(pairs) \
                    : "memory");
    const int8_t *x_end8 = x + ((n - j) & ~7), *x_end4 = x + ((n - j) & ~3);
    j += (n - j) & ~3;
    uint32_t t0, t1, t2, t3, t4;
    if (two) {
        while (x < x_end8) { /* eight elements per turn: the step twice */
            TQ_CB_STEP2;
            TQ_CB_STEP2;
        }
        if (x < x_end4) TQ_CB_STEP2;
    } else {
        while (x < x_end8) {
            TQ_CB_STEP1;
            TQ_CB_STEP1;
        }
        if (x < x_end4) TQ_CB_STEP1;
    }
#undef TQ_CB_STEP2
#undef TQ_CB_STEP1
    for (; j + 2 <= n; j += 2, x += 2) {
        const uint32_t xx = tq_sd_pack(x[0] + x_off, x[1] + x_off);
        a0 = __smlad(xx, pairs[*c0++], a0);
        if (two) a1 = __smlad(xx, pairs[*c1++], a1);
    }
    s0 = (uint32_t)a0;
    s1 = (uint32_t)a1;
    if (j < n) { /* an even last element: the low nibble */
        const int32_t xv = x[0] + x_off;
        s0 += (uint32_t)(table[*c0 & 15u] * xv);
        if (two) s1 += (uint32_t)(table[*c1 & 15u] * xv);
    }
    *acc0 = s0;
    if (two) *acc1 = s1;
}

static inline int fast_codebook(const tq_packed_weights *w) {
    return w->bits == 4 && w->table_per_channel == 0;
}

/* ---- FULLY_CONNECTED ------------------------------------------------------------------------------ */

/* rq: the per-tensor requantization, prepared once; per-channel constants are prepared for each row */
static inline int8_t fc_finish(const tq_fully_connected_params *p, const tq_sd_requant *rq, int32_t o, uint32_t acc,
                               uint32_t offset_term) {
    tq_sd_requant tmp;
    if (p->per_channel) {
        tq_sd_requant_init(&tmp, 0u, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
        rq = &tmp;
    }
    return tq_sd_requant_apply(rq, acc + offset_term + (p->bias ? (uint32_t)((const int32_t *)p->bias)[o] : 0u));
}

tq_status tq_fully_connected_s8_wc_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    TQ_ASSERT(p != NULL && p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 &&
              p->filter_offset >= -127 && p->filter_offset <= 128); /* x + input_offset is an int16 lane */
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    const tq_packed_weights *w = p->packed;
    if (!fast_codebook(w)) return tq_fully_connected_s8_wc(p, input, output);
    uint32_t pairs[256];
    build_pairs(w->table, pairs);
    tq_sd_requant rq;
    tq_sd_requant_init(&rq, 0u, p->multiplier[0], p->shift[0], p->output_offset, p->act_min, p->act_max);
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        uint32_t offset_term = 0; /* filter_offset · Σ (x + input_offset) */
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint32_t)(in[d] + p->input_offset);
            offset_term *= (uint32_t)p->filter_offset;
        }
        int32_t o = 0;
        for (; o + 1 < p->output_depth; o += 2) {
            const uint8_t *r0 = w->codes + (size_t)o * (size_t)w->row_bytes;
            uint32_t acc0 = 0, acc1 = 0;
            cb_dot(1, r0, r0 + w->row_bytes, 0, depth, in, p->input_offset, w->table, pairs, &acc0, &acc1);
            out[o] = fc_finish(p, &rq, o, acc0, offset_term);
            out[o + 1] = fc_finish(p, &rq, o + 1, acc1, offset_term);
        }
        if (o < p->output_depth) { /* odd output_depth: the last row alone */
            uint32_t acc = 0;
            cb_dot(0, w->codes + (size_t)o * (size_t)w->row_bytes, NULL, 0, depth, in, p->input_offset, w->table,
                   pairs, &acc, NULL);
            out[o] = fc_finish(p, &rq, o, acc, offset_term);
        }
    }
    return TQ_OK;
}

/* ---- CONV_2D -------------------------------------------------------------------------------------- */

static inline int8_t conv_finish(const tq_conv_params *p, int32_t out_c, uint32_t acc) {
    tq_sd_requant rq;
    tq_sd_requant_init(&rq, p->bias ? (uint32_t)((const int32_t *)p->bias)[out_c] : 0u, p->multiplier[out_c],
                       p->shift[out_c], p->output_offset, p->act_min, p->act_max);
    return tq_sd_requant_apply(&rq, acc);
}

TQ_W_BODY void conv_run(int two, const uint8_t *row0, const uint8_t *row1, int32_t e0, int32_t n, const int8_t *in,
                        int32_t in_off, const int8_t *table, const uint32_t *pairs, uint32_t *acc0, uint32_t *acc1) {
    if (two) {
        cb_dot(1, row0, row1, e0, n, in, in_off, table, pairs, acc0, acc1);
    } else {
        cb_dot(0, row0, NULL, e0, n, in, in_off, table, pairs, acc0, NULL);
    }
}

/* The per-tensor table path (its own frame: the list path of tq_sc_conv_codebook does not stack on it). */
static __attribute__((noinline)) tq_status conv_pairs(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    const tq_packed_weights *w = p->packed;
    uint32_t pairs[256];
    build_pairs(w->table, pairs);
    const int32_t depth = p->filter_input_depth;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    /* no groups and no horizontal dilation: a filter row's taps are adjacent in the input and the filter */
    const int row_runs = depth == p->input_depth && p->dilation_width == 1;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
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
                        if (row_runs) {
                            const int32_t x0 = in_x_origin < 0 ? -in_x_origin : 0;
                            const int32_t x1 = p->input_width - in_x_origin < p->filter_width
                                                   ? p->input_width - in_x_origin : p->filter_width;
                            if (x1 > x0) {
                                const int8_t *in = image + (in_y * p->input_width + in_x_origin + x0) * depth;
                                conv_run(two, row0, row1, (filter_y * p->filter_width + x0) * depth, (x1 - x0) * depth,
                                         in, p->input_offset, w->table, pairs, &acc0, &acc1);
                            }
                            continue;
                        }
                        for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                            const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                            if (in_x < 0 || in_x >= p->input_width) continue;
                            const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                            conv_run(two, row0, row1, (filter_y * p->filter_width + filter_x) * depth, depth, in,
                                     p->input_offset, w->table, pairs, &acc0, &acc1);
                        }
                    }
                    *output++ = conv_finish(p, out_c, acc0); /* NHWC order */
                    if (two) *output++ = conv_finish(p, out_c + 1, acc1);
                    out_c += two ? 2 : 1;
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_conv_s8_wc_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    TQ_ASSERT(p != NULL && p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128); /* an int16 lane */
    tq_w_expect(p->packed, TQ_W_CODEBOOK, 0, 0);
    const tq_packed_weights *w = p->packed;
    /* short runs of taps (few input channels) or a table per channel: each row decoded once per call into
     * the list of tq_conv_packed_sparse_dsp.c, when its elements fit */
    if ((p->filter_input_depth < 16 || !fast_codebook(w)) && tq_sc_fits(p, w->length)) {
        return tq_sc_conv_codebook(p, input, output);
    }
    if (!fast_codebook(w)) return tq_conv_s8_wc(p, input, output);
    return conv_pairs(p, input, output);
}
#else
typedef int tq_codebook_packed_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
