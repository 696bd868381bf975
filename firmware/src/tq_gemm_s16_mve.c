/* 16x8 GEMM on Helium: FULLY_CONNECTED and CONV_2D 1x1 (stride 1, no padding), int16 rows x int8 weights.
 * Two input rows and a block of four output channels share each loaded vector: per step of 8 taps, two input
 * loads (VLDRH) and four weight loads (VLDRB.S16: the int8 weights widen as they load, so flash holds int8)
 * feed eight VMLADAVA.S16 into int32 sums started at the bias (exact: the preparer proved they stay in int32).
 * Weights are zero past the depth and past the channels, so only the last step's input loads are predicated
 * (the VCTP.16 mask stays in VPR for the call: lanes past the depth read as 0), and only a partial last block
 * (C % 4) stores under a VCTP.32. One row (FC, an odd last pixel) takes a four-sum variant.
 *
 * The core is assembly for the reason tq_gemm_s8_mve.c's is (GCC shuffles the eight VMLADAVA sums between
 * registers in the loop), in the same register plan, with the block stream of tq_s16_mve.h: the bias twice
 * (one LDM starts the sums), the weights, the requantization vectors (tq_s16_mve.h), one cursor for all.
 * Four copies: two rows or one, times the int64 or the int32 requantization. */
#include "tinyq/tq_s16_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#include <stddef.h>

/* What the core reads; the offsets are its immediates. */
typedef struct {
    const int16_t *x0, *x1; /* 0, 4: input rows */
    int32_t steps;          /* 8 */
    int16_t *y0, *y1;       /* 12, 16: output cursors, advanced by the core */
    const int8_t *w;        /* 20: the blocked stream */
    uint32_t tail;          /* 24: VPR mask of the last step's input lanes */
    int32_t channels;       /* 28 */
    int32_t lo[4], hi[4];   /* 32, 48: act_min, act_max in four lanes */
} tq_s16_gemm_run;

typedef char tq_s16_gemm_run_layout[offsetof(tq_s16_gemm_run, w) == 20 && offsetof(tq_s16_gemm_run, lo) == 32
                                    && offsetof(tq_s16_gemm_run, hi) == 48 ? 1 : -1];

void tq_s16_mve_pair64(tq_s16_gemm_run *r) __asm__("tq_s16_mve_pair64");
void tq_s16_mve_pair32(tq_s16_gemm_run *r) __asm__("tq_s16_mve_pair32");
void tq_s16_mve_one64(tq_s16_gemm_run *r) __asm__("tq_s16_mve_one64");
void tq_s16_mve_one32(tq_s16_gemm_run *r) __asm__("tq_s16_mve_one32");

/* one step of both rows: q0/q1 the inputs (loaded before), four weight vectors */
#define MACS2                                                                                                  \
    "vldrb.s16 q2, [r5], #8\n vmladava.s16 r0, q0, q2\n vmladava.s16 r8, q1, q2\n"                           \
    "vldrb.s16 q3, [r5], #8\n vmladava.s16 r2, q0, q3\n vmladava.s16 r10, q1, q3\n"                          \
    "vldrb.s16 q2, [r5], #8\n vmladava.s16 r4, q0, q2\n vmladava.s16 r12, q1, q2\n"                          \
    "vldrb.s16 q3, [r5], #8\n vmladava.s16 r6, q0, q3\n vmladava.s16 lr, q1, q3\n"
#define STEP2 "vldrh.16 q0, [r1], #16\n vldrh.16 q1, [r3], #16\n" MACS2
#define MACS1                                                                                                  \
    "vldrb.s16 q1, [r5], #8\n vldrb.s16 q2, [r5], #8\n vmladava.s16 r0, q0, q1\n vmladava.s16 r2, q0, q2\n" \
    "vldrb.s16 q1, [r5], #8\n vldrb.s16 q2, [r5], #8\n vmladava.s16 r4, q0, q1\n vmladava.s16 r6, q0, q2\n"

/* requantization of q0 and q1 (Q1: of q0 only) with the vectors at r5; uses q2, q3; then the clamp (q5, q6) */
#define RQ64(q) "vmulh.s32 " q ", " q ", q3\n"
#define RQ64_ADD(q) "vadd.i32 " q ", " q ", q3\n"
#define RQ_SHL(op, q) op " " q ", " q ", q3\n"
#define RQ_SIGN(q) "vshr.s32 q2, " q ", #31\n vadd.i32 " q ", " q ", q2\n"
#define REQ2_64 "vldrw.32 q3, [r5], #16\n" RQ64("q0") RQ64("q1") "vldrw.32 q3, [r5], #16\n" RQ64_ADD("q0")     \
    RQ64_ADD("q1") "vldrw.32 q3, [r5], #16\n" RQ_SHL("vshl.s32", "q0") RQ_SHL("vshl.s32", "q1")
