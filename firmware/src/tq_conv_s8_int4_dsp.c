/* CONV_2D with int4 weights as a GEMM on the Arm DSP extension, weights kept 4-bit in flash (tinyq/tq_conv_gemm.h
 * "int4 weights", tinyq/specialize/int4_dsp.py). The block is tq_conv_s8_gemm_dsp.c's, 2 pixels x 2 channels,
 * and its inner loop is as long: 17 instructions for 16 multiply-accumulates, because one weight word holds a
 * group of 4 taps of BOTH channels of the pair (channel c in the high nibbles, c + 1 in the low ones) and four
 * one-instruction extractions give the four lane sets SMLAD wants:
 *   L_even = SXTB16(w), L_odd = SXTB16(w, ROR #8)        lanes 16 * w_c + u   (u = w_{c+1} + 8, the low nibble)
 *   U_even = w AND 0x000F000F, U_odd = 0x000F000F AND (w LSR #8)   lanes u
 * (a byte (h << 4) | u read as int8 is exactly 16 h + u for a signed h and an unsigned u). With the patch widened
 * to int16 pairs (not doubled) and S = the sum of the padded patch's inputs, the two accumulators of a pixel are
 *   A_hi = 16 f_c + f_{c+1} + sum(x * L) = 16 acc_c + A_lo,   A_lo = f_{c+1} + sum(x * U) = acc_{c+1} + 8 S
 * (f: the folded biases, acc: TFLM's accumulators, all modulo 2^32), so
 *   2 acc_c = (A_hi - A_lo) >> 3   exact when |acc_c| < 2^27 (then 16 acc_c is that int32), proved per channel;
 *   2 acc_{c+1} = 2 A_lo - 16 S     exact when |acc_{c+1}| < 2^30, as for int8;
 * and 2 acc is what tq_requant_fast's first step computes. Padded taps read the input zero point (x + input_offset
 * = 0, as TFLM skips them) and count in S as they count in sum(x * U); the taps that pad a row to a multiple of 4
 * have x = 0. The widening costs what int8's does: the doubling's two SADD16 a word become S's two SMLAD. */
#include "tq_conv_gemm_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_INT4_ONES 0x00010001
#define TQ_INT4_LOW_NIBBLES 0x000F000F

/* taps 0, 2 and 1, 3 of v into a pixel's slot; returns s + their sum */
static inline int32_t widen_word_sum(uint32_t *slot, uint32_t v, int32_t s) {
    const uint32_t e = even_lanes(v), o = odd_lanes(v);
    slot[0] = e;
    slot[1] = o;
    s = __smlad((int16x2_t)e, (int16x2_t)TQ_INT4_ONES, s);
    return __smlad((int16x2_t)o, (int16x2_t)TQ_INT4_ONES, s);
}

/* one pixel's patch, `words` groups of 4 int8 taps, into its slot of the interleaved int16 buffer; returns 16 S */
static int32_t widen_sum(uint32_t *slot, const int8_t *src, int32_t words) {
    int32_t s = 0;
    for (int32_t g = 0; g < words; ++g, slot += 4) s = widen_word_sum(slot, load4(src + 4 * g), s);
    return (int32_t)((uint32_t)s << 4);
}

/* the same for a patch of n taps not a multiple of 4: the last group zero-filled */
static int32_t widen_tail_sum(uint32_t *slot, const int8_t *src, int32_t n) {
    int32_t s16 = widen_sum(slot, src, n >> 2);
    if (n & 3) {
        uint32_t v = 0;
        for (int32_t k = n & ~3; k < n; ++k) v |= (uint32_t)(uint8_t)src[k] << (8 * (k & 3));
        s16 += (int32_t)((uint32_t)widen_word_sum(slot + 4 * (n >> 2), v, 0) << 4);
    }
    return s16;
}

/* acc += x * lanes over the groups of one channel pair, both pixels: per group one LDR of the pair's weight word,
 * 2 LDRD of the pixels' widened words, 2 SXTB16 and 2 AND, 8 SMLAD, CMP/BNE: 17 instructions for 16 MACs, in the
 * 14 registers int8's loop uses (the mask takes the place of its second weight word). */
