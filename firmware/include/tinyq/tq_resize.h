/* Image resizing (TFLite RESIZE_NEAREST_NEIGHBOR int8/int16, RESIZE_BILINEAR int8).
 *
 * TFLM derives each output row's and column's source from the output index alone, so the host computes
 * these once (tinyq/lower/resize.py, TFLM's float32 / 10-bit fixed-point index math) into tables with one
 * entry per output row and per output column, and checks every entry against the input: the kernels only
 * look them up. Values are moved or interpolated without rescaling (input and output share their
 * quantization). Input and output must not overlap.
 */
#ifndef TINYQ_TQ_RESIZE_H
#define TINYQ_TQ_RESIZE_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;
    int32_t input_h, input_w;
    int32_t depth; /* channels, same in input and output */
    int32_t output_h, output_w;
    const int32_t *src_y; /* [output_h] input row of each output row, in [0, input_h) */
    const int32_t *src_x; /* [output_w] input column of each output column, in [0, input_w) */
} tq_resize_nearest_params;

typedef struct {
    int32_t batches;
    int32_t input_h, input_w;
    int32_t depth;
    int32_t output_h, output_w;
    const int32_t *y_lo, *y_hi; /* [output_h] the two input rows of each output row, in [0, input_h) */
    const int32_t *y_frac;      /* [output_h] weight of y_hi in 1/1024 (y_lo: 1024 - y_frac), in [-512, 1024) */
    const int32_t *x_lo, *x_hi; /* [output_w] the two input columns of each output column, in [0, input_w) */
    const int32_t *x_frac;      /* [output_w] weight of x_hi in 1/1024, in [-512, 1024) */
} tq_resize_bilinear_params;

/**
 * Nearest neighbour: output[b][y][x][:] = input[b][src_y[y]][src_x[x]][:].
 * @param[in]  p       parameters and index tables (see struct)
 * @param[in]  input   [batches][input_h][input_w][depth]
 * @param[out] output  [batches][output_h][output_w][depth]
 */
tq_status tq_resize_nearest_neighbor_s8(const tq_resize_nearest_params *p, const int8_t *input, int8_t *output);
tq_status tq_resize_nearest_neighbor_s16(const tq_resize_nearest_params *p, const int16_t *input, int16_t *output);

/**
 * Bilinear (TFLM ResizeBilinearInteger): the four neighbours weighted in 1/1024 along each axis, the sum
 * (in 1/2^20) rounded half away from zero.
 * @param[in]  p       parameters and tables (see struct)
 * @param[in]  input   [batches][input_h][input_w][depth]
 * @param[out] output  [batches][output_h][output_w][depth]
 */
tq_status tq_resize_bilinear_s8(const tq_resize_bilinear_params *p, const int8_t *input, int8_t *output);

#endif
