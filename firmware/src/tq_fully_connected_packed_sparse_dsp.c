/* FULLY_CONNECTED on sparse weights for CPUs with the Arm DSP extension: fast paths for sparse+int8
 * (bitmap) and sparse2:4+int8; the other sparse forms take tq_fully_connected_s8_ws. Bit-exact with it (so
 * with tq_fully_connected_s8 on the decoded weights): the same int32 sums modulo 2^32.
 *
 * The input is read in chunks; for each chunk a small table is built on the stack once and serves a block of
 * up to TQ_SF_ROWS rows, whose partial sums (and, for the bitmap, value pointers) wait on the stack between
 * chunks:
 *  - bitmap: the chunk's inputs plus input_offset as int16 (TQ_SF_BITMAP_CHUNK elements). A row's bitmap is
 *    read 32 bits at a time, bit-reversed, and each nonzero found by CLZ: one LDRSH of its input, one MLA
 *    with the next value of the stream.
 *  - 2:4: for each group of 4 inputs, the 6 pairs (x_a + off, x_b + off), a < b, that a group's two
 *    positions can select, as int16 lanes, at word 7·group + code of the table (code = a | b << 2: 4, 8, 9,
 *    12, 13, 14). A group then costs one field extract, one address add, one LDR, and half of the work of a
 *    word of four values (two groups): LDR, SXTB16 x2, PKHBT/PKHTB, SMLAD x2.
 * Stack: a tq_sf_state union, 1,280 bytes (bitmap: 1,024 + 256; 2:4: 932 + 128), about 1,530 with the
 * frames (-fstack-usage, arm-none-eabi-gcc -O2). */
#include "tinyq/tq_fully_connected.h"
#include "tinyq/tq_fixedpoint.h"
#include "tq_weights_sparse_dsp.h"

#if defined(__ARM_FEATURE_DSP)

#define TQ_SF_ROWS 32
#define TQ_SF_BITMAP_CHUNK 512 /* elements: a multiple of 32 */
#define TQ_SF_NM_GROUPS 32     /* 2:4 groups per chunk (128 elements): a multiple of 8 */
#define TQ_SF_NM_STRIDE 7      /* words from one group's pairs to the next's */

typedef union {
    struct {
        int16_t x[TQ_SF_BITMAP_CHUNK];
        const int8_t *values[TQ_SF_ROWS];
        uint32_t acc[TQ_SF_ROWS];
    } bitmap;
    struct {
        uint32_t pairs[TQ_SF_NM_STRIDE * TQ_SF_NM_GROUPS + 16 - TQ_SF_NM_STRIDE];
        uint32_t acc[TQ_SF_ROWS];
    } nm;
} tq_sf_state;

/* The requantization of output o: the per-tensor constants are prepared once per call (rq), per-channel
 * ones for each row (into *tmp). */
static inline const tq_sd_requant *row_requant(const tq_fully_connected_params *p, const tq_sd_requant *rq, int32_t o,
                                               tq_sd_requant *tmp) {
    if (!p->per_channel) return rq;
    tq_sd_requant_init(tmp, 0u, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
    return tmp;
}

static inline int8_t finish(const tq_fully_connected_params *p, const tq_sd_requant *rq, int32_t o, uint32_t acc,
                            uint32_t offset_term) {
    tq_sd_requant tmp;
    acc += offset_term + (p->bias ? (uint32_t)((const int32_t *)p->bias)[o] : 0u);
    return tq_sd_requant_apply(row_requant(p, rq, o, &tmp), acc);
}

/* x[0 .. n) + off as int16 (x and out any alignment): LDR, SXTAB16 x2, PKHBT, PKHTB per four */
static inline void widen(const int8_t *x, int32_t n, int32_t off, int16_t *out) {
    const int16x2_t off2 = tq_dsp_pair(off);
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint32_t word = tq_dsp_load4(x + j);
        const uint32_t even = (uint32_t)__sxtab16(off2, (int32_t)word);        /* (x0, x2) */
        const uint32_t odd = (uint32_t)__sadd16(tq_dsp_odd_bytes(word), off2); /* (x1, x3) */
        const uint32_t lo = tq_sd_pack((int32_t)even, (int32_t)odd), hi = tq_sd_pack_high(odd, even);
        memcpy(out + j, &lo, 4);
        memcpy(out + j + 2, &hi, 4);
    }
    for (; j < n; ++j) out[j] = (int16_t)(x[j] + off);
}

/* ---- bitmap ---------------------------------------------------------------------------------------- */

/* a + Σ value · x over the nonzeros of `words` whole words of bitmap (elements of x[0 .. 32·words)), the
 * values from *v on. Per word: LDR, RBIT (element i at bit 31 - i), then per nonzero CLZ finds it, LDRSB
 * takes the next value, LDRSH its input, LSR + BICS clear it, MLA, BNE (7 instructions). */
