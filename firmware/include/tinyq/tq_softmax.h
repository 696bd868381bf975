/* Softmax over the last axis (TFLite SOFTMAX): int8 -> int8, int8 -> int16 and int16 -> int16. */
#ifndef TINYQ_TQ_SOFTMAX_H
#define TINYQ_TQ_SOFTMAX_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t outer_size;       /* rows: input elements / depth */
    int32_t depth;            /* length of the softmax axis (the last one), >= 1 */
    int32_t input_multiplier; /* Q31, scales (input - row max) by beta * input scale */
    int32_t input_shift;      /* positive = left. s8: [1, 31], to Q5.26; s16: [-31, 30], to [-65535, 0] = [-10, 0] */
    int32_t diff_min;         /* s8: elements with input - row max < diff_min get exp = 0; s16: unused */
    const int16_t *exp_lut;                 /* s16: [513] exp(x) on [-10, 0], Q0.15; NULL for s8 */
    const int16_t *one_over_one_plus_x_lut; /* s16: [513] 1/(1+x) on [0, 1], Q0.15; NULL for s8 */
} tq_softmax_params;

/**
 * int8 softmax with gemmlowp fixed-point exp and reciprocal (TFLM reference_ops::Softmax).
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [outer_size][depth]
 * @param[out] output  [outer_size][depth], scale 1/256, zero point -128
 */
tq_status tq_softmax_s8(const tq_softmax_params *p, const int8_t *input, int8_t *output);

/**
 * int8 -> int16 softmax, same arithmetic as tq_softmax_s8 with 16 output bits.
 * @param[out] output  [outer_size][depth], scale 1/65536, zero point -32768
 */
tq_status tq_softmax_s8_s16(const tq_softmax_params *p, const int8_t *input, int16_t *output);

/**
 * int16 softmax with the exp and 1/(1+x) LUTs (TFLM reference_ops::SoftmaxInt16). The output buffer
 * holds the exp values between the two passes of each row, so it must not alias the input.
 * @param[in]  input   [outer_size][depth], depth <= 65536
 * @param[out] output  [outer_size][depth], scale 1/32768, zero point 0, values in [0, 32767]
 */
tq_status tq_softmax_s16(const tq_softmax_params *p, const int16_t *input, int16_t *output);

#endif