static inline __attribute__((always_inline)) const uint32_t *
gemm_pair4(const uint32_t *xp, const uint32_t *wp, const uint32_t *x_end, int32_t acc[4]) {
    int32_t ah = acc[0], bh = acc[1], al = acc[2], bl = acc[3];
    uint32_t xae, xao, xbe, xbo, w, t;
    const uint32_t mask = TQ_INT4_LOW_NIBBLES;
    __asm__ volatile("1:\n\t"
                     "ldr    %[w], [%[wp]], #4\n\t"
                     "ldrd   %[xae], %[xao], [%[xp]], #8\n\t"
                     "ldrd   %[xbe], %[xbo], [%[xp]], #8\n\t"
                     "sxtb16 %[t], %[w]\n\t"
                     "smlad  %[ah], %[xae], %[t], %[ah]\n\t"
                     "smlad  %[bh], %[xbe], %[t], %[bh]\n\t"
                     "and    %[t], %[w], #0x000F000F\n\t"
                     "smlad  %[al], %[xae], %[t], %[al]\n\t"
                     "smlad  %[bl], %[xbe], %[t], %[bl]\n\t"
                     "sxtb16 %[t], %[w], ror #8\n\t"
                     "smlad  %[ah], %[xao], %[t], %[ah]\n\t"
                     "smlad  %[bh], %[xbo], %[t], %[bh]\n\t"
                     "and    %[w], %[mask], %[w], lsr #8\n\t"
                     "smlad  %[al], %[xao], %[w], %[al]\n\t"
                     "smlad  %[bl], %[xbo], %[w], %[bl]\n\t"
                     "cmp    %[xp], %[x_end]\n\t"
                     "bne    1b"
                     : [ah] "+r"(ah), [bh] "+r"(bh), [al] "+r"(al), [bl] "+r"(bl), [xp] "+r"(xp), [wp] "+r"(wp),
                       [xae] "=&r"(xae), [xao] "=&r"(xao), [xbe] "=&r"(xbe), [xbo] "=&r"(xbo), [w] "=&r"(w),
                       [t] "=&r"(t)
                     : [x_end] "r"(x_end), [mask] "r"(mask)
                     : "cc", "memory");
    acc[0] = ah, acc[1] = bh, acc[2] = al, acc[3] = bl;
    return wp;
}

/* 2 acc_c from A_hi, A_lo and 2 acc_{c+1} from A_lo, 16 S (see the top) */
static inline int32_t high_acc2(int32_t hi, int32_t lo) { return (int32_t)((uint32_t)hi - (uint32_t)lo) >> 3; }
static inline int32_t low_acc2(int32_t lo, int32_t s16) { return (int32_t)(((uint32_t)lo << 1) - (uint32_t)s16); }

/* Two pixels' patches (x, interleaved; sa16, sb16: 16 S of each) times every output channel. */
static inline __attribute__((always_inline)) void gemm4_2px(const tq_conv_gemm_params *p, const uint32_t *x,
                                                            int32_t sa16, int32_t sb16, int8_t *oa, int8_t *ob,
                                                            int full) {
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const uint32_t *w = (const uint32_t *)p->weights;
    const uint32_t *const x_end = x + p->patch_padded;
    const int32_t *row = p->rows;
    const int32_t *const pairs_end = row + 8 * (p->output_depth >> 1);
    for (; row != pairs_end; row += 8, oa += 2, ob += 2) {
        int32_t acc[4] = {row[0], row[0], row[1], row[1]};
        w = gemm_pair4(x, w, x_end, acc); /* patch_padded >= 4: the loop runs at least once */
        const int8_t ya0 = clamp(requant(high_acc2(acc[0], acc[2]), row[2], row[3], row[4], out_off), full, lo, hi);
        const int8_t yb0 = clamp(requant(high_acc2(acc[1], acc[3]), row[2], row[3], row[4], out_off), full, lo, hi);
        const int8_t ya1 = clamp(requant(low_acc2(acc[2], sa16), row[5], row[6], row[7], out_off), full, lo, hi);
        const int8_t yb1 = clamp(requant(low_acc2(acc[3], sb16), row[5], row[6], row[7], out_off), full, lo, hi);
        oa[0] = ya0, oa[1] = ya1, ob[0] = yb0, ob[1] = yb1; /* after every read of row (int8 stores may alias) */
    }
    if (p->output_depth & 1) { /* an odd last channel, paired with a zero channel: its outputs only */
        int32_t acc[4] = {row[0], row[0], row[1], row[1]};
        gemm_pair4(x, w, x_end, acc);
        const int8_t ya0 = clamp(requant(high_acc2(acc[0], acc[2]), row[2], row[3], row[4], out_off), full, lo, hi);
        const int8_t yb0 = clamp(requant(high_acc2(acc[1], acc[3]), row[2], row[3], row[4], out_off), full, lo, hi);
        oa[0] = ya0, ob[0] = yb0;
    }
}

