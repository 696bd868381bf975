/* CONV_2D 16x8 on the Arm DSP extension in blocks of 2 output pixels x 3 output channels (tinyq/specialize/
 * s16_dsp.py takes it for pointwise convs and for filters of short runs, e.g. a 1-channel first layer).
 *
 * The pair's two patches are interleaved into scratch by tap pairs, {a (2j, 2j + 1), b (2j, 2j + 1)}: a
 * pointwise conv's two input rows word by word, any other conv's patches gathered tap by tap (padding taps 0:
 * 16x8 zero points are 0), both zero-padded to taps_padded (a multiple of 4). The weights were widened to int16
 * and interleaved by channel triples at compile time, per tap pair three words {c (2j, 2j + 1), c + 1, c + 2}.
 * Per tap pair: one LDRD of the two pixels' words, one LDM of the triple's three weight words, 6 SMLAD
 * (8 instructions, 13 M4 cycles for 12 multiply-accumulates). An output depth not a multiple of 3 is padded
 * with zero channels, an odd last pixel repeated: their outputs are not stored.
 * A triple's biases and requantization rows are one record, read by one pointer.
 *
 * Exactness: int32 sums started at the bias, exact by the preparer's bound (|bias| + Σ|w| · 32768 < 2^31),
 * requantized with tq_s16_finish's rows; bit-exact with tq_conv_s16 (firmware/include/tinyq/tq_s16_dsp.h). */
#include "tinyq/tq_s16_dsp.h"
#include "tq_s16_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* one tap pair of the block: two pixels' words, three channels' weight words, 6 SMLAD */
#define TQ_S16W_STEP                                                                                                \
    "ldrd   %[xa], %[xb], [%[xp]], #8\n\t"                                                                          \
    "ldm    %[wp]!, {%[w0], %[w1], %[w2]}\n\t"                                                                      \
    "smlad  %[a0], %[xa], %[w0], %[a0]\n\t"                                                                         \
    "smlad  %[b0], %[xb], %[w0], %[b0]\n\t"                                                                         \
    "smlad  %[a1], %[xa], %[w1], %[a1]\n\t"                                                                         \
    "smlad  %[b1], %[xb], %[w1], %[b1]\n\t"                                                                         \
    "smlad  %[a2], %[xa], %[w2], %[a2]\n\t"                                                                         \
    "smlad  %[b2], %[xb], %[w2], %[b2]\n\t"

#define TQ_S16W_OUT                                                                                                 \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [xp] "+r"(x),        \
      [wp] "+r"(wp), [xa] "=&r"(xa), [xb] "=&r"(xb), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2)                 \
    : [x_end] "r"(x_end)                                                                                            \
    : "cc", "memory"

/* s[0..3) (pixel a) and s[3..6) (pixel b) += the triple's sums over the interleaved patch x .. x_end (a multiple
 * of 4 taps, at least 4): four steps (8 taps) a loop pass, two first when the taps are 4 more than a multiple of
 * 8 (eights: a multiple of 8); returns the next triple's weights */
static inline __attribute__((always_inline)) const uint32_t *triple(const uint32_t *x, const uint32_t *x_end,
                                                                    const uint32_t *wp, int32_t s[6],
                                                                    int32_t eights) {
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], b0 = s[3], b1 = s[4], b2 = s[5];
    uint32_t xa, xb;
    register uint32_t w0 __asm__("r8"); /* LDM loads ascending registers */
    register uint32_t w1 __asm__("r9");
    register uint32_t w2 __asm__("r10");
    if (eights) {
        __asm__ volatile("1:\n\t" TQ_S16W_STEP TQ_S16W_STEP TQ_S16W_STEP TQ_S16W_STEP
                         "cmp    %[xp], %[x_end]\n\t"
                         "bne    1b" TQ_S16W_OUT);
    } else {
        __asm__ volatile(TQ_S16W_STEP TQ_S16W_STEP
                         "cmp    %[xp], %[x_end]\n\t"
                         "beq    2f\n"
                         "1:\n\t" TQ_S16W_STEP TQ_S16W_STEP TQ_S16W_STEP TQ_S16W_STEP
                         "cmp    %[xp], %[x_end]\n\t"
                         "bne    1b\n"
                         "2:" TQ_S16W_OUT);
    }
    s[0] = a0, s[1] = a1, s[2] = a2, s[3] = b0, s[4] = b1, s[5] = b2;
    return wp;
}

/* tap k of a pixel's slot in the interleaved patch (slot 0: pixel a, 1: pixel b) */
static inline int32_t tap_index(int32_t k, int32_t slot) { return 4 * (k >> 1) + 2 * slot + (k & 1); }

