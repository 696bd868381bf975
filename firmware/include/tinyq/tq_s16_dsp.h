/* 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on the Arm DSP extension (firmware/src/tq_*_s16_dsp.c),
 * with records prepared at compile time by tinyq/specialize/s16_dsp.py. Bit-exact with tq_conv_s16,
 * tq_depthwise_conv_s16 and tq_fully_connected_s16 under conditions the preparer proves from the layer's data:
 *   - every accumulator, bias included, satisfies |bias| + Σ|w| · 32768 < 2^31 (2^30 on the int32-bias path),
 *     so one int32 SMLAD sum with the bias as its start equals TFLM's int64 (or non-wrapping int32) sum;
 *   - a requantization row per output channel gives TFLM's result from that int32 sum (tq_s16_requant).
 * Weights are widened to int16 at compile time (twice the int8 flash): an int16 activation pair and a weight
 * pair are then one SMLAD each, without SXTB16. Zero points are 0 (16x8), so padding taps are skipped. */
#ifndef TINYQ_TQ_S16_DSP_H
#define TINYQ_TQ_S16_DSP_H

#include "tinyq/tq_types.h"

/* requant64 = 1 (TFLM's int64 MultiplyByQuantizedMultiplier, rounded 16-bit multiplier R, total shift s):
 *   y = (b + ((acc · a) >> 32)) >> c  (SMMLA, ASR), with a = R · 2^(33 - s), b = 1, c = 1 when s <= 32,
 *   a = R, b = 2^(s - 33), c = s - 32 otherwise; a = 0, b = y, c = 0 for a channel whose weights are all 0.
 * requant64 = 0 (TFLM's int32 path): {a, b, c} = tq_requant_row {multiplier, round, right_shift}. */
typedef struct {
    int32_t a, b, c;
} tq_s16_requant_row;

typedef struct {
    int32_t batches; /* input rows */
    int32_t accum_depth, output_depth;
    int32_t act_min, act_max;
    int32_t requant64;
    const int16_t *weights16; /* [output_depth][accum_depth] */
    const int32_t *bias;    /* [output_depth]: the accumulators' start */
    const int32_t *rows;    /* tq_s16_requant_row [output_depth] */
} tq_fully_connected_s16_dsp_params;

typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_depth;
    int32_t filter_height, filter_width, filter_input_depth;
    int32_t output_height, output_width, output_depth;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t act_min, act_max;
    int32_t requant64;
    const int16_t *filter16; /* OHWI */
    const int32_t *bias;
    const int32_t *rows;
} tq_conv_s16_dsp_params;

typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_depth; /* depth multiplier 1: output depth = input depth */
    int32_t filter_height, filter_width;
    int32_t output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t act_min, act_max;
    int32_t requant64; /* always 1: TFLM's 16x8 depthwise requantizes as int64 */
    const int16_t *filter16; /* group-major: [input_depth / 4][H][W][4], then [H][W][input_depth % 4] */
    const int32_t *bias;
    const int32_t *rows;
} tq_depthwise_conv_s16_dsp_params;

/* tq_conv_s16_wide_dsp (firmware/src/tq_conv_s16_wide_dsp.c): 2 pixels x 3 channels a block */
typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_depth;
    int32_t filter_height, filter_width; /* no groups: the filter's input depth is input_depth */
    int32_t output_height, output_width, output_depth;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t act_min, act_max;
    int32_t requant64;
    int32_t pointwise;   /* 1: output pixel i is input pixel i (1x1, stride 1, no padding): rows, no gather */
    int32_t taps_padded; /* filter_height * filter_width * input_depth rounded up to a multiple of 4 */
    const int16_t *weights16; /* [ceil(output_depth / 3)][taps_padded / 2][3][2]: channel triples, zero-padded */
    const int32_t *records;   /* [ceil(output_depth / 3)][12]: a triple's 3 biases, then its 3 tq_s16_requant_rows */
} tq_conv_s16_wide_dsp_params;

tq_status tq_fully_connected_s16_dsp(const tq_fully_connected_s16_dsp_params *p, const int16_t *input,
                                     int16_t *output);
tq_status tq_conv_s16_dsp(const tq_conv_s16_dsp_params *p, const int16_t *input, int16_t *output);
/* the same layer with the patches of each output pixel pair gathered into scratch first (2 * filter_height *
 * filter_width * input_depth int16, no groups): for filters whose rows are short runs, e.g. 1-3 input channels */
tq_status tq_conv_s16_im2col_dsp(const tq_conv_s16_dsp_params *p, const int16_t *input, int16_t *output,
                                 void *scratch);
/* scratch: the pair's interleaved patches, 4 * taps_padded bytes */
tq_status tq_conv_s16_wide_dsp(const tq_conv_s16_wide_dsp_params *p, const int16_t *input, int16_t *output,
                               void *scratch);
tq_status tq_depthwise_conv_s16_dsp(const tq_depthwise_conv_s16_dsp_params *p, const int16_t *input,
                                    int16_t *output);

#endif
