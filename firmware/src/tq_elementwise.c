/* Elementwise binary ops with broadcasting, reference kernels (arithmetic of TFLM reference_ops /
 * reference_integer_ops Add, Sub, Mul, Maximum, Minimum; mirrored by tinyq/sim/kernels/elementwise.py). */
#include "tinyq/tq_elementwise.h"
#include "tinyq/tq_fixedpoint.h"

/* ---- kernel contracts (TQ_ENABLE_ASSERT); max_abs: 128 (int8) or 32768 (int16) ---- */

static inline int64_t tq_ew_abs64(int32_t x) { return x < 0 ? -(int64_t)x : (int64_t)x; }

/* ADD/SUB: (x + offset) << left_shift fits int32 (the sum of the rescaled inputs is checked per element). */
#define TQ_EW_ADD_CHECK(p, max_abs, lo, hi)                                                                      \
    TQ_ASSERT((p) != NULL && (p)->left_shift >= 0 && (p)->left_shift <= 20 &&                                 \
              (((max_abs) + tq_ew_abs64((p)->input1_offset)) << (p)->left_shift) <= INT32_MAX &&              \
              (((max_abs) + tq_ew_abs64((p)->input2_offset)) << (p)->left_shift) <= INT32_MAX &&              \
              (p)->input1_shift <= 0 && (p)->input2_shift <= 0 && (p)->output_shift <= 0 &&                   \
              TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)))

/* MUL: the product of the two offset inputs fits int32. */
#define TQ_EW_MUL_CHECK(p, max_abs, lo, hi)                                                                      \
    TQ_ASSERT((p) != NULL &&                                                                                  \
              ((max_abs) + tq_ew_abs64((p)->input1_offset)) * ((max_abs) + tq_ew_abs64((p)->input2_offset)) <=  \
                  INT32_MAX &&                                                                                \
              TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)))

/* ---- one element of each op; operands are the stored integers widened to int32 ---- */

/* ADD/SUB input rescale: (x + offset) * 2^left_shift cannot overflow: |x + offset| <= 65535 and
 * left_shift is 15 for int16 (20 for int8, |x + offset| <= 255); TQ_EW_ADD_CHECK asserts it. */
static inline int32_t tq_ew_rescale_input(int32_t x, int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift) {
    const int32_t shifted = (x + offset) * ((int32_t)1 << left_shift);
    return tq_multiply_by_quantized_multiplier_smaller_than_one_exp(shifted, multiplier, shift);
}

