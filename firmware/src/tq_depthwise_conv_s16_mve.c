/* DEPTHWISE_CONV_2D 16x8, depth multiplier 1, on Helium. The input is first copied into scratch, group-major
 * ([groups][padded_height][padded_width][4] int16), inside a zero border wide enough for every tap (the
 * preparer sizes it): a border tap multiplies 0, as TFLM's skipped tap adds nothing (16x8 zero points are 0).
 * The int32 lanes are four neighbouring output pixels of one channel (along x, or along y when that takes
 * fewer chunks): each tap is one widening gather of the four pixels' int16 inputs and one VMLA by the tap's
 * weight as a scalar, onto int32 sums started at the bias (exact: |bias| + sum|w| * 32768 < 2^31, proved by the
 * preparer). A 3x3 filter runs with its nine taps unrolled. Requantization: tq_s16_mve.h, the channel's row
 * as scalars (VQDMULH, VADD, VSHL by a register), the clamp, one scatter store of the four outputs. A line's
 * partial last chunk is predicated. */
#include "tinyq/tq_s16_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

/* What the 3x3 assembly core reads (the offsets are its immediates): one channel's lines of output pixels,
 * every chunk of 4 pixels whole (a line's last chunk moved back to end at the line's end: it recomputes, and
 * rewrites with the same values, outputs of the chunk before) */
typedef struct {
    const int16_t *x;     /* 0: the first line's first tap in the copy, advanced per line */
    int16_t *out;         /* 4: the first line's first output, advanced per line */
    const int8_t *w;      /* 8: the channel's first weight (its nine are 4 bytes apart) */
    int32_t row_step;     /* 12: bytes between filter rows in the copy */
    int32_t a, b, shift;  /* 16, 20, 24: the requantization row (tq_s16_mve.h) */
    int32_t in_adv;       /* 28: bytes from a chunk to the next in the copy */
    int32_t out_adv;      /* 32: and in the output */
    int32_t bias;         /* 36 */
    int32_t chunks;       /* 40: per line, >= 1 */
    int32_t lines;        /* 44: left */
    int32_t line_in;      /* 48: bytes between lines in the copy */
    int32_t line_out;     /* 52: and in the output */
    int32_t back_in;      /* 56: 0 or the last chunk's move back (bytes, <= 0) */
    int32_t back_out;     /* 60 */
    uint32x4_t o0, o1, o2; /* 64, 80, 96: the lanes' element offsets at the filter columns 0, 1, 2 */
    uint32x4_t out_o;      /* 112: the lanes' output element offsets */
    int32x4_t lo, hi;      /* 128, 144: the clamp */
} tq_dw16_run;

typedef char tq_dw16_run_layout[offsetof(tq_dw16_run, back_out) == 60 && offsetof(tq_dw16_run, o0) == 64
                                && offsetof(tq_dw16_run, hi) == 144 ? 1 : -1];

void tq_dw16_3x3_lines(tq_dw16_run *r) __asm__("tq_dw16_3x3_lines");

/* one tap: its weight (a byte of the filter) as the scalar of a VMLA of the four lanes' widened inputs */
#define TAP(rx, q, off) "ldrsb r12, [r2, #" #off "]\n vldrh.s32 q4, [" rx ", " q ", uxtw #1]\n vmla.s32 q3, q4, r12\n"
/* one chunk at r0 into r8: bias, nine taps, requantization (row as scalars: r5 r6 r7), clamp, scatter */
#define CHUNK                                                                                                  \
    "vdup.32 q3, r10\n" TAP("r0", "q0", 0) TAP("r0", "q1", 4) TAP("r0", "q2", 8) "add r1, r0, r4\n"             \
    TAP("r1", "q0", 12) TAP("r1", "q1", 16) TAP("r1", "q2", 20) "add r1, r1, r4\n"                            \
    TAP("r1", "q0", 24) TAP("r1", "q1", 28) TAP("r1", "q2", 32)                                               \
    "vqdmulh.s32 q3, q3, r5\n vadd.i32 q3, q3, r6\n vshl.s32 q3, r7\n vmax.s32 q3, q3, q6\n vmin.s32 q3, q3, q7\n" \
    "vstrh.32 q3, [r8, q5, uxtw #1]\n"

