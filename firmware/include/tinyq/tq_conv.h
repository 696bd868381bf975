/* Convolutions (TFLite CONV_2D and DEPTHWISE_CONV_2D), int8 and 16x8, per-channel requantization.
 * Reference kernels: TFLM reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel, same loop order.
 */
#ifndef TINYQ_TQ_CONV_H
#define TINYQ_TQ_CONV_H

#include "tinyq/tq_types.h"
#include "tinyq/tq_weights.h"

typedef struct {
    int32_t batches; /* the input tensor's batch dimension */
    int32_t input_height, input_width, input_depth;
    int32_t filter_height, filter_width;
    int32_t filter_input_depth; /* input_depth / groups (grouped convolution when smaller) */
    int32_t output_height, output_width, output_depth; /* output_depth divisible by the group count */
    int32_t stride_height, stride_width;               /* >= 1 */
    int32_t dilation_height, dilation_width;           /* >= 1 */
    int32_t pad_height, pad_width;                     /* padding before row/column 0, >= 0 */
    int32_t input_offset;  /* -input zero point: [-127, 128] (s8), 0 (s16) */
    int32_t output_offset; /* +output zero point: [-128, 127] (s8), 0 (s16) */
    int32_t act_min, act_max;
    int32_t acc64;             /* s16 only. 1: int64 accumulator, int64_t bias, int64 requant;
                                  0: int32 accumulator, int32_t bias, int32 requant (TFLM's int32-bias path). s8: 0 */
    const void *bias;          /* int32_t or int64_t (see acc64) [output_depth], or NULL */
    const int32_t *multiplier; /* Q31 [output_depth] */
    const int32_t *shift;      /* [output_depth], positive = left */
    const int8_t *filter;      /* [output_depth][filter_height][filter_width][filter_input_depth] */
    const tq_packed_weights *packed; /* NULL: the int8 filter/weights array is used */
} tq_conv_params;

typedef struct {
    int32_t batches;
    int32_t input_height, input_width, input_depth;
    int32_t filter_height, filter_width;
    int32_t output_height, output_width, output_depth; /* output_depth = input_depth * depth_multiplier */
    int32_t stride_height, stride_width;
    int32_t dilation_height, dilation_width;
    int32_t pad_height, pad_width;
    int32_t input_offset;  /* -input zero point: [-127, 128] (s8), 0 (s16) */
    int32_t output_offset; /* +output zero point: [-128, 127] (s8), 0 (s16) */
    int32_t act_min, act_max;
    int32_t acc64;             /* 1 for s16 (int64 accumulator, int64_t bias), 0 for s8 */
    const void *bias;          /* int32_t (s8) or int64_t (s16) [output_depth], or NULL */
    const int32_t *multiplier; /* Q31 [output_depth] */
    const int32_t *shift;      /* [output_depth], positive = left */
    int32_t depth_multiplier;  /* >= 1 */
    const int8_t *filter;      /* [filter_height][filter_width][output_depth]; channel c*M+m reads input c */
    const tq_packed_weights *packed; /* NULL: the int8 filter/weights array is used */
} tq_depthwise_conv_params;

/* Kernel contracts, checked with TQ_ENABLE_ASSERT (tq_config.h); lo, hi: the output type's range. Every
 * dimension >= 1, strides and dilations >= 1, padding >= 0, groups dividing both depths, per-channel
 * multipliers and shifts checked by the fixed-point primitives. */
#define TQ_CONV_CHECK(p, input, output, lo, hi)                                                                     \
    do {                                                                                                            \
        TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->filter != NULL &&                       \
                  (p)->multiplier != NULL && (p)->shift != NULL);                                                   \
        TQ_ASSERT((p)->batches >= 1 && (p)->input_height >= 1 && (p)->input_width >= 1 && (p)->input_depth >= 1 &&   \
                  (p)->filter_height >= 1 && (p)->filter_width >= 1 && (p)->output_height >= 1 &&                 \
                  (p)->output_width >= 1 && (p)->output_depth >= 1);                                              \
        TQ_ASSERT((p)->filter_input_depth >= 1 && (p)->input_depth % (p)->filter_input_depth == 0 &&               \
                  (p)->output_depth % ((p)->input_depth / (p)->filter_input_depth) == 0);                          \
        TQ_ASSERT((p)->stride_height >= 1 && (p)->stride_width >= 1 && (p)->dilation_height >= 1 &&                \
                  (p)->dilation_width >= 1 && (p)->pad_height >= 0 && (p)->pad_width >= 0);                        \
        TQ_ASSERT(TQ_OFFSET_OK((p)->input_offset) && TQ_OFFSET_OK((p)->output_offset) &&                           \
                  TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)) && ((p)->acc64 == 0 || (p)->acc64 == 1));      \
    } while (0)

#define TQ_DEPTHWISE_CONV_CHECK(p, input, output, lo, hi)                                                           \
    do {                                                                                                            \
        TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->filter != NULL &&                       \
                  (p)->multiplier != NULL && (p)->shift != NULL);                                                   \
        TQ_ASSERT((p)->batches >= 1 && (p)->input_height >= 1 && (p)->input_width >= 1 && (p)->input_depth >= 1 &&   \
                  (p)->filter_height >= 1 && (p)->filter_width >= 1 && (p)->output_height >= 1 &&                 \
                  (p)->output_width >= 1 && (p)->depth_multiplier >= 1 &&                                         \
                  (p)->output_depth == (p)->input_depth * (p)->depth_multiplier);                                 \
        TQ_ASSERT((p)->stride_height >= 1 && (p)->stride_width >= 1 && (p)->dilation_height >= 1 &&                \
                  (p)->dilation_width >= 1 && (p)->pad_height >= 0 && (p)->pad_width >= 0);                        \
        TQ_ASSERT(TQ_OFFSET_OK((p)->input_offset) && TQ_OFFSET_OK((p)->output_offset) &&                           \
                  TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)));                                              \
    } while (0)

