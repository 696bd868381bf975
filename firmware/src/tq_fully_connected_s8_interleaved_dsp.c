/* FULLY_CONNECTED int8 on the Arm DSP extension with weights interleaved at compile time: 4 output rows per
 * pass, SXTB16 on the input word and on each weight word with the same byte lanes (bytes 0,2 then 1,3), two
 * SMLAD per word. Exactness: the kernel sums folded_bias + sum(x * w) in wrapping int32 (SMLAD wraps), which
 * equals TFLM's accumulator bias + sum((x + input_offset) * w) modulo 2^32, hence exactly since the preparer
 * proved |accumulator| < 2^30; then tq_requant_fast is TFLM's MultiplyByQuantizedMultiplier. */
#include "tinyq/tq_fully_connected_s8_interleaved_dsp.h"
#include "tinyq/tq_fixedpoint.h"
#include "tinyq/tq_requant_fast.h"
#include "tq_dsp_dot.h"

#if defined(__ARM_FEATURE_DSP)

/* the weights are an int8 array read by aligned words: an alias-safe word type says so to the compiler */
typedef uint32_t __attribute__((may_alias)) word_t;

/* acc[r] += sum over one input chunk word xv and the group's 4 weight words w[0..3] */
#define TQ_FCI_CHUNK(xv, w, a0, a1, a2, a3)                                                                         \
    do {                                                                                                            \
        const int16x2_t xe = __sxtb16((int32_t)(xv)), xo = tq_dsp_odd_bytes(xv);                                   \
        const uint32_t u0 = (w)[0], u1 = (w)[1], u2 = (w)[2], u3 = (w)[3];                                         \
        a0 = __smlad(xe, __sxtb16((int32_t)u0), a0);                                                               \
        a0 = __smlad(xo, tq_dsp_odd_bytes(u0), a0);                                                                \
        a1 = __smlad(xe, __sxtb16((int32_t)u1), a1);                                                               \
        a1 = __smlad(xo, tq_dsp_odd_bytes(u1), a1);                                                                \
        a2 = __smlad(xe, __sxtb16((int32_t)u2), a2);                                                               \
        a2 = __smlad(xo, tq_dsp_odd_bytes(u2), a2);                                                                \
        a3 = __smlad(xe, __sxtb16((int32_t)u3), a3);                                                               \
        a3 = __smlad(xo, tq_dsp_odd_bytes(u3), a3);                                                                \
    } while (0)

/* the last 1-3 inputs of a row as a word with zero bytes above them (their weights are zero-padded anyway;
 * reading bytes one by one never reads past the row) */
static inline uint32_t tail_word(const int8_t *x, int32_t n) {
    uint32_t v = (uint8_t)x[0];
    if (n > 1) v |= (uint32_t)(uint8_t)x[1] << 8;
    if (n > 2) v |= (uint32_t)(uint8_t)x[2] << 16;
    return v;
}

static inline int8_t finish(const tq_fully_connected_s8_interleaved_params *p, const int32_t *row, int32_t acc) {
    const int32_t y = tq_requant_fast(acc, row[0], row[1], row[2]) + p->output_offset;
    return (int8_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
}

tq_status tq_fully_connected_s8_interleaved_dsp(const tq_fully_connected_s8_interleaved_params *p, const int8_t *input,
                                                int8_t *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->batches >= 1 && p->accum_depth >= 1 &&
              p->output_depth >= 1);
    const int32_t depth = p->accum_depth, full = depth >> 2, tail = depth & 3;
    const int32_t groups = (p->output_depth + 3) >> 2;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * p->output_depth;
        const uint32_t last = tail ? tail_word(in + 4 * full, tail) : 0;
        const word_t *w = (const word_t *)(const void *)p->weights;
        for (int32_t g = 0; g < groups; ++g) {
            const int32_t *bias = p->bias + 4 * g;
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
            const int8_t *x = in;
            for (int32_t c = 0; c < full; ++c, x += 4, w += 4) TQ_FCI_CHUNK(tq_dsp_load4(x), w, a0, a1, a2, a3);
            if (tail) {
                TQ_FCI_CHUNK(last, w, a0, a1, a2, a3);
                w += 4;
            }
            const int32_t *rq = p->requant + 12 * g;
            const int32_t o = 4 * g, left = p->output_depth - o; /* 1..3 in the last group when N % 4 != 0 */
            out[o] = finish(p, rq, a0);
            if (left > 1) out[o + 1] = finish(p, rq + 3, a1);
            if (left > 2) out[o + 2] = finish(p, rq + 6, a2);
            if (left > 3) out[o + 3] = finish(p, rq + 9, a3);
        }
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_s8_interleaved_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
