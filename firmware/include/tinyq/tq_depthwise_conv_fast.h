/* DEPTHWISE_CONV_2D int8, depth multiplier 1, prepared at compile time for the Arm DSP extension
 * (tinyq/specialize/depthwise_dsp.py). The preparer folds the input offset into the biases, widens the filter
 * to int16 lanes in the order the inner loop reads them and proves tq_requant_fast exact for the layer; the
 * kernels then compute folded_bias + sum(x * w) on the raw int8 input, reading the input zero point for
 * padded taps, and give the integers of tq_depthwise_conv_s8.
 *
 * blocks: one record per 4 channels (the last one zero-padded when depth % 4 != 0), K = filter taps:
 *   int32 bias[4]                 2 * folded bias of channels c..c+3 (modulo 2^32)
 *   int32 w[K][2]                 per tap ky*KW+kx: {2w[c] | 2w[c+2] << 16, 2w[c+1] | 2w[c+3] << 16} (int16 lanes)
 * (doubled: the sum is then 2 * acc, what tq_requant_fast's SMMULR takes, and needs no shift)
 *   int32 rows[4][3]              tq_requant_row of channels c..c+3
 * Scratch (last argument): K pointers, then depth bytes (rounded up to 4) of input zero point.
 */
#ifndef TINYQ_TQ_DEPTHWISE_CONV_FAST_H
#define TINYQ_TQ_DEPTHWISE_CONV_FAST_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches, input_height, input_width, depth; /* depth = input depth = output depth */
    int32_t filter_height, filter_width, output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t input_zero_point;                  /* what a padded tap reads */
    int32_t output_offset, act_min, act_max;
    int32_t inner_y0, inner_y1, inner_x0, inner_x1; /* output rows/columns whose taps are all inside the input */
    const int32_t *blocks;                     /* ceil(depth / 4) records, see above */
} tq_depthwise_conv_fast_params;

/* 3x3, dilation 1, any stride: interior pixels run unrolled row loads, border pixels the tap list.
 * kxk: any filter size and dilation through the tap list. Defined when __ARM_FEATURE_DSP is. */
tq_status tq_depthwise_conv3x3_s8_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input, int8_t *output,
                                      void *scratch);
tq_status tq_depthwise_convkxk_s8_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input, int8_t *output,
                                      void *scratch);

/* int4 weights (tinyq/specialize/int4_dsp.py), weights kept 4-bit in flash; the same struct, each record laid out as
 *   int32 bias[4]                 2 * folded bias of channels c..c+3 (modulo 2^32), as above
 *   int32 w[ceil(K / 2)]          per tap pair (t, t+1), nibble i at bits 4i (two's complement, 0 for a missing
 *                                 tap t+1 or channel): n3, n7 = w_t[c], w_t[c+2]; n2, n6 = w_t[c+1], w_t[c+3];
 *                                 n1, n5 = w_t+1[c], w_t+1[c+2]; n0, n4 = w_t+1[c+1], w_t+1[c+3]
 *                                 (so (word << {0, 4, 8, 12}) & 0xF000F000 are the 4096 * w lanes of the int8 record)
 *   int32 rows[4][3]              as above
 * Same scratch. Exact when 128 * sum|w| < 2^19 for every channel, besides the int8 kernels' conditions. */
tq_status tq_depthwise_conv3x3_s8_int4_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input,
                                           int8_t *output, void *scratch);
tq_status tq_depthwise_convkxk_s8_int4_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input,
                                           int8_t *output, void *scratch);

/* 2-bit weights, int2, ternary and binary (tinyq/specialize/lowbit_dsp.py): w = m_c * t, t in [-2, 1] kept 2-bit
 * in flash; the same struct, each record laid out as
 *   int32 ch[4][6]                per channel c..c+3 {bias2, mag, multiplier, round, mask, right shift R}:
 *                                 bias2 = 2 * 2^L * folded bias (modulo 2^32; L: the channel's left shift, 0 for a
 *                                 right one), mag = 2^(L + 19) * m_c, round with the output offset folded in or not,
 *                                 R in 0..30, mask 0 when R = 0, else -1
 *   int32 w[ceil(K / 4)]          per 4 taps 4q..4q+3, tap 4q + s of channel c + j in bits 2i..2i+1 (two's
 *                                 complement t, 0 for a missing tap or channel), i = {7, 6, 15, 14}[j] - 2s
 *                                 (so (word << {4s, 4s + 2}) & 0xC000C000 are 2^14 t lanes of {c, c+2}, {c+1, c+3})
 * Same scratch. Exact when 128 * sum|t| < 2^17 and |2^L acc| < 2^30 for every channel, 2^L m_c < 2^12. */
tq_status tq_depthwise_conv3x3_s8_int2_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input,
                                           int8_t *output, void *scratch);
tq_status tq_depthwise_convkxk_s8_int2_dsp(const tq_depthwise_conv_fast_params *p, const int8_t *input,
                                           int8_t *output, void *scratch);

#endif