/* the interleaved taps n .. taps_padded of a slot: zeros */
static inline void pad_slot(int16_t *x, int32_t slot, int32_t n, int32_t kp) {
    for (int32_t k = n; k < kp; ++k) x[tap_index(k, slot)] = 0;
}

/* a pointwise conv's input row (depth taps) into its slot: word by word, an odd last tap alone */
static void row_slot(int16_t *x, int32_t slot, const int16_t *row, int32_t depth, int32_t kp) {
    int16_t *to = x + 2 * slot;
    int32_t k = 0;
    for (; k + 1 < depth; k += 2, to += 4) memcpy(to, row + k, 4);
    pad_slot(x, slot, k, kp);
    if (k < depth) x[tap_index(k, slot)] = row[k];
}

/* n taps from `from` (NULL: zeros) into a slot, to at tap k's place (k's parity: odd); returns tap k + n's place.
 * Tap pairs whose first tap is even are one word store. */
static inline int16_t *put(int16_t *to, int32_t odd, const int16_t *from, int32_t n) {
    if (n <= 0) return to;
    if (odd) {
        *to = from ? from[0] : 0;
        to += 3, from = from ? from + 1 : NULL, --n;
    }
    if (from) {
        for (; n > 1; n -= 2, to += 4, from += 2) memcpy(to, from, 4);
    } else {
        for (; n > 1; n -= 2, to += 4) memset(to, 0, 4);
    }
    if (n > 0) *to++ = from ? from[0] : 0;
    return to;
}

/* output pixel `pixel`'s patch (row-major over its image) into its slot, in the filter's (ky, kx, c) order */
static void patch_slot(const tq_conv_s16_wide_dsp_params *p, const int16_t *image, int32_t pixel, int16_t *x,
                       int32_t slot) {
    const int32_t out_y = pixel / p->output_width, out_x = pixel - out_y * p->output_width;
    const int32_t in_y0 = out_y * p->stride_height - p->pad_height, in_x0 = out_x * p->stride_width - p->pad_width;
    const int32_t depth = p->input_depth, kw = p->filter_width, dw = p->dilation_width, row_taps = kw * depth;
    int32_t kx0 = in_x0 < 0 ? (-in_x0 + dw - 1) / dw : 0; /* the filter columns inside the image */
    int32_t kx1 = p->input_width - in_x0 <= 0 ? 0 : (p->input_width - in_x0 + dw - 1) / dw;
    kx1 = kx1 < kw ? kx1 : kw;
    kx0 = kx0 < kx1 ? kx0 : kx1;
    int16_t *to = x + 2 * slot;
    int32_t k = 0;
    for (int32_t ky = 0; ky < p->filter_height; ++ky, k += row_taps) {
        const int32_t in_y = in_y0 + p->dilation_height * ky;
        if (in_y < 0 || in_y >= p->input_height) {
            to = put(to, k & 1, NULL, row_taps);
            continue;
        }
        const int16_t *row = image + in_y * p->input_width * depth;
        to = put(to, k & 1, NULL, kx0 * depth);
        if (dw == 1) {
            to = put(to, (k + kx0 * depth) & 1, row + (in_x0 + kx0) * depth, (kx1 - kx0) * depth);
        } else {
            for (int32_t kx = kx0; kx < kx1; ++kx)
                to = put(to, (k + kx * depth) & 1, row + (in_x0 + dw * kx) * depth, depth);
        }
        to = put(to, (k + kx1 * depth) & 1, NULL, (kw - kx1) * depth);
    }
    pad_slot(x, slot, k, p->taps_padded);
}

/* the requantized outputs of one channel for pixels a and b (b's only when has_b), its row read once */
static inline __attribute__((always_inline)) void put2(int16_t *out_a, int16_t *out_b, int32_t sa, int32_t sb,
                                                       const int32_t *row, int32_t has_b, const int32_t r64,
                                                       const int32_t clamp, int32_t lo, int32_t hi) {
    const int32_t ra = row[0], rb = row[1], rc = row[2];
    const int32_t ya = r64 ? tq_s16_smmla(sa, ra, rb) >> rc : tq_requant_fast(sa, ra, rb, rc);
    *out_a = tq_s16_clamp(ya, clamp, lo, hi);
    if (has_b) {
        const int32_t yb = r64 ? tq_s16_smmla(sb, ra, rb) >> rc : tq_requant_fast(sb, ra, rb, rc);
        *out_b = tq_s16_clamp(yb, clamp, lo, hi);
    }
}

