/* CONV_2D and FULLY_CONNECTED with 2-bit weights on the Arm DSP extension (tinyq/specialize/lowbit_dsp.py): the
 * dense int2, ternary and binary encodings, weights kept 2-bit in flash. Each weight is w = m_c * t, t in [-2, 1]
 * (int2: m_c = 1; ternary, binary: m_c the channel's magnitude), stored as the code u = t + 2:
 *   - weights: per (group of 4 output channels g, chunk of 4 taps k) one little-endian int32 word; byte j = tap
 *     4k + j, bits 2i..2i+1 of it = the code of channel 4g + i (padding taps and channels: code 0);
 *   - per group {f_0..f_3, m_0..m_3}: the folded biases (bias + input_offset * sum(w), mod 2^32) and magnitudes;
 *     acc_c = f_c + m_c * (sum(x * u_c) - 2 * sum(x)).
 * Requantization rows {multiplier, round, right_shift R, mask} (tq_requant_lowbit): TFLM's left shift L, when the
 * channel's shift is positive, is folded into f and m (the kernels compute 2^L acc), so R may be 0.
 * Conv: tq_conv_gemm_params, `rows` = per group {f_0..f_3, m_0..m_3, 4 rows} (24 int32), `weights` =
 * [ceil(C/4)][patch_padded/4] words; the scratch of tq_conv1x1_s8_dsp / tq_conv_s8_im2col_dsp.
 * FC: tq_fully_connected_s8_interleaved_params, `weights` = [ceil(N/4)][ceil(K/4)] words (as bytes), `bias` =
 * per group {f_0..f_3, m_0..m_3}, `requant` 4 rows a group (requant_step 16), or the first group's for all (0). */
#ifndef TINYQ_TQ_LOWBIT_DSP_H
#define TINYQ_TQ_LOWBIT_DSP_H

#include "tinyq/tq_conv_gemm.h"
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_requant_fast.h"

typedef tq_fully_connected_s8_interleaved_params tq_fully_connected_s8_int2_params;

/* RoundingDivideByPOT(SRDHM(a / 2, row[0]), row[2]) from a = 2 acc (|acc| < 2^30, proved): tq_requant_fast with
 * the negative ties' -1 masked by row[3] (-1 when R >= 1; 0, with round 0, when R = 0: no division at all) */
static inline int32_t tq_requant_lowbit(int32_t acc2, const int32_t *row) {
    const int32_t h = tq_smmulr(acc2, row[0]);
    return (h + row[1] + ((h >> 31) & row[3])) >> row[2];
}

/** tq_conv1x1_s8_dsp with 2-bit weights (same scratch). */
tq_status tq_conv1x1_s8_int2_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, void *scratch);

/** tq_conv_s8_im2col_dsp with 2-bit weights (same scratch). */
tq_status tq_conv_s8_im2col_int2_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                     void *scratch);

/** tq_fully_connected_s8_interleaved_dsp with 2-bit weights. */
tq_status tq_fully_connected_s8_int2_dsp(const tq_fully_connected_s8_int2_params *p, const int8_t *input,
                                         int8_t *output);

#endif
