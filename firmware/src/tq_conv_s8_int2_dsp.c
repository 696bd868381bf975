/* CONV_2D with 2-bit weights (int2, ternary, binary) as a GEMM on the Arm DSP extension, weights kept 2-bit in flash
 * (tinyq/tq_lowbit_dsp.h, tinyq/specialize/lowbit_dsp.py). The walk is tq_conv_s8_int4_dsp.c's (pixel pairs, each
 * patch widened once to int16 lanes), but a pass computes 2 pixels x 4 channels: one weight word holds 4 taps of
 * the 4 channels, and an AND with an immediate mask gives one channel's codes of taps (0, 2), scaled:
 *   w AND (0x00030003 << 2i) = lanes 4^i u_i   (u = t + 2, unsigned), then w LSR #8 and the same 4 masks: taps (1, 3)
 * so the inner loop is 31 instructions for 32 multiply-accumulates (int8's: 17 for 16) in 14 registers, its end
 * read from the stack. Accumulator i holds 4^i U_i, U_i = sum(x * u_i), exactly: the preparer proved |4^i U_i| <
 * 2^31. With S the sum of the (padded) patch's inputs, acc = f + m (U - 2 S) modulo 2^32, which is TFLM's
 * accumulator (it fits int32) and tq_requant_fast starts from 2 acc. Padded taps read the input zero point (x +
 * input_offset = 0) and count in S as in U; the taps padding a row to a multiple of 4 have x = 0.
 * Widened layout, per 4 taps: {pixel a taps 0, 2; pixel b taps 0, 2; a taps 1, 3; b taps 1, 3}: two LDRDs. */
#include "tq_conv_gemm_dsp.h"
#include "tinyq/tq_lowbit_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_INT2_ONES 0x00010001

/* taps 0, 2 and 1, 3 of v into a pixel's slot (words 0 and 2); returns s + their sum */
static inline int32_t widen_word_sum(uint32_t *slot, uint32_t v, int32_t s) {
    const uint32_t e = even_lanes(v), o = odd_lanes(v);
    slot[0] = e;
    slot[2] = o;
    s = __smlad((int16x2_t)e, (int16x2_t)TQ_INT2_ONES, s);
    return __smlad((int16x2_t)o, (int16x2_t)TQ_INT2_ONES, s);
}

/* one pixel's patch, `words` groups of 4 int8 taps, into its slots of the widened buffer; returns 2 S */
static int32_t widen_sum(uint32_t *slot, const int8_t *src, int32_t words) {
    int32_t s = 0;
    for (int32_t g = 0; g < words; ++g, slot += 4) s = widen_word_sum(slot, load4(src + 4 * g), s);
    return (int32_t)((uint32_t)s << 1);
}

/* the same for a patch of n taps not a multiple of 4: the last group zero-filled */
static int32_t widen_tail_sum(uint32_t *slot, const int8_t *src, int32_t n) {
    int32_t s2 = widen_sum(slot, src, n >> 2);
    if (n & 3) {
        uint32_t v = 0;
        for (int32_t k = n & ~3; k < n; ++k) v |= (uint32_t)(uint8_t)src[k] << (8 * (k & 3));
        s2 += (int32_t)((uint32_t)widen_word_sum(slot + 4 * (n >> 2), v, 0) << 1);
    }
    return s2;
}

#define TQ_INT2_LANE(mask, a, b)                                                                                    \
    "and    %[t], %[w], #" mask "\n\t"                                                                             \
    "smlad  %[" a "], %[xa], %[t], %[" a "]\n\t"                                                                    \
    "smlad  %[" b "], %[xb], %[t], %[" b "]\n\t"
#define TQ_INT2_LANES                                                                                               \
    TQ_INT2_LANE("0x00030003", "a0", "b0") TQ_INT2_LANE("0x000C000C", "a1", "b1")                                  \
    TQ_INT2_LANE("0x00300030", "a2", "b2") TQ_INT2_LANE("0x00C000C0", "a3", "b3")

/* acc[i] = 4^i U_i of pixel a, acc[4 + i] of pixel b, over one group's words (patch_padded >= 4: at least one) */
static inline __attribute__((always_inline)) const uint32_t *
gemm_group(const uint32_t *xp, const uint32_t *wp, const uint32_t *x_end, int32_t acc[8]) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    uint32_t xa, xb, w, t;
    __asm__ volatile("1:\n\t"
                     "ldr    %[w], [%[wp]], #4\n\t"
                     "ldrd   %[xa], %[xb], [%[xp]], #8\n\t" TQ_INT2_LANES
                     "lsr    %[w], %[w], #8\n\t"
                     "ldrd   %[xa], %[xb], [%[xp]], #8\n\t" TQ_INT2_LANES
                     "ldr    %[t], %[end]\n\t"
                     "cmp    %[xp], %[t]\n\t"
                     "bne    1b"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1),
                       [b2] "+r"(b2), [b3] "+r"(b3), [xp] "+r"(xp), [wp] "+r"(wp), [xa] "=&r"(xa), [xb] "=&r"(xb),
                       [w] "=&r"(w), [t] "=&r"(t)
                     : [end] "m"(x_end)
                     : "cc", "memory");
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = b0, acc[5] = b1, acc[6] = b2, acc[7] = b3;
    return wp;
}

