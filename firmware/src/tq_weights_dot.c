/* The dense dot products of tq_weights_decode.h for a code width known only at run time (the _wk and _wc
 * kernels of FULLY_CONNECTED and CONV_2D): one switch per row segment to a copy for each constant width.
 * One translation unit, so the copies exist once in the library. */
#include "tq_weights_decode.h"

uint32_t tq_w_dot_s8_intk(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off,
                                      int32_t bits) {
    switch (bits) {
    case 1: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 1, NULL);
    case 2: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 2, NULL);
    case 3: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 3, NULL);
    case 4: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 4, NULL);
    case 5: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 5, NULL);
    case 6: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 6, NULL);
    case 7: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 7, NULL);
    default: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_INTK, 8, NULL);
    }
}

uint32_t tq_w_dot_s8_codebook(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x,
                                          int32_t x_off, int32_t bits, const int8_t *table) {
    switch (bits) {
    case 1: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 1, table);
    case 2: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 2, table);
    case 3: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 3, table);
    case 4: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 4, table);
    case 5: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 5, table);
    case 6: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 6, table);
    default: return tq_w_dot_s8(row, e0, n, x, x_off, TQ_W_CODEBOOK, 7, table);
    }
}

uint64_t tq_w_dot_s16_intk(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off,
                                       int32_t bits) {
    switch (bits) {
    case 1: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 1, NULL);
    case 2: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 2, NULL);
    case 3: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 3, NULL);
    case 4: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 4, NULL);
    case 5: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 5, NULL);
    case 6: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 6, NULL);
    case 7: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 7, NULL);
    default: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_INTK, 8, NULL);
    }
}

uint64_t tq_w_dot_s16_codebook(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x,
                                           int32_t x_off, int32_t bits, const int8_t *table) {
    switch (bits) {
    case 1: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 1, table);
    case 2: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 2, table);
    case 3: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 3, table);
    case 4: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 4, table);
    case 5: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 5, table);
    case 6: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 6, table);
    default: return tq_w_dot_s16(row, e0, n, x, x_off, TQ_W_CODEBOOK, 7, table);
    }
}
