/* DEPTHWISE_CONV_2D on sparse packed weights (every sparse form over every value encoding), int8, for CPUs
 * with the Arm DSP extension. Bit-exact with tq_depthwise_conv_s8_ws, so with tq_depthwise_conv_s8 on the
 * decoded filter: the same int32 sums modulo 2^32, the same requantization.
 *
 * Output channel by output channel: each output channel of a depthwise convolution is a 2-D convolution of
 * one input channel (out_c / M) with its own KH x KW filter, the column out_c of the KH·KW tap rows. That
 * column is decoded once per channel (a cursor per tap row moving forward with out_c) into a list of its
 * nonzero taps, so the sparse index and the value codes are read once per channel instead of once per
 * output pixel, whatever the form and value encoding (int8 values and N:M with M = 4 have gathers of their
 * own; the other value encodings go through tq_w_value, still once per channel); ternary and binary values
 * are taken as a_c·sign, the int8 weight. The pixels then only see the list, block by block: the pixels
 * whose nonzero taps all lie in the image (one block), and each border row and column (the padding) alone,
 * so every pixel of a block has the same taps inside the image. A block sums
 *   base + Σ_k w_k·x[p + o_k],  base = bias + input_offset·Σ_k w_k
 * over its k taps, with n, the w_k (pairs in the halves of a word, SMLABB/SMLABT) and the o_k in registers:
 * one loop per n <= DWS_UNROLL. A lone pixel (a corner) sums w_k·(x + input_offset) directly.
 * Requantization: tq_multiply_by_quantized_multiplier + tq_add_clamp_i32 with the channel's constants
 * hoisted (requant_apply), or, when the channel's sums are bounded well inside int32 and its shift is a
 * right shift (requant_fast_ok: the usual case), the same integers from the doubled sum with SMMULR and one
 * rounding shift (requant_fast).
 *
 * Stack: about 1.05 KB (arm-none-eabi-gcc 12 -O2: 624 bytes in the entry point with the per-tap cursors and
 * the channel's list for DWS_MAX_TAPS taps, 408 in channel() with a block's list). Filters of more than
 * DWS_MAX_TAPS taps, or dilated beyond an int16 offset, take the portable kernel (tq_depthwise_conv_s8_ws).
 * Defined only when the compiler targets the extension (__ARM_FEATURE_DSP). */
#include "tinyq/tq_conv.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_decode.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#define DWS_MAX_TAPS 32 /* KH·KW handled here (the stack lists: 22 bytes per tap) */
#define DWS_UNROLL 8    /* nonzero taps per channel with a loop of their own */

/* The portable kernel's contract, with the packed codes standing in for the (absent) int8 filter array. */
static inline void check(const tq_depthwise_conv_params *p, const void *input, const void *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_depthwise_conv_params q = *p;
    q.filter = (const int8_t *)p->packed->codes;
    TQ_DEPTHWISE_CONV_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, (int64_t)p->filter_height * p->filter_width, p->output_depth, 1);
#else
    (void)p;
    (void)input;
    (void)output;
#endif
}

/* ---- requantization with one channel's constants ---------------------------------------------------- */

typedef struct {
    int32_t mult, left, right, mask, half; /* multiplier; shift split; rounding divide: 2^right - 1, mask >> 1 */
    int32_t offset, lo, hi;                /* output offset, activation clamp */
    int32_t nudge;                         /* requant_fast: 2^(right-1) + offset·2^right */
} requant;

static inline void requant_init(requant *q, const tq_depthwise_conv_params *p, int32_t out_c) {
    const int32_t shift = p->shift[out_c];
    TQ_ASSERT(p->multiplier[out_c] >= 0 && shift >= -31 && shift <= 31);
    q->mult = p->multiplier[out_c];
    q->left = shift > 0 ? shift : 0;
    q->right = shift > 0 ? 0 : -shift;
    q->mask = (int32_t)(((uint32_t)1 << q->right) - 1u);
    q->half = q->mask >> 1;
    q->offset = p->output_offset;
    q->lo = p->act_min;
    q->hi = p->act_max;
    q->nudge = q->right >= 1 ? (int32_t)(((int64_t)1 << (q->right - 1)) + (int64_t)q->offset * ((int64_t)1 << q->right)) : 0;
}

