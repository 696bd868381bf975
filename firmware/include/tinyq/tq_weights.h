/* Packed (sub-8-bit, sparse, nested) weights: the descriptor the *_w4/_w2/_wk/_wt/_wb/_wc/_ws/_wn kernels read.
 *
 * An encoding is storage, not arithmetic: a kernel on packed weights computes exactly the integers the
 * int8 kernel computes on the decoded int8 tensor (same accumulator, wrap, requantize). The formats are
 * defined bit for bit in docs/weight_encodings.md; tinyq/encode/ writes them, tinyq/sim decodes them.
 *
 * Rows (docs "Rows"): FULLY_CONNECTED [O, I] and CONV_2D [O, KH, KW, I] are O rows (row r is output
 * channel r, channel_axis 0); DEPTHWISE_CONV_2D [1, KH, KW, C*M] is KH*KW rows of C*M (element e is output
 * channel e, channel_axis 1). Codes are LSB-first, every row starts on a byte boundary.
 */
#ifndef TINYQ_TQ_WEIGHTS_H
#define TINYQ_TQ_WEIGHTS_H

#include "tinyq/tq_types.h"

/* value encodings (of every element when dense, of the stored elements when sparse) */
#define TQ_W_INT8 0     /* bits = 8 */
#define TQ_W_INTK 1     /* k-bit two's complement, bits = k (1..7; 8 is accepted and means int8) */
#define TQ_W_TERNARY 2  /* 2-bit codes 00 -> 0, 01 -> +a_c, 11 -> -a_c (10 decodes as 0) */
#define TQ_W_BINARY 3   /* 1-bit codes 1 -> +a_c, 0 -> -a_c */
#define TQ_W_CODEBOOK 4 /* bits-wide (1..7) index into table */
#define TQ_W_TOP 5      /* topK (nested levels): 8-bit codes, another level's int8 weights; value = (int8_t)code >>
                           value_shift (= 8 - K, 1..7), arithmetic: that level's values' top K bits */

/* sparse forms: which elements are stored */
#define TQ_S_DENSE 0  /* all of them, row_bytes per row */
#define TQ_S_BITMAP 1 /* bitmap of L bits per row in index; the nonzeros at codes + row_start[r] */
#define TQ_S_NM 2     /* group_n of every group_m elements; positions (log2 group_m bits) in index */
#define TQ_S_BLOCK 3  /* bitmap of ceil(L/group_m) kept blocks per row; their values at codes + row_start[r] */

typedef struct {
    int32_t value_encoding, bits, sparse_form;
    int32_t rows, length;  /* R, L (docs/weight_encodings.md "Rows") */
    int32_t channel_axis;  /* 0: row r is output channel r; 1: element e is output channel e */
    int32_t row_bytes;     /* bytes per value row when fixed (dense, N:M), else 0 (see row_start) */
    const uint8_t *codes;  /* the value stream */
    const int8_t *table;   /* codebook: [2^bits] or [channels][2^bits]; else NULL */
    int32_t table_per_channel;
    const int8_t *magnitude; /* ternary/binary a_c [channels]; else NULL */
    const uint8_t *index;    /* bitmap rows (BITMAP: ceil(L/8) bytes per row; BLOCK: ceil(ceil(L/B)/8)) or N:M positions */
    int32_t index_row_bytes;
    const int32_t *row_start; /* [R + 1] byte offsets of each row in codes (BITMAP, BLOCK), else NULL */
    int32_t group_n, group_m; /* N:M, or block size in group_m */
    int32_t value_shift;      /* TQ_W_TOP: 8 - K; 0 for every other value encoding */
} tq_packed_weights;

#endif
