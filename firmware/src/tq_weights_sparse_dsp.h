/* Internal to the sparse and codebook DSP variants (tq_*_packed_sparse_dsp.c, tq_codebook_packed_dsp.c):
 * halfword packing, and the dot product of a decoded sparse row (a list of input offsets and int16 values)
 * with an input, two products per SMLAD. Sums are uint32 / int32 modulo 2^32 (SMLAD wraps like the
 * reference's int32 accumulator; its Q flag is never read). */
#ifndef TINYQ_TQ_WEIGHTS_SPARSE_DSP_H
#define TINYQ_TQ_WEIGHTS_SPARSE_DSP_H

#include "tq_dsp_dot.h"
#include "tq_weights_decode.h"
#include "tinyq/tq_conv.h"

#if defined(__ARM_FEATURE_DSP)

/* PKHBT lo, hi, LSL #16: the low halfword of lo below the low halfword of hi */
static inline uint32_t tq_sd_pack(int32_t lo, int32_t hi) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

/* PKHTB hi, lo, ASR #16: the high halfword of hi above the high halfword of lo */
static inline uint32_t tq_sd_pack_high(uint32_t hi, uint32_t lo) {
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}

/* RBIT: bit i to bit 31 - i */
static inline uint32_t tq_sd_rbit(uint32_t x) {
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static inline uint32_t tq_sd_load_pair(const int16_t *v) {
    uint32_t word;
    memcpy(&word, v, sizeof word); /* one LDR (unaligned halfword pairs are fine on Armv7E-M) */
    return word;
}

/* CONV_2D through the stack list of tq_conv_packed_sparse_dsp.c, for dense codebook rows (any width, any
 * table): tq_sc_fits says whether a filter fits it with rows of up to max_nonzeros nonzeros. */
int tq_sc_fits(const tq_conv_params *p, int32_t max_nonzeros);
tq_status tq_sc_conv_codebook(const tq_conv_params *p, const int8_t *input, int8_t *output);

/* ---- requantization of an int8 output, with its channel's constants prepared once -------------------
 * The integers of tq_add_clamp_i32(tq_multiply_by_quantized_multiplier(acc + bias, m, shift), off, lo, hi)
 * (tq_fixedpoint.h), for multiplier >= 0 and an int8 output range:
 *  - SRDHM: (a·b + nudge) / 2^31 truncated is floor((a·b + 2^30) / 2^31) for either sign of a·b (for
 *    a·b < 0 the nudge is 1 - 2^30 and the quotient rounds up), and INT32_MIN² cannot occur (m >= 0);
 *  - RDBPOT: (x >> e) + (remainder > threshold), remainder = x & (2^e - 1), threshold = (2^e - 1) / 2 + (x < 0);
 *  - y + off, clamped: y saturated to int16 first changes nothing (|off| <= 128, [lo, hi] within int8). */
typedef struct {
    uint32_t bias;
    int32_t multiplier, left, right, mask, half, offset, lo, hi;
} tq_sd_requant;

static inline void tq_sd_requant_init(tq_sd_requant *q, uint32_t bias, int32_t multiplier, int32_t shift,
                                      int32_t offset, int32_t lo, int32_t hi) {
    TQ_ASSERT(multiplier >= 0 && shift >= -31 && shift <= 31 && offset >= -128 && offset <= 128 && lo >= -128 &&
              hi <= 127);
    q->bias = bias;
    q->multiplier = multiplier;
    q->left = shift > 0 ? shift : 0;
    q->right = shift > 0 ? 0 : -shift;
    q->mask = (int32_t)((1u << q->right) - 1u);
    q->half = q->mask >> 1;
    q->offset = offset;
    q->lo = lo;
    q->hi = hi;
}

static inline int8_t tq_sd_requant_apply(const tq_sd_requant *q, uint32_t acc) {
    const int32_t x = (int32_t)((acc + q->bias) << q->left);
    const int32_t h = (int32_t)(((int64_t)x * q->multiplier + (1 << 30)) >> 31);
    const int32_t y = (h >> q->right) + ((h & q->mask) > q->half + (int32_t)((uint32_t)h >> 31));
    int32_t z;
    __asm__("ssat %0, #16, %1" : "=r"(z) : "r"(y));
    z += q->offset;
    /* branch-free clamp: CMP + IT + MOV, twice */
    __asm__("cmp   %[z], %[lo]\n\t"
            "it    lt\n\t"
            "movlt %[z], %[lo]\n\t"
            "cmp   %[z], %[hi]\n\t"
            "it    gt\n\t"
            "movgt %[z], %[hi]"
            : [z] "+r"(z)
            : [lo] "r"(q->lo), [hi] "r"(q->hi)
            : "cc");
    return (int8_t)z;
}

/* acc + Σ_k val[k] · base[ofs[k]], k < n: four stored elements per step, their inputs paired by PKHBT to
 * meet two consecutive int16 values in one SMLAD. */
static inline int32_t tq_sd_list_dot(const uint16_t *ofs, const int16_t *val, int32_t n, const int8_t *base,
                                     int32_t acc) {
    const uint16_t *end = ofs + (n & ~3);
    while (ofs < end) {
        const int32_t x0 = base[ofs[0]], x1 = base[ofs[1]], x2 = base[ofs[2]], x3 = base[ofs[3]];
        acc = __smlad(tq_sd_pack(x0, x1), tq_sd_load_pair(val), acc);
        acc = __smlad(tq_sd_pack(x2, x3), tq_sd_load_pair(val + 2), acc);
        ofs += 4;
        val += 4;
    }
    for (int32_t k = 0; k < (n & 3); ++k) acc += base[ofs[k]] * val[k];
    return acc;
}

#endif /* __ARM_FEATURE_DSP */
#endif
