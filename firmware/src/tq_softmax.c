/* Softmax, reference kernels (arithmetic of TFLM reference_ops::Softmax / SoftmaxInt16). */
#include "tinyq/tq_softmax.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_gemmlowp.h"

#define TQ_SOFTMAX_SCALED_DIFF_INTEGER_BITS 5  /* exp() input is Q5.26 */
#define TQ_SOFTMAX_ACCUMULATION_INTEGER_BITS 12 /* sum of exps is Q12.19 */

/* Kernel contracts (TQ_ENABLE_ASSERT). */
#define SOFTMAX_S8_CHECK(p, input, output)                                                                  \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->outer_size >= 0 && (p)->depth >= 1 && \
              (p)->input_multiplier >= 0 && (p)->input_shift >= 0 && (p)->input_shift <= 31 && (p)->diff_min <= 0)
/* depth <= 65536 keeps the int32 sum of Q0.15 exps from overflowing */
#define SOFTMAX_S16_CHECK(p, input, output)                                                                 \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->outer_size >= 0 && (p)->depth >= 1 && \
              (p)->depth <= 65536 && (p)->exp_lut != NULL && (p)->one_over_one_plus_x_lut != NULL &&          \
              (input) != (const int16_t *)(output))

/* exp(input - row max) in Q0.31 for an int8 element with diff >= diff_min. The left shift cannot
 * overflow: |diff| <= -diff_min = floor(31 * 2^26 / 2^input_shift). */
static int32_t softmax_s8_exp(const tq_softmax_params *p, int32_t diff) {
    const int32_t rescaled = tq_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)diff << p->input_shift),
                                                                      p->input_multiplier);
    return tq_exp_on_negative_values(rescaled, TQ_SOFTMAX_SCALED_DIFF_INTEGER_BITS);
}

/* Per-row state of the int8 kernels: the first pass (max, sum of exps, reciprocal) fills it, the second
 * pass turns each element into an output value; both output types share the two functions below. */
typedef struct {
    int32_t max_in_row;
    int32_t shifted_scale; /* Q0.31 reciprocal of the sum of exps */
    int exponent;          /* final rounding right shift */
} softmax_s8_row;

