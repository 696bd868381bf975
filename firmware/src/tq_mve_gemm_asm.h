/* The text of the Helium GEMM cores (tq_gemm_s8_mve.c's int8 ones, tq_gemm_s8_int4_mve.c's int4 ones): one
 * function a row pair and one a single row, both over every block of 4 output channels, parameterized by
 * what differs between weight forms: the registers saved, a per-call setup, the multiply-accumulates of one
 * 16-byte input step and what turns the sums into the four channels' int32 accumulators (POST on the scalar
 * sums, VPOST on the vectors q0 and q1 they were moved to). Every form
 * keep r0 r2 r4 r6 (row 0) and r8 r10 r12 lr (row 1) as the sums, r1/r3 the input cursors, r5 the stream,
 * r9 the run (tq_mve_gemm.h), r11 the channels left; q4 q5 q6 hold the output offset, act_min, act_max.
 * Include inside a top-level __asm__ after .syntax unified / .thumb, each call at column 0 with NAME an
 * identifier (the kernel-source scan, tinyq/targets/kernel_sources.py, finds its definition there). */
#ifndef TINYQ_TQ_MVE_GEMM_ASM_H
#define TINYQ_TQ_MVE_GEMM_ASM_H

/* the prologue (DREGS: the callee-saved vector registers used, d8-d13 at least): r9 = the run, q4 q5 q6 its
 * vectors, r5 the stream, r11 the channels, 32 bytes of stack */
#define TQ_CORE_ENTRY(DREGS)                                                                                   \
    "push {r4-r11, lr}\n vpush {" DREGS "}\n sub sp, #32\n mov r9, r0\n"                                       \
    "vldrw.32 q4, [r9, #32]\n vldrw.32 q5, [r9, #48]\n vldrw.32 q6, [r9, #64]\n"                               \
    "ldr r5, [r9, #20]\n ldr r11, [r9, #28]\n"
#define TQ_CORE_EXIT(DREGS) "add sp, #32\n vpop {" DREGS "}\n pop {r4-r11, pc}\n"

/* START: the starting sums stored twice (int8: one LDM of eight registers), or once (the sub-8-bit forms: 16
 * bytes less a block, one LDM more on two rows, one less on one) */
#define TQ_STARTS_TWICE_PAIR "ldm r5!, {r0, r2, r4, r6, r8, r10, r12, lr}\n"
#define TQ_STARTS_TWICE_ONE "ldm r5, {r0, r2, r4, r6}\n adds r5, #32\n"
#define TQ_STARTS_ONCE_PAIR "ldm r5, {r8, r10, r12, lr}\n ldm r5!, {r0, r2, r4, r6}\n"
#define TQ_STARTS_ONCE_ONE "ldm r5!, {r0, r2, r4, r6}\n"

/* the requantization of q0 (and q1) with the block's multiplier and shift at r5 (advanced past them); q4 q5 q6:
 * output offset, act_min, act_max; uses q2 q3. Exactly tq_mve_requant. */
#define TQ_REQUANT_Q0                                                                                          \
    "vldrw.32 q3, [r5], #16\n vqrdmulh.s32 q0, q0, q3\n vldrw.32 q3, [r5], #16\n"                             \
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vrshl.s32 q0, q0, q3\n"                                     \
    "vadd.i32 q0, q0, q4\n vmax.s32 q0, q0, q5\n vmin.s32 q0, q0, q6\n"

/* the start of a global Thumb function NAME (an identifier) in a section of its own */
#define TQ_ASM_FUNCTION(NAME)                                                                                  \
    ".section .text." #NAME ",\"ax\",%progbits\n.balign 4\n.global " #NAME "\n.type " #NAME ", %function\n"     \
    ".thumb_func\n" #NAME ":\n"

/* void NAME(tq_mve_gemm_run *r): rows x0, x1 -> y0, y1. STEP: one full 16-byte step (it loads q0/q1 from r1/r3
 * with post-increment); MACS: a step's weights with q0/q1 loaded; r7: step pairs left. */
