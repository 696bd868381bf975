/* FULLY_CONNECTED 16x8 on the Arm DSP extension: int16 activation pairs times int16-widened weight pairs,
 * one SMLAD each: two input rows x two output rows per pass (a pointwise conv's pixels), a single input row
 * with four output rows sharing its activation loads (then two, then one); int32 sums started at the bias
 * (exact: tinyq/specialize/s16_dsp.py proves they cannot leave int32), requantized with a precomputed row.
 * Bit-exact with tq_fully_connected_s16 (firmware/include/tinyq/tq_s16_dsp.h). */
#include "tinyq/tq_s16_dsp.h"
#include "tq_s16_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* the kernel for one requantization path and clamp kind (constants: TQ_S16_SPECIALIZED makes each copy) */
static inline __attribute__((always_inline)) void rows_of(const tq_fully_connected_s16_dsp_params *p,
                                                          const int16_t *input, int16_t *output, const int32_t r64,
                                                          const int32_t clamp) {
    const int32_t depth = p->accum_depth, n_out = p->output_depth;
    int32_t b = 0;
    for (; b + 1 < p->batches; b += 2) { /* two rows at a time (a pointwise conv's pixels): pairs of pairs */
        const int16_t *in0 = input + b * depth, *in1 = in0 + depth;
        int16_t *out0 = output + b * n_out, *out1 = out0 + n_out;
        int32_t o = 0;
        for (; o + 1 < n_out; o += 2) {
            const int16_t *w0 = p->weights16 + o * depth;
            int32_t a[4] = {p->bias[o], p->bias[o + 1], p->bias[o], p->bias[o + 1]};
            tq_s16_dot2x2(in0, in1, w0, w0 + depth, depth, a);
            const int32_t *row = p->rows + 3 * o;
            out0[o] = tq_s16_finish(a[0], row, r64, clamp, p->act_min, p->act_max);
            out0[o + 1] = tq_s16_finish(a[1], row + 3, r64, clamp, p->act_min, p->act_max);
            out1[o] = tq_s16_finish(a[2], row, r64, clamp, p->act_min, p->act_max);
            out1[o + 1] = tq_s16_finish(a[3], row + 3, r64, clamp, p->act_min, p->act_max);
        }
        if (o < n_out) { /* odd output depth: the last weight row against both activation rows */
            int32_t a0 = p->bias[o], a1 = p->bias[o];
            tq_s16_dot2(p->weights16 + o * depth, in0, in1, depth, &a0, &a1);
            out0[o] = tq_s16_finish(a0, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
            out1[o] = tq_s16_finish(a1, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
        }
    }
    output += b * n_out;
    for (; b < p->batches; ++b) { /* one row: four weight rows share its activation loads */
        const int16_t *in = input + b * depth;
        int32_t o = 0;
        for (; o + 3 < n_out; o += 4) {
            int32_t a[4] = {p->bias[o], p->bias[o + 1], p->bias[o + 2], p->bias[o + 3]};
            tq_s16_dot4(in, p->weights16 + o * depth, depth, depth, a);
            const int32_t *row = p->rows + 3 * o; /* unrolled: a[] stays in registers */
            output[0] = tq_s16_finish(a[0], row, r64, clamp, p->act_min, p->act_max);
            output[1] = tq_s16_finish(a[1], row + 3, r64, clamp, p->act_min, p->act_max);
            output[2] = tq_s16_finish(a[2], row + 6, r64, clamp, p->act_min, p->act_max);
            output[3] = tq_s16_finish(a[3], row + 9, r64, clamp, p->act_min, p->act_max);
            output += 4;
        }
        if (o + 1 < n_out) {
            const int16_t *w0 = p->weights16 + o * depth;
            int32_t a0 = p->bias[o], a1 = p->bias[o + 1];
            tq_s16_dot2(in, w0, w0 + depth, depth, &a0, &a1);
            *output++ = tq_s16_finish(a0, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
            *output++ = tq_s16_finish(a1, p->rows + 3 * o + 3, r64, clamp, p->act_min, p->act_max);
            o += 2;
        }
        if (o < n_out) { /* odd output depth: the last row alone */
            const int32_t a = tq_s16_dot1(in, p->weights16 + o * depth, depth, p->bias[o]);
            *output++ = tq_s16_finish(a, p->rows + 3 * o, r64, clamp, p->act_min, p->act_max);
        }
    }
}

tq_status tq_fully_connected_s16_dsp(const tq_fully_connected_s16_dsp_params *p, const int16_t *input,
                                     int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->weights16 != NULL && p->bias != NULL &&
              p->rows != NULL && p->batches >= 1 && p->accum_depth >= 1 && p->output_depth >= 1);
#define ROWS(r64, clamp) rows_of(p, input, output, r64, clamp)
    TQ_S16_SPECIALIZED(p, ROWS);
#undef ROWS
    return TQ_OK;
}
#else
typedef int tq_fully_connected_s16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
