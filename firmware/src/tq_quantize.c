/* QUANTIZE / DEQUANTIZE, reference kernels: TFLM AffineQuantize, Requantize and Dequantize. */
#include "tinyq/tq_quantize.h"
#include "tinyq/tq_fixedpoint.h"

#include <float.h>
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "tq_quantize.c needs float expressions evaluated in float (FLT_EVAL_METHOD 0), as TFLM on Arm and x86-64"
#endif

/* |x / scale| is clamped to this before the float -> int conversion: any larger value clamps to the
 * output dtype anyway (|zero point| <= 2^16), and the conversion stays defined. */
#define TQ_QUANTIZE_LIMIT 131072.0f

/* TFLM: (int32_t)roundf(x / scale) + zero_point. roundf (half away from zero) is written out so no libm
 * is needed: for |q| <= 2^17, q - trunc(q) is exact. */
static inline int32_t quantize_one(const tq_quantize_params *p, float x) {
    float q = x / p->scale;
    if (q > TQ_QUANTIZE_LIMIT) q = TQ_QUANTIZE_LIMIT;
    if (!(q >= -TQ_QUANTIZE_LIMIT)) q = -TQ_QUANTIZE_LIMIT; /* NaN too */
    int32_t r = (int32_t)q; /* truncates toward zero */
    const float frac = q - (float)r;
    if (frac >= 0.5f) r += 1;
    if (frac <= -0.5f) r -= 1;
    return r + p->output_offset;
}

tq_status tq_quantize_f32_s8(const tq_quantize_params *p, const float *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(quantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_quantize_f32_s16(const tq_quantize_params *p, const float *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(quantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

/* int32 addition that wraps instead of overflowing (TFLM's int32 arithmetic on every target). */
static inline int32_t add_wrap_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

static inline int32_t requantize_one(const tq_requantize_params *p, int32_t x) {
    const int32_t v = add_wrap_i32(x, p->input_offset);
    return add_wrap_i32(tq_multiply_by_quantized_multiplier(v, p->multiplier, p->shift), p->output_offset);
}

tq_status tq_requantize_s8_s8(const tq_requantize_params *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s8_s16(const tq_requantize_params *p, const int8_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s8_s32(const tq_requantize_params *p, const int8_t *input, int32_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = requantize_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s8(const tq_requantize_params *p, const int16_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s16(const tq_requantize_params *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s32(const tq_requantize_params *p, const int16_t *input, int32_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = requantize_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_requantize_s32_s8(const tq_requantize_params *p, const int32_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s32_s16(const tq_requantize_params *p, const int32_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

/* TFLM: (float)(scale * (x - zero_point)). TFLM multiplies in double, but the double product of a float32
 * scale and a 17-bit integer is exact, so rounding it to float equals this single float32 multiply. */
tq_status tq_dequantize_s8_f32(const tq_dequantize_params *p, const int8_t *input, float *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)(input[i] + p->input_offset);
    }
    return TQ_OK;
}

tq_status tq_dequantize_s16_f32(const tq_dequantize_params *p, const int16_t *input, float *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)(input[i] + p->input_offset);
    }
    return TQ_OK;
}
