/* Fully connected (TFLite FULLY_CONNECTED), int8 and 16x8. */
#ifndef TINYQ_TQ_FULLY_CONNECTED_H
#define TINYQ_TQ_FULLY_CONNECTED_H

#include "tinyq/tq_types.h"
#include "tinyq/tq_weights.h"

typedef struct {
    int32_t batches;      /* rows: input elements / accum_depth */
    int32_t accum_depth;  /* input features */
    int32_t output_depth; /* output features */
    int32_t input_offset; /* -input zero point: [-127, 128] for int8, 0 for int16 */
    int32_t filter_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;       /* 1: multiplier/shift have output_depth entries; 0: one entry */
    int32_t acc64;             /* s16 only: 1 = int64 sum, int64 bias, int64 requantize; 0 = all int32 */
    const int8_t *weights;     /* [output_depth][accum_depth] */
    const void *bias;          /* int32_t[output_depth], or int64_t[output_depth] when acc64; or NULL */
    const int32_t *multiplier; /* Q31 */
    const int32_t *shift;      /* positive = left */
    const tq_packed_weights *packed; /* NULL: the int8 filter/weights array is used */
} tq_fully_connected_params;

/* Kernel contracts, checked with TQ_ENABLE_ASSERT (tq_config.h); lo, hi: the output type's range. */
#define TQ_FULLY_CONNECTED_CHECK(p, input, output, lo, hi)                                                         \
    do {                                                                                                            \
        TQ_ASSERT((p) != NULL && (input) != NULL && (output) != NULL && (p)->weights != NULL &&                      \
                  (p)->multiplier != NULL && (p)->shift != NULL);                                                   \
        TQ_ASSERT((p)->batches >= 1 && (p)->accum_depth >= 1 && (p)->output_depth >= 1 &&                           \
                  ((p)->per_channel == 0 || (p)->per_channel == 1) && ((p)->acc64 == 0 || (p)->acc64 == 1));       \
        TQ_ASSERT(TQ_OFFSET_OK((p)->input_offset) && TQ_OFFSET_OK((p)->filter_offset) &&                          \
                  TQ_OFFSET_OK((p)->output_offset) && TQ_ACT_OK((p)->act_min, (p)->act_max, (lo), (hi)));         \
    } while (0)

/**
 * @param[in]  p       parameters (see struct)
 * @param[in]  input   [batches][accum_depth]
 * @param[out] output  [batches][output_depth]
 */
tq_status tq_fully_connected_s8(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s16(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);

/* Variant of tq_fully_connected_s8 for the Arm DSP extension (SMLAD), same results bit for bit.
 * Defined only when the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_fully_connected_s8_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);

/* Packed weights (tinyq/tq_weights.h, docs/weight_encodings.md): the same results as tq_fully_connected_s8
 * / _s16 on the decoded int8 weights, reading p->packed (rows = output features, channel_axis 0) instead
 * of p->weights. _w4 int4, _w2 int2, _wk int<k>, _wt ternary, _wb binary, _wc codebook (dense); _ws any
 * sparse form with any value encoding; _wn topK (nested levels: another level's int8 weights, their top K bits). */
tq_status tq_fully_connected_s8_w4(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_w2(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wk(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wt(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wb(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wc(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_ws(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wn(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s16_w4(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_w2(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wk(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wt(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wb(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wc(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_ws(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);
tq_status tq_fully_connected_s16_wn(const tq_fully_connected_params *p, const int16_t *input, int16_t *output);

/* DSP variants of _w4, _w2, _wt and _wb (codes turned into SMLAD lanes or SEL masks a word at a time), bit for
 * bit the same results. Defined only when the compiler targets a CPU with the extension (__ARM_FEATURE_DSP). */
tq_status tq_fully_connected_s8_w4_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_w2_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wt_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wb_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
/* DSP variant of _wn (topK, nested): 4 parent bytes shifted and sign-extended per word (SSUB8), then SMLAD. */
tq_status tq_fully_connected_s8_wn_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);

/* DSP variants of _ws (fast paths for sparse+int8 and sparse2:4+int8) and _wc (codebook:4 with a per-tensor
 * table); the same results bit for bit. Defined only when the compiler targets a CPU with the extension. */
tq_status tq_fully_connected_s8_ws_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);
tq_status tq_fully_connected_s8_wc_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output);

#endif
