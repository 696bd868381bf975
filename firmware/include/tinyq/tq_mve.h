/* Helium (MVE) kernels for the Cortex-M55, fed by records prepared at compile time (tinyq/specialize/mve.py).
 * Every kernel sums raw int8 x * w onto a bias with the input offset folded in (so padding is the input zero
 * point) and requantizes four outputs at a time, exactly as TFLM's MultiplyByQuantizedMultiplier
 * (tq_mve_requant.h). Compiled only where __ARM_FEATURE_MVE has the integer extension.
 */
#ifndef TINYQ_TQ_MVE_H
#define TINYQ_TQ_MVE_H

#include "tinyq/tq_types.h"
#include "tinyq/tq_add_s8_table_dsp.h" /* tq_add_s8_table_params: tq_add_s8_table_mve reads the same record */
#include "tinyq/tq_pool.h"              /* tq_pool_params: so does tq_avgpool_s8_mve */

/* A GEMM: `rows` input rows of `depth` int8 values (contiguous) times `out_depth` weight rows. */
typedef struct {
    int32_t rows;      /* pixels (conv 1x1) or batch rows (FC) */
    int32_t depth;     /* K, bytes per input row */
    int32_t out_depth; /* C, bytes per output row */
    int32_t blocks;    /* ceil(C / 4): output channels computed together */
    int32_t chunks;    /* ceil(K / 16): 16-byte steps, the last one tail-predicated on the input */
    int32_t output_offset, act_min, act_max;
    /* per block of 4 channels (aligned to 4 bytes): int32 bias[2][4], the folded bias + input_offset * sum(w)
     * (mod 2^32) twice (both rows' starting sums); int8 weights [chunks][4][16], zero past K and past C;
     * int32 multiplier[4] (Q31) and shift[4] (-right shift, in [-31, -1]: a VRSHL amount) */
    const int8_t *blocked;
    uint32_t decode; /* 0 in int8 records; int4: TQ_INT4_PAIR_SUM or TQ_INT4_SCALED; 2-bit: TQ_INT2_* */
} tq_gemm_s8_mve_params;
/* int4 weights (tq_*_s8_int4_mve, tinyq/specialize/int4_mve.py, firmware/src/tq_gemm_s8_int4_mve.c) read the same
 * record with, per block: int32 starts[4] (once; both rows start there); weights [chunks][2][16], a vector per 16 taps of a channel
 * pair (c, c + 1), 0 past K; multiplier[4] and shift[4] as above. f: the folded bias (mod 2^32).
 * TQ_INT4_PAIR_SUM: starts 16 f_c + f_{c+1}, f_{c+1} a pair; bytes (w_c << 4) | (w_{c+1} + 8).
 * TQ_INT4_SCALED: starts 16 f; bytes (w_c << 4) | (w_{c+1} & 0xF). */
#define TQ_INT4_PAIR_SUM 0u
#define TQ_INT4_SCALED 1u
/* 2-bit weights (tq_*_s8_int2_mve, tinyq/specialize/lowbit_mve.py, firmware/src/tq_gemm_s8_int2_mve.c), per block:
 * TQ_INT2_SCALED: starts[4] (0), weights [chunks][16], then m[4], f[4], multiplier[4], shift[4];
 * TQ_INT2_FIELDS: no starts (the kernel makes them from each row's sum), weights [chunks][16], m, f, multiplier,
 * shift. */
#define TQ_INT2_SCALED 0u
#define TQ_INT2_FIELDS 1u

/* CONV_2D through an im2col row per output pixel (two at a time), padded with the input zero point. */
typedef struct {
    int32_t batches, input_height, input_width, input_depth;
    int32_t filter_height, filter_width, output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t pad_value; /* the input zero point */
    /* 0, or the zero-point-bordered copy of the image the kernel makes first (scratch after the two rows, its
     * rows and columns: pad + input + what the last taps reach), so that every pixel takes the interior path */
    int32_t bordered_height, bordered_width;
    const tq_gemm_s8_mve_params *gemm; /* depth = filter_height * filter_width * input_depth */
} tq_conv_s8_im2col_mve_params;

