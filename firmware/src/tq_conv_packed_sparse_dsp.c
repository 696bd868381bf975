/* CONV_2D on sparse weights (every sparse form, every value encoding) for CPUs with the Arm DSP extension.
 * Bit-exact with tq_conv_s8_ws (so with tq_conv_s8 on the decoded filter): the same int32 sums modulo 2^32.
 *
 * The loop runs output channel by output channel. A channel's row is decoded once per call into a list on
 * the stack: for each stored nonzero, its input offset from the pixel's window origin,
 * ((fy·dilation_h)·input_width + fx·dilation_w)·input_depth + c, and its int8 value (ternary and binary
 * times a_c). Every pixel of every batch then costs one pass over the list, two products per SMLAD, and no
 * decoding (tq_sd_list_dot). The input offset enters once per pixel: Σ v·(x + off) = Σ v·x + off·Σ v.
 * The list is ordered by tap (fy, fx), so a pixel whose window crosses the padding sums, for each filter
 * row inside the image, the contiguous part of the list whose taps are inside (first[t] gives where tap t
 * starts in the list, vsum[t] the sum of the values before it).
 *
 * Stack: one tq_sc_row (TQ_SC_NZ = 256 stored nonzeros, TQ_SC_TAPS = 64 taps): 1,424 bytes, about 1,950 with
 * the frames (-fstack-usage, arm-none-eabi-gcc -O2). A row with more nonzeros than that is summed by a walk
 * over its record for each pixel; a filter of more taps, or offsets beyond 16 bits, take the portable
 * kernel. */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_sparse_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_SC_NZ 256
#define TQ_SC_TAPS 64

typedef struct {
    uint16_t ofs[TQ_SC_NZ];         /* input offset of each stored nonzero from the window origin */
    int16_t val[TQ_SC_NZ];          /* its value */
    uint16_t first[TQ_SC_TAPS + 1]; /* list index of the first nonzero of tap t (tap = fy·KW + fx) */
    int32_t vsum[TQ_SC_TAPS + 1];   /* Σ val before first[t] (modulo 2^32) */
    int32_t n;
} tq_sc_row;

