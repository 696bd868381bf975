/* ADD int8 with each input's rescale read from a 256-entry table computed at compile time
 * (tinyq/specialize/add_dsp.py), for CPUs with the Arm DSP extension (SMMULR, SSAT).
 * table_k[(uint8_t)x] = 2 * MBQM_smaller_than_one((x + input_k_offset) << 20, input_k_multiplier, input_k_shift),
 * TFLM's rescaled input, doubled for SMMULR: exact by construction. 1 KB of flash per table, 2 KB a layer.
 * The sum's requantization is tq_requant_fast (tq_requant_fast.h) with the output offset folded into the
 * rounding constant: out = clamp((h + round + (h >> 31)) >> right_shift), h = SMMULR(t1 + t2, multiplier).
 * Broadcasting: the loop nest of tq_elementwise_params (tq_elementwise.h), innermost strides 0 or 1.
 */
#ifndef TINYQ_TQ_ADD_S8_TABLE_DSP_H
#define TINYQ_TQ_ADD_S8_TABLE_DSP_H

#include "tinyq/tq_types.h"

#define TQ_ADD_TABLE_MAX_RANK 6

typedef struct {
    int32_t rank;                               /* loops in the nest: 1..TQ_ADD_TABLE_MAX_RANK */
    int32_t shape[TQ_ADD_TABLE_MAX_RANK];       /* output extent of each loop, outermost first */
    int32_t input1_stride[TQ_ADD_TABLE_MAX_RANK]; /* elements input 1 advances per step; 0 = broadcast */
    int32_t input2_stride[TQ_ADD_TABLE_MAX_RANK];
    const int32_t *table1; /* [256], indexed by the input byte as uint8 */
    const int32_t *table2;
    int32_t multiplier;  /* Q31 output multiplier */
    int32_t round;       /* 2^(right_shift - 1) + output_offset * 2^right_shift */
    int32_t right_shift; /* 1..30 */
    int32_t act_min, act_max;
} tq_add_s8_table_params;

/**
 * The same integers as tq_add_s8 on the lowered record the preparer started from.
 * @param[in]  p       parameters (see struct)
 * @param[in]  input1  input 1 in its own shape
 * @param[in]  input2  input 2 in its own shape
 * @param[out] output  the broadcast output shape
 */
tq_status tq_add_s8_table_dsp(const tq_add_s8_table_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output);

#endif
