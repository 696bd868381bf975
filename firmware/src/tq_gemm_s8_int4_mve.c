/* FULLY_CONNECTED, CONV_2D 1x1 and im2col CONV_2D on Helium with int4 weights: tq_gemm_s8_mve.c's cores
 * (tq_mve_gemm_asm.h: two rows x a block of four channels, eight VMLADAVA sums, the blocked stream, the tail
 * mask in VPR) on weights that stay 4-bit in flash, decoded in registers. A 16-byte weight vector holds 16 taps
 * of a channel PAIR (c, c + 1), one byte a tap, in one of two forms (the record's `decode`, chosen per layer by
 * tinyq/specialize/int4_mve.py, which proves each form's bound):
 *
 * TQ_INT4_PAIR_SUM: byte (w_c << 4) | (w_{c+1} + 8), 0 past K. As int8 it is B = 16 w_c + u, u = w_{c+1} + 8 in
 * [0, 15], and B & 0x0F = u (one VAND, mask in q7): VMLADAVA of B gives A_hi = 16 sum(x w_c) + sum(x u), of u
 * A_lo = sum(x u), as many VMLADAVA and half the weight loads of int8, one ALU op a vector. The sums start at
 * 16 f_c + f_{c+1} and f_{c+1} (f: the folded bias, mod 2^32); (A_hi - A_lo) >> 4 is channel c's TFLM
 * accumulator, exact when |acc_c| < 2^27 (16 acc_c fits int32), and A_lo - 8 S channel c + 1's (S: the row's
 * input sum, taken once a row before the core; int32 wraps as TFLM's accumulator does). Best on one row and
 * deep rows: 13 scalar ops a block (both rows) and the sums' pass are its overhead.
 *
 * TQ_INT4_SCALED: byte (w_c << 4) | (w_{c+1} & 0xF), 0 past K: B & 0xF0 = 16 w_c and B << 4 = 16 w_{c+1} exactly
 * (two ALU ops a vector, mask 0xF0 in q7), so every sum is 16 acc from a start of 16 f, exact when every
 * |acc| < 2^27; one VSHR a row's vector undoes the 16. Best on two rows of short depth.
 *
 * Taps past K have nibbles 0 and the tail's input lanes read 0: no byte past the row counts. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>

#include "tq_mve_gemm.h"
#include "tq_mve_gemm_asm.h"

/* pair sums: a weight vector of a pair for both rows, A0/B0 row 0/1's A_hi, A1/B1 their A_lo */
#define TQ_W4_PAIR_VEC(A0, A1, B0, B1)                                                                         \
    "vldrb.8 q2, [r5], #16\n vmladava.s8 " A0 ", q0, q2\n vmladava.s8 " B0 ", q1, q2\n vand q3, q2, q7\n"      \
    "vmladava.s8 " A1 ", q0, q3\n vmladava.s8 " B1 ", q1, q3\n"
#define TQ_W4_PAIR_MACS TQ_W4_PAIR_VEC("r0", "r2", "r8", "r10") TQ_W4_PAIR_VEC("r4", "r6", "r12", "lr")
#define TQ_W4_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_W4_PAIR_MACS
#define TQ_W4_ONE_VEC(A0, A1)                                                                                  \
    "vldrb.8 q2, [r5], #16\n vand q3, q2, q7\n vmladava.s8 " A0 ", q0, q2\n vmladava.s8 " A1 ", q0, q3\n"
#define TQ_W4_ONE_MACS TQ_W4_ONE_VEC("r0", "r2") TQ_W4_ONE_VEC("r4", "r6")
/* one row's pairs -> its four accumulators (SUM8: a register holding 8 S) */
#define TQ_W4_ROW(HI0, LO0, HI1, LO1, SUM8)                                                                    \
    "sub " HI0 ", " HI0 ", " LO0 "\n asr " HI0 ", " HI0 ", #4\n sub " LO0 ", " LO0 ", " SUM8 "\n"             \
    "sub " HI1 ", " HI1 ", " LO1 "\n asr " HI1 ", " HI1 ", #4\n sub " LO1 ", " LO1 ", " SUM8 "\n"

/* scaled: a pair's vector for both rows, A0/B0 (channel c) and A1/B1 (c + 1) of rows 0/1 */
#define TQ_W4S_PAIR_VEC(A0, A1, B0, B1)                                                                        \
    "vldrb.8 q2, [r5], #16\n vshl.i8 q3, q2, #4\n vand q2, q2, q7\n vmladava.s8 " A0 ", q0, q2\n"             \
    "vmladava.s8 " B0 ", q1, q2\n vmladava.s8 " A1 ", q0, q3\n vmladava.s8 " B1 ", q1, q3\n"
