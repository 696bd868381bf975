/* DEPTHWISE_CONV_2D 16x8 (depth multiplier 1) on the Arm DSP extension: four channels per pass, an int16
 * activation pair and an int16-widened weight pair per two channels, one SMLABB + one SMLATT into each
 * channel's int32 sum (started at the bias; exact by the preparer's bound, tinyq/specialize/s16_dsp.py).
 * The weights of each 4-channel group are stored tap by tap (group-major, tinyq/specialize/s16_dsp.py), so
 * one pointer streams them with post-increments; the channels past the last whole group follow, [H][W][rest].
 * The valid taps of an output pixel are found once, so the inner loops carry no padding tests (16x8 zero
 * points are 0: a padding tap adds nothing); a filter row of 3 valid taps runs unrolled. At stride 1 (3x3,
 * dilation 1 across, every filter row valid) two adjacent pixels run as a pair, inside or at an edge with one
 * padded column: pixel b's tap kx is pixel a's tap kx + 1, so each input word and weight word loaded serves
 * both (LDR lanes into SMLABB / SMLATT, 2 channels x 2 pixels a pass). Bit-exact with tq_depthwise_conv_s16:
 * the same products summed in another order, every partial sum within the preparer's bound. */
#include "tinyq/tq_s16_dsp.h"
#include "tq_s16_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* [*first, *end) of the taps k < taps (dilation d) whose coordinate origin + d·k lies in [0, size) */
static inline void valid_taps(int32_t origin, int32_t d, int32_t taps, int32_t size, int32_t *first, int32_t *end) {
    const int32_t f = origin < 0 ? (-origin + d - 1) / d : 0;
    const int32_t e = size - origin <= 0 ? 0 : (size - origin + d - 1) / d;
    *first = f;
    *end = e < taps ? e : taps;
}

/* One tap of four channels in assembly (GCC spills these loops' registers): the activation pairs at [x] and
 * [x + 4] (LDR: any alignment), the weight pairs at [w] (LDRD: the group-major weights are 8-byte steps of a
 * 16-byte-aligned array), each product into its channel's sum, then x += x_step (bytes). */
#define TAP4_ASM                                                                                                \
    "ldr %[t0], [%[x]]\n ldr %[t1], [%[x], #4]\n ldrd %[u0], %[u1], [%[w]], #8\n"                               \
    "smlabb %[a0], %[t0], %[u0], %[a0]\n smlatt %[a1], %[t0], %[u0], %[a1]\n"                                   \
    "smlabb %[a2], %[t1], %[u1], %[a2]\n smlatt %[a3], %[t1], %[u1], %[a3]\n add %[x], %[x], %[xs]\n"
/* TAP4_ASM with both activation pairs in one LDRD: for word-aligned activations (even depth, aligned buffer) */
#define TAP4D_ASM                                                                                               \
    "ldrd %[t0], %[t1], [%[x]]\n ldrd %[u0], %[u1], [%[w]], #8\n"                                               \
    "smlabb %[a0], %[t0], %[u0], %[a0]\n smlatt %[a1], %[t0], %[u0], %[a1]\n"                                   \
    "smlabb %[a2], %[t1], %[u1], %[a2]\n smlatt %[a3], %[t1], %[u1], %[a3]\n add %[x], %[x], %[xs]\n"
#define TAP4_OPERANDS                                                                                           \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [t0] "=&r"(t0),      \
      [t1] "=&r"(t1), [u0] "=&r"(u0), [u1] "=&r"(u1)

/* The sums of channels c..c+3 (`a`, started at the bias) over an output pixel's valid taps: `rows` filter rows
 * of nx taps, from the first valid tap's activations x (x_step bytes apart in a row, y_step bytes between rows)
 * and weights w (group-major; w_skip weights of the invalid taps between rows). An interior pixel of a 3x3
 * filter (all 9 taps valid) is one asm block, its activations read by LDRD when `aligned` says every tap's
 * four activations are word-aligned (LDRD faults otherwise). */