static void gemm4_full(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa16, int32_t sb16, int8_t *oa,
                       int8_t *ob) {
    gemm4_2px(p, x, sa16, sb16, oa, ob, 1);
}

static void gemm4_clamped(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa16, int32_t sb16, int8_t *oa,
                          int8_t *ob) {
    gemm4_2px(p, x, sa16, sb16, oa, ob, 0);
}

typedef void (*gemm4_fn)(const tq_conv_gemm_params *p, const uint32_t *x, int32_t sa16, int32_t sb16, int8_t *oa,
                         int8_t *ob);

static inline gemm4_fn pick_gemm4(const tq_conv_gemm_params *p) {
    return p->act_min == INT8_MIN && p->act_max == INT8_MAX ? gemm4_full : gemm4_clamped;
}

tq_status tq_conv1x1_s8_int4_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                 void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    TQ_ASSERT(p->filter_height == 1 && p->filter_width == 1 && p->pad_height == 0 && p->pad_width == 0);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const dummy = dummy_outputs(p, scratch, 0);
    const int32_t depth = p->input_depth, pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * depth;
    const gemm4_fn gemm = pick_gemm4(p);
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        const int8_t *a = input + batch * image + (y * p->stride_height * p->input_width + xo * p->stride_width) * depth;
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        const int8_t *b = two ? input + batch * image +
                                    (y * p->stride_height * p->input_width + xo * p->stride_width) * depth : a;
        next_pixel(p, &batch, &y, &xo);
        const int32_t sa16 = widen_tail_sum(x, a, depth);
        const int32_t sb16 = widen_tail_sum(x + 2, b, depth);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, sa16, sb16, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_int4_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const patch = (int8_t *)scratch + 4 * p->patch_padded;
    int8_t *const dummy = dummy_outputs(p, scratch, 1);
    const int32_t words = p->patch_padded >> 2, pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * p->input_depth;
    const gemm4_fn gemm = pick_gemm4(p);
    fill(patch + p->patch, 0, p->patch_padded - p->patch); /* the row's zero taps: x = 0, nothing in S either */
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 2) {
        tq_gemm_gather(p, input + batch * image, y * p->stride_height - p->pad_height,
                       xo * p->stride_width - p->pad_width, patch);
        const int32_t sa16 = widen_sum(x, patch, words);
        next_pixel(p, &batch, &y, &xo);
        const int two = q + 1 < pixels;
        if (two) {
            tq_gemm_gather(p, input + batch * image, y * p->stride_height - p->pad_height,
                           xo * p->stride_width - p->pad_width, patch);
        }
        const int32_t sb16 = widen_sum(x + 2, patch, words); /* pixel a again when there is no b (dummy row) */
        next_pixel(p, &batch, &y, &xo);
        int8_t *oa = output + q * p->output_depth;
        gemm(p, x, sa16, sb16, oa, two ? oa + p->output_depth : dummy);
    }
    return TQ_OK;
}
#else
typedef int tq_conv_s8_int4_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