static softmax_s8_row softmax_s8_prepare_row(const tq_softmax_params *p, const int8_t *in, int output_bits) {
    softmax_s8_row row;
    int32_t max_in_row = INT8_MIN;
    for (int32_t c = 0; c < p->depth; ++c) max_in_row = tq_max_i32(max_in_row, in[c]);
    int32_t sum_of_exps = 0; /* Q12.19; wraps like TFLM's int32 sum only for rows of 4096+ values */
    for (int32_t c = 0; c < p->depth; ++c) {
        const int32_t diff = in[c] - max_in_row;
        if (diff >= p->diff_min) {
            sum_of_exps = tq_gl_add(sum_of_exps, tq_rounding_divide_by_pot(softmax_s8_exp(p, diff),
                                                                           TQ_SOFTMAX_ACCUMULATION_INTEGER_BITS));
        }
    }
    int num_bits_over_unit;
    row.max_in_row = max_in_row;
    row.shifted_scale = tq_get_reciprocal(sum_of_exps, TQ_SOFTMAX_ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
    /* TFLM TFLITE_CHECKs exponent <= 31, reachable only for rows of 512+ values: tinyq saturates it */
    row.exponent = tq_min_i32(num_bits_over_unit + 31 - output_bits, 31);
    return row;
}

static int32_t softmax_s8_value(const tq_softmax_params *p, const softmax_s8_row *row, int32_t x, int32_t out_min,
                                int32_t out_max) {
    const int32_t diff = x - row->max_in_row;
    if (diff < p->diff_min) return out_min;
    const int32_t exp_in_0 = softmax_s8_exp(p, diff);
    const int32_t scaled = tq_saturating_rounding_doubling_high_mul(row->shifted_scale, exp_in_0);
    const int32_t unsat = tq_rounding_divide_by_pot(scaled, row->exponent);
    return tq_clamp_i32(unsat + out_min, out_min, out_max);
}

tq_status tq_softmax_s8(const tq_softmax_params *p, const int8_t *input, int8_t *output) {
    SOFTMAX_S8_CHECK(p, input, output);
    for (int32_t i = 0; i < p->outer_size; ++i) {
        const int8_t *in = input + i * p->depth;
        const softmax_s8_row row = softmax_s8_prepare_row(p, in, 8);
        for (int32_t c = 0; c < p->depth; ++c) {
            output[i * p->depth + c] = (int8_t)softmax_s8_value(p, &row, in[c], INT8_MIN, INT8_MAX);
        }
    }
    return TQ_OK;
}

tq_status tq_softmax_s8_s16(const tq_softmax_params *p, const int8_t *input, int16_t *output) {
    SOFTMAX_S8_CHECK(p, input, output);
    for (int32_t i = 0; i < p->outer_size; ++i) {
        const int8_t *in = input + i * p->depth;
        const softmax_s8_row row = softmax_s8_prepare_row(p, in, 16);
        for (int32_t c = 0; c < p->depth; ++c) {
            output[i * p->depth + c] = (int16_t)softmax_s8_value(p, &row, in[c], INT16_MIN, INT16_MAX);
        }
    }
    return TQ_OK;
}

/* TFLM LUTLookup(int16_t, lut[513]): the top 9 bits index a segment, the low 7 bits interpolate.
 * The slope and the sum are stored in int16_t, as TFLM does (they never wrap for these LUTs). */
static int16_t softmax_lut_lookup(int16_t value, const int16_t *lut) {
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7F;
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - base);
    const int32_t delta = (slope * offset + 64) >> 7;
    return (int16_t)(base + delta);
}

tq_status tq_softmax_s16(const tq_softmax_params *p, const int16_t *input, int16_t *output) {
    SOFTMAX_S16_CHECK(p, input, output);
    for (int32_t i = 0; i < p->outer_size; ++i) {
        const int16_t *in = input + i * p->depth;
        int16_t *exp_q015 = output + i * p->depth; /* exp values are kept in the output row */
        int32_t max_in_row = INT16_MIN;
        for (int32_t c = 0; c < p->depth; ++c) max_in_row = tq_max_i32(max_in_row, in[c]);
        int32_t sum_of_exps = 0; /* Q16.15 */
        for (int32_t c = 0; c < p->depth; ++c) {
            /* [-65535, 0] maps to [-10, 0], recentred to [-32768, 32767] for the LUT */
            const int32_t scaled = tq_multiply_by_quantized_multiplier(in[c] - max_in_row, p->input_multiplier,
                                                                       p->input_shift);
            exp_q015[c] = softmax_lut_lookup((int16_t)tq_clamp_i32(scaled + 32767, INT16_MIN, INT16_MAX), p->exp_lut);
            sum_of_exps += exp_q015[c];
        }
        /* reciprocal of the sum: 1/(1+x) LUT on x = normalised sum - 1, recentred from [0, 65535] */
        const int headroom_plus_one = tq_count_leading_zeros((uint32_t)sum_of_exps);
        TQ_ASSERT(sum_of_exps > 0 && headroom_plus_one <= 30); /* the row max alone adds about 32767 */
        const int32_t shifted_sum = (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        const int32_t sym_shifted_sum = tq_clamp_i32(shifted_sum - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX);
        const int32_t reciprocal_q015 = softmax_lut_lookup((int16_t)sym_shifted_sum, p->one_over_one_plus_x_lut);
        const int right_shift = 31 - headroom_plus_one;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t result = (int32_t)(((int64_t)exp_q015[c] * reciprocal_q015 + round) >> right_shift);
            exp_q015[c] = (int16_t)tq_clamp_i32(result, 0, INT16_MAX);
        }
    }
    return TQ_OK;
}