static inline int32_t bitmap_words(const uint8_t *map, int32_t words, const int16_t *x, const int8_t **v, int32_t a) {
    if (words <= 0) return a;
    const int8_t *vp = *v;
    uint32_t m, i, t;
    int32_t xx, vv;
    __asm__("0:\n\t"
            "ldr    %[m], [%[map]], #4\n\t"
            "rbit   %[m], %[m]\n\t"
            "cmp    %[m], #0\n\t"
            "beq    2f\n"
            "1:\n\t"
            "clz    %[i], %[m]\n\t"
            "ldrsb  %[vv], [%[vp]], #1\n\t"
            "ldrsh  %[xx], [%[x], %[i], lsl #1]\n\t"
            "lsr    %[t], %[top], %[i]\n\t"
            "bics   %[m], %[m], %[t]\n\t"
            "mla    %[a], %[xx], %[vv], %[a]\n\t"
            "bne    1b\n"
            "2:\n\t"
            "add    %[x], %[x], #64\n\t"
            "subs   %[w], %[w], #1\n\t"
            "bne    0b"
            : [m] "=&r"(m), [vp] "+r"(vp), [a] "+r"(a), [i] "=&r"(i), [t] "=&r"(t), [xx] "=&r"(xx), [vv] "=&r"(vv),
              [map] "+r"(map), [x] "+r"(x), [w] "+r"(words)
            : [top] "r"(0x80000000u)
            : "cc", "memory");
    *v = vp;
    return a;
}

/* acc + Σ value · x over the nonzeros of bitmap bits [0, n) (elements of x[0 .. n)), values from *values on;
 * the bytes of the last, partial word are read one by one (never past the row). */
static inline uint32_t bitmap_dot(const uint8_t *map, int32_t n, const int16_t *x, const int8_t **values,
                                  uint32_t acc) {
    int32_t a = bitmap_words(map, n >> 5, x, values, (int32_t)acc);
    const int32_t done = n & ~31;
    if (done < n) {
        map += done >> 3;
        uint32_t m = 0;
        for (int32_t i = 0; i < (n - done + 7) >> 3; ++i) m |= (uint32_t)map[i] << (8 * i);
        const int16_t *xt = x + done;
        const int8_t *v = *values;
        for (; m != 0; m &= m - 1u) a += xt[tq_w_ctz(m)] * *v++;
        *values = v;
    }
    return (uint32_t)a;
}

static void fc_bitmap(const tq_fully_connected_params *p, const int8_t *in, int8_t *out, uint32_t offset_term,
                      const tq_sd_requant *rq, tq_sf_state *s) {
    const tq_packed_weights *w = p->packed;
    const int32_t depth = p->accum_depth;
    if (depth <= TQ_SF_BITMAP_CHUNK) { /* one chunk: the input widened once, each row from start to end */
        widen(in, depth, p->input_offset, s->bitmap.x);
        const uint8_t *map = w->index;
        for (int32_t o = 0; o < p->output_depth; ++o, map += w->index_row_bytes) {
            const int8_t *v = (const int8_t *)w->codes + w->row_start[o];
            out[o] = finish(p, rq, o, bitmap_dot(map, depth, s->bitmap.x, &v, 0u), offset_term);
        }
        return;
    }
    for (int32_t o0 = 0; o0 < p->output_depth; o0 += TQ_SF_ROWS) {
        const int32_t rows = p->output_depth - o0 < TQ_SF_ROWS ? p->output_depth - o0 : TQ_SF_ROWS;
        for (int32_t r = 0; r < rows; ++r) {
            s->bitmap.values[r] = (const int8_t *)w->codes + w->row_start[o0 + r];
            s->bitmap.acc[r] = 0;
        }
        for (int32_t e0 = 0; e0 < depth; e0 += TQ_SF_BITMAP_CHUNK) {
            const int32_t n = depth - e0 < TQ_SF_BITMAP_CHUNK ? depth - e0 : TQ_SF_BITMAP_CHUNK;
            widen(in + e0, n, p->input_offset, s->bitmap.x);
            const uint8_t *map = w->index + (size_t)o0 * (size_t)w->index_row_bytes + (e0 >> 3);
            for (int32_t r = 0; r < rows; ++r, map += w->index_row_bytes) {
                s->bitmap.acc[r] = bitmap_dot(map, n, s->bitmap.x, &s->bitmap.values[r], s->bitmap.acc[r]);
            }
        }
        for (int32_t r = 0; r < rows; ++r) out[o0 + r] = finish(p, rq, o0 + r, s->bitmap.acc[r], offset_term);
    }
}

