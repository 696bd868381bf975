/* FULLY_CONNECTED, CONV_2D 1x1 and im2col CONV_2D on Helium with 2-bit weights (int2, ternary, binary: every
 * weight w = m_c * t, t in [-2, 1], m_c the channel's magnitude, 1 for int2; tinyq/specialize/lowbit_mve.py):
 * tq_gemm_s8_mve.c's cores (tq_mve_gemm_asm.h) on weights that stay 2-bit in flash. One 16-byte vector holds 16
 * taps of a whole block of 4 channels: byte j = tap j, bits 2i..2i+1 = channel i's t (two's complement, 0 past K).
 * VSHL #6 gives 64 t_0 exactly, VSHL #4 / #2 then VAND 0xC0 (mask in q7) 64 t_1 / 64 t_2, VAND 0xC0 64 t_3: six
 * ALU ops and a quarter of int8's weight loads a step. The sums start at 0 and are 64 T_c, T_c = sum(x t_c),
 * exact when |T_c| < 2^25 (proved by the preparer); VSHR #6 gives T_c, then acc_c = m_c T_c + f_c (f: the folded
 * bias, bias + input_offset * sum(w), both modulo 2^32 as TFLM's int32 accumulator wraps) with a VMUL and a VADD
 * from the block's stream: starts (0), the weights, m[4], f[4], multiplier[4], shift[4]. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>

#include "tq_mve_gemm.h"
#include "tq_mve_gemm_asm.h"

/* the block's four channels of one vector q2 (both rows / one row) */
#define TQ_W2_PAIR_MACS                                                                                        \
    "vldrb.8 q2, [r5], #16\n"                                                                                  \
    "vshl.i8 q3, q2, #6\n vmladava.s8 r0, q0, q3\n vmladava.s8 r8, q1, q3\n"                                    \
    "vshl.i8 q3, q2, #4\n vand q3, q3, q7\n vmladava.s8 r2, q0, q3\n vmladava.s8 r10, q1, q3\n"                 \
    "vshl.i8 q3, q2, #2\n vand q3, q3, q7\n vmladava.s8 r4, q0, q3\n vmladava.s8 r12, q1, q3\n"                 \
    "vand q3, q2, q7\n vmladava.s8 r6, q0, q3\n vmladava.s8 lr, q1, q3\n"
#define TQ_W2_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_W2_PAIR_MACS
#define TQ_W2_ONE_MACS                                                                                         \
    "vldrb.8 q2, [r5], #16\n"                                                                                  \
    "vshl.i8 q3, q2, #6\n vmladava.s8 r0, q0, q3\n vshl.i8 q3, q2, #4\n vand q3, q3, q7\n"                      \
    "vmladava.s8 r2, q0, q3\n vshl.i8 q3, q2, #2\n vand q3, q3, q7\n vmladava.s8 r4, q0, q3\n"                  \
    "vand q3, q2, q7\n vmladava.s8 r6, q0, q3\n"
/* T = sums >> 6, then m T + f with m and f from the stream (before the multiplier and shift) */
#define TQ_W2_PAIR_POST                                                                                        \
    "vshr.s32 q0, q0, #6\n vshr.s32 q1, q1, #6\n vldrw.32 q2, [r5], #16\n vmul.i32 q0, q0, q2\n"               \
    "vmul.i32 q1, q1, q2\n vldrw.32 q3, [r5], #16\n vadd.i32 q0, q0, q3\n vadd.i32 q1, q1, q3\n"
#define TQ_W2_ONE_POST                                                                                         \
    "vshr.s32 q0, q0, #6\n vldrw.32 q2, [r5], #16\n vmul.i32 q0, q0, q2\n vldrw.32 q3, [r5], #16\n"            \
    "vadd.i32 q0, q0, q3\n"

__asm__(".syntax unified\n"
        ".thumb\n"
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair_int2, "d8-d15", "vmov.i8 q7, #0xc0\n", TQ_STARTS_ONCE_PAIR, TQ_W2_PAIR_STEP,
                 TQ_W2_PAIR_MACS, "", TQ_W2_PAIR_POST)
TQ_MVE_GEMM_ONE(tq_mve_gemm_one_int2, "d8-d15", "vmov.i8 q7, #0xc0\n", TQ_STARTS_ONCE_ONE, TQ_W2_ONE_MACS, "",
                TQ_W2_ONE_POST)
        ".text\n");

void tq_mve_gemm_pair_int2(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair_int2");
void tq_mve_gemm_one_int2(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one_int2");

static void int2_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    if (y1) tq_mve_gemm_pair_int2(r);
    else tq_mve_gemm_one_int2(r);
}

static const tq_mve_gemm_core int2_core = {tq_mve_gemm_start, int2_rows2};

tq_status tq_fully_connected_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm_by(p, input, output, &int2_core);
    return TQ_OK;
}

tq_status tq_conv1x1_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm_by(p, input, output, &int2_core);
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_int2_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    return tq_mve_im2col(p, input, output, scratch, &int2_core);
}

#endif
