/* FULLY_CONNECTED, CONV_2D 1x1 and im2col CONV_2D on Helium with 2-bit weights (int2, ternary, binary: every
 * weight w = m_c * t, t in [-2, 1], m_c the channel's magnitude, 1 for int2; tinyq/specialize/lowbit_mve.py):
 * tq_gemm_s8_mve.c's cores (tq_mve_gemm_asm.h) on weights that stay 2-bit in flash. One 16-byte vector holds 16
 * taps of a whole block of 4 channels, byte j = tap j, in one of two forms (the record's `decode`):
 *
 * TQ_INT2_SCALED: bits 2i..2i+1 = channel i's t (two's complement, 0 past K). VSHL #6 gives 64 t_0 exactly,
 * VSHL #4 / #2 then VAND 0xC0 (mask in q7) 64 t_1 / 64 t_2, VAND 0xC0 64 t_3: six ALU ops a step. The sums start
 * at 0 and are 64 T_c, T_c = sum(x t_c), exact when |T_c| < 2^25 (proved by the preparer); VSHR #6 gives T_c.
 *
 * TQ_INT2_FIELDS: byte (t_0 & 3) << 6 | u_1 << 4 | u_2 << 2 | u_3, u = t + 2 in [0, 3]. As int8 it is
 * B = 64 t_0 + 16 u_1 + 4 u_2 + u_3, and the arithmetic shifts keep t_0 signed on top: B >> 6 = t_0,
 * B >> 4 = 4 t_0 + u_1, B >> 2 = 16 t_0 + 4 u_1 + u_2 (three ALU ops a step, the int8 loop's count). Their sums
 * S_6, S_4, S_2, S_0 give T_0 = S_6 and T_i = S_{6-2i} - 4 S_{8-2i} - 2X (X: the row's input sum), one SUB
 * (shifted operand) a channel once the sums start at {0, -2X, -10X, -42X}, which the C makes once a row. Every
 * step is linear modulo 2^32: exact for every input, no bound.
 *
 * Either way acc_c = m_c T_c + f_c (f: the folded bias, bias + input_offset * sum(w), both modulo 2^32 as TFLM's
 * int32 accumulator wraps) with a VMUL and a VADD from the block's stream: (starts,) the weights, m[4], f[4],
 * multiplier[4], shift[4] (tq_mve.h). */
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
/* m T + f with m and f from the stream (before the multiplier and shift); SCALED: T = sums >> 6 first */
#define TQ_W2_PAIR_MF                                                                                          \
    "vldrw.32 q2, [r5], #16\n vmul.i32 q0, q0, q2\n vmul.i32 q1, q1, q2\n vldrw.32 q3, [r5], #16\n"            \
    "vadd.i32 q0, q0, q3\n vadd.i32 q1, q1, q3\n"
#define TQ_W2_ONE_MF "vldrw.32 q2, [r5], #16\n vmul.i32 q0, q0, q2\n vldrw.32 q3, [r5], #16\n vadd.i32 q0, q0, q3\n"
#define TQ_W2_PAIR_POST "vshr.s32 q0, q0, #6\n vshr.s32 q1, q1, #6\n" TQ_W2_PAIR_MF
#define TQ_W2_ONE_POST "vshr.s32 q0, q0, #6\n" TQ_W2_ONE_MF

/* fields: a step's vector for the sums S_6 S_4 S_2 S_0 (row 0: r0 r2 r4 r6, row 1: r8 r10 r12 lr); the shifted
 * copies alternate q3 / q7 so that a shift need not wait for the multiply-accumulates of the one before */
#define TQ_W2F_PAIR_MACS                                                                                       \
    "vldrb.8 q2, [r5], #16\n"                                                                                  \
    "vshr.s8 q3, q2, #6\n vmladava.s8 r0, q0, q3\n vmladava.s8 r8, q1, q3\n"                                   \
    "vshr.s8 q7, q2, #4\n vmladava.s8 r2, q0, q7\n vmladava.s8 r10, q1, q7\n"                                  \
    "vshr.s8 q3, q2, #2\n vmladava.s8 r4, q0, q3\n vmladava.s8 r12, q1, q3\n"                                  \
    "vmladava.s8 r6, q0, q2\n vmladava.s8 lr, q1, q2\n"
#define TQ_W2F_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_W2F_PAIR_MACS
#define TQ_W2F_ONE_MACS                                                                                        \
    "vldrb.8 q2, [r5], #16\n"                                                                                  \
    "vshr.s8 q3, q2, #6\n vmladava.s8 r0, q0, q3\n vshr.s8 q7, q2, #4\n vmladava.s8 r2, q0, q7\n"              \
    "vshr.s8 q3, q2, #2\n vmladava.s8 r4, q0, q3\n vmladava.s8 r6, q0, q2\n"
