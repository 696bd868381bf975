/* What the prepared depthwise DSP kernels share (tq_depthwise_conv_s8_fast_dsp.c, int8 weights,
 * tq_depthwise_conv_s8_int4_dsp.c, int4, and tq_depthwise_conv_s8_int2_dsp.c, 2-bit, which requantizes with its
 * own finish2; tinyq/tq_depthwise_conv_fast.h): the 4-channel tap statements,
 * the requantization of a block, the tap list and the pixel walk. The including file defines, before including,
 * BLOCK_WORDS(k) (the int32 words of one 4-channel record for k taps), and after it the three pixel routines
 * declared below; run() calls them with constant `full` / `is3x3`, so each kernel is specialized at compile time. */
#ifndef TQ_DEPTHWISE_FAST_DSP_H
#define TQ_DEPTHWISE_FAST_DSP_H

#include <string.h>

#include "tinyq/tq_config.h"
#include "tinyq/tq_depthwise_conv_fast.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_INLINE static inline __attribute__((always_inline))

typedef tq_depthwise_conv_fast_params params;

/* one tap of four channels: x holds the channels' input bytes, w02/w13 their int16 filter lanes (SMLABB takes the
 * bottom halves, SMLATT the top ones: the other halves may hold anything). One asm statement so that GCC keeps the
 * tap's six instructions together: left to itself it groups the products by accumulator, keeps every widened input
 * live and spills (checked with objdump). */
#define MAC4(X, W02, W13)                                                                                      \
    do {                                                                                                       \
        int32_t e_, o_;                                                                                        \
        __asm__("sxtb16 %[e], %[x]\n\t"                                                                       \
                "sxtb16 %[o], %[x], ror #8\n\t"                                                               \
                "smlabb %[a0], %[e], %[w02], %[a0]\n\t"                                                       \
                "smlatt %[a2], %[e], %[w02], %[a2]\n\t"                                                       \
                "smlabb %[a1], %[o], %[w13], %[a1]\n\t"                                                       \
                "smlatt %[a3], %[o], %[w13], %[a3]"                                                           \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [e] "=&r"(e_), [o] "=&r"(o_)      \
                : [x] "r"(X), [w02] "r"(W02), [w13] "r"(W13));                                                 \
    } while (0)

/* MAC4 on the word at ptr + off, the load inside the statement: GCC otherwise hoists a tap list's nine loads
 * ahead of the products and spills them (the "m" operand tells it which bytes are read) */
#define MAC4_AT(PTR, OFF, W02, W13)                                                                            \
    do {                                                                                                       \
        int32_t x_, e_, o_;                                                                                    \
        __asm__("ldr %[x], [%[p], %[c]]\n\t"                                                                  \
                "sxtb16 %[e], %[x]\n\t"                                                                       \
                "sxtb16 %[o], %[x], ror #8\n\t"                                                               \
                "smlabb %[a0], %[e], %[w02], %[a0]\n\t"                                                       \
                "smlatt %[a2], %[e], %[w02], %[a2]\n\t"                                                       \
                "smlabb %[a1], %[o], %[w13], %[a1]\n\t"                                                       \
                "smlatt %[a3], %[o], %[w13], %[a3]"                                                           \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x_), [e] "=&r"(e_),    \
                  [o] "=&r"(o_)                                                                                \
                : [p] "r"(PTR), [c] "r"(OFF), [w02] "r"(W02), [w13] "r"(W13),                                  \
                  "m"(*(const int8_t(*)[4])((PTR) + (OFF))));                                                  \
    } while (0)

/* The packed kernels' tap (int4: tq_depthwise_conv_s8_int4_dsp.c, 2-bit: tq_depthwise_conv_s8_int2_dsp.c): MAC4's
 * input lanes and products, with the two int16 lane registers decoded from the weight word inside the statement,
 * ((w << S) & m, one AND each; m the including kernel's lane mask). LOAD puts the tap's input word in x; OP: SMLA
 * (accumulate) or SMUL (the pixel's first tap starts the accumulators); S0, S1: the shifts of the lanes {c, c+2}
 * and {c+1, c+3}. */
#define TQ_TAP_ASM(LOAD, OP, S0, S1)                                                                           \
    LOAD "\n\t"                                                                                               \
    "and    %[l], %[m], %[w], lsl #" #S0 "\n\t"                                                                \
    "sxtb16 %[e], %[x]\n\t"                                                                                   \
    "sxtb16 %[x], %[x], ror #8\n\t" OP(bb, a0, e) OP(tt, a2, e)                                                \
    "and    %[l], %[m], %[w], lsl #" #S1 "\n\t" OP(bb, a1, x) OP(tt, a3, x)
