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

/* the per-layer constants */
typedef struct {
    const int32_t *t1, *t2;
    int32_t multiplier, round, right_shift, lo, hi;
} add_consts;

/* one output from the two table values; clamp = 0 when the activation is [-128, 127] (the SSAT is the clamp) */
static inline __attribute__((always_inline)) int8_t add_value(int32_t t, int32_t m, int32_t rnd, int32_t rs, int32_t lo,
                                                              int32_t hi, int clamp) {
    const int32_t h = tq_smmulr(t, m);
    int32_t y = __ssat((h + rnd + (h >> 31)) >> rs, 8);
    if (clamp) {
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
    }
    return (int8_t)y;
}

/* one contiguous output row; an input with stride 0 repeats its first element, looked up once. Two outputs per
 * step halve the loop's compare and branch. */
static inline __attribute__((always_inline)) void add_row(const add_consts *k, const uint8_t *a, const uint8_t *b,
                                                          int8_t *out, int32_t n, int32_t stride_a, int32_t stride_b,
                                                          int clamp) {
    const int32_t *t1 = k->t1, *t2 = k->t2; /* copied to locals: the int8 stores below may alias *k */
    const int32_t m = k->multiplier, rnd = k->round, rs = k->right_shift, lo = k->lo, hi = k->hi;
    int32_t i = 0;
    if (stride_a && stride_b) {
        for (; i + 1 < n; i += 2) {
            const int32_t s0 = t1[a[i]] + t2[b[i]], s1 = t1[a[i + 1]] + t2[b[i + 1]];
            out[i] = add_value(s0, m, rnd, rs, lo, hi, clamp);
            out[i + 1] = add_value(s1, m, rnd, rs, lo, hi, clamp);
        }
        if (i < n) out[i] = add_value(t1[a[i]] + t2[b[i]], m, rnd, rs, lo, hi, clamp);
    } else if (stride_a) {
        const int32_t tb = t2[b[0]];
        for (; i + 1 < n; i += 2) {
            const int32_t s0 = t1[a[i]] + tb, s1 = t1[a[i + 1]] + tb;
            out[i] = add_value(s0, m, rnd, rs, lo, hi, clamp);
            out[i + 1] = add_value(s1, m, rnd, rs, lo, hi, clamp);
        }
        if (i < n) out[i] = add_value(t1[a[i]] + tb, m, rnd, rs, lo, hi, clamp);
    } else {
        const int32_t ta = t1[a[0]];
        for (; i + 1 < n; i += 2) {
            const int32_t s0 = ta + t2[b[i]], s1 = ta + t2[b[i + 1]];
            out[i] = add_value(s0, m, rnd, rs, lo, hi, clamp);
            out[i + 1] = add_value(s1, m, rnd, rs, lo, hi, clamp);
        }
        if (i < n) out[i] = add_value(ta + t2[b[i]], m, rnd, rs, lo, hi, clamp);
    }
}

static void add_row_full(const add_consts *k, const uint8_t *a, const uint8_t *b, int8_t *out, int32_t n,
                         int32_t stride_a, int32_t stride_b) {
    add_row(k, a, b, out, n, stride_a, stride_b, 0);
}

static void add_row_clamped(const add_consts *k, const uint8_t *a, const uint8_t *b, int8_t *out, int32_t n,
                            int32_t stride_a, int32_t stride_b) {
    add_row(k, a, b, out, n, stride_a, stride_b, 1);
}

tq_status tq_add_s8_table_dsp(const tq_add_s8_table_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output) {
    TQ_ASSERT(p != NULL && input1 != NULL && input2 != NULL && output != NULL && p->rank >= 1 &&
              p->rank <= TQ_ADD_TABLE_MAX_RANK);
    const add_consts k = {p->table1, p->table2, p->multiplier, p->round, p->right_shift, p->act_min, p->act_max};
    void (*const row)(const add_consts *, const uint8_t *, const uint8_t *, int8_t *, int32_t, int32_t, int32_t) =
        k.lo == INT8_MIN && k.hi == INT8_MAX ? add_row_full : add_row_clamped;
    const uint8_t *a = (const uint8_t *)input1, *b = (const uint8_t *)input2;
    const int32_t inner = p->rank - 1, n = p->shape[inner];
    int32_t rows = 1;
    for (int32_t d = 0; d < inner; ++d) rows *= p->shape[d];
    int32_t index[TQ_ADD_TABLE_MAX_RANK] = {0};
    int32_t off_a = 0, off_b = 0; /* element offsets of the current row's first operands */
    for (int32_t r = 0; r < rows; ++r, output += n) {
        row(&k, a + off_a, b + off_b, output, n, p->input1_stride[inner], p->input2_stride[inner]);
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
