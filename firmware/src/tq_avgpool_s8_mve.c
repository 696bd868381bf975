/* AVERAGE_POOL_2D int8 on Helium, from tq_avgpool_s8's record (tinyq/specialize/pool_mve.py: windows of at most
 * 256 elements): four channels in the int32 lanes, each window element one widening load and one add.
 * TFLM's rounded average (half away from zero, truncating division) is q = (|acc| + count / 2) / count with the
 * sign of acc put back. The division is a multiply-high: with M = ceil(2^24 / count) and n = |acc| + count / 2
 * <= 128 * 256 + 128 < 2^16, floor((n << 8) * M / 2^32) = floor(n * M / 2^24) = floor(n / count) exactly, because
 * the error n * (M * count - 2^24) / (count * 2^24) < 2^16 / 2^24 <= 1 / count. Channels past a multiple of 4
 * are tail-predicated (lanes past the depth read and write nothing). */
#include "tinyq/tq_mve.h"
#include "tq_pool_window.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

tq_status tq_avgpool_s8_mve(const tq_pool_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->filter_h * p->filter_w <= 256);
    const int32_t depth = p->depth, row = p->input_w * depth;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->input_h * row;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x, output += depth) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                const int32_t rows = w.y1 - w.y0, cols = w.x1 - w.x0, count = rows * cols; /* padding is not counted */
                const uint32_t m = ((1u << 24) + (uint32_t)count - 1u) / (uint32_t)count;
                const int8_t *window = image + w.y0 * row + w.x0 * depth;
                for (int32_t c = 0; c < depth; c += 4) {
                    const mve_pred16_t pred = vctp32q((uint32_t)(depth - c));
                    int32x4_t acc = vdupq_n_s32(0);
                    const int8_t *line = window + c;
                    for (int32_t y = 0; y < rows; ++y, line += row) {
                        const int8_t *x = line;
                        for (int32_t k = 0; k < cols; ++k, x += depth) acc = vaddq_s32(acc, vldrbq_z_s32(x, pred));
                    }
                    const uint32x4_t n = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(acc), count / 2));
                    const int32x4_t q = vreinterpretq_s32_u32(vmulhq_u32(vshlq_n_u32(n, 8), vdupq_n_u32(m)));
                    const int32x4_t avg = vpselq_s32(vnegq_s32(q), q, vcmpltq_n_s32(acc, 0));
                    vstrbq_p_s32(output + c, vminq_s32(vmaxq_s32(avg, lo), hi), pred);
                }
            }
        }
    }
    return TQ_OK;
}

#endif