static inline __attribute__((always_inline)) void group_sums(const int16_t *x, const int16_t *w, int32_t x_step, int32_t y_step, int32_t rows,
                              int32_t nx, int32_t w_skip, int32_t aligned, int32_t a[4]) {
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], t0, t1, u0, u1;
    if (rows == 3 && nx == 3 && w_skip == 0 && aligned) {
        const int32_t next_row = y_step - 3 * x_step;
        __asm__(TAP4D_ASM TAP4D_ASM TAP4D_ASM "add %[x], %[x], %[ys]\n" TAP4D_ASM TAP4D_ASM TAP4D_ASM
                "add %[x], %[x], %[ys]\n" TAP4D_ASM TAP4D_ASM TAP4D_ASM TAP4_OPERANDS
                : [xs] "r"(x_step), [ys] "r"(next_row)
                : "memory");
    } else if (rows == 3 && nx == 3 && w_skip == 0) {
        const int32_t next_row = y_step - 3 * x_step;
        __asm__(TAP4_ASM TAP4_ASM TAP4_ASM "add %[x], %[x], %[ys]\n" TAP4_ASM TAP4_ASM TAP4_ASM
                "add %[x], %[x], %[ys]\n" TAP4_ASM TAP4_ASM TAP4_ASM TAP4_OPERANDS
                : [xs] "r"(x_step), [ys] "r"(next_row)
                : "memory");
    } else {
        for (; rows > 0; --rows, x += (y_step - nx * x_step) / 2, w += w_skip) {
            int32_t n = nx;
            __asm__("1:\n" TAP4_ASM "subs %[n], %[n], #1\n bne 1b\n" TAP4_OPERANDS, [n] "+r"(n)
                    : [xs] "r"(x_step) : "cc", "memory");
        }
    }
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
}

/* One filter row of a pixel pair (stride 1, dilation 1: pixel b's tap kx is pixel a's tap kx + 1) for one
 * channel pair: the three weight pairs (LDR, 8-byte steps of the group-major weights), then the four input
 * columns at x, x + xs, x + 2·xs, x + 3·xs, each read once for the taps of both pixels it serves, into a0/a1
 * (pixel a, channels c, c+1) and b0/b1 (pixel b). Leaves x one column on (x + xs). */
#define PAIR_ROW_ASM                                                                                            \
    "ldr %[u0], [%[w]], #8\n ldr %[u1], [%[w]], #8\n ldr %[u2], [%[w]], #8\n ldr %[t], [%[x]]\n"               \
    "smlabb %[a0], %[t], %[u0], %[a0]\n smlatt %[a1], %[t], %[u0], %[a1]\n ldr %[t], [%[x], %[xs]]\n"          \
    "smlabb %[a0], %[t], %[u1], %[a0]\n smlatt %[a1], %[t], %[u1], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u0], %[b0]\n smlatt %[b1], %[t], %[u0], %[b1]\n ldr %[t], [%[x], %[xs], lsl #1]\n"  \
    "smlabb %[a0], %[t], %[u2], %[a0]\n smlatt %[a1], %[t], %[u2], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u1], %[b0]\n smlatt %[b1], %[t], %[u1], %[b1]\n add %[x], %[x], %[xs]\n"            \
    "ldr %[t], [%[x], %[xs], lsl #1]\n smlabb %[b0], %[t], %[u2], %[b0]\n smlatt %[b1], %[t], %[u2], %[b1]\n"

/* int64 requantization (TFLM's 16x8 depthwise takes no other): one SMMLA, one shift */
static inline int16_t finish(int32_t acc, const int32_t *row, int32_t clamp, int32_t lo, int32_t hi) {
    return tq_s16_clamp(tq_s16_smmla(acc, row[0], row[1]) >> row[2], clamp, lo, hi);
}

/* PAIR_ROW_ASM for a pair at the left edge (pixel a's column 0 is padding: x = pixel a's column 1, taps 1, 2
 * of a, 0..2 of b) and at the right edge (pixel b's column 2 is padding: x = pixel a's column 0, taps 0..2 of a,
 * 0, 1 of b); three columns, x left where it was */
#define PAIR_LEFT_ROW_ASM                                                                                       \
    "ldr %[u0], [%[w]], #8\n ldr %[u1], [%[w]], #8\n ldr %[u2], [%[w]], #8\n ldr %[t], [%[x]]\n"               \
    "smlabb %[a0], %[t], %[u1], %[a0]\n smlatt %[a1], %[t], %[u1], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u0], %[b0]\n smlatt %[b1], %[t], %[u0], %[b1]\n ldr %[t], [%[x], %[xs]]\n"          \
    "smlabb %[a0], %[t], %[u2], %[a0]\n smlatt %[a1], %[t], %[u2], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u1], %[b0]\n smlatt %[b1], %[t], %[u1], %[b1]\n ldr %[t], [%[x], %[xs], lsl #1]\n"  \
    "smlabb %[b0], %[t], %[u2], %[b0]\n smlatt %[b1], %[t], %[u2], %[b1]\n"
