/* SVDF (TFLite SVDF), integer: TFLM's reference EvalIntegerSvdfReference, int8 or int16 state. */
#ifndef TINYQ_TQ_SVDF_H
#define TINYQ_TQ_SVDF_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;
    int32_t input_size;
    int32_t num_filters; /* num_units * rank */
    int32_t num_units;
    int32_t rank;
    int32_t memory_size;
    int32_t input_offset;     /* -input zero point */
    int32_t state_zero_point; /* of the activation state */
    int32_t output_offset;    /* +output zero point */
    int32_t feature_multiplier, feature_shift; /* input x weights_feature -> state (Q31, positive = left) */
    int32_t output_multiplier, output_shift;   /* state x weights_time -> output */
    const int8_t *weights_feature; /* [num_filters][input_size] */
    const void *weights_time;      /* int8_t or int16_t (the state's type) [num_filters][memory_size] */
    const int32_t *bias;           /* [num_units] */
} tq_svdf_params;

/**
 * One time step. The state [batches][num_filters][memory_size] persists between calls (the caller keeps it:
 * model.c's state buffer); the call shifts every filter's memory by one step and writes the newest at the end.
 * @param[in]     input   [batches][input_size]
 * @param[out]    output  [batches][num_units]
 * @param[in,out] state   [batches][num_filters * memory_size], int8_t (_s8) or int16_t (_s8_state16)
 */
tq_status tq_svdf_s8(const tq_svdf_params *p, const int8_t *input, int8_t *output, int8_t *state);
tq_status tq_svdf_s8_state16(const tq_svdf_params *p, const int8_t *input, int8_t *output, int16_t *state);

#endif