/* r9: the run; r2: weights; r4: row step; r3 / r11: output / input advance; lr: the chunk loop */
__asm__(".syntax unified\n .thumb\n"
        ".section .text.tq_dw16_3x3_lines,\"ax\",%progbits\n .balign 4\n .global tq_dw16_3x3_lines\n"
        ".type tq_dw16_3x3_lines, %function\n .thumb_func\n"
        "tq_dw16_3x3_lines:\n"
        "push {r4-r11, lr}\n vpush {d8-d15}\n mov r9, r0\n"
        "vldrw.32 q0, [r9, #64]\n vldrw.32 q1, [r9, #80]\n vldrw.32 q2, [r9, #96]\n vldrw.32 q5, [r9, #112]\n"
        "vldrw.32 q6, [r9, #128]\n vldrw.32 q7, [r9, #144]\n"
        "ldrd r2, r4, [r9, #8]\n ldrd r5, r6, [r9, #16]\n ldrd r7, r11, [r9, #24]\n ldrd r3, r10, [r9, #32]\n"
        "1:\n ldrd r0, r8, [r9, #0]\n ldr r12, [r9, #40]\n subs r12, #1\n wls lr, r12, 3f\n"
        "2:\n" CHUNK "add r0, r11\n add r8, r3\n le lr, 2b\n"
        "3:\n ldrd r12, r1, [r9, #56]\n add r0, r12\n add r8, r1\n" CHUNK
        "ldrd r0, r8, [r9, #0]\n ldrd r12, r1, [r9, #48]\n add r0, r12\n add r8, r1\n strd r0, r8, [r9, #0]\n"
        "ldr r12, [r9, #44]\n subs r12, #1\n str r12, [r9, #44]\n bgt 1b\n"
        "vpop {d8-d15}\n pop {r4-r11, pc}\n"
        ".size tq_dw16_3x3_lines, .-tq_dw16_3x3_lines\n .text\n");

static void pad_image(const tq_depthwise_conv_s16_mve_params *p, const int16_t *image, int16_t *dst) {
    const int32_t c = p->depth, w = p->input_width, plane = p->padded_height * p->padded_width * 4;
    const int16x8_t zero = vdupq_n_s16(0);
    int32_t n = p->groups * plane;
    int16_t *d = dst;
    for (; n >= 8; n -= 8, d += 8) vst1q_s16(d, zero);
    if (n > 0) vstrhq_p_s16(d, zero, vctp16q((uint32_t)n));
    int16_t *first = dst + (p->pad_height * p->padded_width + p->pad_width) * 4; /* pixel (0, 0) of group 0 */
    if (c % 8 == 0 && ((uintptr_t)dst & 7u) == 0) { /* a pixel's 8 channels a load, two groups' 8 bytes a scatter */
        /* byte offsets {0, group g + 1}: lane by lane (GCC 12's vcreateq_u64 puts its first argument in lane 1) */
        const uint64x2_t two = vreinterpretq_u64_u32(vsetq_lane_u32((uint32_t)plane * 2, vdupq_n_u32(0), 2));
        for (int32_t y = 0; y < p->input_height; ++y) {
            int16_t *row = first + y * p->padded_width * 4;
            for (int32_t x = 0; x < w; ++x, row += 4) {
                int64_t *d = (int64_t *)row;
                for (int32_t j = c / 8; j > 0; --j, image += 8, d += plane / 2)
                    vstrdq_scatter_offset_s64(d, two, vreinterpretq_s64_s16(vld1q_s16(image)));
            }
        }
        return;
    }
    for (int32_t g = 0; g < p->groups; ++g) {
        const mve_pred16_t live = vctp32q((uint32_t)(c - 4 * g)); /* the group's channels that exist */
        const int16_t *src = image + 4 * g;
        int16_t *row = first + g * plane;
        for (int32_t y = 0; y < p->input_height; ++y, row += p->padded_width * 4) {
            int16_t *to = row;
            for (int32_t x = 0; x < w; ++x, src += c, to += 4) vstrhq_p_s32(to, vldrhq_z_s32(src, live), live);
        }
    }
}

