/* The GEMM core shared by tq_gemm_s8_mve.c (FC, conv 1x1) and tq_conv_s8_im2col_mve.c. */
#ifndef TINYQ_TQ_MVE_GEMM_H
#define TINYQ_TQ_MVE_GEMM_H

#include "tinyq/tq_mve.h"

/* Output rows y0 (and y1 unless NULL) of input rows x0 (and x1; pass x1 = x0 for one row). */
void tq_mve_gemm_rows2(const tq_gemm_s8_mve_params *p, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);

/* Every row of a row-major [rows][depth] input into [rows][out_depth], two rows at a time. */
void tq_mve_gemm(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);

#endif
