/* The window of one pooling output, clipped to the input: shared by the pooling kernels (reference, DSP, MVE). */
#ifndef TINYQ_TQ_POOL_WINDOW_H
#define TINYQ_TQ_POOL_WINDOW_H

#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_pool.h"

/* rows [y0, y1), columns [x0, x1) of the input; padded cells are outside it and not counted */
typedef struct {
    int32_t y0, y1, x0, x1;
} tq_pool_window;

static inline tq_pool_window tq_pool_window_at(const tq_pool_params *p, int32_t out_y, int32_t out_x) {
    const int32_t y_origin = out_y * p->stride_h - p->pad_h;
    const int32_t x_origin = out_x * p->stride_w - p->pad_w;
    tq_pool_window w;
    w.y0 = tq_max_i32(0, y_origin);
    w.y1 = tq_min_i32(p->input_h, y_origin + p->filter_h);
    w.x0 = tq_max_i32(0, x_origin);
    w.x1 = tq_min_i32(p->input_w, x_origin + p->filter_w);
    TQ_ASSERT(w.y1 > w.y0 && w.x1 > w.x0);
    return w;
}

#endif
