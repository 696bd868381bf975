/* Data-movement kernels: RESHAPE, SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD, PADV2, TRANSPOSE,
 * STRIDED_SLICE, SLICE (any element type: int8, int16, int32, float).
 *
 * These ops never change a value, so the kernels move bytes: each record carries the element size
 * and every index resolved on the host (tinyq/lower/shape.py runs TFLM's index logic there). The host
 * also proves that every read stays inside the input(s) and every write inside the output, so the
 * kernels do no bounds checks of their own. Tensors are row-major; outputs are written in order.
 * Inputs and outputs must not overlap, except tq_copy's, which may be the very same buffer.
 */
#ifndef TINYQ_TQ_SHAPE_H
#define TINYQ_TQ_SHAPE_H

#include "tinyq/tq_types.h"

#define TQ_SHAPE_MAX_RANK 5 /* loops of tq_pad / tq_strided_copy (MAX_RANK in tinyq/lower/shape.py) */

typedef struct {
    int32_t bytes; /* size of the tensor in bytes, > 0 */
} tq_copy_params;

typedef struct {
    int32_t num_inputs;          /* all inputs, activation and constant: 1..10 */
    int32_t outer_size;          /* product of the output dimensions before the concatenation axis */
    const int32_t *copy_bytes;   /* [num_inputs] bytes each input contributes per outer row */
    const int32_t *const_offset; /* [num_inputs] byte offset of a constant input in `const_data`, -1 for an
                                    activation input; NULL when no input is constant */
    const void *const_data;      /* constant inputs, each flattened, appended (tensor type), or NULL */
} tq_concatenation_params;

typedef struct {
    int32_t elem_bytes;                     /* 1, 2 or 4 */
    int32_t in_dims[TQ_SHAPE_MAX_RANK];     /* input shape, right-aligned (leading 1s) */
    int32_t out_dims[TQ_SHAPE_MAX_RANK];    /* output shape = in_dims + before + padding after */
    int32_t before[TQ_SHAPE_MAX_RANK];      /* padding elements before the input, >= 0 */
    const void *pad_value;                  /* one element of the tensor type */
} tq_pad_params;

typedef struct {
    int32_t elem_bytes;                     /* 1, 2 or 4 */
    int32_t offset;                         /* input element index of output element 0 */
    int32_t count[TQ_SHAPE_MAX_RANK];       /* output extents, outermost first, >= 1 */
    int32_t step[TQ_SHAPE_MAX_RANK];        /* input elements per step of each loop (any sign) */
} tq_strided_copy_params;

/**
 * RESHAPE, SQUEEZE, EXPAND_DIMS: output = input, byte for byte; nothing is done when they are the
 * same buffer.
 * @param[in]  p       p->bytes: tensor size in bytes
 * @param[in]  input   any element type
 * @param[out] output  same size; either the input buffer itself or not overlapping it
 * @return TQ_OK
 */
tq_status tq_copy(const tq_copy_params *p, const void *input, void *output);

/**
 * CONCATENATION along any axis: for each of p->outer_size rows, the next p->copy_bytes[i] bytes of
 * each input i are appended to the output, in input order.
 * @param[in]  p       row layout and constant inputs (see struct)
 * @param[in]  inputs  the activation inputs only, in input order (constant inputs are skipped)
 * @param[out] output  outer_size * sum(copy_bytes) bytes
 * @return TQ_OK
 */
tq_status tq_concatenation(const tq_concatenation_params *p, const void *const *inputs, void *output);

/**
 * PAD, PADV2 (constant mode): out[o] = input[o - before] where that index is inside in_dims, else
 * *pad_value; over TQ_SHAPE_MAX_RANK right-aligned dimensions.
 * @param[in]  p       shapes, padding and value (see struct)
 * @param[in]  input   [in_dims] elements of elem_bytes
 * @param[out] output  [out_dims] elements of elem_bytes
 * @return TQ_OK
 */
tq_status tq_pad(const tq_pad_params *p, const void *input, void *output);

/**
 * TRANSPOSE, STRIDED_SLICE, SLICE: a gather in output order over TQ_SHAPE_MAX_RANK loops,
 * output[i0..i4] = input[offset + i0*step[0] + ... + i4*step[4]] (indices in elements).
 * @param[in]  p       loop nest (see struct)
 * @param[in]  input   elements of elem_bytes
 * @param[out] output  count[0] * ... * count[4] elements of elem_bytes
 * @return TQ_OK
 */
tq_status tq_strided_copy(const tq_strided_copy_params *p, const void *input, void *output);

#endif
