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
 * sequence, four channels of both rows at once) runs without spills. One row (FC, an odd last pixel) takes
 * a four-accumulator variant under a low-overhead loop. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>

#include "tq_mve_gemm.h"

void tq_mve_gemm_pair(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_pair");
void tq_mve_gemm_one(tq_mve_gemm_run *r) __asm__("tq_mve_gemm_one");
typedef char tq_mve_gemm_run_layout[offsetof(tq_mve_gemm_run, bias) == 16 && offsetof(tq_mve_gemm_run, steps) == 32
                                    && offsetof(tq_mve_gemm_run, act_max) == 52 ? 1 : -1];

/* Requantize q0 (and q1) of a block: bias, multiplier and shift vectors read at their cursors in the run
 * (r9), which advance by one block; q5/q6 hold act_min/act_max. Uses q2, q3, r0. Exactly tq_mve_requant. */
#define TQ_REQUANT_Q0                                                                                          \
    "ldr r0, [r9, #16]\n vldrw.32 q2, [r0], #16\n str r0, [r9, #16]\n"                                     \
    "ldr r0, [r9, #20]\n vldrw.32 q3, [r0], #16\n str r0, [r9, #20]\n"                                     \
    "vadd.i32 q0, q0, q2\n vqrdmulh.s32 q0, q0, q3\n"                                                       \
    "ldr r0, [r9, #24]\n vldrw.32 q3, [r0], #16\n str r0, [r9, #24]\n"                                     \
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vrshl.s32 q0, q0, q3\n"                                   \
    "ldr r0, [r9, #44]\n vadd.i32 q0, q0, r0\n vmax.s32 q0, q0, q5\n vmin.s32 q0, q0, q6\n"

__asm__(
    ".syntax unified\n"
    ".thumb\n"
    /* void tq_mve_gemm_pair(tq_mve_gemm_run *r): rows x0, x1 -> y0, y1, every block of 4 channels.
     * r0 r2 r4 r6: row 0's channel sums; r8 r10 r12 lr: row 1's; r1/r3: the input cursors; r5: weights;
     * r7: steps left; r9: the run; r11: channels left. */
    ".section .text.tq_mve_gemm_pair,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_mve_gemm_pair\n"
    ".type tq_mve_gemm_pair, %function\n"
    ".thumb_func\n"
    "tq_mve_gemm_pair:\n"
    "push {r4-r11, lr}\n"
    "vpush {d10-d13}\n"
    "mov r9, r0\n"
    "ldr r0, [r9, #48]\n vdup.32 q5, r0\n"
    "ldr r0, [r9, #52]\n vdup.32 q6, r0\n"
    "ldr r5, [r9, #28]\n"
    "ldr r11, [r9, #40]\n"
    "1:\n"
    "ldrd r1, r3, [r9, #0]\n"
    "ldr r7, [r9, #32]\n"
    "movs r0, #0\n movs r2, #0\n movs r4, #0\n movs r6, #0\n"
    "mov r8, r0\n mov r10, r0\n mov r12, r0\n mov lr, r0\n"
    "cbz r7, 3f\n"
    "2:\n"
    "vldrb.8 q0, [r1], #16\n vldrb.8 q1, [r3], #16\n"
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q2\n vmladava.s8 r8, q1, q2\n"
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r2, q0, q3\n vmladava.s8 r10, q1, q3\n"
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q2\n vmladava.s8 r12, q1, q2\n"
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r6, q0, q3\n vmladava.s8 lr, q1, q3\n"
    "subs r7, #1\n"
    "bne 2b\n"
    "3:\n"
    "ldr r7, [r9, #36]\n vmsr p0, r7\n"
    "vpstt\n vldrbt.8 q0, [r1]\n vldrbt.8 q1, [r3]\n"
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q2\n vmladava.s8 r8, q1, q2\n"
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r2, q0, q3\n vmladava.s8 r10, q1, q3\n"
    "vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q2\n vmladava.s8 r12, q1, q2\n"
    "vldrb.8 q3, [r5], #16\n vmladava.s8 r6, q0, q3\n vmladava.s8 lr, q1, q3\n"
    /* lanes one by one: the two-lane VMOV's register order is read differently by tools */
    "vmov.32 q0[0], r0\n vmov.32 q0[1], r2\n vmov.32 q0[2], r4\n vmov.32 q0[3], r6\n"
    "vmov.32 q1[0], r8\n vmov.32 q1[1], r10\n vmov.32 q1[2], r12\n vmov.32 q1[3], lr\n"
    /* both rows' requantization, interleaved: the same bias, multiplier and shift */
    "ldr r0, [r9, #16]\n vldrw.32 q2, [r0], #16\n str r0, [r9, #16]\n"
    "ldr r0, [r9, #20]\n vldrw.32 q3, [r0], #16\n str r0, [r9, #20]\n"
    "vadd.i32 q0, q0, q2\n vadd.i32 q1, q1, q2\n"
    "vqrdmulh.s32 q0, q0, q3\n vqrdmulh.s32 q1, q1, q3\n"
    "ldr r0, [r9, #24]\n vldrw.32 q3, [r0], #16\n str r0, [r9, #24]\n"
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vshr.s32 q2, q1, #31\n vadd.i32 q1, q1, q2\n"
    "vrshl.s32 q0, q0, q3\n vrshl.s32 q1, q1, q3\n"
    "ldr r0, [r9, #44]\n vadd.i32 q0, q0, r0\n vadd.i32 q1, q1, r0\n"
    "vmax.s32 q0, q0, q5\n vmax.s32 q1, q1, q5\n vmin.s32 q0, q0, q6\n vmin.s32 q1, q1, q6\n"
    "ldrd r0, r2, [r9, #8]\n"
    "vctp.32 r11\n"
    "vpstt\n vstrbt.32 q0, [r0], #4\n vstrbt.32 q1, [r2], #4\n"
    "strd r0, r2, [r9, #8]\n"
    "subs r11, #4\n"
    "bgt 1b\n"
    "vpop {d10-d13}\n"
    "pop {r4-r11, pc}\n"
    ".size tq_mve_gemm_pair, .-tq_mve_gemm_pair\n"

    /* void tq_mve_gemm_one(tq_mve_gemm_run *r): row x0 -> y0. r0 r2 r4 r6: the channel sums; r1: input cursor;
     * r5: weights; lr: the low-overhead loop; r9: the run; r11: channels left. */
    ".section .text.tq_mve_gemm_one,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_mve_gemm_one\n"
    ".type tq_mve_gemm_one, %function\n"
    ".thumb_func\n"
    "tq_mve_gemm_one:\n"
    "push {r4-r11, lr}\n"
    "vpush {d10-d13}\n"
    "mov r9, r0\n"
    "ldr r0, [r9, #48]\n vdup.32 q5, r0\n"
    "ldr r0, [r9, #52]\n vdup.32 q6, r0\n"
    "ldr r5, [r9, #28]\n"
    "ldr r11, [r9, #40]\n"
    "ldr r8, [r9, #36]\n"
    "ldr r7, [r9, #32]\n"
    "1:\n"
    "ldr r1, [r9, #0]\n"
    "movs r0, #0\n movs r2, #0\n movs r4, #0\n movs r6, #0\n"
    "wls lr, r7, 3f\n"
    "2:\n"
    "vldrb.8 q0, [r1], #16\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q1\n vmladava.s8 r2, q0, q2\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q1\n vmladava.s8 r6, q0, q2\n"
    "le lr, 2b\n"
    "3:\n"
    "vmsr p0, r8\n"
    "vpst\n vldrbt.8 q0, [r1]\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r0, q0, q1\n vmladava.s8 r2, q0, q2\n"
    "vldrb.8 q1, [r5], #16\n vldrb.8 q2, [r5], #16\n vmladava.s8 r4, q0, q1\n vmladava.s8 r6, q0, q2\n"
    "vmov.32 q0[0], r0\n vmov.32 q0[1], r2\n vmov.32 q0[2], r4\n vmov.32 q0[3], r6\n"
    TQ_REQUANT_Q0
    "ldr r0, [r9, #8]\n"
    "vctp.32 r11\n"
    "vpst\n vstrbt.32 q0, [r0], #4\n"
    "str r0, [r9, #8]\n"
    "subs r11, #4\n"
    "bgt 1b\n"
    "vpop {d10-d13}\n"
    "pop {r4-r11, pc}\n"
    ".size tq_mve_gemm_one, .-tq_mve_gemm_one\n"
    ".text\n");

void tq_mve_gemm_start(tq_mve_gemm_run *r, const tq_gemm_s8_mve_params *p) {
    const int32_t steps = p->chunks - 1; /* full 16-byte steps; the last one is predicated */
    r->p = p;
    r->w = p->blocked;
    r->steps = steps;
    r->tail = (uint32_t)vctp8q((uint32_t)(p->depth - 16 * steps));
    r->channels = p->out_depth;
    r->output_offset = p->output_offset;
    r->act_min = p->act_min;
    r->act_max = p->act_max;
}

void tq_mve_gemm_rows2(tq_mve_gemm_run *r, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1) {
    r->x0 = x0, r->x1 = x1, r->y0 = y0, r->y1 = y1;
    r->bias = r->p->bias, r->mult = r->p->multiplier, r->shift = r->p->shift;
    if (y1) tq_mve_gemm_pair(r);
    else tq_mve_gemm_one(r);
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
