/* Image resizing, reference kernels (loop order and rounding of TFLM reference_ops ResizeNearestNeighbor and
 * ResizeBilinearInteger). Every table entry was checked on the host to lie inside the input. */
#include <string.h>

#include "tinyq/tq_resize.h"

#define TQ_RESIZE_CHECK(p, input, output)                                                                     \
    TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->batches >= 0 && (p)->depth >= 0 &&   \
              (p)->input_h >= 1 && (p)->input_w >= 1 && (p)->output_h >= 0 && (p)->output_w >= 0)

/* Nearest neighbour on elements of `size` bytes: one memcpy of a pixel's channels per output pixel. */
static void resize_nearest(const tq_resize_nearest_params *p, const uint8_t *input, uint8_t *output, size_t size) {
    const size_t pixel = (size_t)p->depth * size;
    for (int32_t b = 0; b < p->batches; ++b) {
        const uint8_t *image = input + (size_t)b * p->input_h * p->input_w * pixel;
        for (int32_t y = 0; y < p->output_h; ++y) {
            TQ_ASSERT(p->src_y[y] >= 0 && p->src_y[y] < p->input_h);
            const uint8_t *row = image + (size_t)p->src_y[y] * p->input_w * pixel;
            for (int32_t x = 0; x < p->output_w; ++x) {
                TQ_ASSERT(p->src_x[x] >= 0 && p->src_x[x] < p->input_w);
                memcpy(output, row + (size_t)p->src_x[x] * pixel, pixel);
                output += pixel;
            }
        }
    }
}

tq_status tq_resize_nearest_neighbor_s8(const tq_resize_nearest_params *p, const int8_t *input, int8_t *output) {
    TQ_RESIZE_CHECK(p, input, output);
    resize_nearest(p, (const uint8_t *)input, (uint8_t *)output, sizeof(int8_t));
    return TQ_OK;
}

tq_status tq_resize_nearest_neighbor_s16(const tq_resize_nearest_params *p, const int16_t *input, int16_t *output) {
    TQ_RESIZE_CHECK(p, input, output);
    resize_nearest(p, (const uint8_t *)input, (uint8_t *)output, sizeof(int16_t));
    return TQ_OK;
}

tq_status tq_resize_bilinear_s8(const tq_resize_bilinear_params *p, const int8_t *input, int8_t *output) {
    TQ_RESIZE_CHECK(p, input, output);
    const int32_t one = 1 << 10;
    const int32_t row = p->input_w * p->depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + b * p->input_h * row;
        for (int32_t y = 0; y < p->output_h; ++y) {
            TQ_ASSERT(p->y_lo[y] >= 0 && p->y_lo[y] < p->input_h && p->y_hi[y] >= 0 && p->y_hi[y] < p->input_h);
            TQ_ASSERT(p->y_frac[y] >= -512 && p->y_frac[y] < one);
            const int8_t *lo = image + p->y_lo[y] * row, *hi = image + p->y_hi[y] * row;
            const int32_t wy_hi = p->y_frac[y], wy_lo = one - wy_hi;
            for (int32_t x = 0; x < p->output_w; ++x) {
                TQ_ASSERT(p->x_lo[x] >= 0 && p->x_lo[x] < p->input_w && p->x_hi[x] >= 0 && p->x_hi[x] < p->input_w);
                TQ_ASSERT(p->x_frac[x] >= -512 && p->x_frac[x] < one);
                const int32_t left = p->x_lo[x] * p->depth, right = p->x_hi[x] * p->depth;
                const int32_t wx_hi = p->x_frac[x], wx_lo = one - wx_hi;
                for (int32_t c = 0; c < p->depth; ++c) {
                    /* |each weight product| <= 1536 * 1536 and the four sum to at most 2^29 in magnitude:
                     * int32 is exact (TFLM sums the same products in int64) */
                    const int32_t acc = lo[left + c] * wy_lo * wx_lo + hi[left + c] * wy_hi * wx_lo +
                                        lo[right + c] * wy_lo * wx_hi + hi[right + c] * wy_hi * wx_hi;
                    /* TFLM without TFLITE_SINGLE_ROUNDING: half away from zero, truncating division */
                    *output++ = (int8_t)((acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
    return TQ_OK;
}