#define TQ_GATHER(ptr, o)                                                                                      \
    (tail ? vldrhq_gather_shifted_offset_z_s32((ptr), (o), pred) : vldrhq_gather_shifted_offset_s32((ptr), (o)))

/* the sum of one chunk: fh x fw taps (constants for 3x3), weights w[tap * 4] */
static inline __attribute__((always_inline)) int32x4_t taps(const int16_t *x, int32_t row_step, int32_t col_step,
                                                            uint32x4_t o, const int8_t *w, int32x4_t acc,
                                                            int32_t fh, int32_t fw, int tail, mve_pred16_t pred) {
    for (int32_t ky = 0; ky < fh; ++ky, x += row_step) {
        const int16_t *xr = x;
        for (int32_t kx = 0; kx < fw; ++kx, xr += col_step, w += 4) acc = vmlaq_n_s32(acc, TQ_GATHER(xr, o), *w);
    }
    return acc;
}

typedef struct {
    int32_t count, in_step, out_step; /* pixels along the dimension; elements between neighbours in copy, output */
} tq_dw16_dim;

/* a 3x3 chunk: o0 o1 o2 the lanes' offsets at the filter's three columns, w0..w8 the weights */
#define TQ_TAPS3x3(acc, x, row_step)                                                                           \
    do {                                                                                                       \
        const int16_t *x1_ = (x) + (row_step), *x2_ = x1_ + (row_step);                                        \
        acc = vmlaq_n_s32(acc, TQ_GATHER(x, o0), w0), acc = vmlaq_n_s32(acc, TQ_GATHER(x, o1), w1);            \
        acc = vmlaq_n_s32(acc, TQ_GATHER(x, o2), w2), acc = vmlaq_n_s32(acc, TQ_GATHER(x1_, o0), w3);          \
        acc = vmlaq_n_s32(acc, TQ_GATHER(x1_, o1), w4), acc = vmlaq_n_s32(acc, TQ_GATHER(x1_, o2), w5);        \
        acc = vmlaq_n_s32(acc, TQ_GATHER(x2_, o0), w6), acc = vmlaq_n_s32(acc, TQ_GATHER(x2_, o1), w7);        \
        acc = vmlaq_n_s32(acc, TQ_GATHER(x2_, o2), w8);                                                        \
    } while (0)

/* one channel's output lines (outer) of chunks of 4 pixels (inner); is3x3 a constant */
static inline __attribute__((always_inline)) void channel(const tq_depthwise_conv_s16_mve_params *p,
                                                          const int16_t *in_line, int16_t *out_line,
                                                          const int8_t *w, const int32_t *row, tq_dw16_dim inner,
                                                          tq_dw16_dim outer, int is3x3) {
    const int32_t row_step = p->dilation_height * p->padded_width * 4, col_step = p->dilation_width * 4;
    const uint32x4_t o0 = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.in_step);
    const uint32x4_t o1 = vaddq_n_u32(o0, (uint32_t)col_step), o2 = vaddq_n_u32(o1, (uint32_t)col_step);
    const uint32x4_t out_o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.out_step);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t full = inner.count / 4, rest = inner.count % 4;
    const mve_pred16_t pred = vctp32q((uint32_t)rest);
    const int32_t bias = row[0], a = row[1], b = row[2], shift = row[3];
    const int8_t *k9 = is3x3 ? w : (const int8_t[36]){0}; /* the nine weights, read only for a 3x3 filter */
    const int32_t w0 = k9[0], w1 = k9[4], w2 = k9[8], w3 = k9[12], w4 = k9[16], w5 = k9[20], w6 = k9[24],
                  w7 = k9[28], w8 = k9[32];
    for (int32_t n = 0; n < outer.count; ++n, in_line += outer.in_step, out_line += outer.out_step) {
        const int16_t *x = in_line;
        int16_t *out = out_line;
        for (int32_t k = 0; k <= full; ++k, x += 4 * inner.in_step, out += 4 * inner.out_step) {
            const int tail = k == full;
            if (tail && rest == 0) break;
            int32x4_t acc = vdupq_n_s32(bias);
            if (is3x3) {
                if (tail) TQ_TAPS3x3(acc, x, row_step);
                else {
                    const int tail = 0; /* the unpredicated gathers */
                    TQ_TAPS3x3(acc, x, row_step);
                }
            } else {
                acc = tail ? taps(x, row_step, col_step, o0, w, acc, p->filter_height, p->filter_width, 1, pred)
                           : taps(x, row_step, col_step, o0, w, acc, p->filter_height, p->filter_width, 0, pred);
            }
            int32x4_t h = vshlq_r_s32(vaddq_n_s32(vqdmulhq_n_s32(acc, a), b), shift);
            h = vminq_s32(vmaxq_s32(h, lo), hi);
            if (tail) vstrhq_scatter_shifted_offset_p_s32(out, out_o, h, pred);
            else vstrhq_scatter_shifted_offset_s32(out, out_o, h);
        }
    }
}

