/* Byte moves for the Helium kernels' scratch (im2col rows, zero-point borders): predicated 16-byte vector
 * loads and stores, the last partial vector under a VCTP mask so nothing past n is read or written. Include
 * only under __ARM_FEATURE_MVE, after arm_mve.h. Each returns dst + n. */
#ifndef TINYQ_TQ_MVE_BYTES_H
#define TINYQ_TQ_MVE_BYTES_H

#include <stdint.h>

static inline int8_t *tq_mve_copy(int8_t *dst, const int8_t *src, int32_t n) {
    for (; n >= 16; n -= 16, src += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(src));
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
    return dst + n;
}

static inline int8_t *tq_mve_fill(int8_t *dst, int8x16_t value, int32_t n) {
    for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, value);
    if (n > 0) vstrbq_p_s8(dst, value, vctp8q((uint32_t)n));
    return dst + n;
}

#endif
