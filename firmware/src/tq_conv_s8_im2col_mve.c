/* CONV_2D int8 on Helium through im2col: each output pixel's receptive field is copied into a scratch row
 * (filter_height x filter_width x input_depth bytes, the filter's OHWI order), taps outside the image filled
 * with the input zero point, so that the folded bias (bias + input_offset * sum(w)) gives TFLM's sum exactly:
 * a padded tap contributes (zero_point + input_offset) * w = 0, as TFLM's skipped tap does. Two rows at a time
 * go through the GEMM core (tq_gemm_s8_mve.c). Copies and fills are predicated 16-byte vector moves; a pixel
 * whose field lies inside the image (a range of rows and columns found once a call) takes a shorter path
 * (pixel_row), filter rows of 48k bytes three whole vectors a step. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#include "tq_mve_bytes.h"
#include "tq_mve_gemm.h"

/* the im2col row of output pixel (out_y, out_x) */
static void im2col_row(const tq_conv_s8_im2col_mve_params *p, const int8_t *image, int32_t out_y, int32_t out_x,
                       int8_t *dst) {
    const int32_t depth = p->input_depth, kw = p->filter_width;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    const int32_t in_x0 = out_x * p->stride_width - p->pad_width;
    /* the taps [x0, x1) of a filter row inside the image (contiguous when dilation_width is 1) */
    int32_t x0 = 0, x1 = kw;
    if (p->dilation_width == 1) {
        x0 = in_x0 < 0 ? -in_x0 : 0;
        x1 = p->input_width - in_x0 < kw ? p->input_width - in_x0 : kw;
        if (x1 < x0) x1 = x0;
    }
    for (int32_t ky = 0; ky < p->filter_height; ++ky) {
        const int32_t in_y = out_y * p->stride_height - p->pad_height + ky * p->dilation_height;
        if (in_y < 0 || in_y >= p->input_height) {
            dst = tq_mve_fill(dst, pad, kw * depth);
            continue;
        }
        const int8_t *row = image + in_y * p->input_width * depth;
        if (p->dilation_width == 1) {
            dst = tq_mve_fill(dst, pad, x0 * depth);
            dst = tq_mve_copy(dst, row + (in_x0 + x0) * depth, (x1 - x0) * depth);
            dst = tq_mve_fill(dst, pad, (kw - x1) * depth);
            continue;
        }
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t in_x = in_x0 + kx * p->dilation_width;
            dst = in_x < 0 || in_x >= p->input_width ? tq_mve_fill(dst, pad, depth)
                                                     : tq_mve_copy(dst, row + in_x * depth, depth);
        }
    }
}

/* What the interior fast path needs: a pixel whose receptive field lies inside the image (dilation_width 1)
 * copies filter_height runs of filter_width * input_depth contiguous bytes; runs of at most 16 bytes (thin
 * inputs: a first layer's 3x3x3 is 9) are one predicated vector move each, runs of a multiple of 48 bytes (3 wide
 * filters on 16k channels) go three whole vectors a step. Output pixels (y, x) with y_lo <= y < y_lo + y_span and
 * x_lo <= x < x_lo + x_span are the interior ones (spans 0 when dilation_width is not 1). */
typedef struct {
    int32_t run, row_step, kh;      /* bytes per filter row, between filter rows, rows */
    int32_t triples, row_gap;       /* run / 48 when run is a multiple of 48, else 0; row_step - run */
    int32_t y_lo, y_span, x_lo, x_span;
    int32_t x_step, y_step;         /* image bytes between output pixels along x, along y */
    mve_pred16_t pred;              /* the run's bytes, when run <= 16 */
} tq_im2col_inside;

/* the interior output pixels [lo, lo + span) along an axis: in = out * stride - pad must be >= 0 and
 * in + reach <= size (reach: first to last tap, plus one) */
static void inside_range(int32_t size, int32_t reach, int32_t stride, int32_t pad, int32_t outs, int32_t *lo,
                         int32_t *span) {
    const int32_t first = (pad + stride - 1) / stride, top = size - reach + pad; /* out * stride <= top */
    int32_t last = top < 0 ? -1 : top / stride;
    if (last > outs - 1) last = outs - 1;
    *lo = first, *span = last >= first ? last - first + 1 : 0;
}

/* three whole vectors, the loads first */
static inline __attribute__((always_inline)) void copy48(int8_t *dst, const int8_t *src) {
    const int8x16_t a = vldrbq_s8(src), b = vldrbq_s8(src + 16), c = vldrbq_s8(src + 32);
    vstrbq_s8(dst, a), vstrbq_s8(dst + 16, b), vstrbq_s8(dst + 32, c);
}

/* the im2col row of an interior pixel whose receptive field starts at src */
static inline __attribute__((always_inline)) void inside_row(const tq_im2col_inside *f, const int8_t *src,
                                                             int8_t *dst) {
    if (f->triples == 1) { /* 16 channels: a filter row is three vectors */
        for (int32_t ky = f->kh; ky > 0; --ky, src += f->row_step, dst += 48) copy48(dst, src);
    } else if (f->triples > 1) {
        for (int32_t ky = f->kh; ky > 0; --ky, src += f->row_gap) {
            for (int32_t i = f->triples; i > 0; --i, src += 48, dst += 48) copy48(dst, src);
        }
    } else if (f->run <= 16) {
        for (int32_t ky = f->kh; ky > 0; --ky, src += f->row_step, dst += f->run)
            vstrbq_p_s8(dst, vldrbq_z_s8(src, f->pred), f->pred);
    } else {
        for (int32_t ky = f->kh; ky > 0; --ky, src += f->row_step) dst = tq_mve_copy(dst, src, f->run);
    }
}

