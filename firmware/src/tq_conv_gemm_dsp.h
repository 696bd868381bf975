/* Internal to the prepared CONV_2D GEMM kernels on the Arm DSP extension (tq_conv_s8_gemm_dsp.c, int8 weights;
 * tq_conv_s8_int4_dsp.c, int4 weights): what both do the same way around their inner loops: loading and widening
 * input words, the five-instruction requantization of tq_requant_fast.h, the clamp, the pixel walk and the im2col
 * gather (patches padded with the input zero point). */
#ifndef TINYQ_TQ_CONV_GEMM_DSP_H
#define TINYQ_TQ_CONV_GEMM_DSP_H

#include "tinyq/tq_conv_gemm.h"
#include "tinyq/tq_requant_fast.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

static inline uint32_t load4(const int8_t *x) {
    uint32_t v;
    memcpy(&v, x, sizeof v); /* one LDR: unaligned loads are allowed on Armv7-M / Armv8-M Mainline */
    return v;
}

static inline uint32_t even_lanes(uint32_t v) { return (uint32_t)__sxtb16((int32_t)v); } /* taps 0, 2 */

static inline uint32_t odd_lanes(uint32_t v) { /* taps 1, 3: SXTB16's free rotation (GCC keeps a MOV ROR else) */
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* tq_requant_fast(acc, m, round, rs) + out_off from acc2 = 2 * acc (exact: |acc| < 2^30 is proved, so 2 * acc
 * is the int32 that tq_requant_fast's first step computes) */
static inline int32_t requant(int32_t acc2, int32_t m, int32_t round, int32_t rs, int32_t out_off) {
    const int32_t h = tq_smmulr(acc2, m);
    return ((h + round + (h >> 31)) >> rs) + out_off;
}

/* the activation clamp; full (act range = int8 range): one SSAT */
static inline int8_t clamp(int32_t y, int full, int32_t lo, int32_t hi) {
    if (full) return (int8_t)__ssat(y, 8);
    y = y < lo ? lo : y;
    return (int8_t)(y > hi ? hi : y);
}

/* scratch: [widened pair: 4 * patch_padded B][gathered patch: patch_padded B (im2col)][dummy outputs] */
static inline int8_t *dummy_outputs(const tq_conv_gemm_params *p, void *scratch, int gathers) {
    return (int8_t *)scratch + (4 + gathers) * p->patch_padded;
}

/* the output pixel after (y, x) in (batch, row, column) order */
static inline void next_pixel(const tq_conv_gemm_params *p, int32_t *batch, int32_t *y, int32_t *x) {
    if (++*x == p->output_width) {
        *x = 0;
        if (++*y == p->output_height) {
            *y = 0;
            ++*batch;
        }
    }
}

/* n bytes of v (im2col padding); a plain loop: newlib-nano's memset, which GCC would call, is slower here */
static inline __attribute__((optimize("no-tree-loop-distribute-patterns"))) int8_t *fill(int8_t *dst, int8_t v,
                                                                                         int32_t n) {
    for (int32_t k = 0; k < n; ++k) dst[k] = v;
    return dst + n;
}

static inline int8_t *copy(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint32_t v = load4(src + k);
        memcpy(dst + k, &v, sizeof v); /* one STR, unaligned allowed */
    }
    for (; k < n; ++k) dst[k] = src[k];
    return dst + n;
}

/* A first layer's patch (3x3 filter, 3 input channels, dilation 1 along x) of a window inside the image, as its
 * 7 words of 4 taps (the 28th tap 0): the three filter rows of 9 bytes at src, src + row, src + 2 row are joined
 * in registers from word and halfword loads that stay inside the window, with no copy through memory (the generic
 * gather took about 110 instructions a pixel, MLPerf VWW's and IC's first convolutions) */
static inline int tq_gemm_is_patch333(const tq_conv_gemm_params *p) {
    return p->filter_height == 3 && p->filter_width == 3 && p->input_depth == 3 && p->dilation_width == 1 &&
           p->patch_padded == 28;
}

static inline void tq_gemm_patch333(const int8_t *src, int32_t row, uint32_t v[7]) {
    const int8_t *r1 = src + row, *r2 = r1 + row;
    uint16_t h;
    memcpy(&h, r1 + 7, sizeof h);
    v[0] = load4(src);
    v[1] = load4(src + 4);
    v[2] = (uint32_t)(uint8_t)src[8] | load4(r1) << 8;
    v[3] = load4(r1 + 3);
    v[4] = (uint32_t)h | load4(r2) << 16;
    v[5] = load4(r2 + 2);
    v[6] = load4(r2 + 5) >> 8;
}

/* the patch of the output pixel whose window starts at input (iy0, ix0), pad_value outside the image */
static inline void tq_gemm_gather(const tq_conv_gemm_params *p, const int8_t *image, int32_t iy0, int32_t ix0, int8_t *dst) {
    const int32_t depth = p->input_depth, kw = p->filter_width, w = p->input_width;
    const int8_t pad = (int8_t)p->pad_value;
    if (p->dilation_width == 1 && iy0 >= 0 && iy0 + (p->filter_height - 1) * p->dilation_height < p->input_height &&
        ix0 >= 0 && ix0 + kw <= w) { /* the window inside the image (most pixels): one run a filter row */
        const int32_t run = kw * depth, step = p->dilation_height * w * depth;
        const int8_t *src = image + (iy0 * w + ix0) * depth;
        /* every row but the last by whole words (a first layer's 3 x 3 channels: 3 words, not 2 and a byte
         * loop): up to 3 bytes past the run are read, from the image rows below, and written into the patch,
         * where the next row's copy overwrites them */
        for (int32_t fy = 1; fy < p->filter_height; ++fy, src += step, dst += run)
            for (int32_t k = 0; k < run; k += 4) {
                const uint32_t v = load4(src + k);
                memcpy(dst + k, &v, sizeof v); /* one STR, unaligned allowed */
            }
        copy(dst, src, run);
        return;
    }
    for (int32_t fy = 0; fy < p->filter_height; ++fy) {
        const int32_t iy = iy0 + fy * p->dilation_height;
        if (iy < 0 || iy >= p->input_height) {
            dst = fill(dst, pad, kw * depth);
            continue;
        }
        const int8_t *src = image + iy * w * depth;
        if (p->dilation_width == 1) { /* the taps inside the image are one run */
            int32_t x0 = ix0 < 0 ? -ix0 : 0, x1 = w - ix0 < kw ? w - ix0 : kw;
            x0 = x0 > kw ? kw : x0;
            x1 = x1 < x0 ? x0 : x1;
            dst = fill(dst, pad, x0 * depth);
            dst = copy(dst, src + (ix0 + x0) * depth, (x1 - x0) * depth);
            dst = fill(dst, pad, (kw - x1) * depth);
            continue;
        }
        for (int32_t fx = 0; fx < kw; ++fx) {
            const int32_t ix = ix0 + fx * p->dilation_width;
            dst = ix < 0 || ix >= w ? fill(dst, pad, depth) : copy(dst, src + ix * depth, depth);
        }
    }
}

#endif
#endif
