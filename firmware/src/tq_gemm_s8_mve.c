/* GEMM on Helium: FULLY_CONNECTED and CONV_2D 1x1 (stride 1, no padding) as rows x weights, int8.
 * Two input rows and a block of four output channels share each loaded vector: per 16-byte step, two input
 * and four weight loads feed eight VMLADAVA (16 products each, summed into a scalar). The weights were laid
 * out at compile time in the order the loop reads them and zero-filled past K and past C, so only the input
 * loads of the last step are tail-predicated (VCTP: lanes past K read as 0). The int32 sums wrap as TFLM's
 * int32 accumulator does; the folded bias holds bias + input_offset * sum(w) modulo 2^32, so
 * bias + sum(x*w) + input_offset * sum(w) equals TFLM's bias + sum((x + input_offset) * w) exactly. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#include "tq_mve_gemm.h"
#include "tq_mve_requant.h"

/* {a, b, c, d} from four scalars */
static inline int32x4_t lanes(int32_t a, int32_t b, int32_t c, int32_t d) {
    int32x4_t v = vdupq_n_s32(a);
    v = vsetq_lane_s32(b, v, 1);
    v = vsetq_lane_s32(c, v, 2);
    return vsetq_lane_s32(d, v, 3);
}

void tq_mve_gemm_rows2(const tq_gemm_s8_mve_params *p, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    const int8_t *w = p->blocked;
    const int32_t steps = p->chunks - 1; /* full 16-byte steps; the last one is predicated */
    const mve_pred16_t tail = vctp8q((uint32_t)(p->depth - 16 * steps));
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t b = 0; b < p->blocks; ++b) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        const int8_t *u0 = x0, *u1 = x1;
        for (int32_t k = 0; k < steps; ++k) {
            const int8x16_t v0 = vldrbq_s8(u0), v1 = vldrbq_s8(u1);
            const int8x16_t w0 = vldrbq_s8(w), w1 = vldrbq_s8(w + 16), w2 = vldrbq_s8(w + 32), w3 = vldrbq_s8(w + 48);
            u0 += 16, u1 += 16, w += 64;
            a0 = vmladavaq_s8(a0, v0, w0), a1 = vmladavaq_s8(a1, v0, w1);
            a2 = vmladavaq_s8(a2, v0, w2), a3 = vmladavaq_s8(a3, v0, w3);
            c0 = vmladavaq_s8(c0, v1, w0), c1 = vmladavaq_s8(c1, v1, w1);
            c2 = vmladavaq_s8(c2, v1, w2), c3 = vmladavaq_s8(c3, v1, w3);
        }
        {
            const int8x16_t v0 = vldrbq_z_s8(u0, tail), v1 = vldrbq_z_s8(u1, tail);
            const int8x16_t w0 = vldrbq_s8(w), w1 = vldrbq_s8(w + 16), w2 = vldrbq_s8(w + 32), w3 = vldrbq_s8(w + 48);
            w += 64;
            a0 = vmladavaq_s8(a0, v0, w0), a1 = vmladavaq_s8(a1, v0, w1);
            a2 = vmladavaq_s8(a2, v0, w2), a3 = vmladavaq_s8(a3, v0, w3);
            c0 = vmladavaq_s8(c0, v1, w0), c1 = vmladavaq_s8(c1, v1, w1);
            c2 = vmladavaq_s8(c2, v1, w2), c3 = vmladavaq_s8(c3, v1, w3);
        }
        const int32x4_t bias = vldrwq_s32(p->bias + 4 * b);
        const int32x4_t m = vldrwq_s32(p->multiplier + 4 * b), s = vldrwq_s32(p->shift + 4 * b);
        const mve_pred16_t keep = vctp32q((uint32_t)(p->out_depth - 4 * b)); /* the channel tail */
        const int32x4_t r0 = tq_mve_requant(vaddq_s32(bias, lanes(a0, a1, a2, a3)), m, s, p->output_offset, lo, hi);
        vstrbq_p_s32(y0 + 4 * b, r0, keep);
        if (y1) {
            const int32x4_t r1 = tq_mve_requant(vaddq_s32(bias, lanes(c0, c1, c2, c3)), m, s, p->output_offset, lo, hi);
            vstrbq_p_s32(y1 + 4 * b, r1, keep);
        }
    }
}

void tq_mve_gemm(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    const int32_t k = p->depth, c = p->out_depth;
    int32_t r = 0;
    for (; r + 1 < p->rows; r += 2)
        tq_mve_gemm_rows2(p, input + r * k, input + (r + 1) * k, output + r * c, output + (r + 1) * c);
    if (r < p->rows) tq_mve_gemm_rows2(p, input + r * k, input + r * k, output + r * c, NULL);
}

tq_status tq_fully_connected_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm(p, input, output);
    return TQ_OK;
}

tq_status tq_conv1x1_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm(p, input, output);
    return TQ_OK;
}

#endif
