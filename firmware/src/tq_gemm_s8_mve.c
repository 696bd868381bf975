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

typedef char tq_mve_gemm_run_layout[offsetof(tq_mve_gemm_run, steps) == 8 && offsetof(tq_mve_gemm_run, w) == 20
                                    && offsetof(tq_mve_gemm_run, vectors) == 32 ? 1 : -1];

/* one 16-byte step of both rows: q0/q1 the inputs (loaded before), four weight vectors */
#define TQ_PAIR_MACS                                                                                           \
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q2\n vmladava.s8 r8, q1, q2\n"                              \
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r2, q0, q3\n vmladava.s8 r10, q1, q3\n"                             \
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q2\n vmladava.s8 r12, q1, q2\n"                             \
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r6, q0, q3\n vmladava.s8 lr, q1, q3\n"
#define TQ_PAIR_STEP "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n" TQ_PAIR_MACS

/* the requantization of q0 (and q1) with the block's multiplier and shift at r5 (advanced past them); q4 q5 q6:
 * output offset, act_min, act_max; uses q2 q3. Exactly tq_mve_requant. */
#define TQ_REQUANT_Q0                                                                                          \
    "vldrw.32 q3, [r5], #16\n vqrdmulh.s32 q0, q0, q3\n vldrw.32 q3, [r5], #16\n"                             \
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vrshl.s32 q0, q0, q3\n"                                     \
    "vadd.i32 q0, q0, q4\n vmax.s32 q0, q0, q5\n vmin.s32 q0, q0, q6\n"

/* the prologue: r9 = the run, q4 q5 q6 its vectors, r5 the stream, r11 the channels, 32 bytes of stack */
#define TQ_CORE_ENTRY                                                                                          \
    "push {r4-r11, lr}\n vpush {d8-d13}\n sub sp, #32\n mov r9, r0\n"                                          \
    "vldrw.32 q4, [r9, #32]\n vldrw.32 q5, [r9, #48]\n vldrw.32 q6, [r9, #64]\n"                               \
    "ldr r5, [r9, #20]\n ldr r11, [r9, #28]\n"
#define TQ_CORE_EXIT "add sp, #32\n vpop {d8-d13}\n pop {r4-r11, pc}\n"

__asm__(
    ".syntax unified\n"
    ".thumb\n"
    /* void tq_mve_gemm_pair(tq_mve_gemm_run *r): rows x0, x1 -> y0, y1, every block of 4 channels.
     * r0 r2 r4 r6: row 0's channel sums; r8 r10 r12 lr: row 1's; r1/r3: the input cursors; r5: the stream;
     * r7: step pairs left; r9: the run; r11: channels left. */
    ".section .text.tq_mve_gemm_pair,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_mve_gemm_pair\n"
    ".type tq_mve_gemm_pair, %function\n"
    ".thumb_func\n"
    "tq_mve_gemm_pair:\n"
    TQ_CORE_ENTRY
    "ldr r7, [r9, #24]\n vmsr p0, r7\n" /* the tail mask, kept for the whole call */
    "1:\n"
    "ldm r9, {r1, r3, r7}\n"
    "ldm r5!, {r0, r2, r4, r6, r8, r10, r12, lr}\n"
    /* steps % 4 first (one, then two), then four a pass */
    "lsrs r7, r7, #1\n bcc 5f\n"
    TQ_PAIR_STEP
    "5:\n"
    "lsrs r7, r7, #1\n bcc 4f\n"
    TQ_PAIR_STEP
    TQ_PAIR_STEP
    "4:\n"
    "beq 3f\n" /* Z of the last LSRS: no pass of four (the steps leave the flags alone) */
    "2:\n"
    TQ_PAIR_STEP
    TQ_PAIR_STEP
    TQ_PAIR_STEP
    TQ_PAIR_STEP
    "subs r7, #1\n"
    "bne 2b\n"
    "3:\n"
    "vpstt\n vldrbt.8 q0, [r1]\n vldrbt.8 q1, [r3]\n"
    TQ_PAIR_MACS
    "stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}\n"
    "vldrw.32 q0, [sp]\n vldrw.32 q1, [sp, #16]\n"
    /* both rows' requantization, interleaved: the same multiplier and shift */
    "vldrw.32 q3, [r5], #16\n"
    "vqrdmulh.s32 q0, q0, q3\n vqrdmulh.s32 q1, q1, q3\n"
    "vldrw.32 q3, [r5], #16\n"
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vshr.s32 q2, q1, #31\n vadd.i32 q1, q1, q2\n"
    "vrshl.s32 q0, q0, q3\n vrshl.s32 q1, q1, q3\n"
    "vadd.i32 q0, q0, q4\n vadd.i32 q1, q1, q4\n"
    "vmax.s32 q0, q0, q5\n vmax.s32 q1, q1, q5\n vmin.s32 q0, q0, q6\n vmin.s32 q1, q1, q6\n"
    "ldrd r0, r2, [r9, #12]\n"
    "cmp r11, #4\n"
    "blt 6f\n" /* a partial last block */
    "vstrb.32 q0, [r0], #4\n vstrb.32 q1, [r2], #4\n"
    "strd r0, r2, [r9, #12]\n"
    "subs r11, #4\n"
    "bgt 1b\n"
    TQ_CORE_EXIT
    "6:\n"
    "vctp.32 r11\n"
    "vpstt\n vstrbt.32 q0, [r0]\n vstrbt.32 q1, [r2]\n"
    TQ_CORE_EXIT
    ".size tq_mve_gemm_pair, .-tq_mve_gemm_pair\n"

    /* void tq_mve_gemm_one(tq_mve_gemm_run *r): row x0 -> y0. r0 r2 r4 r6: the channel sums; r1: input cursor;
     * r5: the stream (the second copy of the bias skipped); lr: the low-overhead loop; r9: the run; r11:
     * channels left. */
    ".section .text.tq_mve_gemm_one,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_mve_gemm_one\n"
    ".type tq_mve_gemm_one, %function\n"
    ".thumb_func\n"
    "tq_mve_gemm_one:\n"
    TQ_CORE_ENTRY
    "ldr r8, [r9, #24]\n vmsr p0, r8\n" /* the tail mask, kept for the whole call */
    "ldr r7, [r9, #8]\n"
    "1:\n"
    "ldr r1, [r9, #0]\n"
    "ldm r5, {r0, r2, r4, r6}\n"
    "adds r5, #32\n"
    "wls lr, r7, 3f\n"
    "2:\n"
    "vldrb.8 q0, [r1], #16\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q1\n vmladava.s8 r2, q0, q2\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q1\n vmladava.s8 r6, q0, q2\n"
    "le lr, 2b\n"
    "3:\n"
    "vpst\n vldrbt.8 q0, [r1]\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q1\n vmladava.s8 r2, q0, q2\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q1\n vmladava.s8 r6, q0, q2\n"
    "stm sp, {r0, r2, r4, r6}\n vldrw.32 q0, [sp]\n"
    TQ_REQUANT_Q0
    "ldr r0, [r9, #12]\n"
    "cmp r11, #4\n"
    "blt 6f\n" /* a partial last block */
    "vstrb.32 q0, [r0], #4\n"
    "str r0, [r9, #12]\n"
    "subs r11, #4\n"
    "bgt 1b\n"
    TQ_CORE_EXIT
    "6:\n"
    "vctp.32 r11\n"
    "vpst\n vstrbt.32 q0, [r0]\n"
    TQ_CORE_EXIT
    ".size tq_mve_gemm_one, .-tq_mve_gemm_one\n"
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
