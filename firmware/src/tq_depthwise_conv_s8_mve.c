/* DEPTHWISE_CONV_2D int8, depth multiplier 1, on Helium.
 * The input is first copied into scratch, group-major, with a border of the input zero point wide enough for
 * every tap (tinyq/specialize/depthwise_mve.py sizes it), so the tap loops need no bounds checks: the bias has the input
 * offset folded in (bias + input_offset * sum of the channel's taps, mod 2^32), and a border tap multiplies
 * the zero point, (zero_point + input_offset) * w = 0, as TFLM's skipped tap adds nothing.
 * The int32 lanes are four neighbouring output pixels of one channel (along x, or along y when that wastes
 * fewer lanes on a partial last chunk): each tap is one widening gather of the four pixels' input bytes and one
 * VMLA by the tap's weight as a scalar (MVE has no vector-by-vector VMLA), 2 vector instructions per 4 MACs.
 * The requantization takes the channel's multiplier and shift as scalars (the same arithmetic as
 * tq_mve_requant.h) and the four outputs go out in one scatter store. 3x3 filters (dilation 1) run in an
 * assembly core, one call per channel, with the nine weights, both steps and the lane offsets of the three
 * filter columns in registers. */
#include "tinyq/tq_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "tq_mve_bytes.h"

/* the image with its zero-point border, group-major: [groups][padded_height][padded_width][4], so that within
 * a group the taps of a filter row are 4 * dilation_width bytes apart (immediate offsets for 3x3). When every
 * group is whole and the image word-aligned, one word gather takes four pixels' 4 bytes (VLDRW gathers need
 * aligned words) and one 16-byte store writes them; otherwise a copy per pixel. */
static void pad_image(const tq_depthwise_conv_s8_mve_params *p, const int8_t *image, int8_t *dst) {
    const int32_t c = p->depth, w = p->input_width, plane = p->padded_height * p->padded_width * 4;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->pad_value);
    tq_mve_fill(dst, zp, p->groups * plane);
    const int vector = c % 4 == 0 && ((uintptr_t)image & 3u) == 0;
    const uint32x4_t pixels = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)c); /* four pixels' byte offsets */
    const mve_pred16_t rest32 = vctp32q((uint32_t)(w % 4)), rest8 = vctp8q((uint32_t)(4 * (w % 4)));
    for (int32_t g = 0; g < p->groups; ++g) {
        const int32_t n = c - 4 * g < 4 ? c - 4 * g : 4; /* channels of this group that exist */
        const int8_t *src = image + 4 * g;
        int8_t *row = dst + g * plane + (p->pad_height * p->padded_width + p->pad_width) * 4;
        for (int32_t y = 0; y < p->input_height; ++y, row += p->padded_width * 4) {
            int8_t *d = row;
            if (vector) {
                const int8_t *s = src;
                int32_t x = w;
                for (; x >= 4; x -= 4, s += 4 * c, d += 16)
                    vstrbq_s8(d, vreinterpretq_s8_s32(vldrwq_gather_offset_s32((const int32_t *)s, pixels)));
                if (x > 0)
                    vstrbq_p_s8(d, vreinterpretq_s8_s32(vldrwq_gather_offset_z_s32((const int32_t *)s, pixels, rest32)),
                                rest8);
                src += w * c;
            } else if (n == 4) {
                for (int32_t x = 0; x < w; ++x, src += c, d += 4) __builtin_memcpy(d, src, 4);
            } else {
                for (int32_t x = 0; x < w; ++x, src += c, d += 4) __builtin_memcpy(d, src, (size_t)n);
            }
        }
    }
}

/* The taps of one channel for four output pixels (the int32 lanes): each tap gathers the four pixels' input
 * bytes (widened; `o` holds their byte offsets in the bordered copy) and multiply-accumulates them by the
 * tap's weight, a scalar (VMLA Qda, Qn, Rm). With `pred` (the last, partial chunk of pixels) the lanes past
 * the row read nothing and stay unused. */
#define TQ_GATHER(ptr) (tail ? vldrbq_gather_offset_z_s32((ptr), o, pred) : vldrbq_gather_offset_s32((ptr), o))

static inline __attribute__((always_inline)) int32x4_t taps3x3(const int8_t *x, int32_t row_step, uint32x4_t o,
                                                               const int32_t *w, int32x4_t acc, int tail,
                                                               mve_pred16_t pred) {
    const int8_t *x1 = x + row_step, *x2 = x1 + row_step;
    acc = vmlaq_n_s32(acc, TQ_GATHER(x), w[0]), acc = vmlaq_n_s32(acc, TQ_GATHER(x + 4), w[1]);
    acc = vmlaq_n_s32(acc, TQ_GATHER(x + 8), w[2]), acc = vmlaq_n_s32(acc, TQ_GATHER(x1), w[3]);
    acc = vmlaq_n_s32(acc, TQ_GATHER(x1 + 4), w[4]), acc = vmlaq_n_s32(acc, TQ_GATHER(x1 + 8), w[5]);
    acc = vmlaq_n_s32(acc, TQ_GATHER(x2), w[6]), acc = vmlaq_n_s32(acc, TQ_GATHER(x2 + 4), w[7]);
    return vmlaq_n_s32(acc, TQ_GATHER(x2 + 8), w[8]);
}

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
    const int32_t *w;     /* 8: the nine weights, widened */
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
    int32_t pad_;
    int32x4_t o0, o1, o2; /* 64, 80, 96: the lanes' byte offsets for the filter columns 0, 1, 2 */
    uint32x4_t out_o;     /* 112: the lanes' output offsets */
    int32x4_t lo, hi;     /* 128, 144: the clamp */
} tq_dw3x3_run;