static inline int32_t tq_ew_rescale_output(const tq_elementwise_params *p, int32_t raw) {
    const int32_t y = tq_multiply_by_quantized_multiplier_smaller_than_one_exp(raw, p->output_multiplier, p->output_shift);
    return tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

static inline int32_t tq_ew_add(const tq_elementwise_params *p, int32_t a, int32_t b) {
    const int32_t x1 = tq_ew_rescale_input(a, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
    const int32_t x2 = tq_ew_rescale_input(b, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
    /* the host's input multipliers are <= 1/2 (TFLM's), so |x_k| <= 2^30 and the sum fits int32 */
    const int64_t raw = (int64_t)x1 + x2;
    TQ_ASSERT(raw >= INT32_MIN && raw <= INT32_MAX);
    return tq_ew_rescale_output(p, (int32_t)raw);
}

static inline int32_t tq_ew_sub(const tq_elementwise_params *p, int32_t a, int32_t b) {
    const int32_t x1 = tq_ew_rescale_input(a, p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
    const int32_t x2 = tq_ew_rescale_input(b, p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
    const int64_t raw = (int64_t)x1 - x2;
    TQ_ASSERT(raw >= INT32_MIN && raw <= INT32_MAX);
    return tq_ew_rescale_output(p, (int32_t)raw);
}

static inline int32_t tq_ew_mul(const tq_elementwise_params *p, int32_t a, int32_t b) {
    /* |product| <= 255 * 255 (int8) or 2^30 (int16, zero points 0) */
    const int32_t product = (a + p->input1_offset) * (b + p->input2_offset);
    const int32_t y = tq_multiply_by_quantized_multiplier(product, p->output_multiplier, p->output_shift);
    return tq_add_clamp_i32(y, p->output_offset, p->act_min, p->act_max);
}

/* MAXIMUM/MINIMUM compare stored values (no rescale); p is unused but keeps one element signature. */
static inline int32_t tq_ew_maximum(const tq_elementwise_params *p, int32_t a, int32_t b) {
    (void)p;
    return a > b ? a : b;
}

static inline int32_t tq_ew_minimum(const tq_elementwise_params *p, int32_t a, int32_t b) {
    (void)p;
    return a < b ? a : b;
}

/* ---- one contiguous output row: each operand advances by 1 (stride 1) or repeats (stride 0) ---- */

typedef void (*tq_ew_row_fn)(const tq_elementwise_params *p, const void *a, const void *b, void *out, int32_t n,
                             int32_t stride_a, int32_t stride_b);

#define TQ_EW_ROW(NAME, T, ELEM)                                                                                    \
    static void NAME(const tq_elementwise_params *p, const void *a_, const void *b_, void *out_, int32_t n,         \
                     int32_t stride_a, int32_t stride_b) {                                                          \
        const T *a = (const T *)a_;                                                                                 \
        const T *b = (const T *)b_;                                                                                 \
        T *out = (T *)out_;                                                                                         \
        if (stride_a && stride_b) {                                                                                 \
            for (int32_t i = 0; i < n; ++i) out[i] = (T)ELEM(p, (int32_t)a[i], (int32_t)b[i]);                      \
        } else if (stride_a) {                                                                                      \
            const int32_t b0 = b[0];                                                                                \
            for (int32_t i = 0; i < n; ++i) out[i] = (T)ELEM(p, (int32_t)a[i], b0);                                 \
        } else { /* stride_b is 1 here: the host never makes both strides 0 */                                      \
            const int32_t a0 = a[0];                                                                                \
            for (int32_t i = 0; i < n; ++i) out[i] = (T)ELEM(p, a0, (int32_t)b[i]);                                 \
        }                                                                                                           \
    }

TQ_EW_ROW(tq_ew_add_row_s8, int8_t, tq_ew_add)
TQ_EW_ROW(tq_ew_add_row_s16, int16_t, tq_ew_add)
TQ_EW_ROW(tq_ew_sub_row_s8, int8_t, tq_ew_sub)
TQ_EW_ROW(tq_ew_sub_row_s16, int16_t, tq_ew_sub)
TQ_EW_ROW(tq_ew_mul_row_s8, int8_t, tq_ew_mul)
TQ_EW_ROW(tq_ew_mul_row_s16, int16_t, tq_ew_mul)
TQ_EW_ROW(tq_ew_maximum_row_s8, int8_t, tq_ew_maximum)
TQ_EW_ROW(tq_ew_maximum_row_s16, int16_t, tq_ew_maximum)
TQ_EW_ROW(tq_ew_minimum_row_s8, int8_t, tq_ew_minimum)
TQ_EW_ROW(tq_ew_minimum_row_s16, int16_t, tq_ew_minimum)

/* ---- the loop nest: rows of the innermost loop, the outer loops stepped as an odometer ---- */

static tq_status tq_ew_walk(const tq_elementwise_params *p, const void *input1, const void *input2, void *output,
                            int32_t elem_bytes, tq_ew_row_fn row) {
    TQ_ASSERT(p != NULL && output != NULL && p->rank >= 1 && p->rank <= TQ_ELEMENTWISE_MAX_RANK);
    TQ_ASSERT(p->input1_const == NULL || p->input2_const == NULL);
    const uint8_t *a = (const uint8_t *)(p->input1_const ? p->input1_const : input1);
    const uint8_t *b = (const uint8_t *)(p->input2_const ? p->input2_const : input2);
    uint8_t *out = (uint8_t *)output;
    const int32_t inner = p->rank - 1;
    const int32_t n = p->shape[inner];
    TQ_ASSERT(a != NULL && b != NULL);
    /* a row reads each operand contiguously (stride 1) or its first element only (stride 0), so both
     * strides 0 is only right for a row of one element */
    TQ_ASSERT((p->input1_stride[inner] == 0 || p->input1_stride[inner] == 1) &&
              (p->input2_stride[inner] == 0 || p->input2_stride[inner] == 1) &&
              (p->input1_stride[inner] == 1 || p->input2_stride[inner] == 1 || n == 1));
    int32_t rows = 1;
    for (int32_t d = 0; d <= inner; ++d) TQ_ASSERT(p->shape[d] >= 1); /* a row reads element 0 of each */
    for (int32_t d = 0; d < inner; ++d) rows *= p->shape[d];

    int32_t index[TQ_ELEMENTWISE_MAX_RANK] = {0};
    int32_t offset_a = 0, offset_b = 0; /* element offsets of the current row's first operands */
    for (int32_t r = 0; r < rows; ++r) {
        row(p, a + offset_a * elem_bytes, b + offset_b * elem_bytes, out, n, p->input1_stride[inner], p->input2_stride[inner]);
        out += n * elem_bytes;
        for (int32_t d = inner - 1; d >= 0; --d) {
            offset_a += p->input1_stride[d];
            offset_b += p->input2_stride[d];
            if (++index[d] < p->shape[d]) break;
            index[d] = 0; /* wrap this loop and carry into the next outer one */
            offset_a -= p->input1_stride[d] * p->shape[d];
            offset_b -= p->input2_stride[d] * p->shape[d];
        }
    }
    return TQ_OK;
}

/* ---- public kernels ---- */

tq_status tq_add_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    TQ_EW_ADD_CHECK(p, 128, INT8_MIN, INT8_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int8_t), tq_ew_add_row_s8);
}

tq_status tq_add_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    TQ_EW_ADD_CHECK(p, 32768, INT16_MIN, INT16_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int16_t), tq_ew_add_row_s16);
}

tq_status tq_sub_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    TQ_EW_ADD_CHECK(p, 128, INT8_MIN, INT8_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int8_t), tq_ew_sub_row_s8);
}