/* ---- 2:4 ------------------------------------------------------------------------------------------- */

/* The pair of group g for code c (a | b << 2) is word 7·g + c of the table (TQ_SF_NM_STRIDE): the six
 * codes a group uses (4, 8, 9, 12, 13, 14) never meet another group's (no two of them differ by 7), and
 * any code 0 .. 15 of any group reads inside the table, so that even a broken record reads nothing else. */
/* The pair table of groups [0, groups) of x (x + off as int16 lanes, the lower position in the low lane). */
static inline void nm_pairs(const int8_t *x, int32_t groups, int16x2_t off2, uint32_t *pairs) {
    for (int32_t g = 0; g < groups; ++g, pairs += TQ_SF_NM_STRIDE) {
        const uint32_t word = tq_dsp_load4(x + 4 * g);
        const uint32_t even = (uint32_t)__sxtab16(off2, (int32_t)word);        /* (x0, x2) */
        const uint32_t odd = (uint32_t)__sadd16(tq_dsp_odd_bytes(word), off2); /* (x1, x3) */
        pairs[4] = tq_sd_pack((int32_t)even, (int32_t)odd);  /* (0, 1) */
        pairs[8] = even;                                     /* (0, 2) */
        pairs[12] = (even & 0xFFFFu) | (odd & 0xFFFF0000u);  /* (0, 3) */
        pairs[9] = (odd & 0xFFFFu) | (even & 0xFFFF0000u);   /* (1, 2) */
        pairs[13] = odd;                                     /* (1, 3) */
        pairs[14] = tq_sd_pack_high(odd, even);              /* (2, 3) */
    }
}

static inline uint32_t nm_pair(const uint32_t *pairs, int32_t g, uint32_t code) {
    return pairs[TQ_SF_NM_STRIDE * g + (int32_t)code];
}

/* acc + Σ over groups [0, groups) of one row: idx its position bytes (a group per nibble), v its values */
static inline uint32_t nm_dot(const uint8_t *idx, const int8_t *v, int32_t groups, const uint32_t *pairs,
                              uint32_t acc) {
    int32_t a = (int32_t)acc;
    int32_t g = 0;
    for (; g + 8 <= groups; g += 8, idx += 4, v += 16, pairs += 8 * TQ_SF_NM_STRIDE) {
        const uint32_t codes = tq_w_load4(idx);
        uint32_t c0, c1, vw, ve, vp;
        /* per two groups: UBFX x2, ADD x2, LDR x2 (the pairs), LDR (values), SXTB16 x2, PKHBT, PKHTB, SMLAD x2 */
#define TQ_SF_TWO(h)                                                                                           \
    "ubfx   %[c0], %[codes], #" #h "*8, #4\n\t"                                                              \
    "ubfx   %[c1], %[codes], #" #h "*8+4, #4\n\t"                                                            \
    "add    %[c0], %[pairs], %[c0], lsl #2\n\t"                                                              \
    "add    %[c1], %[pairs], %[c1], lsl #2\n\t"                                                              \
    "ldr    %[c0], [%[c0], #" #h "*56]\n\t"                                                                  \
    "ldr    %[c1], [%[c1], #" #h "*56+28]\n\t"                                                               \
    "ldr    %[vw], [%[v], #" #h "*4]\n\t"                                                                    \
    "sxtb16 %[ve], %[vw]\n\t"                                                                                \
    "sxtb16 %[vw], %[vw], ror #8\n\t"                                                                        \
    "pkhbt  %[vp], %[ve], %[vw], lsl #16\n\t"                                                                \
    "pkhtb  %[vw], %[vw], %[ve], asr #16\n\t"                                                                \
    "smlad  %[a], %[c0], %[vp], %[a]\n\t"                                                                    \
    "smlad  %[a], %[c1], %[vw], %[a]\n\t"
        __asm__(TQ_SF_TWO(0) TQ_SF_TWO(1) TQ_SF_TWO(2) TQ_SF_TWO(3)
                : [a] "+r"(a), [c0] "=&r"(c0), [c1] "=&r"(c1), [vw] "=&r"(vw), [ve] "=&r"(ve), [vp] "=&r"(vp)
                : [codes] "r"(codes), [pairs] "r"(pairs), [v] "r"(v)
                : "memory");
#undef TQ_SF_TWO
    }
    for (int32_t k = 0; g < groups; ++g, ++k) { /* the last groups, one at a time */
        const uint32_t c = ((uint32_t)idx[k >> 1] >> (4 * (k & 1))) & 15u;
        const uint32_t vv = (uint32_t)(uint8_t)v[2 * k] | (uint32_t)(uint8_t)v[2 * k + 1] << 16;
        a = __smlad(nm_pair(pairs, k, c), (uint32_t)__sxtb16((int32_t)vv), a);
    }
    return (uint32_t)a;
}

