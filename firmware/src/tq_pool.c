/* 2-D pooling, reference kernels (loop order and rounding of TFLM reference_integer_ops pooling.h). */
#include "tinyq/tq_pool.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_pool_window.h"

/* Kernel contracts (TQ_ENABLE_ASSERT); lo, hi: the output type's range; max_window: the most elements an
 * average's int32 sum can take (128 or 32768 per element). */
#define TQ_POOL_CHECK(p, input, output, lo, hi, max_window)                                                   \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->batches >= 0 && (p)->depth >= 0 &&   \
              (p)->input_h >= 1 && (p)->input_w >= 1 && (p)->output_h >= 0 && (p)->output_w >= 0 &&         \
              (p)->stride_h >= 1 && (p)->stride_w >= 1 && (p)->filter_h >= 1 && (p)->filter_w >= 1 &&       \
              (int64_t)(p)->filter_h * (p)->filter_w <= (max_window) && (p)->pad_h >= 0 && (p)->pad_w >= 0 && \
              TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)))

/* TFLM's rounding of the average: half away from zero, with C's truncating division. count >= 1. */
static int32_t tq_pool_rounded_average(int32_t acc, int32_t count) {
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

tq_status tq_avgpool_s8(const tq_pool_params *p, const int8_t *input, int8_t *output) {
    TQ_POOL_CHECK(p, input, output, INT8_MIN, INT8_MAX, (1 << 24));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->input_h * p->input_w * p->depth;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0); /* padding is not counted */
                for (int32_t c = 0; c < p->depth; ++c) {
                    int32_t acc = 0;
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) acc += in[(y * p->input_w + x) * p->depth + c];
                    }
                    acc = tq_pool_rounded_average(acc, count);
                    *output++ = (int8_t)tq_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_avgpool_s16(const tq_pool_params *p, const int16_t *input, int16_t *output) {
    TQ_POOL_CHECK(p, input, output, INT16_MIN, INT16_MAX, 65536);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * p->input_h * p->input_w * p->depth;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0); /* <= 65536: the int32 sum cannot overflow */
                for (int32_t c = 0; c < p->depth; ++c) {
                    int32_t acc = 0;
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) acc += in[(y * p->input_w + x) * p->depth + c];
                    }
                    acc = tq_pool_rounded_average(acc, count);
                    *output++ = (int16_t)tq_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_maxpool_s8(const tq_pool_params *p, const int8_t *input, int8_t *output) {
    TQ_POOL_CHECK(p, input, output, INT8_MIN, INT8_MAX, INT32_MAX);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->input_h * p->input_w * p->depth;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                for (int32_t c = 0; c < p->depth; ++c) {
                    int32_t max = INT8_MIN;
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) {
                            max = tq_max_i32(max, in[(y * p->input_w + x) * p->depth + c]);
                        }
                    }
                    *output++ = (int8_t)tq_clamp_i32(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_maxpool_s16(const tq_pool_params *p, const int16_t *input, int16_t *output) {
    TQ_POOL_CHECK(p, input, output, INT16_MIN, INT16_MAX, INT32_MAX);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * p->input_h * p->input_w * p->depth;
        for (int32_t out_y = 0; out_y < p->output_h; ++out_y) {
            for (int32_t out_x = 0; out_x < p->output_w; ++out_x) {
                const tq_pool_window w = tq_pool_window_at(p, out_y, out_x);
                for (int32_t c = 0; c < p->depth; ++c) {
                    int32_t max = INT16_MIN;
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) {
                            max = tq_max_i32(max, in[(y * p->input_w + x) * p->depth + c]);
                        }
                    }
                    *output++ = (int16_t)tq_clamp_i32(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return TQ_OK;
}
