/* The GEMM core shared by tq_gemm_s8_mve.c (FC, conv 1x1) and tq_conv_s8_im2col_mve.c. */
#ifndef TINYQ_TQ_MVE_GEMM_H
#define TINYQ_TQ_MVE_GEMM_H

#include "tinyq/tq_mve.h"

/* What the assembly core (tq_gemm_s8_mve.c) reads: one layer's constants, set once by tq_mve_gemm_start, and
 * the rows of one call. The field offsets are the core's immediates: keep the order. */
typedef struct {
    const int8_t *x0, *x1;  /* 0, 4: input rows */
    int8_t *y0, *y1;        /* 8, 12: output rows (cursors, advanced by the core) */
    const int32_t *bias;    /* 16: folded bias cursor */
    const int32_t *mult;    /* 20: multiplier cursor */
    const int32_t *shift;   /* 24: shift cursor */
    const int8_t *w;        /* 28: the blocked weights */
    int32_t steps;          /* 32: full 16-byte steps before the predicated last one */
    uint32_t tail;          /* 36: VPR mask of the last step's input bytes */
    int32_t channels;       /* 40: out_depth */
    int32_t output_offset;  /* 44 */
    int32_t act_min;        /* 48 */
    int32_t act_max;        /* 52 */
    const tq_gemm_s8_mve_params *p;
} tq_mve_gemm_run;

void tq_mve_gemm_start(tq_mve_gemm_run *r, const tq_gemm_s8_mve_params *p);

/* Output rows y0 (and y1 unless NULL) of input rows x0 (and x1, unused when y1 is NULL). */
void tq_mve_gemm_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);

/* Every row of a row-major [rows][depth] input into [rows][out_depth], two rows at a time. */
void tq_mve_gemm(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);

#endif