static void fc_nm24(const tq_fully_connected_params *p, const int8_t *in, int8_t *out, uint32_t offset_term,
                    const tq_sd_requant *rq, tq_sf_state *s) {
    const tq_packed_weights *w = p->packed;
    const int32_t groups = p->accum_depth / 4;
    const int16x2_t off2 = tq_dsp_pair(p->input_offset);
    if (groups <= TQ_SF_NM_GROUPS) { /* one chunk: the table built once, each row from start to end */
        nm_pairs(in, groups, off2, s->nm.pairs);
        const uint8_t *idx = w->index;
        const int8_t *v = (const int8_t *)w->codes;
        for (int32_t o = 0; o < p->output_depth; ++o, idx += w->index_row_bytes, v += w->row_bytes) {
            out[o] = finish(p, rq, o, nm_dot(idx, v, groups, s->nm.pairs, 0u), offset_term);
        }
        return;
    }
    for (int32_t o0 = 0; o0 < p->output_depth; o0 += TQ_SF_ROWS) {
        const int32_t rows = p->output_depth - o0 < TQ_SF_ROWS ? p->output_depth - o0 : TQ_SF_ROWS;
        for (int32_t r = 0; r < rows; ++r) s->nm.acc[r] = 0;
        for (int32_t g0 = 0; g0 < groups; g0 += TQ_SF_NM_GROUPS) {
            const int32_t n = groups - g0 < TQ_SF_NM_GROUPS ? groups - g0 : TQ_SF_NM_GROUPS;
            nm_pairs(in + 4 * g0, n, off2, s->nm.pairs);
            const uint8_t *idx = w->index + (size_t)o0 * (size_t)w->index_row_bytes + g0 / 2;
            const int8_t *v = (const int8_t *)w->codes + (size_t)o0 * (size_t)w->row_bytes + 2 * g0;
            for (int32_t r = 0; r < rows; ++r, idx += w->index_row_bytes, v += w->row_bytes) {
                s->nm.acc[r] = nm_dot(idx, v, n, s->nm.pairs, s->nm.acc[r]);
            }
        }
        for (int32_t r = 0; r < rows; ++r) out[o0 + r] = finish(p, rq, o0 + r, s->nm.acc[r], offset_term);
    }
}

tq_status tq_fully_connected_s8_ws_dsp(const tq_fully_connected_params *p, const int8_t *input, int8_t *output) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(p != NULL && p->packed != NULL);
    tq_fully_connected_params q = *p;
    q.weights = (const int8_t *)p->packed->codes; /* stands in for the absent int8 array */
    TQ_FULLY_CONNECTED_CHECK(&q, input, output, INT8_MIN, INT8_MAX);
    tq_w_check(p->packed, p->output_depth, p->accum_depth, 0);
#endif
    TQ_ASSERT(p != NULL && p->acc64 == 0 && p->input_offset >= -127 && p->input_offset <= 128 &&
              p->filter_offset >= -127 && p->filter_offset <= 128); /* x + input_offset is an int16 lane */
    tq_w_expect(p->packed, -1, 0, 1);
    const tq_packed_weights *w = p->packed;
    const int int8_values = w->bits == 8 && (w->value_encoding == TQ_W_INT8 || w->value_encoding == TQ_W_INTK);
    const int bitmap = int8_values && w->sparse_form == TQ_S_BITMAP;
    const int nm24 = int8_values && w->sparse_form == TQ_S_NM && w->group_n == 2 && w->group_m == 4;
    if (!bitmap && !nm24) return tq_fully_connected_s8_ws(p, input, output);
    tq_sf_state s;
    tq_sd_requant rq; /* per tensor (for per-channel requantization, row_requant prepares each row's) */
    tq_sd_requant_init(&rq, 0u, p->multiplier[0], p->shift[0], p->output_offset, p->act_min, p->act_max);
    const int32_t depth = p->accum_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        uint32_t offset_term = 0; /* filter_offset · Σ (x + input_offset) */
        if (p->filter_offset != 0) {
            for (int32_t d = 0; d < depth; ++d) offset_term += (uint32_t)(in[d] + p->input_offset);
            offset_term *= (uint32_t)p->filter_offset;
        }
        if (bitmap) {
            fc_bitmap(p, in, output + b * p->output_depth, offset_term, &rq, &s);
        } else {
            fc_nm24(p, in, output + b * p->output_depth, offset_term, &rq, &s);
        }
    }
    return TQ_OK;
}
#else
typedef int tq_fully_connected_packed_sparse_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