/* DEPTHWISE_CONV_2D, depth multiplier 1: four channels in the int32 lanes, on a copy of the input with a
 * zero-point border (scratch: groups * padded_height * padded_width * 4 bytes). */
typedef struct {
    int32_t batches, input_height, input_width, depth;
    int32_t filter_height, filter_width, output_height, output_width;
    int32_t stride_height, stride_width, dilation_height, dilation_width, pad_height, pad_width;
    int32_t pad_value; /* the input zero point */
    int32_t groups;    /* ceil(depth / 4) */
    int32_t padded_height, padded_width; /* the bordered copy: pad_height + input_height + rows below, same for x */
    int32_t output_offset, act_min, act_max;
    const int8_t *blocked;     /* [groups][filter_height][filter_width][4], zero past depth; int4 kernel: nibbles,
                                * two lanes a byte (lane 2i low, 2i + 1 high), 2 bytes a tap a group */
    const int32_t *bias;       /* [groups * 4] folded */
    const int32_t *multiplier; /* [groups * 4] */
    const int32_t *shift;      /* [groups * 4] -right shift */
} tq_depthwise_conv_s8_mve_params;

/** FULLY_CONNECTED int8 as tq_gemm_s8_mve (rows = batches). */
tq_status tq_fully_connected_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
/** CONV_2D 1x1, stride 1, no padding: a GEMM over the pixels. */
tq_status tq_conv1x1_s8_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
/** CONV_2D, any filter: scratch = 2 * gemm->depth bytes (two im2col rows) + the bordered copy, if any. */
tq_status tq_conv_s8_im2col_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                void *scratch);
/** FULLY_CONNECTED, CONV_2D 1x1 and im2col CONV_2D as the three above, int4 weights (the int4 blocked layout). */
tq_status tq_fully_connected_s8_int4_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv1x1_s8_int4_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_im2col_int4_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                     void *scratch);
/** The same three with 2-bit weights (int2, ternary, binary; tinyq/specialize/lowbit_mve.py), per block: int32
 * starts[4] (0); weights [chunks][16], byte j = tap j, bits 2i..2i+1 channel i's t in [-2, 1]; int32 m[4]
 * (the channels' magnitudes), f[4] (folded biases), multiplier[4], shift[4]. */
tq_status tq_fully_connected_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv1x1_s8_int2_mve(const tq_gemm_s8_mve_params *p, const int8_t *input, int8_t *output);
tq_status tq_conv_s8_im2col_int2_mve(const tq_conv_s8_im2col_mve_params *p, const int8_t *input, int8_t *output,
                                     void *scratch);
/** DEPTHWISE_CONV_2D, depth multiplier 1. */
tq_status tq_depthwise_conv_s8_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input, int8_t *output,
                                   void *scratch);
/** DEPTHWISE_CONV_2D with int4 weights (`blocked` as nibbles): scratch = the bordered copy + one group's taps
 * unpacked (4 bytes a tap, rounded up to 32). */
tq_status tq_depthwise_conv_s8_int4_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input,
                                        int8_t *output, void *scratch);
/** DEPTHWISE_CONV_2D with 2-bit weights w = m_c * t: `blocked` = int8 m [groups * 4], then [groups][taps] bytes
 * of 2-bit t (lane i at bits 2i); scratch = the bordered copy + one group's taps (4 bytes a tap, rounded up to 64). */
tq_status tq_depthwise_conv_s8_int2_mve(const tq_depthwise_conv_s8_mve_params *p, const int8_t *input,
                                        int8_t *output, void *scratch);
/** ADD int8 from tq_add_s8_table_dsp's record (tinyq/specialize/add_mve.py): four outputs per step. */
tq_status tq_add_s8_table_mve(const tq_add_s8_table_params *p, const int8_t *input1, const int8_t *input2,
                              int8_t *output);
/** AVERAGE_POOL_2D int8 from tq_avgpool_s8's record, windows of at most 256 elements (tinyq/specialize/pool_mve.py). */
tq_status tq_avgpool_s8_mve(const tq_pool_params *p, const int8_t *input, int8_t *output);

#endif
