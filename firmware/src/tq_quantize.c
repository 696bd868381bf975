/* QUANTIZE / DEQUANTIZE, reference kernels: TFLM AffineQuantize, Requantize and Dequantize. */
#include "tinyq/tq_quantize.h"
#include "tinyq/tq_fixedpoint.h"

#include <float.h>
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "tq_quantize.c needs float expressions evaluated in float (FLT_EVAL_METHOD 0), as TFLM on Arm and x86-64"
#endif

/* x / scale is clamped to [-LIMIT, LIMIT] in float before the float -> int conversion, so the conversion is
 * always defined (UBSan's float-cast-overflow): any value beyond the limit saturates the output anyway, as
 * the zero point lies in the output type's range (|zero point| <= 2^15). */
#define TQ_QUANTIZE_LIMIT 131072.0f

/* Kernel contracts (TQ_ENABLE_ASSERT): a finite positive scale, the zero point inside [lo, hi]. */
#define QUANTIZE_CHECK(p, input, output, lo, hi)                                                           \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 && (p)->scale > 0.0f &&  \
              (p)->scale <= FLT_MAX && (p)->output_offset >= (lo) && (p)->output_offset <= (hi))

/* TFLM: (int32_t)roundf(x / scale) + zero_point, then the clamp to the output type. roundf (half away from
 * zero) is written out so no libm is needed: for |q| <= 2^17, q - trunc(q) is exact. Beyond TFLM's defined
 * range (it converts without a clamp): +inf and values above the range give the type's maximum, -inf and
 * values below it the minimum, NaN the zero point (tinyq's rule; the simulator does the same). */
static inline int32_t quantize_one(const tq_quantize_params *p, float x) {
    float q = x / p->scale;
    if (q != q) return p->output_offset; /* NaN */
    if (q > TQ_QUANTIZE_LIMIT) q = TQ_QUANTIZE_LIMIT;
    if (q < -TQ_QUANTIZE_LIMIT) q = -TQ_QUANTIZE_LIMIT;
    int32_t r = (int32_t)q; /* truncates toward zero */
    const float frac = q - (float)r;
    if (frac >= 0.5f) r += 1;
    if (frac <= -0.5f) r -= 1;
    return r + p->output_offset;
}

tq_status tq_quantize_f32_s8(const tq_quantize_params *p, const float *input, int8_t *output) {
    QUANTIZE_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(quantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_quantize_f32_s16(const tq_quantize_params *p, const float *input, int16_t *output) {
    QUANTIZE_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(quantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

/* float32 -> uint8: no TFLM QUANTIZE does this (tinyq refuses the op); model.h's quantize helper of a uint8
 * graph input uses it, with the rule tinyq.io applies to float data for such an input. */
tq_status tq_quantize_f32_u8(const tq_quantize_params *p, const float *input, uint8_t *output) {
    QUANTIZE_CHECK(p, input, output, 0, UINT8_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (uint8_t)tq_clamp_i32(quantize_one(p, input[i]), 0, UINT8_MAX);
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
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s8_s16(const tq_requantize_params *p, const int8_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s8_s32(const tq_requantize_params *p, const int8_t *input, int32_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = requantize_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s8(const tq_requantize_params *p, const int16_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s16(const tq_requantize_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s16_s32(const tq_requantize_params *p, const int16_t *input, int32_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = requantize_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_requantize_s32_s8(const tq_requantize_params *p, const int32_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s32_s16(const tq_requantize_params *p, const int32_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(requantize_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

/* uint8 <-> int8 (TFLM's edges for uint8 graph inputs and outputs). TFLM takes a fast path, x ^ 0x80, when the
 * scales are equal (multiplier 2^30, shift 1) and the zero points 128 apart (offset sum -128 for uint8 -> int8,
 * +128 for int8 -> uint8): there the general arithmetic gives the same bytes (the input offset small enough that
 * nothing wraps), so only the speed differs. */
static inline int shift_by_128(const tq_requantize_params *p, int32_t offset_sum) {
    return p->multiplier == (1 << 30) && p->shift == 1 && TQ_OFFSET_OK(p->input_offset) &&
           add_wrap_i32(p->input_offset, p->output_offset) == offset_sum;
}

tq_status tq_requantize_u8_s8(const tq_requantize_params *p, const uint8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    if (shift_by_128(p, -128)) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = (int8_t)(input[i] - 128);
        return TQ_OK;
    }
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(requantize_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_requantize_s8_u8(const tq_requantize_params *p, const int8_t *input, uint8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    if (shift_by_128(p, 128)) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = (uint8_t)(input[i] + 128);
        return TQ_OK;
    }
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (uint8_t)tq_clamp_i32(requantize_one(p, input[i]), 0, UINT8_MAX);
    }
    return TQ_OK;
}

/* TFLM: (float)(scale * (x - zero_point)). TFLM multiplies in double, but the double product of a float32
 * scale and a 17-bit integer is exact, so rounding it to float equals this single float32 multiply. */
tq_status tq_dequantize_s8_f32(const tq_dequantize_params *p, const int8_t *input, float *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0 && TQ_OFFSET_OK(p->input_offset));
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)(input[i] + p->input_offset);
    }
    return TQ_OK;
}

tq_status tq_dequantize_s16_f32(const tq_dequantize_params *p, const int16_t *input, float *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0 && TQ_OFFSET_OK(p->input_offset));
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)(input[i] + p->input_offset);
    }
    return TQ_OK;
}

tq_status tq_dequantize_u8_f32(const tq_dequantize_params *p, const uint8_t *input, float *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0 && TQ_OFFSET_OK(p->input_offset));
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)(input[i] + p->input_offset);
    }
    return TQ_OK;
}