#define PAIR_RIGHT_ROW_ASM                                                                                      \
    "ldr %[u0], [%[w]], #8\n ldr %[u1], [%[w]], #8\n ldr %[u2], [%[w]], #8\n ldr %[t], [%[x]]\n"               \
    "smlabb %[a0], %[t], %[u0], %[a0]\n smlatt %[a1], %[t], %[u0], %[a1]\n ldr %[t], [%[x], %[xs]]\n"          \
    "smlabb %[a0], %[t], %[u1], %[a0]\n smlatt %[a1], %[t], %[u1], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u0], %[b0]\n smlatt %[b1], %[t], %[u0], %[b1]\n ldr %[t], [%[x], %[xs], lsl #1]\n"  \
    "smlabb %[a0], %[t], %[u2], %[a0]\n smlatt %[a1], %[t], %[u2], %[a1]\n"                                    \
    "smlabb %[b0], %[t], %[u1], %[b0]\n smlatt %[b1], %[t], %[u1], %[b1]\n"
enum { PAIR_INNER, PAIR_LEFT, PAIR_RIGHT }; /* pair_channels' pairs: inside, or a padded column left / right */

/* Channels c, c+1 of the interior pixel pair at x (pixel a's top-left tap, channel c) and x + xs bytes, 3x3:
 * the same products as group_sums, added in another order (every partial sum stays within the preparer's
 * bound, so the int32 sums are the same integers), four sums from the bias, then out[0..1] (pixel a) and
 * out[depth..depth+1] (pixel b). Weights w as in group_sums; ys = bytes between filter rows. 12 registers. */
static inline __attribute__((always_inline)) void pair_channels(const int16_t *x, const int16_t *w, int32_t xs,
                                                                int32_t ys, const int32_t *bias, const int32_t *row,
                                                                int16_t *out, int32_t depth, int32_t clamp,
                                                                int32_t lo, int32_t hi, const int32_t kind) {
    const int32_t next_row = kind == PAIR_INNER ? ys - xs : ys;
    int32_t a0 = bias[0], a1 = bias[1], b0 = a0, b1 = a1, t, u0, u1, u2;
#define PAIR_ASM(ROW)                                                                                           \
    __asm__(ROW "add %[x], %[x], %[ys]\n" ROW "add %[x], %[x], %[ys]\n" ROW                                      \
            : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [x] "+r"(x), [w] "+r"(w), [t] "=&r"(t),  \
              [u0] "=&r"(u0), [u1] "=&r"(u1), [u2] "=&r"(u2)                                                   \
            : [xs] "r"(xs), [ys] "r"(next_row)                                                                  \
            : "memory")
    if (kind == PAIR_INNER) PAIR_ASM(PAIR_ROW_ASM);
    else if (kind == PAIR_LEFT) PAIR_ASM(PAIR_LEFT_ROW_ASM);
    else PAIR_ASM(PAIR_RIGHT_ROW_ASM);
#undef PAIR_ASM
    out[0] = finish(a0, row, clamp, lo, hi);
    out[1] = finish(a1, row + 3, clamp, lo, hi);
    out[depth] = finish(b0, row, clamp, lo, hi);
    out[depth + 1] = finish(b1, row + 3, clamp, lo, hi);
}

/* the last depth % 4 channels of one output pixel, one at a time: x_first = its first valid tap (channel 0),
 * rows x nx valid taps from first_tap */
static inline __attribute__((always_inline)) void rest_channels(const tq_depthwise_conv_s16_dsp_params *p,
                                                                const int16_t *x_first, int32_t first_tap,
                                                                int32_t rows, int32_t nx, int16_t *output,
                                                                const int32_t clamp) {
    const int32_t depth = p->input_depth, kw = p->filter_width, whole = depth & ~3, rest = depth - whole;
    const int32_t x_step = p->dilation_width * depth, y_step = p->dilation_height * p->input_width * depth;
    const int16_t *w_rest = p->filter16 + whole * p->filter_height * kw; /* [H][W][rest] */
    for (int32_t r = 0; r < rest; ++r) {
        const int32_t c = whole + r;
        int32_t a = p->bias[c];
        const int16_t *xr = x_first + c, *wr = w_rest + first_tap * rest + r;
        for (int32_t ky = 0; ky < rows; ++ky, xr += y_step, wr += kw * rest) {
            const int16_t *x = xr, *w = wr;
            for (int32_t k = nx; k > 0; --k, x += x_step, w += rest) a += x[0] * w[0];
        }
        output[c] = finish(a, p->rows + 3 * c, clamp, p->act_min, p->act_max);
    }
}