#define TQ_W4S_PAIR_MACS TQ_W4S_PAIR_VEC("r0", "r2", "r8", "r10") TQ_W4S_PAIR_VEC("r4", "r6", "r12", "lr")
#define TQ_W4S_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_W4S_PAIR_MACS
#define TQ_W4S_ONE_VEC(A0, A1)                                                                                 \
    "vldrb.8 q2, [r5], #16\n vshl.i8 q3, q2, #4\n vand q2, q2, q7\n vmladava.s8 " A0 ", q0, q2\n"             \
    "vmladava.s8 " A1 ", q0, q3\n"
#define TQ_W4S_ONE_MACS TQ_W4S_ONE_VEC("r0", "r2") TQ_W4S_ONE_VEC("r4", "r6")

__asm__(".syntax unified\n"
        ".thumb\n"
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair_int4, "d8-d15", "vmov.i8 q7, #15\n", TQ_STARTS_ONCE_PAIR, TQ_W4_PAIR_STEP,
                 TQ_W4_PAIR_MACS,
                 "ldrd r1, r3, [r9, #84]\n" TQ_W4_ROW("r0", "r2", "r4", "r6", "r1")
                     TQ_W4_ROW("r8", "r10", "r12", "lr", "r3"), "")
TQ_MVE_GEMM_ONE(tq_mve_gemm_one_int4, "d8-d15", "vmov.i8 q7, #15\n", TQ_STARTS_ONCE_ONE, TQ_W4_ONE_MACS,
                "ldr r1, [r9, #84]\n" TQ_W4_ROW("r0", "r2", "r4", "r6", "r1"), "")
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair_int4s, "d8-d15", "vmov.i8 q7, #0xf0\n", TQ_STARTS_ONCE_PAIR, TQ_W4S_PAIR_STEP,
                 TQ_W4S_PAIR_MACS, "",
                 "vshr.s32 q0, q0, #4\n vshr.s32 q1, q1, #4\n")
TQ_MVE_GEMM_ONE(tq_mve_gemm_one_int4s, "d8-d15", "vmov.i8 q7, #0xf0\n", TQ_STARTS_ONCE_ONE, TQ_W4S_ONE_MACS, "",
                "vshr.s32 q0, q0, #4\n")
        ".text\n");

void tq_mve_gemm_pair_int4(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair_int4");
void tq_mve_gemm_one_int4(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one_int4");
void tq_mve_gemm_pair_int4s(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair_int4s");
void tq_mve_gemm_one_int4s(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one_int4s");

/* 8 * the sum of x[0..k), wrapping as int32 */
static int32_t sum8(const int8_t *x, int32_t k) { return (int32_t)((uint32_t)tq_mve_row_sum(x, k) << 3); }

static void pair_sum_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    const int32_t k = r->p->depth;
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    r->sums8[0] = sum8(x0, k);
    if (y1) {
        r->sums8[1] = sum8(x1, k);
        tq_mve_gemm_pair_int4(r);
    } else {
        tq_mve_gemm_one_int4(r);
    }
}

static void scaled_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    if (y1) tq_mve_gemm_pair_int4s(r);
    else tq_mve_gemm_one_int4s(r);
}

/* by the record's decode: TQ_INT4_PAIR_SUM, TQ_INT4_SCALED */
static const tq_mve_gemm_core int4_cores[2] = {{tq_mve_gemm_start, pair_sum_rows2},
                                              {tq_mve_gemm_start, scaled_rows2}};

void tq_mve_gemm_by(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output,
                    const tq_mve_gemm_core *core) {
    const int32_t k = p->depth, c = p->out_depth;
    tq_mve_gemm_run run;
    core->start(&run, p);
    int32_t r = 0;
    for (; r + 1 < p->rows; r += 2)
        core->rows2(&run, input + r * k, input + (r + 1) * k, output + r * c, output + (r + 1) * c);
    if (r < p->rows) core->rows2(&run, input + r * k, NULL, output + r * c, NULL);
}

tq_status tq_fully_connected_s8_int4_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1 && p->decode <= 1);
    tq_mve_gemm_by(p, input, output, &int4_cores[p->decode]);
    return TQ_OK;
}

tq_status tq_conv1x1_s8_int4_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1 && p->decode <= 1);
    tq_mve_gemm_by(p, input, output, &int4_cores[p->decode]);
    return TQ_OK;
}

tq_status tq_conv_s8_im2col_int4_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                     void *scratch) {
    TQ_ASSERT(p != NULL && p->gemm != NULL && p->gemm->decode <= 1);
    return tq_mve_im2col(p, input, output, scratch, &int4_cores[p->gemm->decode]);
}

#endif