#define TQ_MLA(XY, A, E) "smla" #XY " %[" #A "], %[" #E "], %[l], %[" #A "]\n\t"
#define TQ_MUL(XY, A, E) "smul" #XY " %[" #A "], %[" #E "], %[l]\n\t"
#define TQ_TAP_OUT(ACC)                                                                                        \
    [a0] ACC(a0), [a1] ACC(a1), [a2] ACC(a2), [a3] ACC(a3), [x] "=&r"(x_), [e] "=&r"(e_), [l] "=&r"(l_)
#define TQ_PLUS(v) "+r"(v)
#define TQ_EARLY(v) "=&r"(v)
/* the tap at ptr + off (a register). No "m" operand for the word read, unlike MAC4_AT: its address would take a
 * twelfth register (impossible constraints on the M55); the kernels never write their input, so the load may move
 * freely past the output stores */
#define TAP_AT(OP, ACC, PTR, OFF, W, M, S0, S1)                                                                \
    do {                                                                                                       \
        int32_t x_, e_, l_;                                                                                    \
        __asm__(TQ_TAP_ASM("ldr    %[x], [%[p], %[c]]", OP, S0, S1)                                          \
                : TQ_TAP_OUT(ACC)                                                                              \
                : [p] "r"(PTR), [c] "r"(OFF), [w] "r"(W), [m] "r"(M));                                         \
    } while (0)

/* finish: requantize, add the output offset, clamp (clamp_out: the last two). acc2 is the 2 * acc that tq_requant_fast's SMMULR takes (|acc| <
 * 2^30; the doubled sums wrap as the plain ones do). full: the range is all of int8 (one SSAT) and the output
 * offset is 0 or was folded into the rounding term by the preparer ((v + off * 2^rs) >> rs = (v >> rs) + off,
 * proved not to overflow) */
TQ_INLINE int8_t clamp_out(int32_t v, const params *p, int full) {
    if (full) return (int8_t)__ssat(v, 8);
    int32_t y = __ssat(v + p->output_offset, 8);
    y = y < p->act_min ? p->act_min : y;
    return (int8_t)(y > p->act_max ? p->act_max : y);
}

TQ_INLINE int8_t finish(int32_t acc2, const int32_t *row, const params *p, int full) {
    return clamp_out(tq_requant_fast2(acc2, row[0], row[1], row[2]), p, full);
}

TQ_INLINE int8_t *store4(int8_t *out, const int32_t *rows, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                         const params *p, int full) {
    out[0] = finish(a0, rows, p, full);
    out[1] = finish(a1, rows + 3, p, full);
    out[2] = finish(a2, rows + 6, p, full);
    out[3] = finish(a3, rows + 9, p, full);
    return out + 4;
}

/* the k = KH*KW tap addresses of the pixel whose window starts at input (in_y, in_x); taps outside the
 * input read the zero-point row */
static void fill_taps(const params *p, const int8_t **taps, const int8_t *image, const int8_t *zp_row,
                      int32_t in_y, int32_t in_x) {
    for (int32_t ky = 0; ky < p->filter_height; ++ky) {
        const int32_t y = in_y + ky * p->dilation_height;
        const int ok_y = y >= 0 && y < p->input_height;
        for (int32_t kx = 0; kx < p->filter_width; ++kx) {
            const int32_t x = in_x + kx * p->dilation_width;
            *taps++ = ok_y && x >= 0 && x < p->input_width ? image + (y * p->input_width + x) * p->depth : zp_row;
        }
    }
}

/* fill_taps for a 3x3 filter, dilation 1 (run's is3x3 path): the column tests once a pixel, unrolled */
TQ_INLINE void fill_taps3(const params *p, const int8_t **taps, const int8_t *image, const int8_t *zp_row,
                          int32_t in_y, int32_t in_x) {
    const int32_t w = p->input_width, d = p->depth;
    const int ok0 = (uint32_t)in_x < (uint32_t)w, ok1 = (uint32_t)(in_x + 1) < (uint32_t)w,
              ok2 = (uint32_t)(in_x + 2) < (uint32_t)w;
    int32_t off = (in_y * w + in_x) * d;
    for (int32_t ky = 0; ky < 3; ++ky, off += w * d, taps += 3) {
        if ((uint32_t)(in_y + ky) < (uint32_t)p->input_height) {
            taps[0] = ok0 ? image + off : zp_row;
            taps[1] = ok1 ? image + (off + d) : zp_row;
            taps[2] = ok2 ? image + (off + 2 * d) : zp_row;
        } else {
            taps[0] = taps[1] = taps[2] = zp_row;
        }
    }
}