#define TQ_MVE_GEMM_PAIR(NAME, DREGS, SETUP, START, STEP, MACS, POST, VPOST)                                          \
    TQ_ASM_FUNCTION(NAME) TQ_CORE_ENTRY(DREGS) SETUP                                                           \
    "ldr r7, [r9, #24]\n vmsr p0, r7\n" /* the tail mask, kept for the whole call */                          \
    "1:\n"                                                                                                     \
    "ldm r9, {r1, r3, r7}\n"                                                                                   \
    START /* the block's starting sums into r0 r2 r4 r6 and r8 r10 r12 lr, r5 past them */                  \
    /* steps % 4 first (one, then two), then four a pass */                                                    \
    "lsrs r7, r7, #1\n bcc 5f\n" STEP "5:\n"                                                                   \
    "lsrs r7, r7, #1\n bcc 4f\n" STEP STEP "4:\n"                                                              \
    "beq 3f\n" /* Z of the last LSRS: no pass of four (the steps leave the flags alone) */                    \
    "2:\n" STEP STEP STEP STEP "subs r7, #1\n bne 2b\n"                                                        \
    "3:\n"                                                                                                     \
    "vpstt\n vldrbt.8 q0, [r1]\n vldrbt.8 q1, [r3]\n" MACS POST                                                \
    "stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}\n"                                                             \
    "vldrw.32 q0, [sp]\n vldrw.32 q1, [sp, #16]\n" VPOST                                                       \
    /* both rows' requantization, interleaved: the same multiplier and shift */                                \
    "vldrw.32 q3, [r5], #16\n"                                                                                 \
    "vqrdmulh.s32 q0, q0, q3\n vqrdmulh.s32 q1, q1, q3\n"                                                      \
    "vldrw.32 q3, [r5], #16\n"                                                                                 \
    "vshr.s32 q2, q0, #31\n vadd.i32 q0, q0, q2\n vshr.s32 q2, q1, #31\n vadd.i32 q1, q1, q2\n"               \
    "vrshl.s32 q0, q0, q3\n vrshl.s32 q1, q1, q3\n"                                                            \
    "vadd.i32 q0, q0, q4\n vadd.i32 q1, q1, q4\n"                                                              \
    "vmax.s32 q0, q0, q5\n vmax.s32 q1, q1, q5\n vmin.s32 q0, q0, q6\n vmin.s32 q1, q1, q6\n"                 \
    "ldrd r0, r2, [r9, #12]\n"                                                                                 \
    "cmp r11, #4\n"                                                                                            \
    "blt 6f\n" /* a partial last block */                                                                     \
    "vstrb.32 q0, [r0], #4\n vstrb.32 q1, [r2], #4\n"                                                          \
    "strd r0, r2, [r9, #12]\n"                                                                                 \
    "subs r11, #4\n"                                                                                           \
    "bgt 1b\n" TQ_CORE_EXIT(DREGS)                                                                             \
    "6:\n"                                                                                                     \
    "vctp.32 r11\n"                                                                                            \
    "vpstt\n vstrbt.32 q0, [r0]\n vstrbt.32 q1, [r2]\n" TQ_CORE_EXIT(DREGS)                                    \
    ".size " #NAME ", .-" #NAME "\n"

/* void NAME(tq_mve_gemm_run *r): row x0 -> y0. MACS: a step's weights with q0 loaded (sums r0 r2 r4 r6);
 * r1: input cursor; r5: the stream; lr: the low-overhead loop. */
#define TQ_MVE_GEMM_ONE(NAME, DREGS, SETUP, START, MACS, POST, VPOST)                                                 \
    TQ_ASM_FUNCTION(NAME) TQ_CORE_ENTRY(DREGS) SETUP                                                           \
    "ldr r8, [r9, #24]\n vmsr p0, r8\n" /* the tail mask, kept for the whole call */                          \
    "ldr r7, [r9, #8]\n"                                                                                       \
    "1:\n"                                                                                                     \
    "ldr r1, [r9, #0]\n"                                                                                       \
    START /* the block's starting sums into r0 r2 r4 r6, r5 past them */                                     \
    "wls lr, r7, 3f\n"                                                                                         \
    "2:\n"                                                                                                     \
    "vldrb.8 q0, [r1], #16\n" MACS "le lr, 2b\n"                                                               \
    "3:\n"                                                                                                     \
    "vpst\n vldrbt.8 q0, [r1]\n" MACS POST                                                                     \
    "stm sp, {r0, r2, r4, r6}\n vldrw.32 q0, [sp]\n" VPOST TQ_REQUANT_Q0                                             \
    "ldr r0, [r9, #12]\n"                                                                                      \
    "cmp r11, #4\n"                                                                                            \
    "blt 6f\n" /* a partial last block */                                                                     \
    "vstrb.32 q0, [r0], #4\n"                                                                                  \
    "str r0, [r9, #12]\n"                                                                                      \
    "subs r11, #4\n"                                                                                           \
    "bgt 1b\n" TQ_CORE_EXIT(DREGS)                                                                             \
    "6:\n"                                                                                                     \
    "vctp.32 r11\n"                                                                                            \
    "vpst\n vstrbt.32 q0, [r0]\n" TQ_CORE_EXIT(DREGS)                                                          \
    ".size " #NAME ", .-" #NAME "\n"

#endif
