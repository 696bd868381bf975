/* UNIDIRECTIONAL_SEQUENCE_LSTM, integer: TFLM's LstmStep (int8 or int16 activations, int8 weights, int16 cell). */
#ifndef TINYQ_TQ_LSTM_H
#define TINYQ_TQ_LSTM_H

#include "tinyq/tq_types.h"

/* Gates in the order input, forget, cell, output. Multipliers Q31, shifts positive = left. */
typedef struct {
    int32_t batches;
    int32_t time_steps;
    int32_t input_size;
    int32_t units;              /* state dimension */
    int32_t time_major;         /* 1: input/output [time][batch][...]; 0: [batch][time][...] */
    int32_t input_offset;       /* -input zero point */
    int32_t hidden_zero_point;  /* of the hidden state (and the output) */
    int32_t input_multiplier[4], input_shift[4];         /* input x input weights + bias -> Q3.12 */
    int32_t recurrent_multiplier[4], recurrent_shift[4]; /* hidden x recurrent weights -> Q3.12 */
    int32_t forget_multiplier, forget_shift; /* forget gate (Q0.15) x cell -> cell */
    int32_t update_multiplier, update_shift; /* input gate x cell gate (Q0.15) -> cell */
    int32_t output_multiplier, output_shift; /* tanh(cell) x output gate (Q0.15) -> hidden */
    int32_t use_cell_clip, cell_clip;        /* cell kept in [-cell_clip, cell_clip] when use_cell_clip */
    int32_t cell_tanh_multiplier, cell_tanh_right_shift; /* tanh(cell): int16 tanh input rescale */
    const int8_t *input_weights;     /* [4][units][input_size] */
    const int8_t *recurrent_weights; /* [4][units][units] */
    const void *bias;                /* int32_t (_s8) or int64_t (_s16) [4][units] */
    const uint16_t *sigmoid_table;   /* [256] TFLM's sigmoid table */
} tq_lstm_params;

/**
 * One invoke: every time step of every batch row. The hidden and cell states persist between calls (model.c's
 * state buffer); each step reads them and writes them back, and the step's output is the new hidden state.
 * @param[in]     input    [batches][time_steps][input_size] (time_major: [time_steps][batches][input_size])
 * @param[out]    output   [batches][time_steps][units] (time_major: [time_steps][batches][units])
 * @param[in,out] hidden   [batches][units], the activation type
 * @param[in,out] cell     [batches][units]
 * @param         scratch  4 * units int16_t (the step's gates), then units int32_t; 4-byte aligned
 */
tq_status tq_lstm_s8(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden, int16_t *cell,
                     void *scratch);
/* tq_lstm_s8 with the Arm DSP extension (the gate matmuls on SMLAD): the same integers. */
tq_status tq_lstm_s8_dsp(const tq_lstm_params *p, const int8_t *input, int8_t *output, int8_t *hidden,
                         int16_t *cell, void *scratch);
tq_status tq_lstm_s16(const tq_lstm_params *p, const int16_t *input, int16_t *output, int16_t *hidden,
                      int16_t *cell, void *scratch);

#endif