/**
 * Convolution, int8 activations and filters, int32 bias and accumulator.
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [batches][input_height][input_width][input_depth]
 * @param[out] output  [batches][output_height][output_width][output_depth]
 */
tq_status tq_conv_s8(const tq_conv_params *p, const int8_t *input, int8_t *output);

/**
 * Convolution, 16x8: int16 activations, int8 filters; accumulator and bias per p->acc64.
 * @param[in]  input   [batches][input_height][input_width][input_depth]
 * @param[out] output  [batches][output_height][output_width][output_depth]
 */
tq_status tq_conv_s16(const tq_conv_params *p, const int16_t *input, int16_t *output);

/* Variant of tq_conv_s8 for the Arm DSP extension (SMLAD), same results bit for bit. Defined only when the
 * compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_conv_s8_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);

/**
 * Depthwise convolution, int8 activations and filters, int32 bias and accumulator.
 * @param[in]  input   [batches][input_height][input_width][input_depth]
 * @param[out] output  [batches][output_height][output_width][output_depth]
 */
tq_status tq_depthwise_conv_s8(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);

/**
 * Depthwise convolution, 16x8: int16 activations, int8 filters, int64 bias and accumulator.
 * @param[in]  input   [batches][input_height][input_width][input_depth]
 * @param[out] output  [batches][output_height][output_width][output_depth]
 */
tq_status tq_depthwise_conv_s16(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);

/* Variant of tq_depthwise_conv_s8 for the Arm DSP extension (SMLABB/SMLATT), same results bit for bit.
 * Defined only when the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_depthwise_conv_s8_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);

/* DSP variants of tq_conv_s8_wn / tq_depthwise_conv_s8_wn (topK, nested): the loops of tq_conv_s8_dsp /
 * tq_depthwise_conv_s8_dsp on the parent's filter bytes, 4 shifted and sign-extended per word (SSUB8); the same
 * results bit for bit. Depthwise: depth multipliers other than 1 take tq_depthwise_conv_s8_wn. Defined only when
 * the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_conv_s8_wn_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wn_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);

/* Variant of tq_depthwise_conv_s8_ws (any sparse form, any value encoding) for the Arm DSP extension, same
 * results bit for bit: each output channel's nonzero taps decoded once, then SMLABB/SMLABT over the pixels.
 * Defined only when the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_depthwise_conv_s8_ws_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);

/* Packed weights (tinyq/tq_weights.h, docs/weight_encodings.md): the same results as tq_conv_s8 / _s16 and
 * tq_depthwise_conv_s8 / _s16 on the decoded int8 filter, reading p->packed instead of p->filter.
 * Weight forms: _w4 int4, _w2 int2, _wk int<k> (any k), _wt ternary, _wb binary, _wc codebook (dense);
 * _ws any sparse form with any value encoding; _wn topK (nested levels: another level's int8 filter, its top K
 * bits). Conv rows: output channels (channel_axis 0); depthwise rows: taps, elements: output channels
 * (channel_axis 1). */
tq_status tq_conv_s8_w4(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_w2(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wk(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wt(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wb(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wc(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_ws(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wn(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s16_w4(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_w2(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wk(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wt(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wb(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wc(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_ws(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_conv_s16_wn(const tq_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s8_w4(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_w2(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wk(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wt(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wb(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wc(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_ws(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wn(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s16_w4(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_w2(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wk(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wt(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wb(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wc(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_ws(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);
tq_status tq_depthwise_conv_s16_wn(const tq_depthwise_conv_params *p, const int16_t *input, int16_t *output);

/* DSP variants of tq_conv_s8_w4/_w2/_wt/_wb (codes turned into SMLAD lanes or SEL masks a word at a time), bit
 * for bit the same results. Defined only when the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_conv_s8_w4_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_w2_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wt_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wb_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);

/* DSP variants of tq_depthwise_conv_s8_w4/_w2/_wk/_wt/_wb/_wc (SMLAxy on a channel group's weights, decoded
 * once per layer into a 200-byte stack array), bit for bit the same results. Depth multipliers other than 1
 * and 2 and filters of more than 25 taps take the portable kernels. Defined only when the compiler targets a
 * CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_depthwise_conv_s8_w4_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_w2_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wk_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wt_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wb_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_depthwise_conv_s8_wc_dsp(const tq_depthwise_conv_params *p, const int8_t *input, int8_t *output);

/* DSP variants of tq_conv_s8_ws (rows decoded once per call into a stack list, two products per SMLAD) and
 * tq_conv_s8_wc (codebook:4 with a per-tensor table: a 256-entry table of int16 weight pairs per call); the
 * same results bit for bit. Defined only when the compiler targets a CPU with the extension. */
tq_status tq_conv_s8_ws_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_wc_dsp(const tq_conv_params *p, const int8_t *input, int8_t *output);

#endif