/* the outputs of one pixel pair (x interleaved); pixel b's (at out_a + output_depth) stored only when has_b (a
 * constant of each copy). A triple's record: its 3 biases, then its 3 tq_s16_requant_rows. */
static inline __attribute__((always_inline)) void pair_out(const tq_conv_s16_wide_dsp_params *p, const uint32_t *x,
                                                           int16_t *out_a, const int32_t has_b, const int32_t r64,
                                                           const int32_t clamp) {
    const uint32_t *const x_end = x + p->taps_padded; /* two words a tap pair */
    const uint32_t *w = (const uint32_t *)p->weights16;
    const int32_t n_out = p->output_depth, lo = p->act_min, hi = p->act_max;
    const int32_t eights = (p->taps_padded & 4) == 0;
    const int32_t *rec = p->records, *const whole_end = rec + 12 * (n_out / 3);
    for (; rec != whole_end; rec += 12, out_a += 3) { /* whole triples, unrolled: the sums stay in registers */
        int32_t s[6] = {rec[0], rec[1], rec[2], rec[0], rec[1], rec[2]};
        w = triple(x, x_end, w, s, eights);
        int16_t *const out_b = out_a + n_out;
        put2(out_a, out_b, s[0], s[3], rec + 3, has_b, r64, clamp, lo, hi);
        put2(out_a + 1, out_b + 1, s[1], s[4], rec + 6, has_b, r64, clamp, lo, hi);
        put2(out_a + 2, out_b + 2, s[2], s[5], rec + 9, has_b, r64, clamp, lo, hi);
    }
    if (n_out % 3) { /* 1 or 2 channels and the triple's zero channels, not stored */
        int32_t s[6] = {rec[0], rec[1], rec[2], rec[0], rec[1], rec[2]};
        triple(x, x_end, w, s, eights);
        put2(out_a, out_a + n_out, s[0], s[3], rec + 3, has_b, r64, clamp, lo, hi);
        if (n_out % 3 == 2) put2(out_a + 1, out_a + n_out + 1, s[1], s[4], rec + 6, has_b, r64, clamp, lo, hi);
    }
}

/* the odd last pixel of an image (repeated as pixel b, whose outputs are not stored): one copy, not specialized */
static __attribute__((noinline)) void last_out(const tq_conv_s16_wide_dsp_params *p, const uint32_t *x,
                                               int16_t *out) {
    const int32_t kind = tq_s16_clamp_kind(p->act_min, p->act_max);
    pair_out(p, x, out, 0, p->requant64, kind);
}

/* the kernel for one requantization path and clamp kind (constants: TQ_S16_SPECIALIZED makes each copy) */
static inline __attribute__((always_inline)) void conv(const tq_conv_s16_wide_dsp_params *p, const int16_t *input,
                                                       int16_t *output, int16_t *x, const int32_t r64,
                                                       const int32_t clamp) {
    const int32_t n_out = p->output_depth, depth = p->input_depth, kp = p->taps_padded;
    const int32_t pixels = p->output_height * p->output_width;
    if (p->pointwise) { /* every pixel of every batch an input row */
        const int32_t rows = p->batches * pixels;
        for (int32_t px = 0; px < rows; px += 2, output += 2 * n_out) {
            const int16_t *row = input + px * depth;
            const int32_t has_b = px + 1 < rows;
            row_slot(x, 0, row, depth, kp);
            row_slot(x, 1, has_b ? row + depth : row, depth, kp);
            if (has_b) pair_out(p, (const uint32_t *)x, output, 1, r64, clamp);
            else last_out(p, (const uint32_t *)x, output);
        }
        return;
    }
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * depth;
        for (int32_t px = 0; px < pixels; px += 2) {
            const int32_t has_b = px + 1 < pixels;
            patch_slot(p, image, px, x, 0);
            patch_slot(p, image, has_b ? px + 1 : px, x, 1);
            if (has_b) pair_out(p, (const uint32_t *)x, output, 1, r64, clamp);
            else last_out(p, (const uint32_t *)x, output);
            output += (1 + has_b) * n_out;
        }
    }
}

tq_status tq_conv_s16_wide_dsp(const tq_conv_s16_wide_dsp_params *p, const int16_t *input, int16_t *output,
                               void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->weights16 != NULL &&
              p->records != NULL && p->taps_padded >= 4 && p->taps_padded % 4 == 0);
#define WIDE(r64, clamp) conv(p, input, output, (int16_t *)scratch, r64, clamp)
    TQ_S16_SPECIALIZED(p, WIDE);
#undef WIDE
    return TQ_OK;
}
#else
typedef int tq_conv_s16_wide_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