#define REQ2_32 "vldrw.32 q3, [r5], #16\n vqrdmulh.s32 q0, q0, q3\n vqrdmulh.s32 q1, q1, q3\n" RQ_SIGN("q0")    \
    RQ_SIGN("q1") "vldrw.32 q3, [r5], #16\n" RQ_SHL("vrshl.s32", "q0") RQ_SHL("vrshl.s32", "q1")
#define REQ1_64 "vldrw.32 q3, [r5], #16\n" RQ64("q0") "vldrw.32 q3, [r5], #16\n" RQ64_ADD("q0")                  \
    "vldrw.32 q3, [r5], #16\n" RQ_SHL("vshl.s32", "q0")
#define REQ1_32 "vldrw.32 q3, [r5], #16\n vqrdmulh.s32 q0, q0, q3\n" RQ_SIGN("q0") "vldrw.32 q3, [r5], #16\n"   \
    RQ_SHL("vrshl.s32", "q0")

/* r9 = the run, q5 q6 its clamp, r5 the stream, r11 the channels left, 32 bytes of stack for the sums */
#define ENTRY "push {r4-r11, lr}\n vpush {d10-d13}\n sub sp, #32\n mov r9, r0\n"                              \
    "vldrw.32 q5, [r9, #32]\n vldrw.32 q6, [r9, #48]\n ldr r5, [r9, #20]\n ldr r11, [r9, #28]\n"
#define EXIT "add sp, #32\n vpop {d10-d13}\n pop {r4-r11, pc}\n"
#define FUNCTION(name) ".section .text." name ",\"ax\",%progbits\n .balign 4\n .global " name "\n"            \
    ".type " name ", %function\n .thumb_func\n" name ":\n"

/* rows x0, x1 -> y0, y1. r0 r2 r4 r6: row 0's sums; r8 r10 r12 lr: row 1's; r1 r3: input cursors; r7: steps */
#define PAIR(name, REQ)                                                                                        \
    FUNCTION(name) ENTRY "ldr r7, [r9, #24]\n vmsr p0, r7\n"                                                   \
    "1:\n ldm r9, {r1, r3, r7}\n ldm r5!, {r0, r2, r4, r6, r8, r10, r12, lr}\n"                                \
    "lsrs r7, r7, #1\n bcc 5f\n" STEP2 "5:\n lsrs r7, r7, #1\n bcc 4f\n" STEP2 STEP2 "4:\n beq 3f\n"           \
    "2:\n" STEP2 STEP2 STEP2 STEP2 "subs r7, #1\n bne 2b\n"                                                    \
    "3:\n vpstt\n vldrht.16 q0, [r1]\n vldrht.16 q1, [r3]\n" MACS2                                             \
    "stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}\n vldrw.32 q0, [sp]\n vldrw.32 q1, [sp, #16]\n" REQ            \
    "vmax.s32 q0, q0, q5\n vmax.s32 q1, q1, q5\n vmin.s32 q0, q0, q6\n vmin.s32 q1, q1, q6\n"                  \
    "ldrd r0, r2, [r9, #12]\n cmp r11, #4\n blt 6f\n"                                                          \
    "vstrh.32 q0, [r0], #8\n vstrh.32 q1, [r2], #8\n strd r0, r2, [r9, #12]\n subs r11, #4\n bgt 1b\n" EXIT    \
    "6:\n vctp.32 r11\n vpstt\n vstrht.32 q0, [r0]\n vstrht.32 q1, [r2]\n" EXIT ".size " name ", .-" name "\n"

/* row x0 -> y0. r0 r2 r4 r6: the sums (the second bias copy skipped); r1: input cursor; lr: the loop */
#define ONE(name, REQ)                                                                                         \
    FUNCTION(name) ENTRY "ldr r8, [r9, #24]\n vmsr p0, r8\n ldr r7, [r9, #8]\n"                                \
    "1:\n ldr r1, [r9, #0]\n ldm r5, {r0, r2, r4, r6}\n adds r5, #32\n wls lr, r7, 3f\n"                      \
    "2:\n vldrh.16 q0, [r1], #16\n" MACS1 "le lr, 2b\n"                                                        \
    "3:\n vpst\n vldrht.16 q0, [r1]\n" MACS1                                                                   \
    "stm sp, {r0, r2, r4, r6}\n vldrw.32 q0, [sp]\n" REQ "vmax.s32 q0, q0, q5\n vmin.s32 q0, q0, q6\n"          \
    "ldr r0, [r9, #12]\n cmp r11, #4\n blt 6f\n vstrh.32 q0, [r0], #8\n str r0, [r9, #12]\n"                   \
    "subs r11, #4\n bgt 1b\n" EXIT "6:\n vctp.32 r11\n vpst\n vstrht.32 q0, [r0]\n" EXIT                      \
    ".size " name ", .-" name "\n"