void tq_dw3x3_lines(tq_dw3x3_run *r) __asm__("tq_dw3x3_lines");
typedef char tq_dw3x3_run_layout[offsetof(tq_dw3x3_run, lines) == 48 && offsetof(tq_dw3x3_run, o0) == 64
                                 && offsetof(tq_dw3x3_run, hi) == 144 ? 1 : -1];

/* one chunk: bias, nine taps (T = "" or the predicated "vpst\n" + "t"), requantization, store */
#define TQ_DW_TAP(rx, q, off, P, T) "ldr r12, [r2, #" #off "]\n" P "vldrb" T ".s32 q4, [" rx ", " q "]\n vmla.s32 q3, q4, r12\n"
#define TQ_DW_CHUNK(P, T)                                                                                      \
    "vdup.32 q3, r11\n"                                                                                    \
    TQ_DW_TAP("r0", "q0", 0, P, T) TQ_DW_TAP("r0", "q1", 4, P, T) TQ_DW_TAP("r0", "q2", 8, P, T)             \
    "add r9, r0, r3\n"                                                                                     \
    TQ_DW_TAP("r9", "q0", 12, P, T) TQ_DW_TAP("r9", "q1", 16, P, T) TQ_DW_TAP("r9", "q2", 20, P, T)          \
    "add r9, r9, r3\n"                                                                                     \
    TQ_DW_TAP("r9", "q0", 24, P, T) TQ_DW_TAP("r9", "q1", 28, P, T) TQ_DW_TAP("r9", "q2", 32, P, T)          \
    "vqrdmulh.s32 q3, q3, r4\n vshr.s32 q4, q3, #31\n vadd.i32 q3, q3, q4\n vrshl.s32 q3, r5\n"             \
    "vadd.i32 q3, q3, r6\n vmax.s32 q3, q3, q5\n vmin.s32 q3, q3, q6\n"                                     \
    P "vstrb" T ".32 q3, [r1, q7]\n"

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
    "add r0, r10, #64\n vldrw.32 q0, [r0]\n vldrw.32 q1, [r0, #16]\n vldrw.32 q2, [r0, #32]\n"
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

/* One output dimension of the pixel loops: how many, and the bytes between neighbours in the bordered input
 * and in the output. */
typedef struct {
    int32_t count, in_step, out_step;
} tq_dw_dim;

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
    const int32_t waste_x = (4 - p->output_width % 4) % 4 * p->output_height;
    const int32_t waste_y = (4 - p->output_height % 4) % 4 * p->output_width;
    if (waste_y < waste_x) {
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
        run.pred = rest ? (uint32_t)pred : 0u, run.line_in = outer.in_step, run.line_out = outer.out_step;
        run.o0 = vreinterpretq_s32_u32(o), run.o1 = vaddq_n_s32(run.o0, 4), run.o2 = vaddq_n_s32(run.o0, 8);
        run.out_o = out_o, run.lo = lo, run.hi = hi;
    }
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        pad_image(p, input + batch * p->input_height * p->input_width * c, (int8_t *)scratch);
        int8_t *image_out = output + batch * p->output_height * p->output_width * c;
        for (int32_t ch = 0; ch < c; ++ch) {
            const int32_t g = ch / 4, lane = ch % 4;
            const int8_t *w = p->blocked + g * tap_bytes + lane;
            int32_t w9[9];
            const int32_t bias = p->bias[ch], m = p->multiplier[ch], s = p->shift[ch], offset = p->output_offset;
            const int8_t *in_line = padded + g * plane + lane;
            int8_t *out_line = image_out + ch;
            if (is3x3) {
                for (int32_t t = 0; t < 9; ++t) w9[t] = w[4 * t];
                run.x = in_line, run.out = out_line, run.w = w9, run.bias = bias, run.multiplier = m;
                run.shift = s, run.lines = outer.count;
                tq_dw3x3_lines(&run);
                continue;
            }
            for (int32_t n = 0; n < outer.count; ++n, in_line += outer.in_step, out_line += outer.out_step) {
                const int8_t *x = in_line;
                int8_t *out = out_line;
                for (int32_t k = 0; k <= full; ++k, x += 4 * inner.in_step, out += 4 * inner.out_step) {
                    const int tail = k == full;
                    if (tail && rest == 0) break;
                    int32x4_t acc = vdupq_n_s32(bias);
                    if (is3x3) acc = tail ? taps3x3(x, row_step, o, w9, acc, 1, pred) : taps3x3(x, row_step, o, w9, acc, 0, pred);
                    else acc = tail ? taps(p, x, row_step, col_step, o, w, acc, 1, pred)
                                    : taps(p, x, row_step, col_step, o, w, acc, 0, pred);
                    /* tq_mve_requant with this channel's multiplier and shift as scalars */
                    int32x4_t h = vqrdmulhq_n_s32(acc, m);
                    h = vrshlq_n_s32(vaddq_s32(h, vshrq_n_s32(h, 31)), s);
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