static inline int8_t finish(const tq_conv_params *p, int32_t out_c, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[out_c];
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[out_c], p->shift[out_c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* Row out_c into the list; 0 when it holds more than TQ_SC_NZ nonzeros. */
TQ_W_BODY int decode_row(const tq_conv_params *p, int32_t form, int32_t out_c, tq_sc_row *row) {
    const tq_packed_weights *w = p->packed;
    const int32_t enc = w->value_encoding, bits = w->bits, depth = p->filter_input_depth;
    const int32_t taps = p->filter_height * p->filter_width;
    const int32_t step_x = p->dilation_width * p->input_depth;
    const int32_t step_y = p->dilation_height * p->input_width * p->input_depth;
    int8_t signs[4];
    const int8_t *lut = tq_w_lut(w, enc, out_c, signs);
    const int32_t mag = tq_w_scaled(enc) ? w->magnitude[out_c] : 1;
    tq_w_cursor c = {0};
    if (form != TQ_S_DENSE) tq_w_row_begin(w, form, out_c, &c);
    int32_t n = 0, sum = 0, t = 0, fx = 0, tap_end = depth, tap_ofs = 0, row_ofs = 0;
    int32_t e;
    uint32_t code;
    row->first[0] = 0;
    row->vsum[0] = 0;
    const uint8_t *dense = w->codes + (size_t)out_c * (size_t)w->row_bytes; /* TQ_S_DENSE (codebook) */
    for (int32_t next = 0;; ++next) {
        int32_t v;
        if (form == TQ_S_DENSE) {
            if (next == w->length) break;
            e = next;
            v = lut[tq_w_code(dense, e, bits)];
        } else {
            if (!tq_w_next(form, bits, &c, w->length, &e, &code)) break;
            v = tq_w_lut_value(code, lut, bits) * mag;
        }
        if (v == 0) continue; /* stored zeros (N:M padding, a codebook's zero) add nothing */
        while (e >= tap_end) { /* the taps before e's */
            ++t;
            row->first[t] = (uint16_t)n;
            row->vsum[t] = sum;
            tap_end += depth;
            if (++fx == p->filter_width) {
                fx = 0;
                row_ofs += step_y;
                tap_ofs = row_ofs;
            } else {
                tap_ofs += step_x;
            }
        }
        if (n == TQ_SC_NZ) return 0;
        row->ofs[n] = (uint16_t)(tap_ofs + e - (tap_end - depth));
        row->val[n] = (int16_t)v;
        sum = (int32_t)((uint32_t)sum + (uint32_t)v);
        ++n;
    }
    while (t < taps) {
        ++t;
        row->first[t] = (uint16_t)n;
        row->vsum[t] = sum;
    }
    row->n = n;
    return 1;
}

/* Two stored nonzeros of the list for two pixels (windows at a and b): the offsets are read once and serve
 * both, the value pair too: LDRH x2, LDRSB x4, PKHBT x2, LDR, SMLAD x2. */
#define TQ_SC_TWO_PIXELS                                                                                         \
    "ldrh   %[o0], [%[o]], #2\n\t"                                                                              \
    "ldrh   %[o1], [%[o]], #2\n\t"                                                                              \
    "ldrsb  %[xa], [%[pa], %[o0]]\n\t"                                                                          \
    "ldrsb  %[o0], [%[pb], %[o0]]\n\t"                                                                          \
    "ldrsb  %[xb], [%[pa], %[o1]]\n\t"                                                                          \
    "ldrsb  %[o1], [%[pb], %[o1]]\n\t"                                                                          \
    "pkhbt  %[xa], %[xa], %[xb], lsl #16\n\t"                                                                   \
    "pkhbt  %[o0], %[o0], %[o1], lsl #16\n\t"                                                                   \
    "ldr    %[xb], [%[v]], #4\n\t"                                                                              \
    "smlad  %[a], %[xa], %[xb], %[a]\n\t"                                                                       \
    "smlad  %[b], %[o0], %[xb], %[b]\n\t"

/* `count` pixels whose windows lie inside the image, the first at base, each `step` bytes further: two at a
 * time, sharing the reads of the list. out: the first pixel's output, out_step bytes to the next. */
static void __attribute__((noinline)) interior(const tq_sc_row *row, const int8_t *base, int32_t count, int32_t step,
                                               uint32_t all_sum, const tq_sd_requant *rq, int8_t *out,
                                               int32_t out_step) {
    const int32_t n = row->n;
    const tq_sd_requant q = *rq; /* its fields in registers or one spill slot each */
    for (; count >= 2; count -= 2, base += 2 * step) {
        const int8_t *pa = base, *pb = base + step;
        int32_t a = 0, b = 0;
        const uint16_t *o = row->ofs, *end4 = row->ofs + (n & ~3);
        const int16_t *v = row->val;
        uint32_t o0, o1, xa, xb;
        while (o < end4) {
            __asm__(TQ_SC_TWO_PIXELS TQ_SC_TWO_PIXELS
                    : [a] "+r"(a), [b] "+r"(b), [o] "+r"(o), [v] "+r"(v), [o0] "=&r"(o0), [o1] "=&r"(o1),
                      [xa] "=&r"(xa), [xb] "=&r"(xb)
                    : [pa] "r"(pa), [pb] "r"(pb)); /* reads only the list and the input, written before the call */
        }
        if (n & 2) {
            __asm__(TQ_SC_TWO_PIXELS
                    : [a] "+r"(a), [b] "+r"(b), [o] "+r"(o), [v] "+r"(v), [o0] "=&r"(o0), [o1] "=&r"(o1),
                      [xa] "=&r"(xa), [xb] "=&r"(xb)
                    : [pa] "r"(pa), [pb] "r"(pb)); /* reads only the list and the input, written before the call */
        }
        if (n & 1) {
            a += pa[*o] * *v;
            b += pb[*o] * *v;
        }
        out[0] = tq_sd_requant_apply(&q, (uint32_t)a + all_sum);
        out[out_step] = tq_sd_requant_apply(&q, (uint32_t)b + all_sum);
        out += 2 * out_step;
    }
    if (count) *out = tq_sd_requant_apply(&q, (uint32_t)tq_sd_list_dot(row->ofs, row->val, n, base, 0) + all_sum);
}

/* The filter positions inside the image along one axis: k in [*k0, *k1) with 0 <= origin + d·k < size. */
static inline void inside(int32_t origin, int32_t d, int32_t size, int32_t k_count, int32_t *k0, int32_t *k1) {
    int32_t a = 0, b = k_count;
    if (origin < 0) a = (-origin + d - 1) / d;
    if (origin + d * (k_count - 1) >= size) b = origin >= size ? 0 : (size - origin + d - 1) / d;
    if (b < a) b = a;
    *k0 = a;
    *k1 = b;
}

/* A row too long for the list: one walk over its record per pixel (tq_conv_s8_ws's loop, one channel). */
TQ_W_BODY void channel_walk(const tq_conv_params *p, const int8_t *input, int8_t *output, int32_t form,
                            int32_t out_c) {
    const tq_packed_weights *w = p->packed;
    const int32_t enc = w->value_encoding, bits = w->bits, depth = p->filter_input_depth;
    const int32_t group = out_c / (p->output_depth / (p->input_depth / depth));
    int8_t signs[4];
    const int8_t *lut = tq_w_lut(w, enc, out_c, signs);
    int8_t *out = output + out_c;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                tq_w_cursor cur;
                tq_w_row_begin(w, form, out_c, &cur);
                uint32_t acc = 0;
                for (int32_t filter_y = 0; filter_y < p->filter_height; ++filter_y) {
                    const int32_t in_y = in_y_origin + p->dilation_height * filter_y;
                    for (int32_t filter_x = 0; filter_x < p->filter_width; ++filter_x) {
                        const int32_t in_x = in_x_origin + p->dilation_width * filter_x;
                        if (in_x < 0 || in_x >= p->input_width || in_y < 0 || in_y >= p->input_height) continue;
                        const int8_t *in = image + (in_y * p->input_width + in_x) * p->input_depth + group * depth;
                        const int32_t e0 = (filter_y * p->filter_width + filter_x) * depth;
                        tq_w_seek(form, &cur, e0);
                        int32_t e;
                        uint32_t code;
                        while (tq_w_next(form, bits, &cur, e0 + depth, &e, &code)) {
                            acc += (uint32_t)(tq_w_lut_value(code, lut, bits) * (in[e - e0] + p->input_offset));
                        }
                    }
                }
                if (tq_w_scaled(enc)) acc *= (uint32_t)w->magnitude[out_c];
                *out = finish(p, out_c, acc);
                out += p->output_depth;
            }
        }
    }
}