/* defined by the including file: */
/* the last depth % 4 channels (from channel c), one at a time, from the zero-padded last record blk */
static int8_t *tail(const params *p, const int8_t *const *taps, int32_t k, int32_t c, const int32_t *blk,
                    int8_t *out);
/* all channels of a pixel through its tap list (any filter, border pixels of the 3x3 path) */
TQ_INLINE int8_t *pixel_taps(const params *p, const int8_t *const *taps, int32_t k, int8_t *out, int full);
/* the full 4-channel blocks of an interior 3x3 pixel (dilation 1): base = its window's top-left pixel */
TQ_INLINE int8_t *pixel_3x3(const params *p, const int8_t *base, int8_t *out, int full);
#if defined(TQ_SPAN_3X3)
/* optional (the including file defines TQ_SPAN_3X3 before including): for the full range and a depth that is a
 * multiple of 4, the pixels of an interior row (row: its input row) from ox (the first interior one or the border
 * one before it) to *end, at most one past the interior (*end = ox: none, the border path takes ox) */
TQ_INLINE int8_t *span_3x3(const params *p, const int8_t *row, int32_t ox, int32_t *end, int8_t *out);
#endif

TQ_INLINE tq_status run(const params *p, const int8_t *input, int8_t *output, void *scratch, int full, int is3x3) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->blocks != NULL);
    TQ_ASSERT(!is3x3 || (p->filter_height == 3 && p->filter_width == 3 && p->dilation_height == 1 &&
                         p->dilation_width == 1));
    const int32_t k = p->filter_height * p->filter_width, depth = p->depth;
    const int8_t **taps = (const int8_t **)scratch;
    int8_t *zp_row = (int8_t *)(taps + k);
    memset(zp_row, p->input_zero_point, (size_t)depth);
    const int32_t tail_c = depth & ~3;
    const int32_t *tail_blk = p->blocks + (depth >> 2) * BLOCK_WORDS(k);
#if defined(TQ_SPAN_3X3)
    /* where span_3x3 takes a row: at the border pixel before the interior at stride 1 (a pair), else inside */
    const int32_t span_x0 = p->inner_x0 - (p->stride_width == 1 && p->inner_x0 > 0);
#endif
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->input_height * p->input_width * depth;
        for (int32_t oy = 0; oy < p->output_height; ++oy) {
            const int32_t in_y = oy * p->stride_height - p->pad_height;
            const int inner_y = is3x3 && oy >= p->inner_y0 && oy < p->inner_y1;
            for (int32_t ox = 0; ox < p->output_width; ++ox) {
                const int32_t in_x = ox * p->stride_width - p->pad_width;
#if defined(TQ_SPAN_3X3)
                if (inner_y && full && tail_c == depth && depth >= 4 && ox >= span_x0 && ox < p->inner_x1) {
                    int32_t end; /* the row's interior pixels (and edge ones) in one call */
                    output = span_3x3(p, image + in_y * p->input_width * depth, ox, &end, output);
                    if (end > ox) {
                        ox = end - 1;
                        continue;
                    }
                }
#endif
                if (inner_y && ox >= p->inner_x0 && ox < p->inner_x1) {
                    output = pixel_3x3(p, image + (in_y * p->input_width + in_x) * depth, output, full);
                    if (tail_c == depth) continue;
                    fill_taps3(p, taps, image, zp_row, in_y, in_x);
                    output = tail(p, taps, k, tail_c, tail_blk, output);
                } else {
                    if (is3x3)
                        fill_taps3(p, taps, image, zp_row, in_y, in_x);
                    else
                        fill_taps(p, taps, image, zp_row, in_y, in_x);
                    output = pixel_taps(p, taps, k, output, full);
                }
            }
        }
    }
    return TQ_OK;
}

static inline int full_range(const params *p) {
    return p->act_min == -128 && p->act_max == 127 && p->output_offset == 0;
}

/* a kernel's entry: run() specialized for the full int8 range or not */
TQ_INLINE tq_status run_range(const params *p, const int8_t *input, int8_t *output, void *scratch, int is3x3) {
    return full_range(p) ? run(p, input, output, scratch, 1, is3x3) : run(p, input, output, scratch, 0, is3x3);
}

#endif /* __ARM_FEATURE_DSP */
#endif
