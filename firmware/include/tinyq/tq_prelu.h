/* PRELU (TFLite), int8 and int16 with an int8 alpha, as TFLite Micro's BroadcastPrelu4DSlow computes it.
 *
 * Broadcasting is a loop nest computed on the host (tinyq/lower/prelu.py), the one the elementwise kernels use:
 * `rank` loops over the output, outermost first; the output is written contiguously and the input and alpha
 * each step by their own stride per loop (0 = that operand repeats along the loop). A per-channel alpha [C]
 * against [1, H, W, C] is two loops: H*W rows of C elements.
 */
#ifndef TINYQ_TQ_PRELU_H
#define TINYQ_TQ_PRELU_H

#include "tinyq/tq_types.h"

#define TQ_PRELU_MAX_RANK 6

typedef struct {
    int32_t rank;                              /* loops in the nest: 1..TQ_PRELU_MAX_RANK */
    int32_t shape[TQ_PRELU_MAX_RANK];          /* output extent of each loop, outermost first */
    int32_t input_stride[TQ_PRELU_MAX_RANK];   /* elements the input advances per step of each loop */
    int32_t alpha_stride[TQ_PRELU_MAX_RANK];   /* elements alpha advances per step of each loop */
    const int8_t *alpha_const;                 /* constant alpha in its own shape, or NULL (alpha is an input) */
    int32_t input_offset;                      /* -input zero point */
    int32_t alpha_offset;                      /* -alpha zero point: [-127, 128] */
    int32_t output_offset;                     /* +output zero point */
    int32_t multiplier_identity, shift_identity; /* Q31, input_scale / output_scale; shift positive = left */
    int32_t multiplier_alpha, shift_alpha;       /* Q31, input_scale * alpha_scale / output_scale */
} tq_prelu_params;

/**
 * out = clamp(v >= 0 ? MBQM(v, multiplier_identity, shift_identity)
 *                    : MBQM(v * (alpha + alpha_offset), multiplier_alpha, shift_alpha)) + output_offset,
 * v = input + input_offset, the clamp the output dtype's range.
 * @param[in]  p       loop nest, constant alpha and arithmetic parameters (see struct)
 * @param[in]  input   the input in its own shape
 * @param[in]  alpha   alpha in its own shape (tq_prelu_s8 / _s16 only; p->alpha_const is NULL)
 * @param[out] output  the broadcast output shape; may share an input's buffer only when that input has its shape and width
 * @return TQ_OK
 */
tq_status tq_prelu_s8(const tq_prelu_params *p, const int8_t *input, const int8_t *alpha, int8_t *output);
tq_status tq_prelu_s16(const tq_prelu_params *p, const int16_t *input, const int8_t *alpha, int16_t *output);
tq_status tq_prelu_const_s8(const tq_prelu_params *p, const int8_t *input, int8_t *output);
tq_status tq_prelu_const_s16(const tq_prelu_params *p, const int16_t *input, int16_t *output);

#endif
