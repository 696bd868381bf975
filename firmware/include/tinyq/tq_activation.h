/* Activations (TFLite RELU, RELU6, LEAKY_RELU, HARD_SWISH), int8 and int16, as TFLite Micro computes them.
 * Every kernel is elementwise over `size` elements of any shape; input and output may be the same buffer.
 */
#ifndef TINYQ_TQ_ACTIVATION_H
#define TINYQ_TQ_ACTIVATION_H

#include "tinyq/tq_types.h"

/* RELU: requantize input -> output scale, then clamp at the output zero point (TFLM ReluQuantized). */
typedef struct {
    int32_t size;          /* elements */
    int32_t input_offset;  /* -input zero point: [-127, 128] (s8), 0 (s16) */
    int32_t output_offset; /* +output zero point: [-128, 127] (s8), 0 (s16) */
    int32_t multiplier;    /* Q31, input_scale / output_scale */
    int32_t shift;         /* positive = left, [-31, 30] */
    int32_t act_min;       /* output zero point (real 0) */
    int32_t act_max;       /* dtype maximum */
} tq_relu_params;

/* RELU6: clamp in the INPUT's units, no requantization (TFLM Relu6Quantized ignores the output's scale). */
typedef struct {
    int32_t size;
    int32_t lower; /* input zero point (real 0) */
    int32_t upper; /* real 6.0 in input units, clamped to the dtype */
} tq_relu6_params;

/* LEAKY_RELU: one multiplier for inputs at or above the zero point, another (alpha) below it. */
typedef struct {
    int32_t size;
    int32_t input_offset;        /* -input zero point */
    int32_t output_offset;       /* +output zero point */
    int32_t multiplier_identity; /* Q31, input_scale / output_scale */
    int32_t shift_identity;      /* positive = left */
    int32_t multiplier_alpha;    /* Q31, alpha * input_scale / output_scale; negative when alpha < 0 */
    int32_t shift_alpha;         /* positive = left */
} tq_leaky_relu_params;

/* HARD_SWISH: x * relu6(x + 3) / 6 with TFLM's 16-bit fixed-point procedure (int8 only, as TFLM). */
typedef struct {
    int32_t size;
    int32_t input_offset;           /* -input zero point: [-127, 128] */
    int32_t output_offset;          /* +output zero point: [-128, 127] */
    int32_t output_multiplier_q15;  /* Q15, (input_scale / 128) / output_scale: [0, 32767] */
    int32_t output_shift;           /* <= 0: rounding right shift by -output_shift, [-31, 0] */
    int32_t reluish_multiplier_q15; /* Q15, (input_scale / 128) / (3 / 32768): [0, 32767] */
    int32_t reluish_shift;          /* > 0 saturating left shift, < 0 rounding right shift, [-31, 30] */
} tq_hard_swish_params;

/**
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [size]
 * @param[out] output  [size]
 */
tq_status tq_relu_s8(const tq_relu_params *p, const int8_t *input, int8_t *output);
tq_status tq_relu_s16(const tq_relu_params *p, const int16_t *input, int16_t *output);
tq_status tq_relu6_s8(const tq_relu6_params *p, const int8_t *input, int8_t *output);
tq_status tq_relu6_s16(const tq_relu6_params *p, const int16_t *input, int16_t *output);
tq_status tq_leaky_relu_s8(const tq_leaky_relu_params *p, const int8_t *input, int8_t *output);
tq_status tq_leaky_relu_s16(const tq_leaky_relu_params *p, const int16_t *input, int16_t *output);
tq_status tq_hard_swish_s8(const tq_hard_swish_params *p, const int8_t *input, int8_t *output);

#endif
