/* 2-D pooling (TFLite AVERAGE_POOL_2D, MAX_POOL_2D), int8 and int16.
 *
 * TFLM pools raw quantized values: input and output share scale and zero point, so there is no rescaling.
 */
#ifndef TINYQ_TQ_POOL_H
#define TINYQ_TQ_POOL_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;
    int32_t input_h, input_w;
    int32_t depth; /* channels, same in input and output */
    int32_t output_h, output_w;
    int32_t stride_h, stride_w; /* >= 1 */
    int32_t filter_h, filter_w; /* >= 1; every window overlaps the input (SAME/VALID geometry) */
    int32_t pad_h, pad_w;       /* implicit padding before the first row/column; padded cells are skipped */
    int32_t act_min, act_max;   /* fused activation clamp in quantized units, within the dtype's range */
} tq_pool_params;

/**
 * Average pooling: the rounded (half away from zero) mean of the window elements inside the input.
 * @param[in]  p       parameters (see struct); int16 windows hold at most 65536 elements
 * @param[in]  input   [batches][input_h][input_w][depth]
 * @param[out] output  [batches][output_h][output_w][depth]
 */
tq_status tq_avgpool_s8(const tq_pool_params *p, const int8_t *input, int8_t *output);
tq_status tq_avgpool_s16(const tq_pool_params *p, const int16_t *input, int16_t *output);
/* the same with the Arm DSP extension (tinyq/specialize/pool_dsp.py): depth % 4 == 0, windows of <= 255 elements */
tq_status tq_avgpool_s8_dsp(const tq_pool_params *p, const int8_t *input, int8_t *output);

/**
 * Max pooling: the largest window element inside the input, then clamped to [act_min, act_max].
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [batches][input_h][input_w][depth]
 * @param[out] output  [batches][output_h][output_w][depth]
 */
tq_status tq_maxpool_s8(const tq_pool_params *p, const int8_t *input, int8_t *output);
tq_status tq_maxpool_s16(const tq_pool_params *p, const int16_t *input, int16_t *output);

#endif
