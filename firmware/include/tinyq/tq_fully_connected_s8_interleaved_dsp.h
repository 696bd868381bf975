/* FULLY_CONNECTED int8 with weights interleaved at compile time (tinyq/specialize/fully_connected_dsp.py), for CPUs
 * with the Arm DSP extension. The record holds what only depends on the weights:
 *   - weights: one uint32 word per (group of 4 output rows, chunk of 4 inputs, row of the group), in that order,
 *     so one pointer walks a group's 4 rows; rows padded with zero weights to a multiple of 4 inputs and zero rows
 *     to a multiple of 4 outputs (bytes little-endian: byte j of a word is input 4c + j);
 *   - bias: the bias with input_offset * sum(w) folded in (the kernel adds sum(x * w) on the raw int8 input);
 *   - requant: rows {multiplier, round, right_shift} of tq_requant_fast (tq_requant_fast.h), one per output row
 *     (4 in all when they are all equal: per-tensor quantization without dead channels), exact with TFLM's
 *     double rounding under the accumulator bound proved by the preparer.
 */
#ifndef TINYQ_TQ_FULLY_CONNECTED_S8_INTERLEAVED_DSP_H
#define TINYQ_TQ_FULLY_CONNECTED_S8_INTERLEAVED_DSP_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;      /* input rows */
    int32_t accum_depth;  /* input features per row (K, not padded) */
    int32_t output_depth; /* output features per row (N, not padded) */
    int32_t output_offset;
    int32_t act_min, act_max;
    const int8_t *weights;  /* [ceil(N/4)][ceil(K/4)][4] words as bytes, see above; TQ_ALIGN-aligned */
    const int32_t *bias;    /* [4 ceil(N/4)] folded biases */
    const int32_t *requant; /* [4 ceil(N/4)][3] tq_requant_row, or [4][3] when every row has the same one */
    int32_t requant_step;   /* int32s from one group's rows to the next: 12, or 0 (one group's rows shared) */
} tq_fully_connected_s8_interleaved_params;

/**
 * The same integers as tq_fully_connected_s8 on the lowered record the preparer started from.
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [batches][accum_depth] int8, any alignment
 * @param[out] output  [batches][output_depth]
 */
tq_status tq_fully_connected_s8_interleaved_dsp(const tq_fully_connected_s8_interleaved_params *p, const int8_t *input,
                                                int8_t *output);

/* int16 weights (--weights-layout int16, tinyq/specialize/fully_connected_dsp.py): the same members, the weights
 * widened at compile time as the inner loop consumes them: per (group of 4 output rows, chunk of 4 inputs, row of
 * the group) two words of int16 pairs, inputs (4c, 4c + 2) then (4c + 1, 4c + 3): twice the int8 layout's flash. */
typedef struct {
    int32_t batches, accum_depth, output_depth, output_offset, act_min, act_max;
    const int16_t *weights; /* [ceil(N/4)][ceil(K/4)][4][4] int16, see above; TQ_ALIGN-aligned */
    const int32_t *bias, *requant;
    int32_t requant_step;
} tq_fully_connected_s8_wide_params;

/** tq_fully_connected_s8_interleaved_dsp with int16 weights: the same integers. */
tq_status tq_fully_connected_s8_wide_dsp(const tq_fully_connected_s8_wide_params *p, const int8_t *input,
                                         int8_t *output);

/** tq_fully_connected_s8_wide_dsp reading the weights by LDRD pairs (the Cortex-M7's: LDRD 1 cycle, LDM 1 + N/2). */
tq_status tq_fully_connected_s8_wide_ldrd_dsp(const tq_fully_connected_s8_wide_params *p, const int8_t *input,
                                              int8_t *output);

/* int16 weights for the Cortex-M4 / M33 (tq_fully_connected_s8_wide_x16_dsp, tinyq/specialize/fully_connected_dsp.py):
 *   - weights: per (group of 4 output rows, chunk of 4 inputs) 8 words of int16 pairs, twice the weights: the 4 rows'
 *     even words (inputs 4c, 4c + 2), then their odd words (4c + 1, 4c + 3); TQ_ALIGN-aligned;
 *   - bias: twice the folded biases (mod 2^32): the kernel's sums are 2 * acc (|acc| < 2^30 is proved);
 *   - requant: tq_requant_fast2 rows with the output offset folded into the rounding term, one per output row, or
 *     one in all (shared = 1);
 *   - scratch: 8 ceil(K/4) + 4 bytes, word-aligned: the input row widened once a row (even, odd word a chunk).
 */
typedef struct {
    int32_t batches, accum_depth, output_depth, act_min, act_max;
    const int16_t *weights; /* [ceil(N/4)][ceil(K/4)][2][4][2] int16, see above */
    const int32_t *bias;    /* [4 ceil(N/4)] */
    const int32_t *requant; /* [4 ceil(N/4)][3], or [1][3] when shared */
    int32_t shared;         /* 1: one requant row for every output row */
} tq_fully_connected_s8_wide_x16_params;

/** tq_fully_connected_s8_wide_dsp's integers, the input row widened into scratch once a row. */
tq_status tq_fully_connected_s8_wide_x16_dsp(const tq_fully_connected_s8_wide_x16_params *p, const int8_t *input,
                                             int8_t *output, void *scratch);

/* int4 weights (tinyq/specialize/int4_dsp.py), weights kept 4-bit in flash; the same struct, laid out as:
 *   - weights: per (group of 4 output rows, chunk of 4 inputs) two words, rows (4g, 4g + 1) then (4g + 2, 4g + 3);
 *     byte j of a word = (w_r[4c + j] << 4) | (w_{r+1}[4c + j] + 8): the even row a signed high nibble, the odd
 *     row an unsigned low nibble offset by 8 (2 bytes a group and chunk a row pair: K/2 bytes a row, padded);
 *   - bias: per row pair {16 f_r + f_{r+1} (mod 2^32), f_{r+1}}, f the folded biases above;
 *   - requant: as above.
 */
typedef tq_fully_connected_s8_interleaved_params tq_fully_connected_s8_int4_params;

/**
 * tq_fully_connected_s8_interleaved_dsp with int4 weights: the same integers as tq_fully_connected_s8_w4 on the
 * lowered record the preparer started from.
 */
tq_status tq_fully_connected_s8_int4_dsp(const tq_fully_connected_s8_int4_params *p, const int8_t *input,
                                         int8_t *output);

#endif
