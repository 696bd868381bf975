/* ADD int8 on Helium, from the same record as tq_add_s8_table_dsp (tinyq/specialize/add_mve.py): four outputs per
 * step. Each input's TFLM rescale is a gather from its 256-entry table (the bytes widened unsigned are the
 * indices); the sum's requantization is tq_requant_fast's, lane-wise: VRMULH.S32 is SMMULR, (2 * raw * m + 2^31)
 * >> 32, which the preparer proved equal to SaturatingRoundingDoublingHighMul(raw, m) (|raw| < 2^30), then
 * h + round + (h >> 31) (proved to fit int32) shifted right by right_shift, and the clamp to the activation
 * range within int8 (what SSAT + clamp give in the DSP kernel). The last partial step of a row is
 * tail-predicated: lanes past the row read and write nothing. Each step loads its inputs before it stores,
 * so an output that took over a dead input (the same elements, elementwise order) is safe. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

typedef struct {
    const int32_t *t1, *t2;
    int32_t round, neg_shift;
    int32x4_t multiplier, lo, hi; /* VRMULH has no scalar form */
} add_consts;

static inline __attribute__((always_inline)) int32x4_t add_value(const add_consts *k, int32x4_t sum) {
    int32x4_t h = vrmulhq_s32(sum, k->multiplier);
    h = vaddq_n_s32(vaddq_s32(h, vshrq_n_s32(h, 31)), k->round);
    return vminq_s32(vmaxq_s32(vshlq_r_s32(h, k->neg_shift), k->lo), k->hi);
}

/* one contiguous output row of n; an input with stride 0 repeats its first element, looked up once */
static inline __attribute__((always_inline)) void add_row(const add_consts *k, const uint8_t *a, const uint8_t *b,
                                                          int8_t *out, int32_t n, int stride_a, int stride_b) {
    const int32x4_t ta = vdupq_n_s32(k->t1[a[0]]), tb = vdupq_n_s32(k->t2[b[0]]);
    for (; n >= 4; n -= 4, a += 4, b += 4, out += 4) {
        const int32x4_t x = stride_a ? vldrwq_gather_shifted_offset_s32(k->t1, vldrbq_u32(a)) : ta;
        const int32x4_t y = stride_b ? vldrwq_gather_shifted_offset_s32(k->t2, vldrbq_u32(b)) : tb;
        vstrbq_s32(out, add_value(k, vaddq_s32(x, y)));
    }
    if (n > 0) {
        const mve_pred16_t p = vctp32q((uint32_t)n);
        const int32x4_t x = stride_a ? vldrwq_gather_shifted_offset_z_s32(k->t1, vldrbq_z_u32(a, p), p) : ta;
        const int32x4_t y = stride_b ? vldrwq_gather_shifted_offset_z_s32(k->t2, vldrbq_z_u32(b, p), p) : tb;
        vstrbq_p_s32(out, add_value(k, vaddq_s32(x, y)), p);
    }
}

static void add_row_any(const add_consts *k, const uint8_t *a, const uint8_t *b, int8_t *out, int32_t n,
                        int32_t stride_a, int32_t stride_b) {
    if (stride_a && stride_b) add_row(k, a, b, out, n, 1, 1);
    else if (stride_a) add_row(k, a, b, out, n, 1, 0);
    else add_row(k, a, b, out, n, 0, 1);
}

tq_status tq_add_s8_table_mve(const tq_add_s8_table_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output) {
    TQ_ASSERT(p != NULL && input1 != NULL && input2 != NULL && output != NULL && p->rank >= 1 &&
              p->rank <= TQ_ADD_TABLE_MAX_RANK);
    const int32_t lo = p->act_min > INT8_MIN ? p->act_min : INT8_MIN, hi = p->act_max < INT8_MAX ? p->act_max : INT8_MAX;
    const add_consts k = {p->table1, p->table2, p->round, -p->right_shift, vdupq_n_s32(p->multiplier), vdupq_n_s32(lo),
                          vdupq_n_s32(hi)};
    const uint8_t *a = (const uint8_t *)input1, *b = (const uint8_t *)input2;
    const int32_t inner = p->rank - 1, n = p->shape[inner];
    int32_t rows = 1;
    for (int32_t d = 0; d < inner; ++d) rows *= p->shape[d];
    int32_t index[TQ_ADD_TABLE_MAX_RANK] = {0};
    int32_t off_a = 0, off_b = 0; /* element offsets of the current row's first operands */
    for (int32_t r = 0; r < rows; ++r, output += n) {
        add_row_any(&k, a + off_a, b + off_b, output, n, p->input1_stride[inner], p->input2_stride[inner]);
        for (int32_t d = inner - 1; d >= 0; --d) { /* odometer: step the outer loops, innermost first */
            off_a += p->input1_stride[d];
            off_b += p->input2_stride[d];
            if (++index[d] < p->shape[d]) break;
            index[d] = 0;
            off_a -= p->input1_stride[d] * p->shape[d];
            off_b -= p->input2_stride[d] * p->shape[d];
        }
    }
    return TQ_OK;
}

#endif
