/* The shared body of the Helium depthwise kernels (tq_depthwise_conv_s8_mve.c: int8 weights, where the algorithm
 * is described; tq_depthwise_conv_s8_int4_mve.c: int4; tq_depthwise_conv_s8_int2_mve.c: 2-bit): the driver, the
 * generic tap loop and the 3x3 cores' run record. Each file defines TQ_DW_KERNEL, TQ_DW_BITS and TQ_DW_PAD, then
 * includes this once. `bits` (a constant at each use) below 8 says the blocked filter is packed: nibbles, two
 * lanes a byte (tinyq/specialize/depthwise_int4_mve.py), or 2-bit codes after the channels' magnitudes
 * (depthwise_lowbit_mve.py); each group's taps are then unpacked to int8 [tap][4] in scratch (after the bordered
 * copy) before its four channels, whose passes run int8's code on them, so the per-pixel work is int8's.
 * Include only under __ARM_FEATURE_MVE. */
#ifndef TINYQ_TQ_DEPTHWISE_MVE_COMMON_H
#define TINYQ_TQ_DEPTHWISE_MVE_COMMON_H

#include <arm_mve.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyq/tq_mve.h"

/* the bordered copy of one image into scratch (tq_depthwise_conv_s8_mve.c) */
void tq_dw_mve_pad_image(const tq_depthwise_conv_s8_mve_params *p, const int8_t *image, int8_t *dst);

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

/* One output dimension of the pixel loops: how many, and the bytes between neighbours in the bordered input
 * and in the output. */
typedef struct {
    int32_t count, in_step, out_step;
} tq_dw_dim;

/* Group g's taps as int8 [tap][4] from int4 weights: its 2 bytes a tap unpacked into `unpacked` (16 bytes to 32
 * at a time: lane 2i from the low nibbles, 2i + 1 from the high ones, interleaved by VST2; the scratch is sized for
 * the last step's whole 32 bytes, the predicated load reads nothing past the group). */
static inline const int8_t *tq_dw_unpack4(const tq_depthwise_conv_s8_mve_params *p, int32_t g, int8_t *unpacked) {
    const int32_t n = 2 * p->filter_height * p->filter_width;
    const int8_t *src = p->blocked + g * n;
    for (int32_t at = 0; at < n; at += 16) {
        const int8x16_t b = vldrbq_z_s8(src + at, vctp8q((uint32_t)(n - at)));
        const int8x16x2_t lanes = {{vshrq_n_s8(vshlq_n_s8(b, 4), 4), vshrq_n_s8(b, 4)}};
        vst2q_s8(unpacked + 2 * at, lanes);
    }
    return unpacked;
}

/* The same from 2-bit weights w = m_c * t (int2: m = 1, t in [-2, 1]; ternary, binary: t in {-1, 0, 1}, m <= 127):
 * `blocked` holds int8 m [groups * 4], then a byte a tap a group with lane i's t (two's complement) at bits 2i;
 * 16 bytes to 64 at a time, each lane's t sign-extended by two shifts and multiplied by its m (int8: m t fits),
 * VST4 interleaving the four lanes. */
static inline const int8_t *tq_dw_unpack2(const tq_depthwise_conv_s8_mve_params *p, int32_t g, int8_t *unpacked) {
    const int32_t n = p->filter_height * p->filter_width;
    const int8_t *m = p->blocked + 4 * g, *src = p->blocked + 4 * p->groups + g * n;
    for (int32_t at = 0; at < n; at += 16) {
        const int8x16_t b = vldrbq_z_s8(src + at, vctp8q((uint32_t)(n - at)));
        const int8x16x4_t lanes = {{vmulq_n_s8(vshrq_n_s8(vshlq_n_s8(b, 6), 6), m[0]),
                                    vmulq_n_s8(vshrq_n_s8(vshlq_n_s8(b, 4), 6), m[1]),
                                    vmulq_n_s8(vshrq_n_s8(vshlq_n_s8(b, 2), 6), m[2]),
                                    vmulq_n_s8(vshrq_n_s8(b, 6), m[3])}};
        vst4q_s8(unpacked + 4 * at, lanes);
    }
    return unpacked;
}

static inline const int8_t *tq_dw_unpack(const tq_depthwise_conv_s8_mve_params *p, int32_t g, int8_t *unpacked,
                                         int bits) {
    return bits == 4 ? tq_dw_unpack4(p, g, unpacked) : tq_dw_unpack2(p, g, unpacked);
}

/* The 3x3 cores over the channels, `lines` lines each: two at a time by tq_dw3x3_pairs when `pairs` (an odd last
 * line, `last_in` / `last_out` bytes after the first, goes to tq_dw3x3_lines), else one at a time. Each kernel
 * file passes one constant `bits` (inlined into its copy, as IPA constant propagation makes it). */
static __attribute__((noinline)) void channels3x3(tq_dw3x3_run *run, const tq_depthwise_conv_s8_mve_params *p,
                                                  const int8_t *x, int8_t *out, int32_t plane, int32_t lines,
                                                  int pairs, int32_t last_in, int32_t last_out, int bits,
                                                  int8_t *unpacked) {
    const int8_t *w = bits < 8 ? tq_dw_unpack(p, 0, unpacked, bits) : p->blocked;
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
        if (ch % 4 == 3) { /* the next group */
            x += plane - 3;
            if (bits == 8) w += 4 * 9 - 3;
            else if (ch + 1 < p->depth) w = tq_dw_unpack(p, (ch + 1) / 4, unpacked, bits);
        } else {
            ++x, ++w;
        }
    }
}

/* The kernel TQ_DW_KERNEL: weights of TQ_DW_BITS (8, 4 or 2) bits; TQ_DW_PAD makes the bordered copy
 * (the int8 kernel's inlined copy of tq_dw_mve_pad_image). A function defined here rather than an inline body
 * called from each file: that way GCC compiles the int8 kernel to the code it had before the int4 one. */
tq_status TQ_DW_KERNEL(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output, void *scratch) {
    const int bits = TQ_DW_BITS;
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
    int8_t *unpacked = bits < 8 ? (int8_t *)scratch + p->groups * plane : NULL; /* one group's taps */
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
        TQ_DW_PAD(p, input + batch * p->input_height * p->input_width * c, (int8_t *)scratch);
        int8_t *image_out = output + batch * p->output_height * p->output_width * c;
        if (is3x3) {
            channels3x3(&run, p, padded, image_out, plane, outer.count, pairs, (outer.count - 1) * outer.in_step,
                        (outer.count - 1) * outer.out_step, bits, unpacked);
            continue;
        }
        for (int32_t ch = 0; ch < c; ++ch) {
            const int32_t g = ch / 4, lane = ch % 4;
            if (bits < 8 && lane == 0) tq_dw_unpack(p, g, unpacked, bits);
            const int8_t *w = (bits < 8 ? unpacked : p->blocked + g * tap_bytes) + lane;
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
