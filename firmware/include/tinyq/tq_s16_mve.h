/* 16x8 FULLY_CONNECTED, CONV_2D 1x1 and DEPTHWISE_CONV_2D on Helium (firmware/src/tq_*_s16_mve.c), with records
 * prepared at compile time by tinyq/specialize/s16_mve.py. Bit-exact with tq_fully_connected_s16, tq_conv_s16
 * and tq_depthwise_conv_s16 under the conditions of tinyq/specialize/s16_dsp.py (tq_s16_dsp.h): int32 sums
 * started at the bias cannot leave int32 (|bias| + sum|w| * 32768 < 2^31, 2^30 on the int32 path), and a
 * requantization row per channel gives TFLM's result from that sum. Four channels are requantized at once:
 *   requant64 = 1: y = (b + VMULH(acc, a)) >> c   (the row {a, b, c} of tq_s16_dsp.h; VSHL by -c)
 *   requant64 = 0: h = VQRDMULH(acc, m), y = VRSHL(h + (h >> 31), -rs)   (tq_requant_fast, as tq_mve_requant.h)
 * The weights stay int8 in flash: VLDRB.S16 / VLDRB.S32 widen them as they are loaded. */
#ifndef TINYQ_TQ_S16_MVE_H
#define TINYQ_TQ_S16_MVE_H

#include "tinyq/tq_types.h"

/* A GEMM: `rows` int16 input rows of `depth` values times `out_depth` int8 weight rows. */
typedef struct {
    int32_t rows, depth, out_depth; /* rows: batches (FC) or pixels (conv 1x1) */
    int32_t steps; /* ceil(depth / 8) - 1: full 8-tap steps before the tail-predicated last one */
    int32_t act_min, act_max;
    int32_t requant64;
    /* per block of 4 channels (4-byte aligned): int32 bias[2][4] (the two rows' starting sums), int8 weights
     * [steps + 1][4][8] (zero past depth and past out_depth), then int32 vectors a[4], b[4], -c[4]
     * (requant64) or multiplier[4], -rs[4] */
    const int8_t *blocked;
} tq_gemm_s16_mve_params;

/* CONV_2D, any filter without groups: an im2col row per output pixel (two at a time, zero where the filter
 * leaves the image) in scratch, then the GEMM core. */
typedef struct {
    int32_t batches, input_height, input_width, input_depth;
    int32_t filter_height, filter_width, output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t inside; /* 1: every tap of every output is inside the image (no padding reached): rows are copies */
    /* 0, or the zero-bordered copy of each image the kernel makes first (scratch after the two rows: rows and
     * columns pad + input + what the last taps reach), so that rows are plain copies from it */
    int32_t bordered_height, bordered_width;
    const tq_gemm_s16_mve_params *gemm; /* depth = filter_height * filter_width * input_depth (OHWI rows) */
} tq_conv_s16_im2col_mve_params;

/* DEPTHWISE_CONV_2D, depth multiplier 1, int64 requantization: four neighbouring output pixels of one channel
 * in the int32 lanes, on a zero-bordered copy of the input (scratch: groups * padded_height * padded_width * 4
 * int16, group-major [groups][padded_height][padded_width][4]). Each channel's row {a, b, c} (tq_s16_dsp.h)
 * is stored as {a, 2b, c + 1}: y = (2b + VQDMULH(acc, a)) >> (c + 1), the same floor of one division. */
typedef struct {
    int32_t batches, input_height, input_width, depth;
    int32_t filter_height, filter_width, output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t groups; /* ceil(depth / 4) */
    int32_t padded_height, padded_width;
    int32_t act_min, act_max;
    const int8_t *weights; /* [groups][filter_height][filter_width][4], zero past depth */
    const int32_t *rows;   /* [depth][4]: bias, a, 2b, -(c + 1) */
} tq_depthwise_conv_s16_mve_params;

tq_status tq_fully_connected_s16_mve(const tq_gemm_s16_mve_params *p, const int16_t *input, int16_t *output);
/** CONV_2D 1x1, stride 1, no padding: the same GEMM over the pixels. */
tq_status tq_conv1x1_s16_mve(const tq_gemm_s16_mve_params *p, const int16_t *input, int16_t *output);
/** scratch: two im2col rows, 4 * gemm->depth bytes, then the bordered copy (2 bytes an element), if any */
tq_status tq_conv_s16_im2col_mve(const tq_conv_s16_im2col_mve_params *p, const int16_t *input, int16_t *output,
                                 void *scratch);
/** scratch: the bordered copy, groups * padded_height * padded_width * 8 bytes */
tq_status tq_depthwise_conv_s16_mve(const tq_depthwise_conv_s16_mve_params *p, const int16_t *input,
                                    int16_t *output, void *scratch);

#endif
