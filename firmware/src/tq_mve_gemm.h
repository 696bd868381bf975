/* The GEMM core shared by tq_gemm_s8_mve.c (FC, conv 1x1), tq_conv_s8_im2col_mve.c and the int4 weight form's
 * tq_gemm_s8_int4_mve.c. */
#ifndef TINYQ_TQ_MVE_GEMM_H
#define TINYQ_TQ_MVE_GEMM_H

#include <arm_mve.h>

#include "tinyq/tq_mve.h"

/* What the assembly core (tq_gemm_s8_mve.c) reads: one layer's constants, set once by tq_mve_gemm_start, and
 * the rows of one call. The field offsets are the core's immediates: keep the order. */
typedef struct {
    const int8_t *x0, *x1;  /* 0, 4: input rows */
    int32_t steps;          /* 8: full 16-byte steps before the predicated last one */
    int8_t *y0, *y1;        /* 12, 16: output rows (cursors, advanced by the core) */
    const int8_t *w;        /* 20: the blocked stream (weights and requantization vectors) */
    uint32_t tail;          /* 24: VPR mask of the last step's input bytes */
    int32_t channels;       /* 28: out_depth */
    int32_t vectors[12];    /* 32, 48, 64: output_offset, act_min, act_max, each in four lanes */
    const tq_gemm_s8_mve_params *p; /* 80 */
    int32_t sums8[2]; /* 84, 88: 8 * each input row's sum (the int4 cores); TQ_INT2_FIELDS: [0] the address of
                       * both rows' starting sums (int32 [8], on the caller's stack) */
} tq_mve_gemm_run;

/* The sum of x[0..k) (the tail lanes read as 0), wrapping as int32: the sub-8-bit cores' input sums. */
static inline int32_t tq_mve_row_sum(const int8_t *x, int32_t k) {
    int32_t s = 0;
    for (; k >= 16; k -= 16, x += 16) s = vaddvaq_s8(s, vldrbq_s8(x));
    if (k > 0) s = vaddvaq_s8(s, vldrbq_z_s8(x, vctp8q((uint32_t)k)));
    return s;
}

void tq_mve_gemm_start(tq_mve_gemm_run *r, const tq_gemm_s8_mve_params *p);

void tq_mve_gemm_pair(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair");
void tq_mve_gemm_one(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one");

/* Output rows y0 (and y1 unless NULL) of input rows x0 (and x1, unused when y1 is NULL). */
static inline void tq_mve_gemm_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0,
                                     int8_t *y1) {
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    if (y1) tq_mve_gemm_pair(r);
    else tq_mve_gemm_one(r);
}

/* A GEMM core as the im2col driver calls it: the per-call setup, then output rows y0 (and y1 unless NULL). */
typedef struct {
    void (*start)(tq_mve_gemm_run *r, const tq_gemm_s8_mve_params *p);
    void (*rows2)(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);
} tq_mve_gemm_core;

/* tq_conv_s8_im2col_mve's im2col rows (tq_conv_s8_im2col_mve.c) through another core: the int4 form's. */
tq_status tq_mve_im2col(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output, void *scratch,
                        const tq_mve_gemm_core *core);

/* tq_mve_gemm through another core (tq_gemm_s8_int4_mve.c): the sub-8-bit weight forms' FC and conv 1x1. */
void tq_mve_gemm_by(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output,
                    const tq_mve_gemm_core *core);

/* Every row of a row-major [rows][depth] input into [rows][out_depth], two rows at a time. */
void tq_mve_gemm(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);

#endif
