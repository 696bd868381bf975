/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on Helium.
 * The input is first copied into scratch, group-major, with a border of the input zero point wide enough for
 * every tap (tinyq/specialize/depthwise_mve.py sizes it), so the tap loops need no bounds checks: the bias has the input
 * offset folded in (bias + input_offset * sum of the channel's taps, mod 2^32), and a border tap multiplies
 * the zero point, (zero_point + input_offset) * w = 0, as TFLM's skipped tap adds nothing.
 * The int32 lanes are four neighbouring output pixels of one channel (along x, or along y when that takes
 * fewer passes): each tap is one widening gather of the four pixels' input bytes and one VMLA by the tap's
 * weight as a scalar (MVE has no vector-by-vector VMLA), 2 vector instructions per 4 MACs.
 * The requantization takes the channel's multiplier and shift as scalars (tq_mve_requant.h's arithmetic, its
 * sign term folded into VQRDMLAH) and the four outputs go out in one scatter store. 3x3 filters (dilation
 * width 1) run in assembly cores, a call or two per channel, weights read as bytes from the blocked filter: one
 * line of chunks at a time, or (lanes along y, stride 1 along x, the full int8 clamp) two neighbouring lines
 * at a time, which share three of every filter row's four gathers. A line's partial last chunk moves back
 * to end at the line's end (recomputing, and rewriting with the same values, outputs of the chunk before);
 * lines shorter than 4 take a predicated chunk. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stdint.h>

#include "tq_mve_bytes.h"

/* the image with its zero-point border, group-major: [groups][padded_height][padded_width][4], so that within
 * a group the taps of a filter row are 4 * dilation_width bytes apart (immediate offsets for 3x3). When the
 * depth is a multiple of 4 and both buffers word-aligned, each pixel's bytes are read 16 at a time (four
 * groups' 4 channels) and one word scatter puts the four words into their four group planes; otherwise a
 * copy per pixel and group. */
static __attribute__((noinline)) void pad_words(const tq_depthwise_conv_s8_mve_params *p, const int8_t *src,
                                                int8_t *first, int32_t plane) {
    const int32_t c = p->depth, w = p->input_width;
    /* groups 0-3, 4-7, 8-11, 12-15 of a 64-channel step */
    const uint32x4_t p0 = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)plane), p1 = vaddq_n_u32(p0, 4 * plane);
    const uint32x4_t p2 = vaddq_n_u32(p0, 8 * plane), p3 = vaddq_n_u32(p0, 12 * plane);
    const mve_pred16_t rest = vctp32q((uint32_t)(c % 16 / 4));
    for (int32_t y = 0; y < p->input_height; ++y, src += w * c) {
        int8_t *row = first + y * p->padded_width * 4;
        int32_t at = 0; /* the channel the pass starts at */
        for (; at + 64 <= c; at += 64) {
            const int8_t *s = src + at;
            int8_t *d = row + at / 4 * plane;
            for (int32_t x = 0; x < w; ++x, s += c, d += 4) {
                vstrwq_scatter_offset_s32((int32_t *)d, p0, vldrwq_s32((const int32_t *)s));
                vstrwq_scatter_offset_s32((int32_t *)d, p1, vldrwq_s32((const int32_t *)(s + 16)));
                vstrwq_scatter_offset_s32((int32_t *)d, p2, vldrwq_s32((const int32_t *)(s + 32)));
                vstrwq_scatter_offset_s32((int32_t *)d, p3, vldrwq_s32((const int32_t *)(s + 48)));
            }
        }
        for (; at + 16 <= c; at += 16) {
            const int8_t *s = src + at;
            int8_t *d = row + at / 4 * plane;
            for (int32_t x = 0; x < w; ++x, s += c, d += 4)
                vstrwq_scatter_offset_s32((int32_t *)d, p0, vldrwq_s32((const int32_t *)s));
        }
        if (at < c) {
            const int8_t *s = src + at;
            int8_t *d = row + at / 4 * plane;
            for (int32_t x = 0; x < w; ++x, s += c, d += 4)
                vstrwq_scatter_offset_p_s32((int32_t *)d, p0, vldrwq_z_s32((const int32_t *)s, rest), rest);
        }
    }
}

