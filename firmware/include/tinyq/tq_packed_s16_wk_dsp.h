/* DSP variants of the packed-weight kernels (tinyq/tq_weights.h) for 16x8 activations, every dense form
 * (_w4, _w2, _wk, _wt, _wb, _wc), and for k-bit weights (_wk) with int8 activations (FULLY_CONNECTED and
 * CONV_2D; DEPTHWISE_CONV_2D's is declared in tq_conv.h): bit
 * for bit the results of the portable kernels they stand for (tq_<op>_<act>_<weights>, tq_conv.h and
 * tq_fully_connected.h). Defined only when the compiler targets a CPU with the Arm DSP extension
 * (__ARM_FEATURE_DSP); firmware/src/tq_packed_s16_dsp.c and tq_packed_wk_dsp.c. */
#ifndef TINYQ_TQ_PACKED_S16_WK_DSP_H
#define TINYQ_TQ_PACKED_S16_WK_DSP_H

#include "tinyq/tq_conv.h"
#include "tinyq/tq_fully_connected.h"

tq_status tq_fully_connected_s16_w4_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_w2_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wk_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wt_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wb_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wc_dsp(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);

tq_status tq_conv_s16_w4_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_w2_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wk_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wt_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wb_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wc_dsp(const tq_conv_params *p, const int16_t *input, int16_t *output);

tq_status tq_depthwise_conv_s16_w4_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_w2_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wk_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wt_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wb_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wc_dsp(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);

tq_status tq_fully_connected_s8_wk_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wk_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);

#endif
