/* QUANTIZE and DEQUANTIZE (TFLite), as TFLite Micro computes them. Elementwise over `size` elements.
 * The float32 <-> integer kernels are the only tinyq kernels that use float at run time: they evaluate
 * TFLM's float32 expressions exactly (IEEE single precision, round to nearest even, no fused multiply-add).
 */
#ifndef TINYQ_TQ_QUANTIZE_H
#define TINYQ_TQ_QUANTIZE_H

#include "tinyq/tq_types.h"

/* float32 -> int: clamp(roundf(x / scale) + output_offset), the division in float32 (TFLM AffineQuantize). */
typedef struct {
    int32_t size;          /* elements */
    float scale;           /* output scale */
    int32_t output_offset; /* +output zero point */
} tq_quantize_params;

/* int -> int: clamp(MultiplyByQuantizedMultiplier(x + input_offset) + output_offset) (TFLM Requantize). */
typedef struct {
    int32_t size;
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    int32_t multiplier;    /* Q31, input_scale / output_scale */
    int32_t shift;         /* positive = left, [-31, 30] */
} tq_requantize_params;

/* int -> float32: scale * (float)(x + input_offset), one float32 multiply (TFLM Dequantize). */
typedef struct {
    int32_t size;
    int32_t input_offset; /* -input zero point */
    float scale;          /* input scale */
} tq_dequantize_params;

/**
 * float32 -> int8/int16. Equal to TFLM wherever TFLM is defined (|x / scale| < 2^31); beyond that the
 * result saturates (+inf and values above the range to the dtype maximum, -inf and below to the minimum)
 * and NaN gives the zero point. Defined behaviour for every float input.
 * @param[in]  input   float [size]
 * @param[out] output  [size]
 */
tq_status tq_quantize_f32_s8(const tq_quantize_params *p, const float *input, int8_t *output);
tq_status tq_quantize_f32_s16(const tq_quantize_params *p, const float *input, int16_t *output);
/* float32 -> uint8, the same rule: model.h's helper for a uint8 input (TFLM has no float32 -> uint8 QUANTIZE) */
tq_status tq_quantize_f32_u8(const tq_quantize_params *p, const float *input, uint8_t *output);

/**
 * Integer requantization tq_requantize_<input>_<output>; the result is clamped to the output dtype.
 * @param[in]  input   [size]
 * @param[out] output  [size]
 */
tq_status tq_requantize_s8_s8(const tq_requantize_params *p, const int8_t *input, int8_t *output);
tq_status tq_requantize_s8_s16(const tq_requantize_params *p, const int8_t *input, int16_t *output);
tq_status tq_requantize_s8_s32(const tq_requantize_params *p, const int8_t *input, int32_t *output);
tq_status tq_requantize_s16_s8(const tq_requantize_params *p, const int16_t *input, int8_t *output);
tq_status tq_requantize_s16_s16(const tq_requantize_params *p, const int16_t *input, int16_t *output);
tq_status tq_requantize_s16_s32(const tq_requantize_params *p, const int16_t *input, int32_t *output);
tq_status tq_requantize_s32_s8(const tq_requantize_params *p, const int32_t *input, int8_t *output);
tq_status tq_requantize_s32_s16(const tq_requantize_params *p, const int32_t *input, int16_t *output);
tq_status tq_requantize_u8_s8(const tq_requantize_params *p, const uint8_t *input, int8_t *output);
tq_status tq_requantize_s8_u8(const tq_requantize_params *p, const int8_t *input, uint8_t *output);

/**
 * int8/int16/uint8 -> float32.
 * @param[in]  input   [size]
 * @param[out] output  float [size]
 */
tq_status tq_dequantize_s8_f32(const tq_dequantize_params *p, const int8_t *input, float *output);
tq_status tq_dequantize_s16_f32(const tq_dequantize_params *p, const int16_t *input, float *output);
tq_status tq_dequantize_u8_f32(const tq_dequantize_params *p, const uint8_t *input, float *output);

#endif