static inline __attribute__((always_inline)) void pad_image(const tq_depthwise_conv_s8_mve_params *p,
                                                            const int8_t *image, int8_t *dst) {
    const int32_t c = p->depth, w = p->input_width, plane = p->padded_height * p->padded_width * 4;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->pad_value);
    tq_mve_fill(dst, zp, p->groups * plane);
    int8_t *first = dst + (p->pad_height * p->padded_width + p->pad_width) * 4; /* pixel (0, 0) of group 0 */
    if (c % 4 == 0 && (((uintptr_t)image | (uintptr_t)dst) & 3u) == 0) {
        pad_words(p, image, first, plane);
        return;
    }
    for (int32_t g = 0; g < p->groups; ++g) {
        const int32_t n = c - 4 * g < 4 ? c - 4 * g : 4; /* channels of this group that exist */
        const int8_t *src = image + 4 * g;
        int8_t *row = first + g * plane;
        for (int32_t y = 0; y < p->input_height; ++y, row += p->padded_width * 4) {
            int8_t *d = row;
            for (int32_t x = 0; x < w; ++x, src += c, d += 4) __builtin_memcpy(d, src, (size_t)n);
        }
    }
}

void tq_dw_mve_pad_image(const tq_depthwise_conv_s8_mve_params *p, const int8_t *image, int8_t *dst) {
    pad_image(p, image, dst);
}

/* one chunk: bias, nine taps (T = "" or the predicated "vpst\n" + "t"), requantization, store. The
 * requantization is tq_mve_requant.h's with the sign term folded into VQRDMLAH (Qda + the VQRDMULH result, in
 * one step): q4 = (acc >> 31) + h. The accumulator's sign stands in for h's: with 0 <= m < 2^31 they differ
 * only when h = 0 and acc < 0, where VRSHL by -rs (rs >= 1) gives floor((2^(rs-1) - 1) / 2^rs) = 0 =
 * floor(2^(rs-1) / 2^rs), the same; h > -2^31, so h - 1 never saturates. */
#define TQ_DW_TAP(rx, q, off, P, T) "ldrsb r12, [r2, #" #off "]\n" P "vldrb" T ".s32 q4, [" rx ", " q "]\n vmla.s32 q3, q4, r12\n"
#define TQ_DW_CHUNK(P, T)                                                                                      \
    "vdup.32 q3, r11\n"                                                                                    \
    TQ_DW_TAP("r0", "q0", 0, P, T) TQ_DW_TAP("r0", "q1", 4, P, T) TQ_DW_TAP("r0", "q2", 8, P, T)             \
    "add r9, r0, r3\n"                                                                                     \
    TQ_DW_TAP("r9", "q0", 12, P, T) TQ_DW_TAP("r9", "q1", 16, P, T) TQ_DW_TAP("r9", "q2", 20, P, T)          \
    "add r9, r9, r3\n"                                                                                     \
    TQ_DW_TAP("r9", "q0", 24, P, T) TQ_DW_TAP("r9", "q1", 28, P, T) TQ_DW_TAP("r9", "q2", 32, P, T)          \
    "vshr.s32 q4, q3, #31\n vqrdmlah.s32 q4, q3, r4\n vrshl.s32 q4, r5\n"                                \
    "vadd.i32 q4, q4, r6\n vmax.s32 q4, q4, q5\n vmin.s32 q4, q4, q6\n"                                     \
    P "vstrb" T ".32 q4, [r1, q7]\n"

/* r0: chunk input, r1: chunk output, r2: weights, r3: row step, r4 r5 r6: multiplier, shift, offset,
 * r7 r8: chunk advances, r9: filter row, r10: the run, r11: bias, r12: a weight, lr: chunks left */
