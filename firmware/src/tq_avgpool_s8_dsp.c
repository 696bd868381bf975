/* AVERAGE_POOL_2D int8 with the Arm DSP extension, from tq_avgpool_s8's record (tinyq/specialize/pool_dsp.py: a
 * depth that is a multiple of 4, windows of at most 255 elements). Four channels per input word: SXTAB16 and
 * SXTAB16 ROR 8 add channels {c, c+2} and {c+1, c+3} into two int16 lanes each, exactly, because a window's sum
 * is at most 128 * 255 < 2^15 in magnitude. The rounded average is tq_avgpool_s8_mve's: TFLM's (|acc| + count / 2)
 * / count with acc's sign put back, the division a multiply-high by M = ceil(2^24 / count), exact for
 * |acc| + count / 2 < 2^16 (firmware/src/tq_avgpool_s8_mve.c gives the bound). */
#include <string.h>

#include "tq_pool_window.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* acc + the sign-extended bytes 1 and 3 of x: SXTAB16 ROR #8, which GCC does not fold from the intrinsic */
static inline int16x2_t add_odd_bytes(int16x2_t acc, uint32_t x) {
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

static inline int8_t average(int32_t acc, int32_t count, uint32_t m, int32_t lo, int32_t hi) {
    const uint32_t n = (uint32_t)(acc < 0 ? -acc : acc) + (uint32_t)(count / 2);
    const int32_t q = (int32_t)(((uint64_t)(n << 8) * m) >> 32);
    const int32_t avg = acc < 0 ? -q : q;
    return (int8_t)(avg < lo ? lo : avg > hi ? hi : avg);
}

tq_status tq_avgpool_s8_dsp(const tq_pool_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->depth % 4 == 0 && p->filter_h * p->filter_w <= 255);
    const int32_t depth = p->depth, row = p->input_w * depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->input_h * row;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x, output += depth) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                const int32_t rows = w.y1 - w.y0, cols = w.x1 - w.x0, count = rows * cols; /* padding is not counted */
                const uint32_t m = ((1u << 24) + (uint32_t)count - 1u) / (uint32_t)count;
                const int8_t *window = image + w.y0 * row + w.x0 * depth;
                for (int32_t c = 0; c < depth; c += 4) {
                    int16x2_t even = 0, odd = 0; /* lanes: channels (c, c+2) and (c+1, c+3) */
                    const int8_t *line = window + c;
                    for (int32_t y = 0; y < rows; ++y, line += row) {
                        for (const int8_t *x = line, *end = line + cols * depth; x != end; x += depth) {
                            uint32_t word;
                            memcpy(&word, x, sizeof word); /* one LDR: 4-byte aligned, since depth % 4 == 0 */
                            even = __sxtab16(even, (int8x4_t)word);
                            odd = add_odd_bytes(odd, word);
                        }
                    }
                    output[c] = average((int16_t)even, count, m, p->act_min, p->act_max);
                    output[c + 1] = average((int16_t)odd, count, m, p->act_min, p->act_max);
                    output[c + 2] = average((int32_t)even >> 16, count, m, p->act_min, p->act_max);
                    output[c + 3] = average((int32_t)odd >> 16, count, m, p->act_min, p->act_max);
                }
            }
        }
    }
    return TQ_OK;
}

#endif
