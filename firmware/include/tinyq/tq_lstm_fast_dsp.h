/* UNIDIRECTIONAL_SEQUENCE_LSTM int8 on the Arm DSP extension with everything the step can take from compile time
 * prepared by tinyq/specialize/lstm_dsp.py: bit-exact with tq_lstm_s8 (TFLM's integer LstmStep).
 *   - weights: per gate, groups of 4 units (rows padded with zero rows to a multiple of 4), each group's input
 *     chunks of 4 as 4 words (row 0..3), inputs padded with zero weights to a multiple of 4;
 *   - biases with the input offset (and, for the recurrent FC, the hidden offset) folded in, padded rows 0;
 *   - a requantization row {multiplier, 1 + left shift, round, right shift, mask} of each FC and of the three
 *     cell products, proved exact there (tq_lstm_fast_dsp.c).
 * Each step widens its input row and the hidden state to int16 lanes once (scratch), so that a group's 16 MACs
 * per chunk are one LDRD of the input, two of the weights and 8 SXTB16 + 8 SMLAD. */
#ifndef TINYQ_TQ_LSTM_FAST_DSP_H
#define TINYQ_TQ_LSTM_FAST_DSP_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;
    int32_t time_steps;
    int32_t input_size;
    int32_t units;
    int32_t time_major;        /* 1: input/output [time][batch][...] */
    int32_t hidden_zero_point; /* of the hidden state and the output */
    int32_t input_chunks;      /* ceil(input_size / 4) */
    int32_t hidden_chunks;     /* ceil(units / 4) */
    const int8_t *input_weights;     /* [4 gates][hidden_chunks groups][input_chunks][4 rows][4 inputs] */
    const int8_t *recurrent_weights; /* [4 gates][hidden_chunks groups][hidden_chunks][4 rows][4 units] */
    const int32_t *input_bias;       /* [4][4 hidden_chunks]: bias + input_offset * sum(w) */
    const int32_t *recurrent_bias;   /* [4][4 hidden_chunks]: -hidden_zero_point * sum(w) */
    const int32_t *gate_requant;     /* [4 gates][input FC, recurrent FC][5]: rows into Q3.12 */
    const int32_t *cell_requant;     /* [forget x cell, input x cell gate, tanh(cell) x output gate][5] */
    int32_t use_cell_clip, cell_clip;
    int32_t cell_tanh_multiplier, cell_tanh_right_shift; /* tanh(cell)'s int16 input rescale */
    const uint16_t *sigmoid_table;                       /* [256] TFLM's */
} tq_lstm_s8_fast_params;

/**
 * tq_lstm_s8's contract (input, output, hidden and cell as there).
 * @param scratch 8 * 4 * hidden_chunks bytes of gates, then 8 * input_chunks and 8 * hidden_chunks bytes of
 *                widened input and hidden state; 4-byte aligned
 */
tq_status tq_lstm_s8_fast_dsp(const tq_lstm_s8_fast_params *p, const int8_t *input, int8_t *output, int8_t *hidden,
                              int16_t *cell, void *scratch);

#endif
