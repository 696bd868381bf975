/* Logistic and tanh, reference kernels (arithmetic of TFLM reference_integer_ops::Logistic / Tanh). */
#include "tinyq/tq_logistic.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_gemmlowp.h"

#define TQ_LOGISTIC_INPUT_INTEGER_BITS 4 /* the int8 kernels evaluate on Q4.27 */

/* int8 -> Q4.27 -> gemmlowp function (Q0.31) -> rounding shift to output_bits fractional bits.
 * Inside the radius the left shift of the multiply cannot overflow: radius = floor(15 * 2^27 / 2^shift). */
static int8_t logistic_s8_value(const tq_logistic_params *p, int8_t x, int is_tanh) {
    const int32_t input = x + p->input_offset;
    if (input <= -p->input_range_radius) return INT8_MIN;
    if (input >= p->input_range_radius) return INT8_MAX;
    const int32_t input_q4 = tq_multiply_by_quantized_multiplier(input, p->input_multiplier, p->input_shift);
    int32_t y;
    if (is_tanh) {
        y = tq_rounding_divide_by_pot(tq_gemmlowp_tanh(input_q4, TQ_LOGISTIC_INPUT_INTEGER_BITS), 31 - 7);
    } else {
        y = tq_rounding_divide_by_pot(tq_gemmlowp_logistic(input_q4, TQ_LOGISTIC_INPUT_INTEGER_BITS), 31 - 8) - 128;
    }
    return (int8_t)tq_clamp_i32(y, INT8_MIN, INT8_MAX);
}

/* Kernel contracts (TQ_ENABLE_ASSERT). */
#define LOGISTIC_S8_CHECK(p, input, output)                                                                 \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 &&                       \
              TQ_OFFSET_OK((p)->input_offset) && (p)->input_range_radius >= 0 && (p)->input_shift >= 0)
/* the rescaled input stays below 2^30 in magnitude, and the table is read at [0, 255] only */
#define LOGISTIC_S16_CHECK(p, input, output)                                                                \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->size >= 0 &&                       \
              (p)->sigmoid_table != NULL && (p)->input_multiplier >= 0 && (p)->input_multiplier <= 32767 &&  \
              (p)->input_right_shift >= 0 && (p)->input_right_shift <= 31)

tq_status tq_logistic_s8(const tq_logistic_params *p, const int8_t *input, int8_t *output) {
    LOGISTIC_S8_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) output[i] = logistic_s8_value(p, input[i], 0);
    return TQ_OK;
}

tq_status tq_tanh_s8(const tq_logistic_params *p, const int8_t *input, int8_t *output) {
    LOGISTIC_S8_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) output[i] = logistic_s8_value(p, input[i], 1);
    return TQ_OK;
}

/* The int16 input in units of 1/(3*4096); |x * multiplier| < 2^30, so int32 does not overflow. */
static int32_t logistic_s16_rescale(const tq_logistic_s16_params *p, int16_t x) {
    const int32_t round = p->input_right_shift > 0 ? (INT32_C(1) << (p->input_right_shift - 1)) : 0;
    return (x * p->input_multiplier + round) >> p->input_right_shift;
}

/* table[uh] + fraction * (table[uh + 1] - table[uh]) with `fraction_bits` bits of fraction (uh < 255). */
static uint32_t logistic_s16_interpolate(const uint16_t *table, uint32_t abs_input, int fraction_bits) {
    const uint32_t uh = abs_input >> fraction_bits;
    const uint32_t ua = table[uh];
    const uint32_t ub = table[uh + 1];
    const uint32_t ut = abs_input & ((UINT32_C(1) << fraction_bits) - 1);
    return (ua << fraction_bits) + ut * (ub - ua);
}

tq_status tq_logistic_s16(const tq_logistic_s16_params *p, const int16_t *input, int16_t *output) {
    LOGISTIC_S16_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = logistic_s16_rescale(p, input[i]);
        const uint32_t abs_v = (uint32_t)(v < 0 ? -v : v);
        uint32_t result = (abs_v >> 9) >= 255 ? UINT32_C(0x7FFF) << 10 /* saturate */
                                              : logistic_s16_interpolate(p->sigmoid_table, abs_v, 9);
        /* the table is sigmoid(|x|); the negative half is 1 - sigmoid */
        result = v >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
        output[i] = (int16_t)(result >> 10);
    }
    return TQ_OK;
}

tq_status tq_tanh_s16(const tq_logistic_s16_params *p, const int16_t *input, int16_t *output) {
    LOGISTIC_S16_CHECK(p, input, output);
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = logistic_s16_rescale(p, input[i]);
        const uint32_t abs_v = (uint32_t)(v < 0 ? -v : v);
        const int32_t s = (abs_v >> 8) >= 255 ? 0xFFFF << 8 /* saturate */
                                              : (int32_t)logistic_s16_interpolate(p->sigmoid_table, abs_v, 8);
        /* tanh(x) = 2 sigmoid(2x) - 1: the table read at twice the rate, minus one half, doubled */
        const int32_t result = v >= 0 ? s - (1 << 23) + (1 << 7) : -s + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(result >> 8);
    }
    return TQ_OK;
}