__asm__(".syntax unified\n .thumb\n" PAIR("tq_s16_mve_pair64", REQ2_64) PAIR("tq_s16_mve_pair32", REQ2_32)
        ONE("tq_s16_mve_one64", REQ1_64) ONE("tq_s16_mve_one32", REQ1_32) ".text\n");

static void gemm(const tq_gemm_s16_mve_params *p, const int16_t *input, int16_t *output) {
    const int32_t k = p->depth, n = p->out_depth;
    tq_s16_gemm_run run;
    run.steps = p->steps;
    run.tail = (uint32_t)vctp16q((uint32_t)(k - 8 * p->steps));
    run.channels = n;
    vst1q_s32(run.lo, vdupq_n_s32(p->act_min));
    vst1q_s32(run.hi, vdupq_n_s32(p->act_max));
    void (*pair)(tq_s16_gemm_run *) = p->requant64 ? tq_s16_mve_pair64 : tq_s16_mve_pair32;
    int32_t r = 0;
    for (; r + 1 < p->rows; r += 2) {
        run.x0 = input + r * k, run.x1 = run.x0 + k, run.y0 = output + r * n, run.y1 = run.y0 + n;
        run.w = p->blocked;
        pair(&run);
    }
    if (r < p->rows) {
        run.x0 = input + r * k, run.y0 = output + r * n, run.w = p->blocked;
        if (p->requant64) tq_s16_mve_one64(&run);
        else tq_s16_mve_one32(&run);
    }
}

tq_status tq_fully_connected_s16_mve(const tq_gemm_s16_mve_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->blocked != NULL && p->rows >= 1 &&
              p->depth >= 1 && p->out_depth >= 1 && p->steps == (p->depth - 1) / 8);
    gemm(p, input, output);
    return TQ_OK;
}

tq_status tq_conv1x1_s16_mve(const tq_gemm_s16_mve_params *p, const int16_t *input, int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->blocked != NULL && p->rows >= 1 &&
              p->depth >= 1 && p->out_depth >= 1 && p->steps == (p->depth - 1) / 8);
    gemm(p, input, output);
    return TQ_OK;
}

/* n int16 from src (NULL: zeros) to dst, 8 a vector, the last partial vector predicated; returns dst + n */
static inline int16_t *tq_s16_put(int16_t *dst, const int16_t *src, int32_t n) {
    for (; n > 0; n -= 8, dst += 8) {
        const mve_pred16_t m = vctp16q((uint32_t)n);
        vstrhq_p_s16(dst, src ? vldrhq_z_s16(src, m) : vdupq_n_s16(0), m);
        if (src) src += 8;
    }
    return dst + n; /* n <= 0: back to the end of the run */
}

/* the im2col row of output pixel (oy, ox) of `image`: [ky][kx][ci], zero where a tap leaves the image */
static void patch(const tq_conv_s16_im2col_mve_params *p, const int16_t *image, int32_t oy, int32_t ox,
                  int16_t *row) {
    const int32_t c = p->input_depth, w = p->input_width, fw = p->filter_width, dw = p->dilation_width;
    const int32_t x0 = ox * p->stride_width - p->pad_width;
    for (int32_t ky = 0; ky < p->filter_height; ++ky) {
        const int32_t iy = oy * p->stride_height - p->pad_height + ky * p->dilation_height;
        if (iy < 0 || iy >= p->input_height) {
            row = tq_s16_put(row, NULL, fw * c);
            continue;
        }
        const int16_t *line = image + iy * w * c;
        if (dw == 1) { /* one run: zeros left of the image, the pixels inside, zeros right of it */
            const int32_t lo = x0 < 0 ? (-x0 < fw ? -x0 : fw) : 0, hi = x0 + fw > w ? w - x0 : fw; /* [lo, hi) inside */
            row = tq_s16_put(row, NULL, lo * c);
            if (hi > lo) row = tq_s16_put(row, line + (x0 + lo) * c, (hi - lo) * c);
            row = tq_s16_put(row, NULL, (fw - (hi > lo ? hi : lo)) * c);
        } else {
            for (int32_t kx = 0, ix = x0; kx < fw; ++kx, ix += dw)
                row = tq_s16_put(row, ix >= 0 && ix < w ? line + ix * c : NULL, c);
        }
    }
}

/* the im2col row at `at` (its window's first tap) when a filter row is at most one vector of `run` taps (m its
 * mask; KWS's first layer: 4 taps of 1 channel): a predicated load and store a filter row */
static inline __attribute__((always_inline)) void patch_short(int16_t *row, const int16_t *at, int32_t rows,
                                                              int32_t step, int32_t run, mve_pred16_t m) {
    for (; rows > 0; --rows, at += step, row += run) vstrhq_p_s16(row, vldrhq_z_s16(at, m), m);
}