/* Decoding and the long-row walk, one copy per sparse form; the pixel loops below exist once. */
static __attribute__((noinline)) int decode_any(const tq_conv_params *p, int32_t form, int32_t out_c, tq_sc_row *row) {
    switch (form) {
    case TQ_S_BITMAP: return decode_row(p, TQ_S_BITMAP, out_c, row);
    case TQ_S_NM: return decode_row(p, TQ_S_NM, out_c, row);
    case TQ_S_BLOCK: return decode_row(p, TQ_S_BLOCK, out_c, row);
    default: return decode_row(p, TQ_S_DENSE, out_c, row);
    }
}

static __attribute__((noinline)) void walk_any(const tq_conv_params *p, const int8_t *input, int8_t *output,
                                               int32_t form, int32_t out_c) {
    switch (form) {
    case TQ_S_BITMAP: channel_walk(p, input, output, TQ_S_BITMAP, out_c); break;
    case TQ_S_NM: channel_walk(p, input, output, TQ_S_NM, out_c); break;
    case TQ_S_BLOCK: channel_walk(p, input, output, TQ_S_BLOCK, out_c); break;
    default: TQ_ASSERT(!"dense rows always fit the list"); break;
    }
}

static tq_status conv_sparse(const tq_conv_params *p, const int8_t *input, int8_t *output, int32_t form) {
    tq_sc_row row;
    const int32_t depth = p->filter_input_depth, taps = p->filter_height * p->filter_width;
    const int32_t filters_per_group = p->output_depth / (p->input_depth / depth);
    const uint32_t off = (uint32_t)p->input_offset;
    const int32_t x_step = p->stride_width * p->input_depth;
    /* output columns whose window lies inside the image horizontally: [interior_lo, interior_hi) */
    const int32_t interior_lo = tq_min_i32((p->pad_width + p->stride_width - 1) / p->stride_width, p->output_width);
    const int32_t last = p->input_width - 1 - p->dilation_width * (p->filter_width - 1) + p->pad_width;
    const int32_t interior_hi =
        tq_max_i32(interior_lo, last < 0 ? 0 : tq_min_i32(last / p->stride_width + 1, p->output_width));
    for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
        if (!decode_any(p, form, out_c, &row)) { /* dense rows always fit (tq_sc_fits) */
            walk_any(p, input, output, form, out_c);
            continue;
        }
        tq_sd_requant rq;
        tq_sd_requant_init(&rq, p->bias ? (uint32_t)((const int32_t *)p->bias)[out_c] : 0u, p->multiplier[out_c],
                           p->shift[out_c], p->output_offset, p->act_min, p->act_max);
        const int32_t group_ofs = out_c / filters_per_group * depth;
        const uint32_t all_sum = off * (uint32_t)row.vsum[taps];
        int8_t *out = output + out_c;
        for (int32_t batch = 0; batch < p->batches; ++batch) {
            const uintptr_t image =
                (uintptr_t)(input + batch * p->input_height * p->input_width * p->input_depth) + (uintptr_t)group_ofs;
            for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
                const int32_t in_y_origin = out_y * p->stride_height - p->pad_height;
                int32_t fy0, fy1;
                inside(in_y_origin, p->dilation_height, p->input_height, p->filter_height, &fy0, &fy1);
                const int full_y = fy0 == 0 && fy1 == p->filter_height;
                /* pixels [x_lo, x_hi) of this output row have their whole window inside the image */
                const int32_t x_lo = full_y ? interior_lo : p->output_width, x_hi = full_y ? interior_hi : x_lo;
                const uintptr_t line = image + (uintptr_t)(intptr_t)(in_y_origin * p->input_width * p->input_depth);
                int32_t out_x = 0;
                for (int32_t part = 0; part < 3; ++part) {
                    if (part == 1) { /* the interior: the whole list, the window one stride further each time */
                        if (out_x < x_hi) {
                            const int8_t *base = (const int8_t *)(line + (uintptr_t)(intptr_t)(
                                                     (out_x * p->stride_width - p->pad_width) * p->input_depth));
                            interior(&row, base, x_hi - out_x, x_step, all_sum, &rq, out, p->output_depth);
                            out += (x_hi - out_x) * p->output_depth;
                            out_x = x_hi;
                        }
                        continue;
                    }
                    const int32_t end = part == 0 ? x_lo : p->output_width;
                    for (; out_x < end; ++out_x) { /* windows crossing the padding */
                        const int32_t in_x_origin = out_x * p->stride_width - p->pad_width;
                        /* the window origin: may lie in the padding, only offsets of taps inside are added */
                        const int8_t *base =
                            (const int8_t *)(line + (uintptr_t)(intptr_t)(in_x_origin * p->input_depth));
                        int32_t fx0, fx1;
                        inside(in_x_origin, p->dilation_width, p->input_width, p->filter_width, &fx0, &fx1);
                        int32_t a = 0;
                        uint32_t vs = 0;
                        if (fx0 < fx1) {
                            for (int32_t fy = fy0; fy < fy1; ++fy) {
                                const int32_t t0 = fy * p->filter_width + fx0, t1 = t0 + (fx1 - fx0);
                                const int32_t k0 = row.first[t0];
                                a = tq_sd_list_dot(row.ofs + k0, row.val + k0, row.first[t1] - k0, base, a);
                                vs += (uint32_t)row.vsum[t1] - (uint32_t)row.vsum[t0];
                            }
                        }
                        *out = tq_sd_requant_apply(&rq, (uint32_t)a + off * vs);
                        out += p->output_depth;
                    }
                }
            }
        }
    }
    return TQ_OK;
}