__asm__(
    ".syntax unified\n"
    ".thumb\n"
    ".section .text.tq_dw3x3_lines,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_dw3x3_lines\n"
    ".type tq_dw3x3_lines, %function\n"
    ".thumb_func\n"
    "tq_dw3x3_lines:\n"
    "push {r4-r11, lr}\n"
    "vpush {d8-d15}\n"
    "mov r10, r0\n"
    "add r0, r10, #80\n vldrw.32 q0, [r0]\n vldrw.32 q1, [r0, #16]\n vldrw.32 q2, [r0, #32]\n"
    "vldrw.32 q7, [r0, #48]\n vldrw.32 q5, [r0, #64]\n vldrw.32 q6, [r0, #80]\n"
    "ldr r2, [r10, #8]\n ldr r3, [r10, #12]\n ldrd r4, r5, [r10, #16]\n ldr r6, [r10, #24]\n"
    "ldrd r7, r8, [r10, #28]\n ldr r11, [r10, #36]\n"
    "1:\n"
    "ldrd r0, r1, [r10, #0]\n"
    "ldr r9, [r10, #52]\n add r9, r0, r9\n str r9, [r10, #0]\n"
    "ldr r9, [r10, #56]\n add r9, r1, r9\n str r9, [r10, #4]\n"
    "ldr r9, [r10, #40]\n"
    "wls lr, r9, 3f\n"
    "2:\n"
    TQ_DW_CHUNK("", "")
    "add r0, r0, r7\n add r1, r1, r8\n"
    "le lr, 2b\n"
    "3:\n"
    "ldr r9, [r10, #60]\n"
    "cmp r9, #0\n beq 5f\n"
    "add r0, r0, r9\n ldr r9, [r10, #64]\n add r1, r1, r9\n"
    TQ_DW_CHUNK("", "")
    "b 4f\n"
    "5:\n"
    "ldr r9, [r10, #44]\n"
    "cmp r9, #0\n beq 4f\n"
    "vmsr p0, r9\n"
    TQ_DW_CHUNK("vpst\n", "t")
    "4:\n"
    "ldr r9, [r10, #48]\n subs r9, #1\n str r9, [r10, #48]\n"
    "bne 1b\n"
    "vpop {d8-d15}\n"
    "pop {r4-r11, pc}\n"
    ".size tq_dw3x3_lines, .-tq_dw3x3_lines\n"
    ".text\n");

/* Two neighbouring lines at once (lines along x, stride 1 there): line b's filter columns 0, 1, 2 are line a's
 * columns 1, 2, 3, so a filter row takes four gathers (columns 0..3, offsets q0..q3) for six VMLAs, each weight
 * loaded once and used for both lines (r12 and r11 in turn): w(c) meets column c for line a and column c + 1
 * for line b. Output only for the full int8 clamp [-128, 127]: the two lines' results are narrowed together
 * (VQMOVNB / VQMOVNT to int16, saturating; interleaved a0 b0 a1 b1 ...), the output offset added with int16
 * saturation (sat8(sat16(sat16(v) + offset)) = sat8(v + offset) for |offset| <= 128: a saturated lane stays
 * beyond int8's range) and narrowed to int8, and one 8-lane byte scatter (16-bit offsets) stores both lines.
 * Requantization as TQ_DW_CHUNK. */
#define TQ_DW_ROW(rx, w0, w1, w2)                                                                              \
    "vldrb.s32 q4, [" rx ", q0]\n ldrsb r12, [r2, #" #w0 "]\n vmla.s32 q5, q4, r12\n"                          \
    "vldrb.s32 q4, [" rx ", q1]\n vmla.s32 q6, q4, r12\n ldrsb r11, [r2, #" #w1 "]\n vmla.s32 q5, q4, r11\n"     \
    "vldrb.s32 q4, [" rx ", q2]\n vmla.s32 q6, q4, r11\n ldrsb r12, [r2, #" #w2 "]\n vmla.s32 q5, q4, r12\n"     \
    "vldrb.s32 q4, [" rx ", q3]\n vmla.s32 q6, q4, r12\n"