/* the starting sums from the array sums8[0] points at (fields_rows2) */
#define TQ_W2F_STARTS_PAIR "ldr r0, [r9, #84]\n ldm r0, {r0, r2, r4, r6, r8, r10, r12, lr}\n"
#define TQ_W2F_STARTS_ONE "ldr r0, [r9, #84]\n ldm r0, {r0, r2, r4, r6}\n"
/* one row's sums -> T_0..T_3: S_0 - 4 S_2, S_2 - 4 S_4, S_4 - 4 S_6 (in this order: each reads an unchanged sum) */
#define TQ_W2F_ROW(A6, A4, A2, A0)                                                                             \
    "sub " A0 ", " A0 ", " A2 ", lsl #2\n sub " A2 ", " A2 ", " A4 ", lsl #2\n sub " A4 ", " A4 ", " A6 ", lsl #2\n"

__asm__(".syntax unified\n"
        ".thumb\n"
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair_int2, "d8-d15", "vmov.i8 q7, #0xc0\n", TQ_STARTS_ONCE_PAIR, TQ_W2_PAIR_STEP,
                 TQ_W2_PAIR_MACS, "", TQ_W2_PAIR_POST)
TQ_MVE_GEMM_ONE(tq_mve_gemm_one_int2, "d8-d15", "vmov.i8 q7, #0xc0\n", TQ_STARTS_ONCE_ONE, TQ_W2_ONE_MACS, "",
                TQ_W2_ONE_POST)
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair_int2f, "d8-d15", "", TQ_W2F_STARTS_PAIR, TQ_W2F_PAIR_STEP, TQ_W2F_PAIR_MACS,
                 TQ_W2F_ROW("r0", "r2", "r4", "r6") TQ_W2F_ROW("r8", "r10", "r12", "lr"), TQ_W2_PAIR_MF)
TQ_MVE_GEMM_ONE(tq_mve_gemm_one_int2f, "d8-d15", "", TQ_W2F_STARTS_ONE, TQ_W2F_ONE_MACS,
                TQ_W2F_ROW("r0", "r2", "r4", "r6"), TQ_W2_ONE_MF)
        ".text\n");

void tq_mve_gemm_pair_int2(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair_int2");
void tq_mve_gemm_one_int2(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one_int2");

static void int2_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    if (y1) tq_mve_gemm_pair_int2(r);
    else tq_mve_gemm_one_int2(r);
}

void tq_mve_gemm_pair_int2f(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair_int2f");
void tq_mve_gemm_one_int2f(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one_int2f");

/* a row's starting sums {0, -2X, -10X, -42X} (mod 2^32) from its input sum X: with them the fields' differences
 * are T exactly */
static inline void fields_starts(int32_t *s, int32_t x) {
    const uint32_t x2 = (uint32_t)x << 1;
    s[0] = 0, s[1] = (int32_t)(0u - x2), s[2] = (int32_t)(0u - 5u * x2), s[3] = (int32_t)(0u - 21u * x2);
}

static void fields_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    int32_t starts[8], k = r->p->depth;
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    r->sums8[0] = (int32_t)(uintptr_t)starts; /* the cores' START loads the sums through it */
    if (!y1) {
        fields_starts(starts, tq_mve_row_sum(x0, k));
        tq_mve_gemm_one_int2f(r);
        return;
    }
    int32_t a = 0, b = 0; /* both rows' sums in one pass (tq_mve_row_sum's) */
    for (; k >= 16; k -= 16, x0 += 16, x1 += 16) a = vaddvaq_s8(a, vldrbq_s8(x0)), b = vaddvaq_s8(b, vldrbq_s8(x1));
    if (k > 0) {
        const mve_pred16_t tail = vctp8q((uint32_t)k);
        a = vaddvaq_s8(a, vldrbq_z_s8(x0, tail)), b = vaddvaq_s8(b, vldrbq_z_s8(x1, tail));
    }
    fields_starts(starts, a);
    fields_starts(starts + 4, b);
    tq_mve_gemm_pair_int2f(r);
}

/* by the record's decode: TQ_INT2_SCALED, TQ_INT2_FIELDS */
static const tq_mve_gemm_core int2_cores[2] = {{tq_mve_gemm_start, int2_rows2}, {tq_mve_gemm_start, fields_rows2}};

tq_status tq_fully_connected_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1 && p->decode <= 1);
    tq_mve_gemm_by(p, input, output, &int2_cores[p->decode]);
    return TQ_OK;
}

tq_status tq_conv1x1_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1 && p->decode <= 1);
    tq_mve_gemm_by(p, input, output, &int2_cores[p->decode]);
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_int2_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    TQ_ASSERT(p != NULL && p->gemm != NULL && p->gemm->decode <= 1);
    return tq_mve_im2col(p, input, output, scratch, &int2_cores[p->gemm->decode]);
}

#endif
