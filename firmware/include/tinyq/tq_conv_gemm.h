/* CONV_2D int8 as a GEMM on the Arm DSP extension, with its parameters prepared at compile time
 * (tinyq/specialize/conv_dsp.py): biases with the input offset folded in, per-channel tq_requant_fast rows
 * (tq_requant_fast.h), and the filter in the order the inner loop reads it. Bit-exact with tq_conv_s8.
 *
 * Filter layout (int32 words, 4 int8 taps each, little-endian; a row is `patch_padded` taps, zero-padded from
 * `patch` = filter_height * filter_width * input_depth): channels in pairs, the two rows of a pair interleaved
 * word by word (c0 w0, c1 w0, c0 w1, c1 w1, ...); an odd last channel's row on its own.
 */
#ifndef TINYQ_TQ_CONV_GEMM_H
#define TINYQ_TQ_CONV_GEMM_H

#include "tinyq/tq_types.h"

typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_depth;
    int32_t filter_height, filter_width;
    int32_t output_height, output_width, output_depth;
    int32_t stride_height, stride_width;
    int32_t dilation_height, dilation_width;
    int32_t pad_height, pad_width;  /* padding before row/column 0, >= 0 */
    int32_t patch;                  /* taps of one output: filter_height * filter_width * input_depth */
    int32_t patch_padded;           /* patch rounded up to a multiple of 4 */
    int32_t pad_value;              /* the input zero point: what a padded tap reads (the bias assumes it) */
    int32_t output_offset;          /* +output zero point; 0 when folded into the rows */
    int32_t act_min, act_max;
    const int32_t *rows;            /* output_depth * 4 words: per channel pair {bias_c, bias_c+1, row_c, row_c+1},
                                       an odd last channel {bias, row}; bias = 2 * (bias + input_offset * sum(w))
                                       modulo 2^32 (twice: the kernel doubles its inputs), row = the tq_requant_row
                                       (tq_requant_fast.h) with output_offset * 2^rs in its rounding term when
                                       output_offset is 0 here (folded: conv_dsp.py proves it cannot overflow) */
    const int32_t *weights;         /* [output_depth * patch_padded / 4] words, layout above */
} tq_conv_gemm_params;

/* Scratch (the last argument): 4 * patch_padded bytes for two widened patches, plus patch_padded bytes for the
 * gathered int8 patch (im2col only), 4-byte aligned. */

/** 1x1 convolution without padding (any stride): each output pixel's patch is its input pixel. */
tq_status tq_conv1x1_s8_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/** Any other convolution (no groups): each output pixel's patch gathered (im2col), padded with pad_value. */
tq_status tq_conv_s8_im2col_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/* int16 weights (--weights-layout int16, tinyq/specialize/conv_dsp.py; the same struct and rows): the filter widened at
 * compile time as the inner loop consumes it: per channel pair and group of 4 taps, 4 words {c even, c odd, c+1 even,
 * c+1 odd}, an even word the int16 pair (tap 0, tap 2), an odd word (tap 1, tap 3); an odd last channel 2 words a
 * group. Flash: 2 * output_depth * patch_padded bytes, twice the int8 layout's. */

/** tq_conv1x1_s8_dsp with int16 weights (same scratch). */
tq_status tq_conv1x1_s8_wide_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/** tq_conv_s8_im2col_dsp with int16 weights (same scratch). */
tq_status tq_conv_s8_im2col_wide_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch);

/* int16 weights for three output pixels a block (tq_conv_s8_gemm3_dsp.c; conv_dsp.py widen_filter3 and stream3, the
 * same struct): `weights` is one stream read through one pointer, and `rows` points at the same array: per channel
 * pair {bias_c, bias_c+1 (doubled, as rows), per group of 4 taps 4 words {c even, c+1 even, c odd, c+1 odd},
 * row_c, row_c+1 (tq_requant_rows)}, each lane twice the weight (the kernel's inputs are widened, not doubled); an
 * odd last channel {bias, 2 words a group {even, odd}, row}. Scratch: 6 * patch_padded bytes for three widened
 * patches, plus patch_padded bytes for the gathered patch (im2col only), plus a dummy output row (output_depth
 * rounded up to a multiple of 4 bytes), 4-byte aligned. */

/** tq_conv1x1_s8_wide_dsp, three pixels a block (Cortex-M4, M33: LDM's three words beat two LDRD). */
tq_status tq_conv1x1_s8_wide3_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/** tq_conv_s8_im2col_wide_dsp, three pixels a block. */
tq_status tq_conv_s8_im2col_wide3_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                      void *scratch);

/* int4 weights (tinyq/specialize/int4_dsp.py; the same struct, `rows` and `weights` laid out for 4-bit weights):
 * channels in pairs (c, c + 1), an odd last channel paired with a zero channel whose outputs are not stored.
 * weights: per pair, one word per group of 4 taps, byte j = (w_c[4g + j] << 4) | (w_{c+1}[4g + j] + 8): channel c
 *   a signed high nibble, channel c + 1 an unsigned low nibble offset by 8 (flash: patch_padded bytes a pair).
 * rows: per pair 8 int32: {16 * f_c + f_{c+1} (mod 2^32), f_{c+1}, then the tq_requant_row of c and of c + 1},
 *   f = bias + input_offset * sum(w) (modulo 2^32). */

/** tq_conv1x1_s8_dsp with int4 weights (same scratch). */
tq_status tq_conv1x1_s8_int4_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/** tq_conv_s8_im2col_dsp with int4 weights (same scratch). */
tq_status tq_conv_s8_im2col_int4_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch);

#endif