#define TQ_DW_PAIR                                                                                             \
    "vdup.32 q5, r10\n vdup.32 q6, r10\n"                                                                  \
    TQ_DW_ROW("r0", 0, 4, 8) "add r9, r0, r3\n" TQ_DW_ROW("r9", 12, 16, 20) "add r9, r9, r3\n"               \
    TQ_DW_ROW("r9", 24, 28, 32)                                                                            \
    "vshr.s32 q4, q5, #31\n vqrdmlah.s32 q4, q5, r4\n vrshl.s32 q4, r5\n"                                  \
    "vshr.s32 q5, q6, #31\n vqrdmlah.s32 q5, q6, r4\n vrshl.s32 q5, r5\n"                                  \
    "vqmovnb.s32 q4, q4\n vqmovnt.s32 q4, q5\n vqadd.s16 q4, q4, r6\n vqmovnb.s16 q4, q4\n"                 \
    "vstrb.16 q4, [r1, q7]\n"

/* r0: pass input, r1: pass output, r2: weights, r3: row step, r4 r5 r6: multiplier, shift, offset, r7 r8: pass
 * advances, r9: filter row, r10: bias, r11 r12: weights, lr: passes left; the run at [sp]. A line pair's
 * steps are line_in / line_out. */
__asm__(
    ".syntax unified\n"
    ".thumb\n"
    ".section .text.tq_dw3x3_pairs,\"ax\",%progbits\n"
    ".balign 4\n"
    ".global tq_dw3x3_pairs\n"
    ".type tq_dw3x3_pairs, %function\n"
    ".thumb_func\n"
    "tq_dw3x3_pairs:\n"
    "push {r0, r4-r11, lr}\n"
    "vpush {d8-d15}\n"
    "mov r12, r0\n"
    "add r0, r12, #80\n vldrw.32 q0, [r0]\n vldrw.32 q1, [r0, #16]\n vldrw.32 q2, [r0, #32]\n"
    "vldrw.32 q3, [r0, #96]\n vldrw.32 q7, [r0, #112]\n"
    "ldr r2, [r12, #8]\n ldr r3, [r12, #12]\n ldrd r4, r5, [r12, #16]\n ldr r6, [r12, #24]\n"
    "ldrd r7, r8, [r12, #28]\n ldr r10, [r12, #36]\n"
    "1:\n"
    "ldr r12, [sp, #64]\n"
    "ldrd r0, r1, [r12, #0]\n"
    "ldr r9, [r12, #52]\n add r9, r0, r9\n str r9, [r12, #0]\n"
    "ldr r9, [r12, #56]\n add r9, r1, r9\n str r9, [r12, #4]\n"
    "ldr r9, [r12, #40]\n"
    "wls lr, r9, 3f\n"
    "2:\n"
    TQ_DW_PAIR
    "add r0, r0, r7\n add r1, r1, r8\n"
    "le lr, 2b\n"
    "3:\n"
    "ldr r12, [sp, #64]\n"
    "ldr r9, [r12, #60]\n"
    "cmp r9, #0\n beq 4f\n"
    "add r0, r0, r9\n ldr r9, [r12, #64]\n add r1, r1, r9\n"
    TQ_DW_PAIR
    "4:\n"
    "ldr r12, [sp, #64]\n"
    "ldr r9, [r12, #48]\n subs r9, #1\n str r9, [r12, #48]\n"
    "bne 1b\n"
    "vpop {d8-d15}\n"
    "pop {r0, r4-r11, pc}\n"
    ".size tq_dw3x3_pairs, .-tq_dw3x3_pairs\n"
    ".text\n");

/* defined by the body included below (this line at column 0 also tells tinyq.targets.kernel_sources so) */
tq_status tq_depthwise_conv_s8_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output,
                                   void *scratch);
#define TQ_DW_KERNEL tq_depthwise_conv_s8_mve
#define TQ_DW_BITS 8
#define TQ_DW_PAD pad_image
#include "tq_depthwise_mve_common.h"

#endif
