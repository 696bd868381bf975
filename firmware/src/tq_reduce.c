/* Reductions, reference kernels (arithmetic of TFLM reference reduce.h QuantizedMeanOrSum and ReduceGeneric). */
#include "tinyq/tq_reduce.h"
#include "tinyq/tq_fixedpoint.h"

/* Input strides of the seven dimension groups (row-major). */
static void tq_reduce_strides(const int32_t dims[TQ_REDUCE_GROUPS], int32_t stride[TQ_REDUCE_GROUPS]) {
    stride[TQ_REDUCE_GROUPS - 1] = 1;
    for (int g = TQ_REDUCE_GROUPS - 2; g >= 0; --g) stride[g] = stride[g + 1] * dims[g + 1];
}

/* Every group >= 1 element */
#define TQ_REDUCE_DIMS_OK(d) \
    ((d)[0] >= 1 && (d)[1] >= 1 && (d)[2] >= 1 && (d)[3] >= 1 && (d)[4] >= 1 && (d)[5] >= 1 && (d)[6] >= 1)

/* Kernel contracts (TQ_ENABLE_ASSERT): every group >= 1 element, count = the reduced groups' product. */
#define TQ_MEAN_CHECK(p, input, output)                                                             \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && TQ_REDUCE_DIMS_OK((p)->dims) && \
              (int64_t)(p)->dims[1] * (p)->dims[3] * (p)->dims[5] == (p)->count)

/* Two's-complement bits of x: sums are kept in uint32_t so that wrapping is defined behaviour. */
static inline uint32_t tq_u32(int32_t x) { return (uint32_t)x; }

/* One output value from the wrapped int32 sum of its raw inputs, before the clamp to the output dtype. */
static int32_t tq_mean_value(const tq_mean_params *p, uint32_t sum) {
    /* (int32)(sum - zero_point * count), modulo 2^32 as in TFLM; unsigned arithmetic keeps it defined */
    const uint32_t shifted = sum + tq_u32(p->input_offset) * tq_u32(p->count);
    const int32_t scaled = tq_multiply_by_quantized_multiplier((int32_t)shifted, p->multiplier, p->shift);
    return (int32_t)(tq_u32(scaled) + tq_u32(p->output_offset)); /* TFLM's int32 add, wrapping */
}

tq_status tq_mean_s8(const tq_mean_params *p, const int8_t *input, int8_t *output) {
    TQ_MEAN_CHECK(p, input, output);
    int32_t s[TQ_REDUCE_GROUPS];
    const int32_t *d = p->dims;
    tq_reduce_strides(p->dims, s);
    for (int32_t k0 = 0; k0 < d[0]; ++k0)
        for (int32_t k1 = 0; k1 < d[2]; ++k1)
            for (int32_t k2 = 0; k2 < d[4]; ++k2)
                for (int32_t k3 = 0; k3 < d[6]; ++k3) {
                    const int8_t *in = input + k0 * s[0] + k1 * s[2] + k2 * s[4] + k3;
                    uint32_t sum = 0; /* the int32 sum, wrapping like TFLM's */
                    for (int32_t r0 = 0; r0 < d[1]; ++r0)
                        for (int32_t r1 = 0; r1 < d[3]; ++r1)
                            for (int32_t r2 = 0; r2 < d[5]; ++r2) sum += tq_u32(in[r0 * s[1] + r1 * s[3] + r2 * s[5]]);
                    *output++ = (int8_t)tq_clamp_i32(tq_mean_value(p, sum), INT8_MIN, INT8_MAX);
                }
    return TQ_OK;
}

tq_status tq_mean_s16(const tq_mean_params *p, const int16_t *input, int16_t *output) {
    TQ_MEAN_CHECK(p, input, output);
    int32_t s[TQ_REDUCE_GROUPS];
    const int32_t *d = p->dims;
    tq_reduce_strides(p->dims, s);
    for (int32_t k0 = 0; k0 < d[0]; ++k0)
        for (int32_t k1 = 0; k1 < d[2]; ++k1)
            for (int32_t k2 = 0; k2 < d[4]; ++k2)
                for (int32_t k3 = 0; k3 < d[6]; ++k3) {
                    const int16_t *in = input + k0 * s[0] + k1 * s[2] + k2 * s[4] + k3;
                    uint32_t sum = 0;
                    for (int32_t r0 = 0; r0 < d[1]; ++r0)
                        for (int32_t r1 = 0; r1 < d[3]; ++r1)
                            for (int32_t r2 = 0; r2 < d[5]; ++r2) sum += tq_u32(in[r0 * s[1] + r1 * s[3] + r2 * s[5]]);
                    *output++ = (int16_t)tq_clamp_i32(tq_mean_value(p, sum), INT16_MIN, INT16_MAX);
                }
    return TQ_OK;
}

tq_status tq_reduce_max_s8(const tq_reduce_max_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && TQ_REDUCE_DIMS_OK(p->dims));
    int32_t s[TQ_REDUCE_GROUPS];
    const int32_t *d = p->dims;
    tq_reduce_strides(d, s);
    for (int32_t k0 = 0; k0 < d[0]; ++k0)
        for (int32_t k1 = 0; k1 < d[2]; ++k1)
            for (int32_t k2 = 0; k2 < d[4]; ++k2)
                for (int32_t k3 = 0; k3 < d[6]; ++k3) {
                    const int8_t *in = input + k0 * s[0] + k1 * s[2] + k2 * s[4] + k3;
                    int8_t max = INT8_MIN; /* TFLM's initial value: the lowest int8 */
                    for (int32_t r0 = 0; r0 < d[1]; ++r0)
                        for (int32_t r1 = 0; r1 < d[3]; ++r1)
                            for (int32_t r2 = 0; r2 < d[5]; ++r2) {
                                const int8_t v = in[r0 * s[1] + r1 * s[3] + r2 * s[5]];
                                if (v > max) max = v;
                            }
                    *output++ = max;
                }
    return TQ_OK;
}