/* the im2col row of output pixel (oy, ox) from an image (or its bordered copy) `width` pixels wide that holds
 * every tap: a run of filter_width * depth per filter row (per tap when dilated along x) */
static void patch_inside(const tq_conv_s16_im2col_mve_params *p, const int16_t *image, int32_t width, int32_t oy,
                         int32_t ox, int16_t *row) {
    const int32_t c = p->input_depth, fw = p->filter_width, dw = p->dilation_width;
    const int16_t *at = image + (oy * p->stride_height * width + ox * p->stride_width) * c;
    for (int32_t ky = 0; ky < p->filter_height; ++ky, at += p->dilation_height * width * c) {
        if (dw == 1) row = tq_s16_put(row, at, fw * c);
        else for (int32_t kx = 0; kx < fw; ++kx) row = tq_s16_put(row, at + kx * dw * c, c);
    }
}

tq_status tq_conv_s16_im2col_mve(const tq_conv_s16_im2col_mve_params *p, const int16_t *input, int16_t *output,
                                 void *scratch) {
    const tq_gemm_s16_mve_params *g = p->gemm;
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL && g != NULL && g->rows >= 1 &&
              g->depth == p->filter_height * p->filter_width * p->input_depth && g->steps == (g->depth - 1) / 8);
    const int32_t k = g->depth, n = g->out_depth, pixels = p->output_height * p->output_width;
    const int32_t c = p->input_depth, image = p->input_height * p->input_width * c, bw = p->bordered_width;
    int16_t *row0 = (int16_t *)scratch, *row1 = row0 + k, *copy = row1 + k;
    tq_s16_gemm_run run;
    run.steps = g->steps;
    run.tail = (uint32_t)vctp16q((uint32_t)(k - 8 * g->steps));
    run.channels = n;
    vst1q_s32(run.lo, vdupq_n_s32(g->act_min));
    vst1q_s32(run.hi, vdupq_n_s32(g->act_max));
    void (*pair)(tq_s16_gemm_run *) = g->requant64 ? tq_s16_mve_pair64 : tq_s16_mve_pair32;
    void (*one)(tq_s16_gemm_run *) = g->requant64 ? tq_s16_mve_one64 : tq_s16_mve_one32;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *img = input + b * image, *src = img;
        int32_t width = p->input_width;
        if (p->bordered_height) { /* zeros, then the image's rows inside the border */
            tq_s16_put(copy, NULL, p->bordered_height * bw * c);
            for (int32_t y = 0; y < p->input_height; ++y)
                tq_s16_put(copy + ((y + p->pad_height) * bw + p->pad_width) * c, img + y * p->input_width * c,
                           p->input_width * c);
            src = copy, width = bw;
        }
        const int plain = p->inside || p->bordered_height;
        int16_t *out = output + b * pixels * n;
        const int32_t span = p->filter_width * c;
        if (plain && p->dilation_width == 1 && span <= 8) { /* short filter rows: patch_short, the window stepped */
            const int32_t step = p->dilation_height * width * c, across = p->stride_width * c;
            const int32_t down = p->stride_height * width * c;
            const mve_pred16_t m = vctp16q((uint32_t)span);
            const int16_t *line = src, *at = src;
            int32_t ox = 0;
            for (int32_t i = 0; i < pixels; ++i) {
                patch_short((i & 1) ? row1 : row0, at, p->filter_height, step, span, m);
                if (++ox == p->output_width) ox = 0, line += down, at = line;
                else at += across;
                if (i & 1) {
                    run.x0 = row0, run.x1 = row1, run.y0 = out + (i - 1) * n, run.y1 = run.y0 + n, run.w = g->blocked;
                    pair(&run);
                }
            }
            if (pixels & 1) {
                run.x0 = row0, run.y0 = out + (pixels - 1) * n, run.w = g->blocked;
                one(&run);
            }
            continue;
        }
        for (int32_t i = 0; i < pixels; i += 2) { /* pixel pairs */
            const int32_t oy = i / p->output_width, ox = i % p->output_width;
            if (plain) patch_inside(p, src, width, oy, ox, row0);
            else patch(p, img, oy, ox, row0);
            run.x0 = row0, run.y0 = out + i * n, run.w = g->blocked;
            if (i + 1 < pixels) {
                const int32_t oy1 = (i + 1) / p->output_width, ox1 = (i + 1) % p->output_width;
                if (plain) patch_inside(p, src, width, oy1, ox1, row1);
                else patch(p, img, oy1, ox1, row1);
                run.x1 = row1, run.y1 = run.y0 + n;
                pair(&run);
            } else {
                one(&run);
            }
        }
    }
    return TQ_OK;
}

#else
typedef int tq_gemm_s16_mve_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
