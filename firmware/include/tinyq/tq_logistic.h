/* Logistic and tanh (TFLite LOGISTIC, TANH), elementwise, int8 and int16. */
#ifndef TINYQ_TQ_LOGISTIC_H
#define TINYQ_TQ_LOGISTIC_H

#include "tinyq/tq_types.h"

/* int8: gemmlowp fixed-point logistic/tanh of the input rescaled to Q4.27. */
typedef struct {
    int32_t size;               /* elements */
    int32_t input_offset;       /* -input zero point: [-127, 128] */
    int32_t input_range_radius; /* input + offset <= -radius gives -128, >= radius gives 127 */
    int32_t input_multiplier;   /* Q31: input + offset -> Q4.27 */
    int32_t input_shift;        /* positive = left (TFLite sign), >= 0 */
} tq_logistic_params;

/* int16: interpolated sigmoid table (tanh(x) = 2 sigmoid(2x) - 1). */
typedef struct {
    int32_t size;                  /* elements */
    int32_t input_multiplier;      /* integer (not Q31), [1, 32767]: input -> units of 1/(3*4096) */
    int32_t input_right_shift;     /* rounding right shift after the multiply, [0, 31] */
    const uint16_t *sigmoid_table; /* [256] sigmoid(i/24), Q0.16 (65535 stands for 1.0) */
} tq_logistic_s16_params;

/**
 * @param[in]  input   [size]
 * @param[out] output  [size], scale 1/256, zero point -128
 */
tq_status tq_logistic_s8(const tq_logistic_params *p, const int8_t *input, int8_t *output);

/**
 * @param[in]  input   [size], zero point 0
 * @param[out] output  [size], scale 2^-15, zero point 0, values in [0, 32767]
 */
tq_status tq_logistic_s16(const tq_logistic_s16_params *p, const int16_t *input, int16_t *output);

/**
 * @param[in]  input   [size]
 * @param[out] output  [size], scale 1/128, zero point 0
 */
tq_status tq_tanh_s8(const tq_logistic_params *p, const int8_t *input, int8_t *output);

/**
 * @param[in]  input   [size], zero point 0
 * @param[out] output  [size], scale 2^-15, zero point 0, values in [-32767, 32767]
 */
tq_status tq_tanh_s16(const tq_logistic_s16_params *p, const int16_t *input, int16_t *output);

#endif