/* The pixel cursor: output (y, x), the offset of its receptive field's first tap in the image (in = out * stride -
 * pad, moved by a stride a pixel: no multiplies), and whether row y is interior. */
typedef struct {
    int32_t y, x, offset, row_offset, y_inside;
} tq_im2col_cursor;

static inline __attribute__((always_inline)) void cursor_row(const tq_im2col_inside *f, tq_im2col_cursor *c,
                                                             int32_t y, int32_t row_offset) {
    c->y = y, c->x = 0, c->offset = c->row_offset = row_offset;
    c->y_inside = (uint32_t)(y - f->y_lo) < (uint32_t)f->y_span;
}

/* the im2col row of the cursor's pixel into dst, then the cursor on the next pixel */
static inline __attribute__((always_inline)) void pixel_row(const tq_conv_s8_im2col_mve_params *p,
                                                            const tq_im2col_inside *f, const int8_t *image,
                                                            tq_im2col_cursor *c, int8_t *dst) {
    if (c->y_inside && (uint32_t)(c->x - f->x_lo) < (uint32_t)f->x_span) inside_row(f, image + c->offset, dst);
    else im2col_row(p, image, c->y, c->x, dst);
    c->offset += f->x_step;
    if (++c->x == p->output_width) cursor_row(f, c, c->y + 1, c->row_offset + f->y_step);
}

/* the image with its zero-point border (p's bordered_height x bordered_width, the image at (pad_height,
 * pad_width)) in dst; returns dst */
static inline __attribute__((always_inline)) const int8_t *border_image(const tq_conv_s8_im2col_mve_params *p,
                                                                        const int8_t *image, int8_t *dst) {
    const int32_t row = p->input_width * p->input_depth, bordered_row = p->bordered_width * p->input_depth;
    tq_mve_fill(dst, vdupq_n_s8((int8_t)p->pad_value), p->bordered_height * bordered_row);
    int8_t *d = dst + p->pad_height * bordered_row + p->pad_width * p->input_depth;
    for (int32_t y = 0; y < p->input_height; ++y, image += row, d += bordered_row) tq_mve_copy(d, image, row);
    return dst;
}

/* the conv through a GEMM core: the int8 one when core is NULL (inlined as direct calls), once more for
 * tq_mve_im2col's core taken by pointer */
static inline __attribute__((always_inline)) tq_status im2col_gemm(const tq_conv_s8_im2col_mve_params *p,
                                                                   const int8_t *input, int8_t *output,
                                                                   void *scratch, const tq_mve_gemm_core *core) {
    TQ_ASSERT(p != NULL && p->gemm != NULL && input != NULL && output != NULL && scratch != NULL);
    const tq_gemm_s8_mve_params *g = p->gemm;
    int8_t *row0 = (int8_t *)scratch, *row1 = row0 + g->depth;
    tq_conv_s8_im2col_mve_params bordered;
    if (p->bordered_height > 0) { /* the same conv on the bordered copy: no padding left */
        bordered = *p;
        bordered.input_height = p->bordered_height, bordered.input_width = p->bordered_width;
        bordered.pad_height = 0, bordered.pad_width = 0;
    }
    const tq_conv_s8_im2col_mve_params *q = p->bordered_height > 0 ? &bordered : p; /* the geometry read */
    const int32_t pixels = p->output_height * p->output_width, c = g->out_depth;
    tq_im2col_inside f;
    f.run = p->filter_width * p->input_depth, f.row_step = p->dilation_height * q->input_width * p->input_depth;
    f.kh = p->filter_height, f.triples = f.run % 48 == 0 ? f.run / 48 : 0;
    f.row_gap = f.row_step - f.run;
    f.x_step = p->stride_width * p->input_depth, f.y_step = p->stride_height * q->input_width * p->input_depth;
    f.pred = vctp8q((uint32_t)(f.run < 16 ? f.run : 16));
    inside_range(q->input_height, (p->filter_height - 1) * p->dilation_height + 1, p->stride_height,
                 q->pad_height, p->output_height, &f.y_lo, &f.y_span);
    inside_range(q->input_width, p->filter_width, p->stride_width, q->pad_width, p->output_width, &f.x_lo,
                 &f.x_span);
    if (p->dilation_width != 1) f.x_span = 0;
    tq_mve_gemm_run run;
    if (core) core->start(&run, g);
    else tq_mve_gemm_start(&run, g);
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int8_t *image = input + batch * p->input_height * p->input_width * p->input_depth;
        if (p->bordered_height > 0) image = border_image(p, image, row1 + g->depth);
        tq_im2col_cursor cur;
        cursor_row(&f, &cur, 0, (-q->pad_height * q->input_width - q->pad_width) * p->input_depth);
        for (int32_t n = 0; n < pixels; n += 2) {
            pixel_row(q, &f, image, &cur, row0);
            if (n + 1 < pixels) {
                pixel_row(q, &f, image, &cur, row1);
                if (core) core->rows2(&run, row0, row1, output, output + c);
                else tq_mve_gemm_rows2(&run, row0, row1, output, output + c);
                output += 2 * c;
            } else {
                if (core) core->rows2(&run, row0, NULL, output, NULL);
                else tq_mve_gemm_rows2(&run, row0, NULL, output, NULL);
                output += c;
            }
        }
    }
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                void *scratch) {
    return im2col_gemm(p, input, output, scratch, NULL);
}

tq_status tq_mve_im2col(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output, void *scratch,
                        const tq_mve_gemm_core *core) {
    return im2col_gemm(p, input, output, scratch, core);
}

#endif
