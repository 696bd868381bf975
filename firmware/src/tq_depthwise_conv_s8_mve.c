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
#include <stddef.h>
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

static void pad_image(const tq_depthwise_conv_s8_mve_params *p, const int8_t *image, int8_t *dst) {
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

/* The taps of one channel for four output pixels (the int32 lanes): each tap gathers the four pixels' input
 * bytes (widened; `o` holds their byte offsets in the bordered copy) and multiply-accumulates them by the
 * tap's weight, a scalar (VMLA Qda, Qn, Rm). With `pred` (the last, partial chunk of pixels) the lanes past
 * the row read nothing and stay unused. */
#define TQ_GATHER(ptr) (tail ? vldrbq_gather_offset_z_s32((ptr), o, pred) : vldrbq_gather_offset_s32((ptr), o))

static inline __attribute__((always_inline)) int32x4_t taps(const tq_depthwise_conv_s8_mve_params *p,
                                                            const int8_t *x, int32_t row_step, int32_t col_step,
                                                            uint32x4_t o, const int8_t *w, int32x4_t acc, int tail,
                                                            mve_pred16_t pred) {
    for (int32_t ky = 0; ky < p->filter_height; ++ky, x += row_step) {
        const int8_t *xr = x;
        for (int32_t kx = 0; kx < p->filter_width; ++kx, xr += col_step, w += 4) acc = vmlaq_n_s32(acc, TQ_GATHER(xr), *w);
    }
    return acc;
}

/* What the 3x3 assembly core reads (offsets are its immediates: keep the order): one channel's lines of
 * output pixels, four pixels (lanes) per chunk. */
typedef struct {
    const int8_t *x;      /* 0: the first line's first tap (bordered copy), advanced per line */
    int8_t *out;          /* 4: the first line's first output, advanced per line */
    const int8_t *w;      /* 8: the channel's first weight in the blocked filter (its nine are 4 bytes apart) */
    int32_t row_step;     /* 12: bytes between filter rows in the copy */
    int32_t multiplier;   /* 16 */
    int32_t shift;        /* 20: -right shift */
    int32_t offset;       /* 24: output offset */
    int32_t in_adv;       /* 28: bytes from a chunk to the next, in the copy */
    int32_t out_adv;      /* 32: and in the output */
    int32_t bias;         /* 36: folded */
    int32_t full;         /* 40: full chunks per line */
    uint32_t pred;        /* 44: VPR mask of the last, partial chunk, or 0 */
    int32_t lines;        /* 48: lines left */
    int32_t line_in;      /* 52: bytes between lines in the copy */
    int32_t line_out;     /* 56: and in the output */
    int32_t back_in;      /* 60: or 0: the last chunk moved back to end at the line's end (input bytes) */
    int32_t back_out;     /* 64: and output bytes; it rewrites outputs of the chunk before with their values */
    int32_t pad_[3];
    int32x4_t o0, o1, o2; /* 80, 96, 112: the lanes' byte offsets for the filter columns 0, 1, 2 */
    uint32x4_t out_o;     /* 128: the lanes' output offsets */
    int32x4_t lo, hi;     /* 144, 160: the clamp */
    int32x4_t o3;         /* 176: tq_dw3x3_pairs: column 3 (column 2 of the second line) */
    uint16x8_t out_ab;    /* 192: tq_dw3x3_pairs: both lines' output offsets, interleaved (a0 b0 a1 b1 ...) */
} tq_dw3x3_run;

void tq_dw3x3_lines(tq_dw3x3_run *r) __asm__("tq_dw3x3_lines");
void tq_dw3x3_pairs(tq_dw3x3_run *r) __asm__("tq_dw3x3_pairs");
typedef char tq_dw3x3_run_layout[offsetof(tq_dw3x3_run, lines) == 48 && offsetof(tq_dw3x3_run, back_out) == 64
                                 && offsetof(tq_dw3x3_run, o0) == 80 && offsetof(tq_dw3x3_run, hi) == 160
                                 && offsetof(tq_dw3x3_run, out_ab) == 192 ? 1 : -1];

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

/* One output dimension of the pixel loops: how many, and the bytes between neighbours in the bordered input
 * and in the output. */
typedef struct {
    int32_t count, in_step, out_step;
} tq_dw_dim;

/* The 3x3 cores over the channels, `lines` lines each: two at a time by tq_dw3x3_pairs when `pairs` (an odd last
 * line, `last_in` / `last_out` bytes after the first, goes to tq_dw3x3_lines), else one at a time. */
static __attribute__((noinline)) void channels3x3(tq_dw3x3_run *run, const tq_depthwise_conv_s8_mve_params *p,
                                                  const int8_t *x, int8_t *out, int32_t plane, int32_t lines,
                                                  int pairs, int32_t last_in, int32_t last_out) {
    const int8_t *w = p->blocked;
    const int32_t *bias = p->bias, *multiplier = p->multiplier, *shift = p->shift;
    for (int32_t ch = 0; ch < p->depth; ++ch, ++out) {
        run->x = x, run->out = out, run->w = w, run->bias = *bias++, run->multiplier = *multiplier++;
        run->shift = *shift++;
        if (pairs) {
            run->lines = lines / 2;
            tq_dw3x3_pairs(run);
            if (lines % 2) {
                run->x = x + last_in, run->out = out + last_out, run->lines = 1;
                tq_dw3x3_lines(run);
            }
        } else {
            run->lines = lines;
            tq_dw3x3_lines(run);
        }
        if (ch % 4 == 3) x += plane - 3, w += 4 * 9 - 3; /* the next group */
        else ++x, ++w;
    }
}

tq_status tq_depthwise_conv_s8_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output,
                                   void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->groups >= 1);
    const int32_t c = p->depth, tap_bytes = 4 * p->filter_height * p->filter_width;
    const int32_t plane = p->padded_height * p->padded_width * 4;
    const int32_t row_step = p->dilation_height * p->padded_width * 4, col_step = p->dilation_width * 4;
    const int is3x3 = p->filter_height == 3 && p->filter_width == 3 && p->dilation_width == 1;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    /* the four lanes are four neighbouring pixels along x, or along y when that wastes fewer lanes */
    tq_dw_dim inner = {p->output_width, p->stride_width * 4, c};
    tq_dw_dim outer = {p->output_height, p->stride_height * p->padded_width * 4, p->output_width * c};
    /* tq_dw3x3_pairs takes lines along x two at a time (stride 1 along x, the full int8 clamp, lanes along y
     * at least 4, both lines' output offsets within 16 bits); the estimate counts a pair's pass as 1.4 chunks */
    const int pairable = is3x3 && p->stride_width == 1 && p->act_min == -128 && p->act_max == 127
                         && p->output_width >= 2 && p->output_height >= 4
                         && 3 * p->output_width * c + c <= 65535;
    const int32_t lines_x = pairable ? 7 * (p->output_width / 2) + 5 * (p->output_width % 2) : 5 * p->output_width;
    const int32_t cost_x = (p->output_width + 3) / 4 * 5 * p->output_height;
    const int32_t cost_y = (p->output_height + 3) / 4 * lines_x;
    const int pairs = pairable && cost_y < cost_x;
    if (cost_y < cost_x) {
        const tq_dw_dim t = inner;
        inner = outer, outer = t;
    }
    const uint32x4_t o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.in_step);
    const uint32x4_t out_o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.out_step);
    const int32_t full = inner.count / 4, rest = inner.count % 4;
    const mve_pred16_t pred = vctp32q((uint32_t)rest);
    const int8_t *padded = (const int8_t *)scratch;
    tq_dw3x3_run run;
    if (is3x3) {
        run.row_step = row_step, run.offset = p->output_offset;
        run.in_adv = 4 * inner.in_step, run.out_adv = 4 * inner.out_step, run.full = full;
        /* a partial last chunk: moved back over its neighbour's pixels when the line has 4, else predicated */
        const int back = rest != 0 && full > 0;
        run.pred = rest && !back ? (uint32_t)pred : 0u, run.line_in = outer.in_step, run.line_out = outer.out_step;
        run.back_in = back ? (rest - 4) * inner.in_step : 0, run.back_out = back ? (rest - 4) * inner.out_step : 0;
        if (pairs) run.line_in = 2 * outer.in_step, run.line_out = 2 * outer.out_step;
        run.o0 = vreinterpretq_s32_u32(o), run.o1 = vaddq_n_s32(run.o0, 4), run.o2 = vaddq_n_s32(run.o0, 8);
        run.out_o = out_o, run.lo = lo, run.hi = hi;
        if (pairs) {
            run.o3 = vaddq_n_s32(run.o0, 12);
            /* halfword 2i: line a's lane i, 2i + 1: line b's */
            const uint16x8_t lane = vshrq_n_u16(vidupq_n_u16(0, 1), 1), odd = vandq_u16(vidupq_n_u16(0, 1), vdupq_n_u16(1));
            run.out_ab = vaddq_u16(vmulq_n_u16(lane, (uint16_t)inner.out_step), vmulq_n_u16(odd, (uint16_t)outer.out_step));
        }
    }
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        pad_image(p, input + batch * p->input_height * p->input_width * c, (int8_t *)scratch);
        int8_t *image_out = output + batch * p->output_height * p->output_width * c;
        if (is3x3) {
            channels3x3(&run, p, padded, image_out, plane, outer.count, pairs, (outer.count - 1) * outer.in_step,
                        (outer.count - 1) * outer.out_step);
            continue;
        }
        for (int32_t ch = 0; ch < c; ++ch) {
            const int32_t g = ch / 4, lane = ch % 4;
            const int8_t *w = p->blocked + g * tap_bytes + lane;
            const int32_t bias = p->bias[ch], m = p->multiplier[ch], s = p->shift[ch], offset = p->output_offset;
            const int8_t *in_line = padded + g * plane + lane;
            int8_t *out_line = image_out + ch;
            for (int32_t n = 0; n < outer.count; ++n, in_line += outer.in_step, out_line += outer.out_step) {
                const int8_t *x = in_line;
                int8_t *out = out_line;
                for (int32_t k = 0; k <= full; ++k, x += 4 * inner.in_step, out += 4 * inner.out_step) {
                    const int tail = k == full;
                    if (tail && rest == 0) break;
                    int32x4_t acc = vdupq_n_s32(bias);
                    acc = tail ? taps(p, x, row_step, col_step, o, w, acc, 1, pred)
                               : taps(p, x, row_step, col_step, o, w, acc, 0, pred);
                    /* the 3x3 core's requantization (TQ_DW_CHUNK), this channel's multiplier and shift as scalars */
                    int32x4_t h = vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m);
                    h = vrshlq_n_s32(h, s);
                    h = vminq_s32(vmaxq_s32(vaddq_n_s32(h, offset), lo), hi);
                    if (tail) vstrbq_scatter_offset_p_s32(out, out_o, h, pred);
                    else vstrbq_scatter_offset_s32(out, out_o, h);
                }
            }
        }
    }
    return TQ_OK;
}

#endif
