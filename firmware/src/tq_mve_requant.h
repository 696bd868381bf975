/* Four outputs requantized at once on Helium, bit-exact with TFLM's MultiplyByQuantizedMultiplier for a
 * right shift rs in [1, 31] (shift <= -1; tinyq/specialize/common_mve.py refuses the others), then the output offset
 * and the clamp. For every int32 accumulator, without any bound:
 *  1. VQRDMULH.S32 computes sat((2*a*m + 2^31) >> 32), the floor form of gemmlowp's
 *     SaturatingRoundingDoublingHighMul (its truncating division of a*m + nudge, nudge = 2^30 or 1 - 2^30,
 *     gives the same integer for either sign), saturating in the same single case (a = m = INT32_MIN).
 *     With 0 <= m < 2^31, h > -2^31: h - 1 below cannot wrap.
 *  2. gemmlowp's RoundingDivideByPOT(h, rs) rounds ties away from zero: floor((h + 2^(rs-1) - [h < 0]) / 2^rs)
 *     (for h < 0 it rounds up iff the remainder exceeds 2^(rs-1)). VRSHL by -rs computes
 *     floor((x + 2^(rs-1)) / 2^rs) without intermediate overflow (ties up), so it is applied to
 *     x = h + (h >> 31), which is h - 1 exactly when h < 0.
 * Then + output offset and the clamp to [act_min, act_max] (|value| < 2^31 - 128: no wrap).
 */
#ifndef TINYQ_TQ_MVE_REQUANT_H
#define TINYQ_TQ_MVE_REQUANT_H

#include <arm_mve.h>

static inline int32x4_t tq_mve_requant(int32x4_t acc, int32x4_t multiplier, int32x4_t neg_shift, int32_t offset,
                                       int32x4_t lo, int32x4_t hi) {
    int32x4_t h = vqrdmulhq_s32(acc, multiplier);
    h = vaddq_s32(h, vshrq_n_s32(h, 31));
    h = vrshlq_s32(h, neg_shift);
    h = vaddq_n_s32(h, offset);
    return vminq_s32(vmaxq_s32(h, lo), hi);
}

#endif