/* channel i of a group: acc = f + m (U - 2 S), requantized from 2 acc, offset, clamped */
static inline __attribute__((always_inline)) int8_t finish(int32_t scaled, int32_t i, const int32_t *row, int32_t s2,
                                                           int32_t out_off, int full, int32_t lo, int32_t hi) {
    const uint32_t u = (uint32_t)((scaled >> (2 * i)) - s2);
    const int32_t acc = (int32_t)((uint32_t)row[i] + (uint32_t)row[4 + i] * u);
    const int32_t *rq = row + 8 + 4 * i;
    return clamp(tq_requant_lowbit((int32_t)((uint32_t)acc << 1), rq) + out_off, full, lo, hi);
}

/* the n (1-3) outputs of a last partial group; a plain loop (GCC would call memcpy, slower here) */
static __attribute__((noinline, optimize("no-tree-loop-distribute-patterns"))) void store_tail(int8_t *dst,
                                                                                              const int8_t *y,
                                                                                              int32_t n) {
    for (int32_t i = 0; i < n; ++i) dst[i] = y[i];
}

/* Two pixels' patches (x, widened; sa2, sb2: 2 S of each) times every output channel. */
static inline __attribute__((always_inline)) void gemm2_2px(const tq_conv_gemm_params *p, const uint32_t *x,
                                                            int32_t sa2, int32_t sb2, int8_t *oa, int8_t *ob,
                                                            int full) {
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max, c = p->output_depth;
    const uint32_t *w = (const uint32_t *)p->weights;
    const uint32_t *const x_end = x + p->patch_padded;
    const int32_t *row = p->rows;
    for (int32_t o = 0; o < c; o += 4, row += 24) {
        int32_t acc[8];
        w = gemm_group(x, w, x_end, acc);
        int8_t ya[4], yb[4];
        for (int32_t i = 0; i < 4; ++i) {
            ya[i] = finish(acc[i], i, row, sa2, out_off, full, lo, hi);
            yb[i] = finish(acc[4 + i], i, row, sb2, out_off, full, lo, hi);
        }
        if (c - o >= 4) { /* one STR each (unaligned allowed) */
            memcpy(oa + o, ya, 4);
            memcpy(ob + o, yb, 4);
        } else { /* the last group may hold 1-3 channels */
            store_tail(oa + o, ya, c - o);
            store_tail(ob + o, yb, c - o);
        }
    }
}

static void gemm2_full(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa2, int32_t sb2, int8_t *oa,
                       int8_t *ob) {
    gemm2_2px(p, x, sa2, sb2, oa, ob, 1);
}

static void gemm2_clamped(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa2, int32_t sb2, int8_t *oa,
                          int8_t *ob) {
    gemm2_2px(p, x, sa2, sb2, oa, ob, 0);
}

typedef void (*gemm2_fn)(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa2, int32_t sb2, int8_t *oa,
                         int8_t *ob);

static inline gemm2_fn pick_gemm2(const tq_conv_gemm_params *p) {
    return p->act_min == INT8_MIN && p->act_max == INT8_MAX ? gemm2_full : gemm2_clamped;
}

tq_status tq_conv1x1_s8_int2_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                 void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    TQ_ASSERT(p->filter_height == 1 && p->filter_width == 1 && p->pad_height == 0 && p->pad_width == 0);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const dummy = dummy_outputs(p, scratch, 0);
    const int32_t depth = p->input_depth, pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * depth;
    const gemm2_fn gemm = pick_gemm2(p);
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        const int8_t *a = input + batch * image + (y * p->stride_height * p->input_width + xo * p->stride_width) * depth;
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        const int8_t *b = two ? input + batch * image +
                                    (y * p->stride_height * p->input_width + xo * p->stride_width) * depth : a;
        next_pixel(p, &batch, &y, &xo);
        const int32_t sa2 = widen_tail_sum(x, a, depth);
        const int32_t sb2 = widen_tail_sum(x + 1, b, depth);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, sa2, sb2, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_int2_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const patch = (int8_t *)scratch + 4 * p->patch_padded;
    int8_t *const dummy = dummy_outputs(p, scratch, 1);
    const int32_t words = p->patch_padded >> 2, pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * p->input_depth;
    const gemm2_fn gemm = pick_gemm2(p);
    fill(patch + p->patch, 0, p->patch_padded - p->patch); /* the row's zero taps: x = 0, nothing in S either */
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        tq_gemm_gather(p, input + batch * image, y * p->stride_height - p->pad_height,
                       xo * p->stride_width - p->pad_width, patch);
        const int32_t sa2 = widen_sum(x, patch, words);
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        if (two) {
            tq_gemm_gather(p, input + batch * image, y * p->stride_height - p->pad_height,
                           xo * p->stride_width - p->pad_width, patch);
        }
        const int32_t sb2 = widen_sum(x + 1, patch, words); /* pixel a again when there is no b (dummy row) */
        next_pixel(p, &batch, &y, &xo);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, sa2, sb2, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}
#else
typedef int tq_conv_s8_int2_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