tq_status tq_depthwise_conv_s16_mve(const tq_depthwise_conv_s16_mve_params *p, const int16_t *input,
                                    int16_t *output, void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && p->groups >= 1);
    const int32_t c = p->depth, taps_ = p->filter_height * p->filter_width;
    const int32_t plane = p->padded_height * p->padded_width * 4;
    /* the four lanes are four neighbouring pixels along x, or along y when that takes fewer chunks */
    tq_dw16_dim inner = {p->output_width, p->stride_width * 4, c};
    tq_dw16_dim outer = {p->output_height, p->stride_height * p->padded_width * 4, p->output_width * c};
    if ((p->output_height + 3) / 4 * p->output_width < (p->output_width + 3) / 4 * p->output_height) {
        const tq_dw16_dim t = inner;
        inner = outer, outer = t;
    }
    const int is3x3 = p->filter_height == 3 && p->filter_width == 3;
    const int lines = is3x3 && inner.count >= 4; /* the assembly core: whole chunks, the last moved back */
    tq_dw16_run run;
    if (lines) {
        const int32_t rest = inner.count % 4;
        run.row_step = 2 * p->dilation_height * p->padded_width * 4;
        run.in_adv = 8 * inner.in_step, run.out_adv = 8 * inner.out_step;
        run.chunks = (inner.count + 3) / 4, run.line_in = 2 * outer.in_step, run.line_out = 2 * outer.out_step;
        run.back_in = rest ? 2 * (rest - 4) * inner.in_step : 0, run.back_out = rest ? 2 * (rest - 4) * inner.out_step : 0;
        run.o0 = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.in_step);
        run.o1 = vaddq_n_u32(run.o0, (uint32_t)(4 * p->dilation_width));
        run.o2 = vaddq_n_u32(run.o1, (uint32_t)(4 * p->dilation_width));
        run.out_o = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)inner.out_step);
        run.lo = vdupq_n_s32(p->act_min), run.hi = vdupq_n_s32(p->act_max);
    }
    int16_t *padded = (int16_t *)scratch;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        pad_image(p, input + batch * p->input_height * p->input_width * c, padded);
        int16_t *image_out = output + batch * p->output_height * p->output_width * c;
        for (int32_t ch = 0; ch < c; ++ch) {
            const int32_t g = ch / 4, lane = ch % 4;
            const int8_t *w = p->weights + g * taps_ * 4 + lane;
            const int16_t *in_line = padded + g * plane + lane;
            if (lines) {
                const int32_t *row = p->rows + 4 * ch;
                run.x = in_line, run.out = image_out + ch, run.w = w, run.lines = outer.count;
                run.bias = row[0], run.a = row[1], run.b = row[2], run.shift = row[3];
                tq_dw16_3x3_lines(&run);
            } else if (is3x3) channel(p, in_line, image_out + ch, w, p->rows + 4 * ch, inner, outer, 1);
            else channel(p, in_line, image_out + ch, w, p->rows + 4 * ch, inner, outer, 0);
        }
    }
    return TQ_OK;
}

#else
typedef int tq_depthwise_conv_s16_mve_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