tq_status tq_sub_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    TQ_EW_ADD_CHECK(p, 32768, INT16_MIN, INT16_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int16_t), tq_ew_sub_row_s16);
}

tq_status tq_mul_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    TQ_EW_MUL_CHECK(p, 128, INT8_MIN, INT8_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int8_t), tq_ew_mul_row_s8);
}

tq_status tq_mul_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    TQ_EW_MUL_CHECK(p, 32768, INT16_MIN, INT16_MAX);
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int16_t), tq_ew_mul_row_s16);
}

tq_status tq_maximum_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int8_t), tq_ew_maximum_row_s8);
}

tq_status tq_maximum_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int16_t), tq_ew_maximum_row_s16);
}

tq_status tq_minimum_s8(const tq_elementwise_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int8_t), tq_ew_minimum_row_s8);
}

tq_status tq_minimum_s16(const tq_elementwise_params *p, const int16_t *input1, const int16_t *input2, int16_t *output) {
    return tq_ew_walk(p, input1, input2, output, (int32_t)sizeof(int16_t), tq_ew_minimum_row_s16);
}

/* One constant operand: tq_ew_walk reads it from p in place of the pointer passed for that slot. */
tq_status tq_add_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output) {
    return tq_add_s8(p, input, input, output);
}

tq_status tq_add_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output) {
    return tq_add_s16(p, input, input, output);
}

tq_status tq_sub_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output) {
    return tq_sub_s8(p, input, input, output);
}

tq_status tq_sub_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output) {
    return tq_sub_s16(p, input, input, output);
}

tq_status tq_mul_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output) {
    return tq_mul_s8(p, input, input, output);
}

tq_status tq_mul_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output) {
    return tq_mul_s16(p, input, input, output);
}

tq_status tq_maximum_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output) {
    return tq_maximum_s8(p, input, input, output);
}

tq_status tq_maximum_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output) {
    return tq_maximum_s16(p, input, input, output);
}

tq_status tq_minimum_const_s8(const tq_elementwise_params *p, const int8_t *input, int8_t *output) {
    return tq_minimum_s8(p, input, input, output);
}

tq_status tq_minimum_const_s16(const tq_elementwise_params *p, const int16_t *input, int16_t *output) {
    return tq_minimum_s16(p, input, input, output);
}
