/* FULLY_CONNECTED int8 for CPUs with the Arm DSP extension (Cortex-M4/M7/M33/M55): two 16x16
 * multiply-accumulates per SMLAD, two output rows per pass (tq_dsp_dot.h). Bit-exact with
 * tq_fully_connected_s8: the same integer sum, modulo 2^32 as the reference's int32 accumulator.
 * Selected at compile time (tinyq/kernel_select.py) for boards whose CPU has the extension; model.c
 * then refuses to compile for a CPU without it. */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* The accumulator of output row `o`, finished: bias, requantize, clamp. */
static inline int8_t finish(const tq_fully_connected_params *p, int32_t o, uint32_t acc) {
    if (p->bias) acc += (uint32_t)((const int32_t *)p->bias)[o];
    const int32_t c = p->per_channel ? o : 0;
    const int32_t y = tq_multiply_by_quantized_multiplier((int32_t)acc, p->multiplier[c], p->shift[c]);
    return (int8_t)tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* Σ_d (x_d + input_offset) * (w_d + filter_offset) = Σ_d (x_d + input_offset) * w_d + filter_offset * S,
 * with S = Σ_d (x_d + input_offset) computed once per input row (the lowering keeps filter_offset 0 today;
 * the identity keeps the kernel right for any value). */
tq_status tq_fully_connected_s8_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
    TQ_FULLY_CONNECTED_CHECK(p, input, output, INT8_MIN, INT8_MAX);
    TQ_ASSERT(p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 && p->filter_offset >= -127 &&
              p->filter_offset <= 128); /* x + input_offset is an int16 SIMD lane */
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        uint32_t offset_term = 0; /* filter_offset * S, only summed when there is an offset */
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint32_t)(in[d] + p->input_offset);
            offset_term *= (uint32_t)p->filter_offset;
        }
        int32_t o = 0;
        for (; o + 1 < p->output_depth; o += 2) {
            const int8_t *w0 = p->weights + o * depth;
            uint32_t acc0 = offset_term, acc1 = offset_term;
            tq_dsp_dot2(in, w0, w0 + depth, depth, p->input_offset, &acc0, &acc1);
            out[o] = finish(p, o, acc0);
            out[o + 1] = finish(p, o + 1, acc1);
        }
        if (o < p->output_depth) { /* odd output_depth: the last row alone */
            out[o] = finish(p, o, tq_dsp_dot1(in, p->weights + o * depth, depth, p->input_offset, offset_term));
        }
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
