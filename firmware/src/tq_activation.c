/* Activations, reference kernels: TFLM ReluQuantized, Relu6Quantized, QuantizeLeakyRelu and HardSwish. */
#include "tinyq/tq_activation.h"
#include "tinyq/tq_fixedpoint.h"

/* int32 addition that wraps instead of overflowing (TFLM's int32 arithmetic on every target). */
static inline int32_t add_wrap_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* Kernel contracts (TQ_ENABLE_ASSERT): pointers, a size, offsets that cannot overflow int32 when added to a
 * stored value, the clamp inside the output type [lo, hi]. Shifts are checked by the fixed-point primitives. */
#define RELU_CHECK(p, input, output, lo, hi)                                                              \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 &&                     \
              TQ_OFFSET_OK((p)->input_offset) && TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)))
#define RELU6_CHECK(p, input, output, lo, hi)                                                             \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 &&                     \
              TQ_ACT_OK((p)->lower, (p)->upper, (lo), (hi)))
#define LEAKY_RELU_CHECK(p, input, output)                                                                \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 &&                     \
              TQ_OFFSET_OK((p)->input_offset) && (p)->multiplier_identity >= 0 &&                        \
              (p)->multiplier_alpha != INT32_MIN) /* a negative alpha multiplier is negated */

static inline int32_t relu_one(const tq_relu_params *p, int32_t x) {
    const int32_t y = tq_multiply_by_quantized_multiplier(x + p->input_offset, p->multiplier, p->shift);
    return tq_clamp_i32(add_wrap_i32(y, p->output_offset), p->act_min, p->act_max);
}

tq_status tq_relu_s8(const tq_relu_params *p, const int8_t *input, int8_t *output) {
    RELU_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)relu_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_relu_s16(const tq_relu_params *p, const int16_t *input, int16_t *output) {
    RELU_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)relu_one(p, input[i]);
    }
    return TQ_OK;
}

tq_status tq_relu6_s8(const tq_relu6_params *p, const int8_t *input, int8_t *output) {
    RELU6_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(input[i], p->lower, p->upper);
    }
    return TQ_OK;
}

tq_status tq_relu6_s16(const tq_relu6_params *p, const int16_t *input, int16_t *output) {
    RELU6_CHECK(p, input, output, INT16_MIN, INT16_MAX);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(input[i], p->lower, p->upper);
    }
    return TQ_OK;
}

static inline int32_t leaky_relu_one(const tq_leaky_relu_params *p, int32_t x) {
    const int32_t v = x + p->input_offset;
    int32_t y;
    if (v >= 0) {
        y = tq_multiply_by_quantized_multiplier(v, p->multiplier_identity, p->shift_identity);
    } else if (p->multiplier_alpha >= 0) {
        y = tq_multiply_by_quantized_multiplier(v, p->multiplier_alpha, p->shift_alpha);
    } else {
        /* TFLM: a negative alpha scales by |alpha| and negates the result (ties round differently
         * from scaling by the negative multiplier). */
        y = (int32_t)(0u - (uint32_t)tq_multiply_by_quantized_multiplier(v, -p->multiplier_alpha, p->shift_alpha));
    }
    return add_wrap_i32(y, p->output_offset);
}

tq_status tq_leaky_relu_s8(const tq_leaky_relu_params *p, const int8_t *input, int8_t *output) {
    LEAKY_RELU_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)tq_clamp_i32(leaky_relu_one(p, input[i]), INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}

tq_status tq_leaky_relu_s16(const tq_leaky_relu_params *p, const int16_t *input, int16_t *output) {
    LEAKY_RELU_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)tq_clamp_i32(leaky_relu_one(p, input[i]), INT16_MIN, INT16_MAX);
    }
    return TQ_OK;
}

/* --- 16-bit fixed point of TFLM's HardSwish: gemmlowp's int16 instantiations, int16 wrapping included --- */

/* gemmlowp SaturatingRoundingDoublingHighMul<int16_t>: ties toward +inf. C's division truncates toward
 * zero, as TFLM's `/ (1 << 15)`. */
static inline int16_t hs_srdhm_s16(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

static inline int16_t hs_sdhm_s16(int16_t a, int16_t b) { /* TFLM SaturatingDoublingHighMul (SQDMULH): truncating */
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* gemmlowp RoundingDivideByPOT<int16_t>: ties away from zero, 0 <= exponent <= 31. The mask is an int16_t,
 * so it wraps for exponent >= 16, exactly as in TFLM. */
static inline int16_t hs_rdbp_s16(int16_t x, int exponent) {
    const int16_t mask = (int16_t)(uint16_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static inline int16_t hs_saturating_left_shift_s16(int16_t x, int amount) { /* TFLM SaturatingLeftShift */
    const int64_t y = (int64_t)x * ((int64_t)1 << amount);
    return (int16_t)(y > INT16_MAX ? INT16_MAX : (y < INT16_MIN ? INT16_MIN : y));
}

tq_status tq_hard_swish_s8(const tq_hard_swish_params *p, const int8_t *input, int8_t *output) {
    /* |input + offset| <= 255 keeps v * 128 inside int16; the Q15 multipliers are int16 values */
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->size >= 0);
    TQ_ASSERT(p->input_offset >= -127 && p->input_offset <= 128 && TQ_OFFSET_OK(p->output_offset));
    TQ_ASSERT(p->output_multiplier_q15 >= 0 && p->output_multiplier_q15 <= 32767);
    TQ_ASSERT(p->reluish_multiplier_q15 >= 0 && p->reluish_multiplier_q15 <= 32767);
    TQ_ASSERT(p->output_shift >= -31 && p->output_shift <= 0 && p->reluish_shift >= -31 && p->reluish_shift <= 30);
    for (int32_t i = 0; i < p->size; ++i) {
        const int16_t v = (int16_t)(input[i] + p->input_offset);
        /* |v| <= 255, so v * 128 fits int16: the input on a "hires" scale with 7 more fraction bits */
        const int16_t hires = (int16_t)(v * 128);
        const int16_t preshift_out = hs_srdhm_s16(hires, (int16_t)p->output_multiplier_q15);
        /* rescale x from [-3, 3] to [-1, 1] in Q0.15, saturating; the left shift is split so that any
         * saturation happens in the last step (TFLM's comment explains why) */
        int16_t reluish = hires;
        if (p->reluish_shift > 0) reluish = hs_saturating_left_shift_s16(reluish, p->reluish_shift - 1);
        reluish = hs_srdhm_s16(reluish, (int16_t)p->reluish_multiplier_q15);
        if (p->reluish_shift > 0) reluish = hs_saturating_left_shift_s16(reluish, 1);
        if (p->reluish_shift < 0) reluish = hs_rdbp_s16(reluish, -p->reluish_shift);
        reluish = (int16_t)((reluish + (1 << 15)) >> 1); /* [-1, 1] -> [0, 1] */
        int16_t out = hs_rdbp_s16(hs_sdhm_s16(reluish, preshift_out), -p->output_shift);
        out = (int16_t)(uint16_t)((uint32_t)(int32_t)out + (uint32_t)p->output_offset); /* int16 add, as TFLM */
        output[i] = (int8_t)tq_clamp_i32(out, INT8_MIN, INT8_MAX);
    }
    return TQ_OK;
}
