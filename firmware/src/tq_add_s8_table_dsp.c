/* ADD int8 on the Arm DSP extension: per element two byte loads, two table loads (each input's TFLM rescale,
 * precomputed), one add, tq_requant_fast's SMMULR and rounding shift (output offset folded in), SSAT, store.
 * Exact: the tables hold TFLM's rescaled inputs (doubled), and the preparer proved |t1 + t2| / 2 < 2^30, so
 * SMMULR(t1 + t2, m) is SaturatingRoundingDoublingHighMul(raw, m) and the rounding shift is RoundingDivideByPOT
 * (tq_requant_fast.h); adding output_offset * 2^rs before the shift adds output_offset after it, and the preparer
 * proved the sum fits int32. */
#include "tinyq/tq_add_s8_table_dsp.h"
#include "tinyq/tq_requant_fast.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

static inline int8_t add_one(const tq_add_s8_table_params *p, int32_t t, int32_t lo, int32_t hi) {
    const int32_t h = tq_smmulr(t, p->multiplier);
    int32_t y = __ssat((h + p->round + (h >> 31)) >> p->right_shift, 8);
    y = y < lo ? lo : y; /* lo, hi: the fused activation; [-128, 127] costs nothing more than the SSAT */
    return (int8_t)(y > hi ? hi : y);
}

/* one contiguous output row; an input with stride 0 repeats its first element, looked up once */
static void add_row(const tq_add_s8_table_params *p, const uint8_t *a, const uint8_t *b, int8_t *out, int32_t n,
                    int32_t stride_a, int32_t stride_b) {
    const int32_t *t1 = p->table1, *t2 = p->table2;
    const int32_t lo = p->act_min, hi = p->act_max;
    if (stride_a && stride_b) {
        for (int32_t i = 0; i < n; ++i) out[i] = add_one(p, t1[a[i]] + t2[b[i]], lo, hi);
    } else if (stride_a) {
        const int32_t tb = t2[b[0]];
        for (int32_t i = 0; i < n; ++i) out[i] = add_one(p, t1[a[i]] + tb, lo, hi);
    } else {
        const int32_t ta = t1[a[0]];
        for (int32_t i = 0; i < n; ++i) out[i] = add_one(p, ta + t2[b[i]], lo, hi);
    }
}

tq_status tq_add_s8_table_dsp(const tq_add_s8_table_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output) {
    TQ_ASSERT(p != NULL && input1 != NULL && input2 != NULL && output != NULL && p->rank >= 1 &&
              p->rank <= TQ_ADD_TABLE_MAX_RANK);
    const uint8_t *a = (const uint8_t *)input1, *b = (const uint8_t *)input2;
    const int32_t inner = p->rank - 1, n = p->shape[inner];
    int32_t rows = 1;
    for (int32_t d = 0; d < inner; ++d) rows *= p->shape[d];
    int32_t index[TQ_ADD_TABLE_MAX_RANK] = {0};
    int32_t off_a = 0, off_b = 0; /* element offsets of the current row's first operands */
    for (int32_t r = 0; r < rows; ++r, output += n) {
        add_row(p, a + off_a, b + off_b, output, n, p->input1_stride[inner], p->input2_stride[inner]);
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
#else
typedef int tq_add_s8_table_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