/* Whether requant_fast gives requant_apply's integers for every sum of the channel: |sum| <= bound (so the
 * int32 sum never wraps and 2·sum fits), a rounding shift right >= 1, and no step of requant_fast overflows. */
static inline int requant_fast_ok(const requant *q, int64_t bound) {
    return q->right >= 1 && 2 * bound <= INT32_MAX &&
           bound + 2 + ((int64_t)1 << (q->right - 1)) + (q->offset < 0 ? -q->offset : q->offset) * ((int64_t)1 << q->right) <=
               INT32_MAX;
}

static inline int32_t smmulr(int32_t a, int32_t b) { /* (a·b + 2^31) >> 32 */
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* requant_apply on a doubled sum (acc2 = 2·acc, exact), under requant_fast_ok: SMMULR(2·acc, mult) is
 * (acc·mult + 2^30) >> 31; the rounding divide by 2^right is (h + 2^(right-1) - (h < 0)) >> right (right >= 1),
 * and the output offset is added before the shift as offset·2^right. No step overflows. */
static inline int8_t requant_fast(const requant *q, int32_t acc2) {
    const int32_t h = smmulr(acc2, q->mult);
    int32_t y = (h + (h >> 31) + q->nudge) >> q->right;
    y = y < q->lo ? q->lo : y;
    y = y > q->hi ? q->hi : y;
    return (int8_t)y;
}

/* tq_multiply_by_quantized_multiplier(acc, mult, shift), then tq_add_clamp_i32: the same integers. With a
 * multiplier >= 0 the high multiply never saturates, and its round-half-up (ab + nudge) / 2^31, truncated,
 * is (ab + 2^30) >> 31 for either sign of ab. */
static inline int8_t requant_apply(const requant *q, uint32_t acc) {
    const int32_t s = (int32_t)(acc << q->left);
    const int32_t h = (int32_t)(((int64_t)s * q->mult + (1 << 30)) >> 31);
    const int32_t r = (h >> q->right) + ((h & q->mask) > q->half - (h >> 31) ? 1 : 0); /* threshold + (h < 0) */
    int32_t y = __qadd(r, q->offset); /* saturating: the clamp below gives what the int64 sum gives */
    y = y < q->lo ? q->lo : y;
    y = y > q->hi ? q->hi : y;
    return (int8_t)y;
}

/* ---- one channel's nonzero taps ---------------------------------------------------------------------- */

typedef struct {
    int32_t n;                  /* nonzero taps */
    int32_t off[DWS_MAX_TAPS];  /* input element offset of tap k from the pixel's window origin */
    int16_t dy[DWS_MAX_TAPS];   /* dilation_height·fy, dilation_width·fx of tap k */
    int16_t dx[DWS_MAX_TAPS];
    int8_t w[DWS_MAX_TAPS];     /* the int8 weight (never 0) */
    int32_t dy0, dy1, dx0, dx1; /* the least and greatest dy, dx (n > 0) */
} taps;

/* The value of stored code k of a row: the int8 weight of output channel c. */
TQ_W_BODY int32_t weight(const tq_packed_weights *w, int32_t enc, int32_t bits, const uint8_t *values, int32_t k,
                         int32_t c) {
    const uint32_t code = tq_w_code(values, k, bits);
    if (enc == TQ_W_INT8) return (int32_t)(int8_t)code;
    const int32_t venc = w->value_encoding;
    if (venc == TQ_W_CODEBOOK) return tq_w_table(w, c)[code];
    const int32_t v = tq_w_value(code, venc, w->bits, NULL);
    return tq_w_scaled(venc) ? v * w->magnitude[c] : v;
}

/* Column out_c of the filter into t: for each tap, whether out_c is stored (cursor[tap]: the row's next code;
 * the forms' rules in docs/weight_encodings.md) and its value. enc TQ_W_INT8: int8 values (bits 8), else any
 * value encoding (the record's); pos_bits: N:M's log2(M), 0 for the record's. Channels are visited in
 * ascending order from 0, each once. */
TQ_W_BODY void gather(const tq_depthwise_conv_params *p, int32_t form, int32_t enc, int32_t pos_bits, int32_t out_c,
                      int32_t *cursor, taps *t) {
    const tq_packed_weights *w = p->packed;
    const int32_t bits = enc == TQ_W_INT8 ? 8 : w->bits;
    const int32_t kw = p->filter_width, ntaps = p->filter_height * kw;
    const int32_t step_y = p->dilation_height * p->input_width * p->input_depth, step_x = p->dilation_width * p->input_depth;
    const int32_t m = w->group_m;
    const int32_t g = form == TQ_S_BITMAP ? 0 : out_c / m, j = out_c - g * m; /* group / block g, rank j in it */
    const int32_t nn = w->group_n, pb = form == TQ_S_NM && pos_bits == 0 ? tq_w_log2(m) : pos_bits;
    const uint8_t *index = w->index;
    const int32_t irb = w->index_row_bytes, byte = out_c >> 3, bit = out_c & 7;
    int32_t n = 0, fx = 0, dy = 0, dx = 0, off_y = 0, off = 0, dx0 = INT32_MAX, dx1 = -1;
    for (int32_t tap = 0; tap < ntaps; ++tap, index += irb) {
        int32_t v = 0;
        if (form == TQ_S_BITMAP) {
            if ((index[byte] >> bit) & 1u) v = weight(w, enc, bits, w->codes + w->row_start[tap], cursor[tap]++, out_c);
        } else if (form == TQ_S_BLOCK) { /* cursor: the code of block g's first element when it is kept */
            if (j == 0 && g > 0 && tq_w_bit(index, g - 1)) cursor[tap] += m; /* the previous block was kept */
            if (tq_w_bit(index, g)) v = weight(w, enc, bits, w->codes + w->row_start[tap], cursor[tap] + j, out_c);
        } else { /* N:M, cursor: the next pair of group g (its positions ascend) */
            const int32_t k = j == 0 ? g * nn : cursor[tap];
            cursor[tap] = k;
            if (k < (g + 1) * nn && (int32_t)tq_w_code(index, k, pb) == j) {
                v = weight(w, enc, bits, w->codes + (size_t)tap * (size_t)w->row_bytes, k, out_c);
                cursor[tap] = k + 1;
            }
        }
        if (v != 0) {
            t->off[n] = off;
            t->dy[n] = (int16_t)dy;
            t->dx[n] = (int16_t)dx;
            t->w[n++] = (int8_t)v;
            dx0 = dx < dx0 ? dx : dx0;
            dx1 = dx > dx1 ? dx : dx1;
        }
        if (++fx == kw) { /* the next filter row */
            fx = dx = 0;
            dy += p->dilation_height;
            off = off_y += step_y;
        } else {
            dx += p->dilation_width;
            off += step_x;
        }
    }
    t->n = n;
    t->dy0 = n > 0 ? t->dy[0] : 0; /* the taps ascend in fy */
    t->dy1 = n > 0 ? t->dy[n - 1] : 0;
    t->dx0 = n > 0 ? dx0 : 0;
    t->dx1 = n > 0 ? dx1 : 0;
}

/* ---- the pixels ------------------------------------------------------------------------------------- */

/* [lo, hi), lo <= hi: the output rows (or columns) o < outs whose input o·stride - pad + d lies in [0, size)
 * for d = d0 and d = d1 (d0 <= d1), so for every tap between them. */
static inline void inside(int32_t outs, int32_t stride, int32_t pad, int32_t size, int32_t d0, int32_t d1,
                          int32_t *lo, int32_t *hi) {
    const int32_t a = pad - d0;            /* o·stride >= a */
    const int32_t b = size - 1 + pad - d1; /* o·stride <= b */
    int32_t h = b < 0 ? 0 : b / stride + 1;
    h = h < outs ? h : outs;
    const int32_t l = a <= 0 ? 0 : (a + stride - 1) / stride;
    *lo = l < h ? l : h;
    *hi = h;
}

/* What every channel shares: the steps between pixels. */
typedef struct {
    int32_t row_elems;              /* input elements per image row */
    int32_t x_row, x_col;           /* input elements between output rows, columns */
    int32_t out_row;                /* output elements per output row */
} geometry;

/* The taps of one block of pixels that lie inside the image: the same for every pixel of the block. */
typedef struct {
    int32_t n;
    int32_t off[DWS_MAX_TAPS];
    int8_t w[DWS_MAX_TAPS];
} block_taps;

/* The pixels of a block: n (a constant up to DWS_UNROLL, or any n when `any`) products each. x: the input of
 * the first pixel's window origin plus off[0] (a valid address: that tap is in the image), so each load is
 * x[off[k] - off[0]]. */
TQ_W_BODY void rect(int32_t n, int any, int fast, const block_taps *t, const int8_t *x, int32_t rows,
                    int32_t cols, int32_t x_row, int32_t x_col, int8_t *out, int32_t out_row, int32_t out_col,
                    uint32_t base, const requant *rq) {
    const requant q = *rq; /* in registers: the output stores could alias *rq */
    if (any) {
        for (int32_t y = 0; y < rows; ++y, x += x_row, out += out_row) {
            const int8_t *xp = x;
            int8_t *op = out;
            for (int32_t i = 0; i < cols; ++i, xp += x_col, op += out_col) {
                uint32_t acc = base;
                for (int32_t k = 0; k < t->n; ++k) acc += (uint32_t)(t->w[k] * xp[t->off[k] - t->off[0]]);
                *op = requant_apply(&q, acc);
            }
        }
        return;
    }
    int32_t o[DWS_UNROLL];
    uint32_t wp[(DWS_UNROLL + 1) / 2]; /* weights 2k, 2k+1 in the low, high halves */
    TQ_W_UNROLL
    for (int32_t k = 0; k < n; ++k) o[k] = t->off[k] - t->off[0];
    TQ_W_UNROLL
    for (int32_t k = 0; k < n; k += 2) { /* fast: the doubled weights (|2w| <= 256) for the doubled sum */
        const uint32_t lo = (uint32_t)(int32_t)t->w[k] << fast, hi = k + 1 < n ? (uint32_t)(int32_t)t->w[k + 1] << fast : 0;
        wp[k / 2] = (lo & 0xFFFFu) | hi << 16;
    }
    const int32_t start = (int32_t)(base << fast);
    for (int32_t y = 0; y < rows; ++y, x += x_row, out += out_row) {
        const int8_t *xp = x;
        int8_t *op = out;
        for (int32_t i = cols; i != 0; --i, xp += x_col, op += out_col) {
            int32_t acc = start;
            TQ_W_UNROLL
            for (int32_t k = 0; k < n; k += 2) {
                acc = __smlabb(xp[o[k]], (int32_t)wp[k / 2], acc);
                if (k + 1 < n) acc = __smlabt(xp[o[k + 1]], (int32_t)wp[k / 2], acc);
            }
            *op = fast ? requant_fast(&q, acc) : requant_apply(&q, (uint32_t)acc);
        }
    }
}

/* Output rows y0 .. y1-1, columns x0 .. x1-1 of one channel, a block whose pixels all have the same taps
 * inside the image (one row or column of the border, or a range inside it): the taps inside the image at
 * its first pixel. img: the channel's input (element in_c of the batch's first pixel); out: its output. */
TQ_W_BODY void block(const tq_depthwise_conv_params *p, const geometry *g, const taps *t, const int8_t *img,
                     int8_t *out, int32_t y0, int32_t y1, int32_t x0, int32_t x1, uint32_t bias, const requant *q,
                     int fast) {
    const int32_t iy0 = y0 * p->stride_height - p->pad_height, ix0 = x0 * p->stride_width - p->pad_width;
    if (y1 - y0 == 1 && x1 - x0 == 1) { /* one pixel (a corner): its sum at once */
        const int32_t origin = iy0 * g->row_elems + ix0 * p->input_depth; /* may lie outside: only an index */
        uint32_t acc = bias;
        for (int32_t k = 0; k < t->n; ++k) {
            if ((uint32_t)(iy0 + t->dy[k]) < (uint32_t)p->input_height &&
                (uint32_t)(ix0 + t->dx[k]) < (uint32_t)p->input_width) {
                acc += (uint32_t)(t->w[k] * (img[origin + t->off[k]] + p->input_offset));
            }
        }
        out[y0 * g->out_row + x0 * p->output_depth] = requant_apply(q, acc);
        return;
    }
    block_taps b;
    int32_t n = 0;
    uint32_t wsum = 0;
    for (int32_t k = 0; k < t->n; ++k) {
        if ((uint32_t)(iy0 + t->dy[k]) < (uint32_t)p->input_height &&
            (uint32_t)(ix0 + t->dx[k]) < (uint32_t)p->input_width) {
            b.off[n] = t->off[k];
            b.w[n++] = t->w[k];
            wsum += (uint32_t)t->w[k];
        }
    }
    b.n = n;
    const uint32_t base = bias + (uint32_t)p->input_offset * wsum; /* Σ w·(x + off) = Σ w·x + off·Σ w */
    const int8_t *x = n > 0 ? img + (iy0 * g->row_elems + ix0 * p->input_depth + b.off[0]) : img;
    int8_t *o = out + y0 * g->out_row + x0 * p->output_depth;
    int32_t rows = y1 - y0, cols = x1 - x0, x_row = g->x_row, x_col = g->x_col, o_row = g->out_row;
    int32_t o_col = p->output_depth;
    if (rows > cols) { /* the inner loop along the longer side */
        int32_t v = rows;
        rows = cols, cols = v;
        v = x_row, x_row = x_col, x_col = v;
        v = o_row, o_row = o_col, o_col = v;
    }
#define DWS_RECT(k, any, f) rect(k, any, f, &b, x, rows, cols, x_row, x_col, o, o_row, o_col, base, q)
    if (fast) { /* a loop per count: its weights and offsets in registers */
        switch (n) {
        case 0: DWS_RECT(0, 0, 1); return;
        case 1: DWS_RECT(1, 0, 1); return;
        case 2: DWS_RECT(2, 0, 1); return;
        case 3: DWS_RECT(3, 0, 1); return;
        case 4: DWS_RECT(4, 0, 1); return;
        case 5: DWS_RECT(5, 0, 1); return;
        case 6: DWS_RECT(6, 0, 1); return;
        case 7: DWS_RECT(7, 0, 1); return;
        case 8: DWS_RECT(8, 0, 1); return;
        default: break;
        }
    }
    switch (n) {
    case 0: DWS_RECT(0, 0, 0); break;
    case 1: DWS_RECT(1, 0, 0); break;
    case 2: DWS_RECT(2, 0, 0); break;
    case 3: DWS_RECT(3, 0, 0); break;
    case 4: DWS_RECT(4, 0, 0); break;
    case 5: DWS_RECT(5, 0, 0); break;
    case 6: DWS_RECT(6, 0, 0); break;
    case 7: DWS_RECT(7, 0, 0); break;
    case 8: DWS_RECT(8, 0, 0); break;
    default: DWS_RECT(0, 1, 0); break;
    }
#undef DWS_RECT
}

/* The next run of output rows (columns) from `at`: one border row alone, or the whole inside [lo, hi). */
static inline int32_t run_end(int32_t at, int32_t lo, int32_t hi) { return at == lo && hi > lo ? hi : at + 1; }

/* Output channel out_c, every batch and pixel, block by block. */
static __attribute__((noinline)) void channel(const tq_depthwise_conv_params *p, const geometry *g, const taps *t, const int8_t *input,
                    int8_t *output, int32_t out_c, int32_t in_c) {
    requant q;
    requant_init(&q, p, out_c);
    const int32_t bias_c = p->bias ? ((const int32_t *)p->bias)[out_c] : 0;
    const uint32_t bias = (uint32_t)bias_c;
    int64_t bound = bias_c < 0 ? -(int64_t)bias_c : bias_c; /* |sum| <= |bias| + 255·Σ|w| (|x + off| <= 255) */
    for (int32_t k = 0; k < t->n; ++k) bound += 255 * (t->w[k] < 0 ? -t->w[k] : t->w[k]);
    const int fast = requant_fast_ok(&q, bound);
    const int32_t image = p->input_height * p->input_width * p->input_depth;
    int32_t y_lo = 0, y_hi = 0, x_lo = 0, x_hi = 0; /* the pixels whose every nonzero tap is in the image */
    if (t->n > 0) {
        inside(p->output_height, p->stride_height, p->pad_height, p->input_height, t->dy0, t->dy1, &y_lo, &y_hi);
        inside(p->output_width, p->stride_width, p->pad_width, p->input_width, t->dx0, t->dx1, &x_lo, &x_hi);
    }
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *img = input + (size_t)batch * (size_t)image + in_c;
        int8_t *out = output + (size_t)batch * (size_t)(p->output_height * g->out_row) + out_c;
        if (t->n == 0) { /* every pixel is the bias alone */
            block(p, g, t, img, out, 0, p->output_height, 0, p->output_width, bias, &q, fast);
            continue;
        }
        for (int32_t y0 = 0, y1; y0 < p->output_height; y0 = y1) {
            y1 = run_end(y0, y_lo, y_hi);
            for (int32_t x0 = 0, x1; x0 < p->output_width; x0 = x1) {
                x1 = run_end(x0, x_lo, x_hi);
                block(p, g, t, img, out, y0, y1, x0, x1, bias, &q, fast);
            }
        }
    }
}