/* the channel tails of a pixel pair (pair_pixels): one copy, not one per clamp and pair kind */
static __attribute__((noinline)) void rest_pair(const tq_depthwise_conv_s16_dsp_params *p, const int16_t *x_first,
                                                int16_t *output, int32_t kind) {
    const int32_t depth = p->input_depth, clamp = tq_s16_clamp_kind(p->act_min, p->act_max);
    rest_channels(p, x_first, kind == PAIR_LEFT, 3, kind == PAIR_LEFT ? 2 : 3, output, clamp);
    rest_channels(p, kind == PAIR_LEFT ? x_first : x_first + depth, 0, 3, kind == PAIR_RIGHT ? 2 : 3,
                  output + depth, clamp);
}

/* a pixel pair of a row (stride 1, dilation 1 across, 3x3, every filter row valid) of a kind: x = pixel a's
 * first valid tap (channel 0), out = pixel a's outputs; a call of its own, so the outer loops' state does not
 * crowd its registers */
static inline __attribute__((always_inline)) void pair_pixels(const tq_depthwise_conv_s16_dsp_params *p,
                                                              const int16_t *x, int16_t *out, const int32_t clamp,
                                                              const int32_t kind) {
    const int32_t depth = p->input_depth, lo = p->act_min, hi = p->act_max;
    const int32_t xs = 2 * depth, ys = 2 * p->dilation_height * p->input_width * depth, group_step = 4 * 9;
    const int16_t *w = p->filter16, *x_first = x;
    const int32_t *bias = p->bias, *row = p->rows;
    int16_t *output = out;
    for (int32_t g = depth >> 2; g > 0; --g) {
        pair_channels(x, w, xs, ys, bias, row, out, depth, clamp, lo, hi, kind);
        pair_channels(x + 2, w + 2, xs, ys, bias + 2, row + 6, out + 2, depth, clamp, lo, hi, kind);
        x += 4, w += group_step, bias += 4, row += 12, out += 4;
    }
    /* pixel a's valid taps: from kx 1 on the left edge; pixel b's: 2 on the right edge, its first at a's second */
    if ((depth & 3) != 0) rest_pair(p, x_first, output, kind);
}
static inline __attribute__((always_inline)) void pair_kinds(const tq_depthwise_conv_s16_dsp_params *p,
                                                             const int16_t *x, int16_t *out, const int32_t clamp,
                                                             int32_t kind) {
    if (kind == PAIR_INNER) pair_pixels(p, x, out, clamp, PAIR_INNER);
    else if (kind == PAIR_LEFT) pair_pixels(p, x, out, clamp, PAIR_LEFT);
    else pair_pixels(p, x, out, clamp, PAIR_RIGHT);
}
#define TQ_PAIR_PIXELS(name, clamp)                                                                             \
    static __attribute__((noinline)) void name(const tq_depthwise_conv_s16_dsp_params *p, const int16_t *x,      \
                                               int16_t *out, int32_t kind) {                                    \
        pair_kinds(p, x, out, clamp, kind);                                                                     \
    }
TQ_PAIR_PIXELS(pair_pixels_int16, TQ_S16_CLAMP_INT16)
TQ_PAIR_PIXELS(pair_pixels_relu, TQ_S16_CLAMP_RELU)
TQ_PAIR_PIXELS(pair_pixels_any, TQ_S16_CLAMP_ANY)

/* the kernel for one clamp kind and alignment (constants: each caller below gets its own copy; a variable
 * alignment flag, live across the loops, costs GCC a register there) */
