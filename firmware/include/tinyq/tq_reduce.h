/* Reductions: TFLite MEAN (int8 and int16) and REDUCE_MAX (int8). */
#ifndef TINYQ_TQ_REDUCE_H
#define TINYQ_TQ_REDUCE_H

#include "tinyq/tq_types.h"

#define TQ_REDUCE_GROUPS 7 /* kept, reduced, kept, reduced, kept, reduced, kept */

typedef struct {
    /* The input as [kept0][reduced0][kept1][reduced1][kept2][reduced2][kept3] (adjacent input dimensions merged,
     * missing groups 1); the output is [kept0][kept1][kept2][kept3] in the same order. */
    int32_t dims[TQ_REDUCE_GROUPS];
    int32_t count;         /* elements per mean: reduced0 * reduced1 * reduced2, >= 1 */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    int32_t multiplier;    /* Q31, with 1/count folded in */
    int32_t shift;         /* positive = left; -31 <= shift */
} tq_mean_params;

/**
 * Mean over the reduced groups of dims (TFLM QuantizedMeanOrSum): the int32 sum (wrapping, as TFLM) minus
 * zero point * count, requantized once with 1/count folded into multiplier/shift, clamped to the dtype.
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   dims[0] * ... * dims[6] elements
 * @param[out] output  dims[0] * dims[2] * dims[4] * dims[6] elements
 */
tq_status tq_mean_s8(const tq_mean_params *p, const int8_t *input, int8_t *output);
tq_status tq_mean_s16(const tq_mean_params *p, const int16_t *input, int16_t *output);

typedef struct {
    int32_t dims[TQ_REDUCE_GROUPS]; /* as tq_mean_params.dims */
} tq_reduce_max_params;

/**
 * Maximum over the reduced groups of dims (TFLM ReduceGeneric with max; input and output share one quantization,
 * so the raw values are compared and copied).
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   dims[0] * ... * dims[6] elements
 * @param[out] output  dims[0] * dims[2] * dims[4] * dims[6] elements
 */
tq_status tq_reduce_max_s8(const tq_reduce_max_params *p, const int8_t *input, int8_t *output);

#endif