TQ_W_BODY void body(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output, int32_t form,
                    int32_t enc, int32_t pos_bits) {
    int32_t cursor[DWS_MAX_TAPS] = {0};
    taps t;
    geometry g;
    g.row_elems = p->input_width * p->input_depth;
    g.x_row = p->stride_height * g.row_elems;
    g.x_col = p->stride_width * p->input_depth;
    g.out_row = p->output_width * p->output_depth;
    const int32_t mult = p->depth_multiplier;
    int32_t in_c = 0, m = 0;
    for (int32_t out_c = 0; out_c < p->output_depth; ++out_c) {
        gather(p, form, enc, pos_bits, out_c, cursor, &t);
        channel(p, &g, &t, input, output, out_c, in_c);
        if (++m == mult) {
            m = 0;
            ++in_c;
        }
    }
}

tq_status tq_depthwise_conv_s8_ws_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output) {
    check(p, input, output);
    TQ_ASSERT(p->acc64 == 0); /* an int32 bias */
    tq_w_expect(p->packed, -1, 0, 1);
    const int32_t ntaps = p->filter_height * p->filter_width;
    if (ntaps > DWS_MAX_TAPS || p->dilation_height * (p->filter_height - 1) > INT16_MAX ||
        p->dilation_width * (p->filter_width - 1) > INT16_MAX) {
        return tq_depthwise_conv_s8_ws(p, input, output); /* beyond the stack lists */
    }
    const int int8 = p->packed->bits == 8 && (p->packed->value_encoding == TQ_W_INT8 ||
                                              p->packed->value_encoding == TQ_W_INTK);
    const int32_t form = p->packed->sparse_form;
    if (form == TQ_S_BITMAP) { /* one gather per form; int8 values read without the decoder's switch */
        int8 ? body(p, input, output, TQ_S_BITMAP, TQ_W_INT8, 0) : body(p, input, output, TQ_S_BITMAP, -1, 0);
    } else if (form == TQ_S_NM) { /* 2:4 and 1:4 with their 2-bit positions */
        if (p->packed->group_m == 4) {
            int8 ? body(p, input, output, TQ_S_NM, TQ_W_INT8, 2) : body(p, input, output, TQ_S_NM, -1, 2);
        } else {
            int8 ? body(p, input, output, TQ_S_NM, TQ_W_INT8, 0) : body(p, input, output, TQ_S_NM, -1, 0);
        }
    } else if (form == TQ_S_BLOCK) {
        int8 ? body(p, input, output, TQ_S_BLOCK, TQ_W_INT8, 0) : body(p, input, output, TQ_S_BLOCK, -1, 0);
    } else {
        TQ_ASSERT(!"unknown sparse form");
        return TQ_ERR_ARG;
    }
    return TQ_OK;
}
#else
typedef int tq_depthwise_conv_packed_sparse_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
