/* FULLY_CONNECTED int8 for CPUs with the Arm DSP extension (Cortex-M4/M7/M33/M55): two 16x16
 * multiply-accumulates per SMLAD, two output rows per pass. Bit-exact with tq_fully_connected_s8:
 * the same integer sum, modulo 2^32 as the reference's int32 accumulator (the order of a modular
 * sum does not matter; see the identity below). Selected at compile time (tinyq/kernel_select.py) for
 * boards whose CPU has the extension; model.c then refuses to compile for a CPU without it. */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

static inline uint32_t load4(const int8_t *x) {
    uint32_t word;
    memcpy(&word, x, sizeof word); /* unaligned-safe; one LDR on Cortex-M */
    return word;
}

/* bytes {1, 3} of a word, sign-extended into two int16 lanes (SXTB16 with its free rotation) */
static inline int16x2_t odd_bytes(uint32_t word) {
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(word));
    return r;
}

static inline int16x2_t pair(int32_t v) { return (int16x2_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16)); }

/* The (int32, wrapping) accumulator of output row `o`, finished: bias, requantize, clamp. */
static inline int8_t finish(const tq_fully_connected_params *p, int32_t o, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[o];
    const int32_t c = p->per_channel ? o : 0;
    int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]) + p->output_offset;
    return (int8_t)tq_clamp_i32(y, p->act_min, p->act_max);
}

/* Σ_d (x_d + input_offset) * (w_d + filter_offset) = Σ_d (x_d + input_offset) * w_d + filter_offset * S,
 * with S = Σ_d (x_d + input_offset) computed once per row of the input; all sums modulo 2^32 as in
 * the reference. The weights go in as plain int8 pairs, two output rows share each widened input. */
tq_status tq_fully_connected_s8_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    const int16x2_t in_off = pair(p->input_offset);
    const int32_t depth = p->accum_depth, blocks = depth & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        uint32_t in_sum = 0;
        for (int32_t d = 0; d < depth; ++d) in_sum += (uint32_t)(in[d] + p->input_offset);
        const uint32_t offset_term = (uint32_t)p->filter_offset * in_sum;
        int32_t o = 0;
        for (; o + 1 < p->output_depth; o += 2) {
            const int8_t *w0 = p->weights + o * depth, *w1 = w0 + depth;
            int32_t acc0 = 0, acc1 = 0;
            for (int32_t d = 0; d < blocks; d += 4) {
                const uint32_t x = load4(in + d), a = load4(w0 + d), c = load4(w1 + d);
                const int16x2_t x_even = __sadd16(__sxtb16((int32_t)x), in_off), x_odd = __sadd16(odd_bytes(x), in_off);
                acc0 = __smlad(x_even, __sxtb16((int32_t)a), acc0);
                acc0 = __smlad(x_odd, odd_bytes(a), acc0);
                acc1 = __smlad(x_even, __sxtb16((int32_t)c), acc1);
                acc1 = __smlad(x_odd, odd_bytes(c), acc1);
            }
            uint32_t u0 = (uint32_t)acc0, u1 = (uint32_t)acc1;
            for (int32_t d = blocks; d < depth; ++d) {
                u0 += (uint32_t)((in[d] + p->input_offset) * w0[d]);
                u1 += (uint32_t)((in[d] + p->input_offset) * w1[d]);
            }
            out[o] = finish(p, o, u0 + offset_term);
            out[o + 1] = finish(p, o + 1, u1 + offset_term);
        }
        if (o < p->output_depth) { /* odd output_depth: the last row alone */
            const int8_t *w0 = p->weights + o * depth;
            int32_t acc0 = 0;
            for (int32_t d = 0; d < blocks; d += 4) {
                const uint32_t x = load4(in + d), a = load4(w0 + d);
                acc0 = __smlad(__sadd16(__sxtb16((int32_t)x), in_off), __sxtb16((int32_t)a), acc0);
                acc0 = __smlad(__sadd16(odd_bytes(x), in_off), odd_bytes(a), acc0);
            }
            uint32_t u0 = (uint32_t)acc0;
            for (int32_t d = blocks; d < depth; ++d) u0 += (uint32_t)((in[d] + p->input_offset) * w0[d]);
            out[o] = finish(p, o, u0 + offset_term);
        }
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
