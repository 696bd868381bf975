/* GEMM on Helium: FULLY_CONNECTED and CONV_2D 1x1 (stride 1, no padding) as rows x weights, int8.
 * Two input rows and a block of four output channels share each loaded vector: per 16-byte step, two input
 * and four weight loads feed eight VMLADAVA (16 products each, summed into a scalar). The weights were laid
 * out at compile time in the order the loop reads them and zero-filled past K and past C, so only the input
 * loads of the last step are tail-predicated (VCTP: lanes past K read as 0). The int32 sums wrap as TFLM's
 * int32 accumulator does; the folded bias holds bias + input_offset * sum(w) modulo 2^32, so
 * bias + sum(x*w) + input_offset * sum(w) equals TFLM's bias + sum((x + input_offset) * w) exactly.
 *
 * The core is assembly, so that the eight accumulators stay in the eight even registers VMLADAVA can write
 * (r0..r12 and lr; GCC keeps fewer and shuffles them) and every block's requantization (tq_mve_requant.h's
 * sequence, four channels of both rows at once) runs without spills. One cursor reads a block's whole stream
 * (tq_mve.h's blocked): the folded bias, twice, straight into the eight sums (one LDM: the sums start there, so
 * no vector add), the weights, then the multiplier and shift vectors. The sums go to a vector through the
 * stack (one STM, two VLDRW: fewer than eight lane moves). The full steps run four per loop pass (a branch per
 * 64 bytes), steps % 4 first. The tail mask stays in VPR for the whole call: whole blocks store unpredicated,
 * only a partial last block (C % 4) takes a VCTP. One row (FC, an odd last pixel) takes a four-accumulator variant under a
 * low-overhead loop. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>

#include "tq_mve_gemm.h"
#include "tq_mve_gemm_asm.h"

typedef char tq_mve_gemm_run_layout[offsetof(tq_mve_gemm_run, steps) == 8 && offsetof(tq_mve_gemm_run, w) == 20
                                    && offsetof(tq_mve_gemm_run, vectors) == 32
                                    && offsetof(tq_mve_gemm_run, sums8) == 84 ? 1 : -1];

/* one 16-byte step of both rows: q0/q1 the inputs (loaded before), four weight vectors */
#define TQ_PAIR_MACS                                                                                           \
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q2\n vmladava.s8 r8, q1, q2\n"                              \
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r2, q0, q3\n vmladava.s8 r10, q1, q3\n"                             \
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q2\n vmladava.s8 r12, q1, q2\n"                             \
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r6, q0, q3\n vmladava.s8 lr, q1, q3\n"
#define TQ_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_PAIR_MACS
/* one 16-byte step of one row: q0 the input (loaded before) */
#define TQ_ONE_MACS                                                                                            \
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q1\n vmladava.s8 r2, q0, q2\n"      \
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q1\n vmladava.s8 r6, q0, q2\n"

/* the sums are the accumulators already: no setup, nothing after the last step */
__asm__(".syntax unified\n"
        ".thumb\n"
TQ_MVE_GEMM_PAIR(tq_mve_gemm_pair, "d8-d13", "", TQ_STARTS_TWICE_PAIR, TQ_PAIR_STEP, TQ_PAIR_MACS, "", "")
TQ_MVE_GEMM_ONE(tq_mve_gemm_one, "d8-d13", "", TQ_STARTS_TWICE_ONE, TQ_ONE_MACS, "", "")
        ".text\n");

void tq_mve_gemm_start(tq_mve_gemm_run *r, const tq_gemm_s8_mve_params *p) {
    const int32_t steps = p->chunks - 1; /* full 16-byte steps; the last one is predicated */
    r->p = p;
    r->w = p->blocked;
    r->steps = steps;
    r->tail = (uint32_t)vctp8q((uint32_t)(p->depth - 16 * steps));
    r->channels = p->out_depth;
    vst1q_s32(r->vectors, vdupq_n_s32(p->output_offset));
    vst1q_s32(r->vectors + 4, vdupq_n_s32(p->act_min));
    vst1q_s32(r->vectors + 8, vdupq_n_s32(p->act_max));
}

void tq_mve_gemm(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    const int32_t k = p->depth, c = p->out_depth;
    tq_mve_gemm_run run;
    tq_mve_gemm_start(&run, p);
    int32_t r = 0;
    for (; r + 1 < p->rows; r += 2)
        tq_mve_gemm_rows2(&run, input + r * k, input + (r + 1) * k, output + r * c, output + (r + 1) * c);
    if (r < p->rows) tq_mve_gemm_rows2(&run, input + r * k, NULL, output + r * c, NULL);
}

tq_status tq_fully_connected_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm(p, input, output);
    return TQ_OK;
}

tq_status tq_conv1x1_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->chunks >= 1 && p->rows >= 1);
    tq_mve_gemm(p, input, output);
    return TQ_OK;
}

#endif