static inline __attribute__((always_inline)) void depthwise(const tq_depthwise_conv_s16_dsp_params *p,
                                                            const int16_t *input, int16_t *output,
                                                            const int32_t clamp, const int32_t aligned) {
    const int32_t depth = p->input_depth, lo = p->act_min, hi = p->act_max;
    const int32_t kw = p->filter_width, taps = p->filter_height * kw, whole = depth & ~3;
    const int32_t x_step = p->dilation_width * depth, y_step = p->dilation_height * p->input_width * depth;
    /* pixel pairs share taps: stride 1, dilation 1 across, a 3x3 filter, a whole group of 4 channels */
    const int32_t pairs = p->stride_width == 1 && p->dilation_width == 1 && kw == 3 && p->filter_height == 3 &&
                          whole > 0;
    for (int32_t batch = 0; batch < p->batches; ++batch) {
        const int16_t *image = input + batch * p->input_height * p->input_width * depth;
        for (int32_t out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y0 = out_y * p->stride_height - p->pad_height;
            int32_t ky0, ky1;
            valid_taps(in_y0, p->dilation_height, p->filter_height, p->input_height, &ky0, &ky1);
            for (int32_t out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x0 = out_x * p->stride_width - p->pad_width;
                int32_t kx0, kx1;
                valid_taps(in_x0, p->dilation_width, kw, p->input_width, &kx0, &kx1);
                const int32_t nx = kx1 - kx0, first_tap = ky0 * kw + kx0;
                /* the first valid tap's activations (channel 0) */
                const int16_t *x_first = image + ((in_y0 + p->dilation_height * ky0) * p->input_width + in_x0 +
                                                  p->dilation_width * kx0) * depth;
                const int32_t rows = ky1 - ky0, w_skip = 4 * (kw - nx), group_step = 4 * taps;
                const int16_t *xg = x_first, *wg = p->filter16 + 4 * first_tap;
                const int32_t *bias = p->bias, *row = p->rows;
                int16_t *out = output;
                /* this pixel and the next, inside or one with the padded column of a border: their groups in
                 * one pass of shared loads */
                const int32_t width = p->input_width, next = out_x + 1 < p->output_width;
                const int32_t kind = in_x0 >= 0 && in_x0 + 4 <= width    ? PAIR_INNER
                                     : in_x0 == -1 && width >= 3        ? PAIR_LEFT
                                     : in_x0 >= 0 && in_x0 + 3 == width ? PAIR_RIGHT
                                                                        : -1;
                if (pairs && rows == 3 && next && kind >= 0) {
                    if (clamp == TQ_S16_CLAMP_INT16) pair_pixels_int16(p, x_first, output, kind);
                    else if (clamp == TQ_S16_CLAMP_RELU) pair_pixels_relu(p, x_first, output, kind);
                    else pair_pixels_any(p, x_first, output, kind);
                    output += 2 * depth, ++out_x;
                    continue;
                }
                if (rows > 0 && nx > 0) {
                    for (int32_t g = whole >> 2; g > 0; --g) { /* pointers step, nothing is recomputed */
                        int32_t a[4] = {bias[0], bias[1], bias[2], bias[3]};
                        group_sums(xg, wg, 2 * x_step, 2 * y_step, rows, nx, w_skip, aligned, a);
                        out[0] = finish(a[0], row, clamp, lo, hi); /* unrolled: a[] stays in registers */
                        out[1] = finish(a[1], row + 3, clamp, lo, hi);
                        out[2] = finish(a[2], row + 6, clamp, lo, hi);
                        out[3] = finish(a[3], row + 9, clamp, lo, hi);
                        xg += 4, wg += group_step, bias += 4, row += 12, out += 4;
                    }
                } else { /* no valid tap: each output is its requantized bias */
                    for (int32_t c = 0; c < whole; ++c) out[c] = finish(bias[c], row + 3 * c, clamp, lo, hi);
                }
                rest_channels(p, x_first, first_tap, rows, nx, output, clamp);
                output += depth; /* NHWC */
            }
        }
    }
}

tq_status tq_depthwise_conv_s16_dsp(const tq_depthwise_conv_s16_dsp_params *p, const int16_t *input,
                                    int16_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->filter16 != NULL && p->bias != NULL &&
              p->rows != NULL && p->input_depth >= 1 && p->requant64 == 1); /* TFLM's 16x8 depthwise: int64 */
    const int32_t clamp = tq_s16_clamp_kind(p->act_min, p->act_max);
    /* every pixel and group starts on a word: an even depth (pixels 4k bytes apart) in a word-aligned buffer;
     * otherwise (an odd depth, a caller's misaligned buffer) one generic copy */
    if ((p->input_depth & 1) != 0 || ((uintptr_t)input & 3) != 0) depthwise(p, input, output, TQ_S16_CLAMP_ANY, 0);
    else if (clamp == TQ_S16_CLAMP_INT16) depthwise(p, input, output, TQ_S16_CLAMP_INT16, 1);
    else if (clamp == TQ_S16_CLAMP_RELU) depthwise(p, input, output, TQ_S16_CLAMP_RELU, 1);
    else depthwise(p, input, output, TQ_S16_CLAMP_ANY, 1);
    return TQ_OK;
}
#else
typedef int tq_depthwise_conv_s16_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