/* The list path for a dense codebook (tq_codebook_packed_dsp.c: per-channel tables, short taps), when
 * tq_sc_fits: every element of a row fits the list. */
int tq_sc_fits(const tq_conv_params *p, int32_t max_nonzeros) {
    /* the largest offset of the list: the last tap's last channel */
    const int64_t max_ofs = ((int64_t)(p->filter_height - 1) * p->dilation_height * p->input_width +
                             (int64_t)(p->filter_width - 1) * p->dilation_width) * p->input_depth +
                            p->filter_input_depth - 1;
    return p->filter_height * p->filter_width <= TQ_SC_TAPS && max_ofs <= 0xFFFF && max_nonzeros <= TQ_SC_NZ;
}

tq_status tq_sc_conv_codebook(const tq_conv_params *p, const int8_t *input, int8_t *output) {
    return conv_sparse(p, input, output, TQ_S_DENSE);
}

tq_status tq_conv_s8_ws_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, (int64_t)p->filter_height * p->filter_width * p->filter_input_depth, 0);
#endif
    TQ_ASSERT(p != NULL && p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128);
    tq_w_expect(p->packed, -1, 0, 1);
    if (!tq_sc_fits(p, 0)) return tq_conv_s8_ws(p, input, output);
    const int32_t form = p->packed->sparse_form;
    if (form != TQ_S_BITMAP && form != TQ_S_NM && form != TQ_S_BLOCK) {
        TQ_ASSERT(!"unknown sparse form");
        return TQ_ERR_ARG;
    }
    return conv_sparse(p, input, output, form);
}
#else
typedef int tq_conv_packed_sparse_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
