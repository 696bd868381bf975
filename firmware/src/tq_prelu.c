/* PRELU, reference kernels: TFLM reference_ops::BroadcastPrelu4DSlow (mirrored by tinyq/sim/kernels/prelu.py). */
#include "tinyq/tq_prelu.h"
#include "tinyq/tq_fixedpoint.h"

/* One element. |v| <= 98304 (TQ_OFFSET_OK) and |alpha + alpha_offset| <= 255, so their product fits int32; the output zero
 * point is added in wrapping int32 arithmetic, as TFLM does, before the clamp to [lo, hi]. */
static inline int32_t prelu_one(const tq_prelu_params *p, int32_t x, int32_t a, int32_t lo, int32_t hi) {
    const int32_t v = x + p->input_offset;
    const int32_t y = v >= 0 ? tq_multiply_by_quantized_multiplier(v, p->multiplier_identity, p->shift_identity)
                             : tq_multiply_by_quantized_multiplier(v * (a + p->alpha_offset), p->multiplier_alpha,
                                                                   p->shift_alpha);
    return tq_clamp_i32((int32_t)((uint32_t)y + (uint32_t)p->output_offset), lo, hi);
}

/* One contiguous output row of n elements; the input and alpha step by their own strides (0 or 1). */
typedef void (*prelu_row_fn)(const tq_prelu_params *p, const void *x, const int8_t *a, void *out, int32_t n,
                             int32_t stride_x, int32_t stride_a);

static void prelu_row_s8(const tq_prelu_params *p, const void *x_, const int8_t *a, void *out_, int32_t n,
                         int32_t stride_x, int32_t stride_a) {
    const int8_t *x = (const int8_t *)x_;
    int8_t *out = (int8_t *)out_;
    for (int32_t i = 0; i < n; ++i, x += stride_x, a += stride_a) {
        out[i] = (int8_t)prelu_one(p, *x, *a, INT8_MIN, INT8_MAX);
    }
}

static void prelu_row_s16(const tq_prelu_params *p, const void *x_, const int8_t *a, void *out_, int32_t n,
                          int32_t stride_x, int32_t stride_a) {
    const int16_t *x = (const int16_t *)x_;
    int16_t *out = (int16_t *)out_;
    for (int32_t i = 0; i < n; ++i, x += stride_x, a += stride_a) {
        out[i] = (int16_t)prelu_one(p, *x, *a, INT16_MIN, INT16_MAX);
    }
}

/* The loop nest: rows of the innermost loop, the outer loops stepped as an odometer. */
static tq_status prelu_walk(const tq_prelu_params *p, const void *input, const int8_t *alpha, void *output,
                            int32_t elem_bytes, prelu_row_fn row) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->rank >= 1 && p->rank <= TQ_PRELU_MAX_RANK);
    TQ_ASSERT(TQ_OFFSET_OK(p->input_offset) && p->alpha_offset >= -127 && p->alpha_offset <= 128);
    const int8_t *a = p->alpha_const != NULL ? p->alpha_const : alpha;
    TQ_ASSERT(a != NULL);
    const uint8_t *x = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t inner = p->rank - 1;
    const int32_t n = p->shape[inner];
    TQ_ASSERT((p->input_stride[inner] == 0 || p->input_stride[inner] == 1) &&
              (p->alpha_stride[inner] == 0 || p->alpha_stride[inner] == 1));
    int32_t rows = 1;
    for (int32_t d = 0; d <= inner; ++d) TQ_ASSERT(p->shape[d] >= 1);
    for (int32_t d = 0; d < inner; ++d) rows *= p->shape[d];

    int32_t index[TQ_PRELU_MAX_RANK] = {0};
    int32_t offset_x = 0, offset_a = 0; /* element offsets of the current row's first operands */
    for (int32_t r = 0; r < rows; ++r) {
        row(p, x + offset_x * elem_bytes, a + offset_a, out, n, p->input_stride[inner], p->alpha_stride[inner]);
        out += n * elem_bytes;
        for (int32_t d = inner - 1; d >= 0; --d) {
            offset_x += p->input_stride[d];
            offset_a += p->alpha_stride[d];
            if (++index[d] < p->shape[d]) break;
            index[d] = 0; /* wrap this loop and carry into the next outer one */
            offset_x -= p->input_stride[d] * p->shape[d];
            offset_a -= p->alpha_stride[d] * p->shape[d];
        }
    }
    return TQ_OK;
}

tq_status tq_prelu_s8(const tq_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output) {
    return prelu_walk(p, input, alpha, output, (int32_t)sizeof(int8_t), prelu_row_s8);
}

tq_status tq_prelu_s16(const tq_prelu_params *p, const int16_t *input, const int8_t *alpha, int16_t *output) {
    return prelu_walk(p, input, alpha, output, (int32_t)sizeof(int16_t), prelu_row_s16);
}

/* Constant alpha: prelu_walk reads p->alpha_const. */
tq_status tq_prelu_const_s8(const tq_prelu_params *p, const int8_t *input, int8_t *output) {
    return tq_prelu_s8(p, input, NULL, output);
}

tq_status tq_prelu_const_s16(const tq_prelu_params *p, const int16_t *input, int16_t *output) {
    return tq_prelu_s16(p, input, NULL, output);
}
