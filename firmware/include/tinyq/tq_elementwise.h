/* Elementwise binary ops with TFLite broadcasting: ADD, SUB, MUL, MAXIMUM, MINIMUM (int8 and int16).
 *
 * Broadcasting is a loop nest computed on the host (tinyq/lower/elementwise.py): `rank` loops over the
 * output, outermost first; the output is written contiguously and each input steps by its own stride
 * per loop (0 = the input repeats along that loop). Equal shapes give rank 1: one flat loop.
 * The innermost loop is a contiguous row: input1_stride[rank-1] and input2_stride[rank-1] are each
 * 0 or 1, never both 0 unless shape[rank-1] == 1.
 *
 * A constant operand is a const array (input1_const / input2_const, same dtype as the tensors); the
 * kernel then reads it in place of the corresponding input pointer. tq_<op>_const_<dtype> takes the
 * one activation input and passes it for both slots.
 */
#ifndef TINYQ_TQ_ELEMENTWISE_H
#define TINYQ_TQ_ELEMENTWISE_H

#include "tinyq/tq_types.h"

#define TQ_ELEMENTWISE_MAX_RANK 6

typedef struct {
    int32_t rank;                                    /* loops in the nest: 1..TQ_ELEMENTWISE_MAX_RANK */
    int32_t shape[TQ_ELEMENTWISE_MAX_RANK];          /* output extent of each loop, outermost first */
    int32_t input1_stride[TQ_ELEMENTWISE_MAX_RANK];  /* elements input 1 advances per step of each loop */
    int32_t input2_stride[TQ_ELEMENTWISE_MAX_RANK];
    const void *input1_const; /* constant input 1 (int8_t or int16_t, like the tensors), or NULL */
    const void *input2_const; /* constant input 2, or NULL (at most one of the two is set) */
    /* ADD, SUB, MUL (unused by MAXIMUM / MINIMUM, which compare stored values as TFLM does) */
    int32_t input1_offset; /* -zero point of input 1: [-127, 128] for int8; 0 for int16 MUL */
    int32_t input2_offset;
    int32_t output_offset; /* +zero point of the output */
    int32_t output_multiplier, output_shift; /* Q31; shift positive = left (<= 0 for ADD/SUB, <= 30 for MUL) */
    int32_t act_min, act_max;                /* fused activation clamp, in output units */
    /* ADD, SUB only */
    int32_t left_shift;                      /* 20 (int8) or 15 (int16) */
    int32_t input1_multiplier, input1_shift; /* Q31, shift in [-31, 0] */
    int32_t input2_multiplier, input2_shift;
} tq_elementwise_params;

/**
 * Binary elementwise kernels. Each output element is op(input1[i1], input2[i2]), with i1, i2 from the
 * loop nest in `p`; TFLM reference arithmetic:
 *   ADD/SUB: x_k = MBQM_smaller_than_one((in_k + input_k_offset) << left_shift, input_k_multiplier, input_k_shift);
 *            out = clamp(MBQM_smaller_than_one(x_1 +/- x_2, output_multiplier, output_shift) + output_offset)
 *   MUL:     out = clamp(MBQM((in_1 + input1_offset) * (in_2 + input2_offset), output_multiplier, output_shift) + output_offset)
 *   MAXIMUM/MINIMUM: larger / smaller stored value.
 * @param[in]  p       loop nest, constant operand and arithmetic parameters (see struct)
 * @param[in]  input1  input 1 in its own shape (ignored when p->input1_const is set)
 * @param[in]  input2  input 2 in its own shape (ignored when p->input2_const is set)
 * @param[out] output  the broadcast output shape; must not overlap an input unless shapes are equal
 * @return TQ_OK
 */
tq_status tq_add_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
tq_status tq_add_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output);
tq_status tq_sub_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
tq_status tq_sub_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output);
tq_status tq_mul_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
tq_status tq_mul_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output);
tq_status tq_maximum_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
tq_status tq_maximum_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output);
tq_status tq_minimum_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
tq_status tq_minimum_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output);

/**
 * The same kernels with one constant operand (exactly one of p->input1_const, p->input2_const is set).
 * @param[in]  input   the activation operand, in its own shape
 * @param[out] output  the broadcast output shape
 */
tq_status tq_add_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output);
tq_status tq_add_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output);
tq_status tq_sub_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output);
tq_status tq_sub_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output);
tq_status tq_mul_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output);
tq_status tq_mul_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output);
tq_status tq_maximum_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output);
tq_status tq_maximum_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output);
tq_status tq_minimum_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output);
tq_status tq_minimum_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output);

#endif
