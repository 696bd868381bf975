/* Internal to the packed-weight kernels (tq_*_packed*.c): decoders of tq_packed_weights, the formats of
 * docs/weight_encodings.md. They feed the kernels' inner loops and are separable from them:
 *   dense  - runs of codes (a 32-bit word, or 8 codes in `bits` bytes) split into values in registers
 *            (tq_w_prepare, tq_w_field); tq_w_dot_s8/_s16 run them along a row segment (FULLY_CONNECTED,
 *            CONV_2D); tq_w_decode writes elements e0 .. e0+n-1 (n <= TQ_W_CHUNK) to a small local
 *            array (DEPTHWISE_CONV_2D's channel chunks);
 *   sparse - tq_w_row_begin / tq_w_seek / tq_w_next: a cursor over the stored (element, code) pairs of a
 *            row, in ascending element order, that moves forward only; tq_w_lut / tq_w_lut_value give
 *            the values.
 * Every function takes the encoding as arguments; the kernels pass constants, so GCC specializes each
 * entry point (no function pointers, no whole-tensor decode, no scratch, nothing but the codes read).
 * Multi-byte loads are assembled from bytes (little-endian streams on any host).
 *
 * A decoded value is the int8 weight, except for ternary and binary: there it is the sign (-1, 0, +1)
 * and the kernel multiplies each output's finished sum by a_c once. w = a_c * sign exactly, so
 * Σ w·x = a_c · Σ sign·x, in the int32 accumulator modulo 2^32 as in int64. */
#ifndef TINYQ_TQ_WEIGHTS_DECODE_H
#define TINYQ_TQ_WEIGHTS_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "tinyq/tq_weights.h"

#define TQ_W_CHUNK 32 /* dense values decoded per step */

/* Unroll the loop over the codes of a word (its trip count is a constant in the specialized kernels),
 * so each code is one shift-free field extract; -O2 alone keeps the loop and shifts by variables. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define TQ_W_UNROLL _Pragma("GCC unroll 32")
#else
#define TQ_W_UNROLL
#endif

/* The kernel bodies are big: GCC would call one shared copy and lose the constant arguments. The
 * run-time-width switches (below, and tq_weights_dot.c) stay calls, so that a kernel body exists once
 * per encoding. */
#if defined(__GNUC__)
#define TQ_W_BODY static inline __attribute__((always_inline))
#define TQ_W_SWITCH static __attribute__((noinline, unused))
#else
#define TQ_W_BODY static inline
#define TQ_W_SWITCH static inline
#endif

/* The b-bit code k of a stream (bits k·b onwards, LSB-first). The second byte is read only when the code
 * spans it, so a row's last code never reads past the row. */
static inline uint32_t tq_w_code(const uint8_t *s, int32_t k, int32_t bits) {
    if (bits == 8) return s[k]; /* int8 values of a sparse form: the common case, one load */
    const uint32_t pos = (uint32_t)k * (uint32_t)bits;
    const uint8_t *b = s + (pos >> 3);
    const uint32_t sh = pos & 7u;
    uint32_t c = (uint32_t)b[0] >> sh;
    if (sh + (uint32_t)bits > 8u) c |= (uint32_t)b[1] << (8u - sh);
    return c & ((1u << bits) - 1u);
}

/* What a code means (see the top of this file: ternary and binary give the sign). */
static inline int32_t tq_w_value(uint32_t c, int32_t enc, int32_t bits, const int8_t *table) {
    switch (enc) {
    case TQ_W_TERNARY: return (c & 1u) ? 1 - (int32_t)(c & 2u) : 0; /* 01 -> +1, 11 -> -1, 00 and 10 -> 0 */
    case TQ_W_BINARY: return (int32_t)(c << 1) - 1;
    case TQ_W_CODEBOOK: return table[c];
    default: { /* int8, int<k>: two's complement sign extension */
        const uint32_t half = 1u << (bits - 1);
        return (int32_t)(c ^ half) - (int32_t)half;
    }
    }
}

/* 1 when the sum of an output is multiplied by its channel's magnitude a_c */
static inline int tq_w_scaled(int32_t enc) { return enc == TQ_W_TERNARY || enc == TQ_W_BINARY; }

/* The codebook of output channel `channel` (only called for TQ_W_CODEBOOK: table is not NULL). */
static inline const int8_t *tq_w_table(const tq_packed_weights *w, int32_t channel) {
    return w->table_per_channel ? w->table + ((size_t)channel << w->bits) : w->table;
}

/* ---- runs of codes ----------------------------------------------------------------------------------
 * A row read from a run boundary on is a sequence of runs: for widths that divide 8 (1, 2, 4, 8) a 32-bit
 * word of 32/bits codes, for the others (3, 5, 6, 7) a group of 8 codes in exactly `bits` bytes. With a
 * constant width every code of a run is one field extract at a constant position (SBFX / UBFX). */

static inline int tq_w_words(int32_t bits) { return 8 % bits == 0; }

/* codes per run */
static inline int32_t tq_w_run(int32_t bits) { return tq_w_words(bits) ? 32 / bits : 8; }

/* element e begins a run: its code starts a byte (words) or e is a multiple of 8 (groups) */
static inline int tq_w_run_start(int32_t e, int32_t bits) {
    return tq_w_words(bits) ? (((uint32_t)e * (uint32_t)bits) & 7u) == 0 : (e & 7) == 0;
}

/* Little-endian loads assembled from bytes: any alignment, any host; GCC merges them into LDRs. */
static inline uint32_t tq_w_load4(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A group of 8 codes of width 3, 5, 6 or 7: exactly `bits` bytes, as lo (bytes 0..3, or 0..2) and hi
 * (bytes 4..bits-1); tq_w_group_code gives code t in the low bits (the bits above are ignored). */
static inline void tq_w_load_group(const uint8_t *b, int32_t bits, uint32_t *lo, uint32_t *hi) {
    if (bits < 4) {
        *lo = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
        *hi = 0;
        return;
    }
    *lo = tq_w_load4(b);
    uint32_t h = 0;
    for (int32_t i = 4; i < bits; ++i) h |= (uint32_t)b[i] << (8 * (i - 4));
    *hi = h;
}

static inline uint32_t tq_w_group_code(uint32_t lo, uint32_t hi, int32_t t, int32_t bits) {
    const int32_t at = t * bits;
    if (at >= 32) return hi >> (at - 32);
    if (at + bits <= 32) return lo >> at;
    return (lo >> at) | (hi << (32 - at)); /* straddles the two words */
}

/* A word of codes made ready for tq_w_field: ternary's unused code 10 becomes 00 (0, as the spec's
 * decoder reads it), so that a ternary code is the 2-bit two's complement of its sign; binary codes are
 * inverted, so that their signed 1-bit field, OR 1, is the sign. (Both are 1 or 2 bits: always words.) */
static inline uint32_t tq_w_prepare(uint32_t word, int32_t enc) {
    if (enc == TQ_W_TERNARY) {
        const uint32_t nonzero = word & 0x55555555u;
        return nonzero | (((word >> 1) & nonzero) << 1);
    }
    if (enc == TQ_W_BINARY) return ~word;
    return word;
}

/* The value of the (prepared) code in the low `bits` bits of x; the bits above are ignored. */
static inline int32_t tq_w_field(uint32_t x, int32_t enc, int32_t bits, const int8_t *table) {
    if (enc == TQ_W_CODEBOOK) return table[x & ((1u << bits) - 1u)];
    const int32_t v = (int32_t)(x << (32 - bits)) >> (32 - bits); /* sign extension (arithmetic >> in GCC) */
    return enc == TQ_W_BINARY ? v | 1 : v;
}

/* Elements e0 .. e0+n-1 (1 <= n <= TQ_W_CHUNK) of a dense row, decoded into out (DEPTHWISE_CONV_2D's
 * channel chunks). `table` is the codebook of element e0's channel; table_step is 2^bits when every
 * element has its own (per-channel table, channel axis 1), else 0. */
static inline void tq_w_decode(const uint8_t *row, int32_t e0, int32_t n, int32_t enc, int32_t bits,
                               const int8_t *table, int32_t table_step, int8_t *out) {
    const int32_t run = tq_w_run(bits);
    int32_t j = 0;
    for (; j < n && !tq_w_run_start(e0 + j, bits); ++j) {
        out[j] = (int8_t)tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits,
                                    enc == TQ_W_CODEBOOK ? table + j * table_step : NULL);
    }
    const uint8_t *b = row + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    for (; j + run <= n; j += run) {
        if (tq_w_words(bits)) {
            const uint32_t word = tq_w_prepare(tq_w_load4(b), enc);
            b += 4;
            TQ_W_UNROLL
            for (int32_t t = 0; t < run; ++t) {
                out[j + t] = (int8_t)tq_w_field(word >> (t * bits), enc, bits,
                                                enc == TQ_W_CODEBOOK ? table + (j + t) * table_step : NULL);
            }
        } else {
            uint32_t lo, hi;
            tq_w_load_group(b, bits, &lo, &hi);
            b += bits;
            TQ_W_UNROLL
            for (int32_t t = 0; t < 8; ++t) {
                out[j + t] = (int8_t)tq_w_field(tq_w_group_code(lo, hi, t, bits), enc, bits,
                                                enc == TQ_W_CODEBOOK ? table + (j + t) * table_step : NULL);
            }
        }
    }
    for (; j < n; ++j) {
        out[j] = (int8_t)tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits,
                                    enc == TQ_W_CODEBOOK ? table + j * table_step : NULL);
    }
}

/* ---- dot products over a dense row segment (the inner loop of FULLY_CONNECTED and CONV_2D) --------- */

/* Σ_j w(e0 + j) · (x[j] + x_off), j < n, modulo 2^32, the codes decoded in registers: element by element
 * up to a run boundary, then run by run, then the tail. */
static inline uint32_t tq_w_dot_s8(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off,
                                   int32_t enc, int32_t bits, const int8_t *table) {
    const int32_t run = tq_w_run(bits);
    uint32_t acc = 0;
    int32_t j = 0;
    for (; j < n && !tq_w_run_start(e0 + j, bits); ++j) {
        acc += (uint32_t)(tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits, table) * (x[j] + x_off));
    }
    const uint8_t *b = row + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    for (; j + run <= n; j += run) {
        if (tq_w_words(bits)) {
            const uint32_t word = tq_w_prepare(tq_w_load4(b), enc);
            b += 4;
            TQ_W_UNROLL
            for (int32_t t = 0; t < run; ++t) {
                acc += (uint32_t)(tq_w_field(word >> (t * bits), enc, bits, table) * (x[j + t] + x_off));
            }
        } else {
            uint32_t lo, hi;
            tq_w_load_group(b, bits, &lo, &hi);
            b += bits;
            TQ_W_UNROLL
            for (int32_t t = 0; t < 8; ++t) {
                acc += (uint32_t)(tq_w_field(tq_w_group_code(lo, hi, t, bits), enc, bits, table) * (x[j + t] + x_off));
            }
        }
    }
    for (; j < n; ++j) {
        acc += (uint32_t)(tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits, table) * (x[j] + x_off));
    }
    return acc;
}

/* The same for 16x8: int16 x, the exact sum as uint64 (each product fits int32: |w| <= 128). */
static inline uint64_t tq_w_dot_s16(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off,
                                    int32_t enc, int32_t bits, const int8_t *table) {
    const int32_t run = tq_w_run(bits);
    uint64_t acc = 0;
    int32_t j = 0;
    for (; j < n && !tq_w_run_start(e0 + j, bits); ++j) {
        acc += (uint64_t)(int64_t)(tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits, table) * (x[j] + x_off));
    }
    const uint8_t *b = row + (((uint32_t)(e0 + j) * (uint32_t)bits) >> 3);
    for (; j + run <= n; j += run) {
        if (tq_w_words(bits)) {
            const uint32_t word = tq_w_prepare(tq_w_load4(b), enc);
            b += 4;
            TQ_W_UNROLL
            for (int32_t t = 0; t < run; ++t) {
                acc += (uint64_t)(int64_t)(tq_w_field(word >> (t * bits), enc, bits, table) * (x[j + t] + x_off));
            }
        } else {
            uint32_t lo, hi;
            tq_w_load_group(b, bits, &lo, &hi);
            b += bits;
            TQ_W_UNROLL
            for (int32_t t = 0; t < 8; ++t) {
                acc += (uint64_t)(int64_t)(tq_w_field(tq_w_group_code(lo, hi, t, bits), enc, bits, table) *
                                           (x[j + t] + x_off));
            }
        }
    }
    for (; j < n; ++j) {
        acc += (uint64_t)(int64_t)(tq_w_value(tq_w_code(row, e0 + j, bits), enc, bits, table) * (x[j] + x_off));
    }
    return acc;
}

/* ---- widths known at run time (_wk, _wc) -------------------------------------------------------------
 * The kernel bodies take bits = 0 for "the record's width": each row segment then goes through one switch
 * to a copy of the decoder for that constant width (a call per segment instead of a body per width). */

/* Defined once for the library in tq_weights_dot.c (FULLY_CONNECTED and CONV_2D share them). */
uint32_t tq_w_dot_s8_intk(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off, int32_t bits);
uint32_t tq_w_dot_s8_codebook(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off,
                              int32_t bits, const int8_t *table);
uint64_t tq_w_dot_s16_intk(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off, int32_t bits);
uint64_t tq_w_dot_s16_codebook(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off,
                               int32_t bits, const int8_t *table);

TQ_W_SWITCH void tq_w_decode_intk(const uint8_t *row, int32_t e0, int32_t n, int32_t bits, int8_t *out) {
    switch (bits) {
    case 1: tq_w_decode(row, e0, n, TQ_W_INTK, 1, NULL, 0, out); break;
    case 2: tq_w_decode(row, e0, n, TQ_W_INTK, 2, NULL, 0, out); break;
    case 3: tq_w_decode(row, e0, n, TQ_W_INTK, 3, NULL, 0, out); break;
    case 4: tq_w_decode(row, e0, n, TQ_W_INTK, 4, NULL, 0, out); break;
    case 5: tq_w_decode(row, e0, n, TQ_W_INTK, 5, NULL, 0, out); break;
    case 6: tq_w_decode(row, e0, n, TQ_W_INTK, 6, NULL, 0, out); break;
    case 7: tq_w_decode(row, e0, n, TQ_W_INTK, 7, NULL, 0, out); break;
    default: tq_w_decode(row, e0, n, TQ_W_INTK, 8, NULL, 0, out); break;
    }
}

TQ_W_SWITCH void tq_w_decode_codebook(const uint8_t *row, int32_t e0, int32_t n, int32_t bits, const int8_t *table,
                                      int32_t table_step, int8_t *out) {
    switch (bits) {
    case 1: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 1, table, table_step, out); break;
    case 2: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 2, table, table_step, out); break;
    case 3: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 3, table, table_step, out); break;
    case 4: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 4, table, table_step, out); break;
    case 5: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 5, table, table_step, out); break;
    case 6: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 6, table, table_step, out); break;
    default: tq_w_decode(row, e0, n, TQ_W_CODEBOOK, 7, table, table_step, out); break;
    }
}

/* ---- topK (TQ_W_TOP): another level's int8 bytes, each value their top K bits ----------------------
 * One byte per code, so there are no runs: a load, a sign extension and a shift by the record's
 * value_shift (one ASR; GCC's >> on a negative int32_t is arithmetic, as the spec's). */

static inline int32_t tq_w_top(uint8_t code, int32_t shift) { return (int32_t)(int8_t)code >> shift; }

static inline uint32_t tq_w_dot_s8_top(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off,
                                       int32_t shift) {
    const uint8_t *b = row + e0;
    uint32_t acc = 0;
    for (int32_t j = 0; j < n; ++j) acc += (uint32_t)(tq_w_top(b[j], shift) * (x[j] + x_off));
    return acc;
}

static inline uint64_t tq_w_dot_s16_top(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off,
                                        int32_t shift) {
    const uint8_t *b = row + e0;
    uint64_t acc = 0;
    for (int32_t j = 0; j < n; ++j) acc += (uint64_t)(int64_t)(tq_w_top(b[j], shift) * (x[j] + x_off));
    return acc;
}

static inline void tq_w_decode_top(const uint8_t *row, int32_t e0, int32_t n, int32_t shift, int8_t *out) {
    for (int32_t j = 0; j < n; ++j) out[j] = (int8_t)tq_w_top(row[e0 + j], shift);
}

/* What the bodies call for a dense segment: `bits` > 0 a constant width (inline), 0 the record's `width`
 * (enc is then TQ_W_INTK or TQ_W_CODEBOOK); TQ_W_TOP reads `shift` (the record's value_shift). The bodies pass
 * enc as a constant, so the TQ_W_TOP test, and the load of value_shift, fold away in every other kernel. */
static inline uint32_t tq_w_dot_s8_any(const uint8_t *row, int32_t e0, int32_t n, const int8_t *x, int32_t x_off,
                                       int32_t enc, int32_t bits, int32_t width, int32_t shift, const int8_t *table) {
    if (enc == TQ_W_TOP) return tq_w_dot_s8_top(row, e0, n, x, x_off, shift);
    if (bits > 0) return tq_w_dot_s8(row, e0, n, x, x_off, enc, bits, table);
    return enc == TQ_W_CODEBOOK ? tq_w_dot_s8_codebook(row, e0, n, x, x_off, width, table)
                                : tq_w_dot_s8_intk(row, e0, n, x, x_off, width);
}

static inline uint64_t tq_w_dot_s16_any(const uint8_t *row, int32_t e0, int32_t n, const int16_t *x, int32_t x_off,
                                        int32_t enc, int32_t bits, int32_t width, int32_t shift, const int8_t *table) {
    if (enc == TQ_W_TOP) return tq_w_dot_s16_top(row, e0, n, x, x_off, shift);
    if (bits > 0) return tq_w_dot_s16(row, e0, n, x, x_off, enc, bits, table);
    return enc == TQ_W_CODEBOOK ? tq_w_dot_s16_codebook(row, e0, n, x, x_off, width, table)
                                : tq_w_dot_s16_intk(row, e0, n, x, x_off, width);
}

static inline void tq_w_decode_any(const uint8_t *row, int32_t e0, int32_t n, int32_t enc, int32_t bits,
                                   int32_t width, int32_t shift, const int8_t *table, int32_t table_step, int8_t *out) {
    if (enc == TQ_W_TOP) {
        tq_w_decode_top(row, e0, n, shift, out);
    } else if (bits > 0) {
        tq_w_decode(row, e0, n, enc, bits, table, table_step, out);
    } else if (enc == TQ_W_CODEBOOK) {
        tq_w_decode_codebook(row, e0, n, width, table, table_step, out);
    } else {
        tq_w_decode_intk(row, e0, n, width, out);
    }
}

/* ---- sparse rows -------------------------------------------------------------------------------- */

static inline int32_t tq_w_popcount8(uint32_t x) {
    x = x - ((x >> 1) & 0x55u);
    x = (x & 0x33u) + ((x >> 2) & 0x33u);
    return (int32_t)((x + (x >> 4)) & 0x0Fu);
}

/* index of the lowest set bit of a nonzero byte */
static inline int32_t tq_w_ctz(uint32_t x) {
#if defined(__GNUC__)
    return __builtin_ctz(x); /* RBIT + CLZ on Armv7-M */
#else
    int32_t n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        ++n;
    }
    return n;
#endif
}

static inline uint32_t tq_w_bit(const uint8_t *map, int32_t i) { return ((uint32_t)map[i >> 3] >> (i & 7)) & 1u; }

/* set bits a .. b-1 of a bitmap */
static inline int32_t tq_w_count_bits(const uint8_t *map, int32_t a, int32_t b) {
    int32_t n = 0;
    while (a < b) {
        const int32_t byte = a >> 3, lo = a & 7;
        const int32_t hi = b - (byte << 3) < 8 ? b - (byte << 3) : 8; /* bits lo .. hi-1 of this byte */
        n += tq_w_popcount8((uint32_t)map[byte] & (((1u << hi) - 1u) & ~((1u << lo) - 1u)));
        a = (byte << 3) + hi;
    }
    return n;
}

static inline int32_t tq_w_log2(int32_t m) {
    int32_t b = 0;
    while ((1 << (b + 1)) <= m) ++b;
    return b;
}

/* Where a walk over one sparse row stands. Every stored element below the cursor has been returned or
 * stepped over, and k values were (code k of `values` is the next). The cursor: BITMAP, the bitmap byte
 * starting at element `base` and its set bits not yet taken (`mask`); BLOCK and N:M, element e (BLOCK:
 * inside block g, or at its end when that block is dropped). */
typedef struct {
    const uint8_t *values; /* the row's value stream */
    const uint8_t *index;  /* the row's bitmap (BITMAP, BLOCK) or positions (N:M) */
    int32_t e, k;
    int32_t base;          /* BITMAP */
    uint32_t mask;
    int32_t g, i;          /* BLOCK: the block holding e; N:M: group and rank of pair k */
    int32_t block_end;     /* BLOCK: where block g ends (L for the last); kept: whether it is stored */
    int32_t kept;
    int32_t m, n, len;     /* block size or M; N; L */
    int32_t groups;        /* N:M: L / M */
    int32_t pos_bits;      /* N:M: log2(M) */
} tq_w_cursor;

static inline void tq_w_row_begin(const tq_packed_weights *w, int32_t form, int32_t r, tq_w_cursor *c) {
    c->index = w->index + (size_t)r * (size_t)w->index_row_bytes;
    c->values = w->codes + (form == TQ_S_NM ? (size_t)r * (size_t)w->row_bytes : (size_t)w->row_start[r]);
    c->e = c->k = c->g = c->i = c->base = 0;
    c->mask = form == TQ_S_BITMAP ? c->index[0] : 0; /* L >= 1: the row has a first byte */
    c->m = w->group_m;
    c->n = w->group_n;
    c->len = w->length;
    c->groups = form == TQ_S_NM ? w->length / w->group_m : 0;
    c->pos_bits = form == TQ_S_NM ? tq_w_log2(w->group_m) : 0;
    c->block_end = form == TQ_S_BLOCK && w->group_m < w->length ? w->group_m : w->length;
    c->kept = form == TQ_S_BLOCK ? (int32_t)(c->index[0] & 1u) : 0;
}

/* BLOCK: from the end of block g to the next block (only while e < L) */
static inline void tq_w_next_block(tq_w_cursor *c) {
    ++c->g;
    c->block_end = c->len - c->block_end > c->m ? c->block_end + c->m : c->len;
    c->kept = (int32_t)tq_w_bit(c->index, c->g);
}

/* N:M: the element of pair k (its group c->g) */
static inline int32_t tq_w_nm_element(const tq_w_cursor *c) {
    return c->g * c->m + (int32_t)tq_w_code(c->index, c->k, c->pos_bits);
}

static inline void tq_w_nm_step(tq_w_cursor *c) {
    ++c->k;
    if (++c->i == c->n) {
        c->i = 0;
        ++c->g;
    }
}

/* Step over every stored element below `to` (<= L; the walk only moves forward) without decoding it. */
static inline void tq_w_seek(int32_t form, tq_w_cursor *c, int32_t to) {
    if (form == TQ_S_BITMAP) {
        const int32_t byte_base = to & ~7;
        if (byte_base > c->base) { /* the rest of this byte, the whole bytes between, then to's byte */
            c->k += tq_w_popcount8(c->mask) + tq_w_count_bits(c->index, c->base + 8, byte_base);
            c->base = byte_base;
            c->mask = byte_base < c->len ? c->index[byte_base >> 3] : 0;
        }
        if (to > c->base) {
            const uint32_t below = c->mask & ((1u << (to - c->base)) - 1u);
            c->k += tq_w_popcount8(below);
            c->mask &= ~below;
        }
        return;
    }
    if (to <= c->e) return;
    if (form == TQ_S_BLOCK) {
        while (c->e < to) {
            if (c->e >= c->block_end) tq_w_next_block(c);
            if (c->kept) { /* its elements below `to` are all stored */
                const int32_t stop = c->block_end < to ? c->block_end : to;
                c->k += stop - c->e;
                c->e = stop;
            } else {
                c->e = c->block_end; /* a dropped block holds nothing */
            }
        }
        return;
    } else { /* N:M: pairs are group-major, so jump to the group of `to`, then past the pairs below it */
        const int32_t g = to / c->m;
        if (c->g < g) {
            c->g = g;
            c->i = 0;
            c->k = g * c->n;
        }
        while (c->g == g && g < c->groups && tq_w_nm_element(c) < to) tq_w_nm_step(c);
    }
    c->e = to;
}

/* The next stored element below `end` (<= L): returns 1 with *e and its code, or 0 (nothing stored
 * below end is left; elements from end on are untouched). */
static inline int tq_w_next(int32_t form, int32_t bits, tq_w_cursor *c, int32_t end, int32_t *e, uint32_t *code) {
    if (form == TQ_S_BITMAP) {
        for (;;) {
            if (c->mask != 0) {
                const int32_t at = c->base + tq_w_ctz(c->mask);
                if (at >= end) return 0;
                c->mask &= c->mask - 1u; /* take the lowest set bit */
                *e = at;
                *code = tq_w_code(c->values, c->k++, bits);
                return 1;
            }
            if (c->base + 8 >= end) return 0; /* the next byte starts at or past end */
            c->base += 8;
            c->mask = c->index[c->base >> 3];
        }
    }
    if (form == TQ_S_BLOCK) {
        while (c->e < end) {
            if (c->e >= c->block_end) tq_w_next_block(c);
            if (!c->kept) { /* a dropped block: all zeros */
                c->e = c->block_end;
                continue;
            }
            *e = c->e++;
            *code = tq_w_code(c->values, c->k++, bits);
            return 1;
        }
        return 0;
    }
    while (c->g < c->groups) { /* N:M */
        const int32_t at = tq_w_nm_element(c), k = c->k;
        if (at >= end) break;
        tq_w_nm_step(c);
        if (at < c->e) continue; /* positions out of order (a broken record): never revisit an element */
        *e = at;
        c->e = at + 1;
        *code = tq_w_code(c->values, k, bits);
        return 1;
    }
    if (c->e < end) c->e = end;
    return 0;
}

/* Values of the stored codes: lut[code] when there is a lut (a codebook table; the signs of ternary or
 * binary, which tq_w_lut writes to `signs`), else the two's complement of int<k> / int8 (NULL lut). One
 * branch per value instead of a switch on the encoding. */
static inline const int8_t *tq_w_lut(const tq_packed_weights *w, int32_t enc, int32_t channel, int8_t signs[4]) {
    switch (enc) {
    case TQ_W_TERNARY:
        signs[0] = 0, signs[1] = 1, signs[2] = 0, signs[3] = -1; /* 10 never occurs; the spec reads 0 */
        return signs;
    case TQ_W_BINARY: signs[0] = -1, signs[1] = 1; return signs;
    case TQ_W_CODEBOOK: return tq_w_table(w, channel);
    default: return NULL;
    }
}

static inline int32_t tq_w_lut_value(uint32_t code, const int8_t *lut, int32_t bits) {
    if (lut) return lut[code];
    const uint32_t half = 1u << (bits - 1);
    return (int32_t)(code ^ half) - (int32_t)half;
}

/* ---- contracts (TQ_ENABLE_ASSERT) --------------------------------------------------------------- */

static inline int64_t tq_w_bytes(int64_t count, int32_t bits) { return (count * bits + 7) / 8; }

/* The descriptor is one the decoders can read: the arrays its form needs, a code width its value encoding
 * allows, the shape of the op (rows, length, channel axis), row sizes that hold their codes, row_start
 * non-decreasing from 0, N:M positions ascending. The row walks run only with TQ_ENABLE_ASSERT. */
static inline void tq_w_check(const tq_packed_weights *w, int64_t rows, int64_t length, int32_t channel_axis) {
#ifdef TQ_ENABLE_ASSERT
    TQ_ASSERT(w != NULL && w->codes != NULL);
    TQ_ASSERT(w->rows >= 1 && w->length >= 1 && w->rows == rows && w->length == length &&
              w->channel_axis == channel_axis);
    const int32_t enc = w->value_encoding, bits = w->bits, form = w->sparse_form;
    TQ_ASSERT((enc == TQ_W_INT8 && bits == 8) || (enc == TQ_W_INTK && bits >= 1 && bits <= 8) ||
              (enc == TQ_W_TERNARY && bits == 2) || (enc == TQ_W_BINARY && bits == 1) ||
              (enc == TQ_W_CODEBOOK && bits >= 1 && bits <= 7) || (enc == TQ_W_TOP && bits == 8));
    /* topK keeps 1..7 of 8 bits (shift 1..7) and is dense; the other encodings have no shift */
    TQ_ASSERT(enc == TQ_W_TOP ? w->value_shift >= 1 && w->value_shift <= 7 && form == TQ_S_DENSE
                              : w->value_shift == 0);
    if (enc == TQ_W_CODEBOOK) TQ_ASSERT(w->table != NULL && (w->table_per_channel == 0 || w->table_per_channel == 1));
    if (enc == TQ_W_TERNARY || enc == TQ_W_BINARY) TQ_ASSERT(w->magnitude != NULL);
    TQ_ASSERT(form == TQ_S_DENSE || form == TQ_S_BITMAP || form == TQ_S_NM || form == TQ_S_BLOCK);
    if (form == TQ_S_DENSE) {
        TQ_ASSERT(w->row_bytes == tq_w_bytes(length, bits));
    } else if (form == TQ_S_NM) {
        const int32_t n = w->group_n, m = w->group_m;
        TQ_ASSERT(m >= 2 && m <= 256 && (m & (m - 1)) == 0 && n >= 1 && n < m && length % m == 0);
        const int64_t pairs = length / m * n;
        TQ_ASSERT(w->index != NULL && w->row_bytes == tq_w_bytes(pairs, bits) &&
                  w->index_row_bytes == tq_w_bytes(pairs, tq_w_log2(m)));
        if (w->index == NULL) return;
        for (int32_t r = 0; r < w->rows; ++r) { /* positions strictly ascending within each group */
            tq_w_cursor c;
            tq_w_row_begin(w, form, r, &c);
            int32_t prev = -1;
            for (; c.g < c.groups; tq_w_nm_step(&c)) {
                const int32_t at = tq_w_nm_element(&c);
                TQ_ASSERT(at > prev);
                prev = at;
            }
        }
    } else { /* BITMAP, BLOCK */
        const int32_t b = form == TQ_S_BLOCK ? w->group_m : 1;
        TQ_ASSERT(b >= 1 && b <= 256);
        const int64_t units = (length + b - 1) / b; /* bitmap bits per row */
        TQ_ASSERT(w->index != NULL && w->row_start != NULL && w->index_row_bytes == tq_w_bytes(units, 1));
        if (w->index == NULL || w->row_start == NULL) return;
        TQ_ASSERT(w->row_start[0] >= 0);
        for (int32_t r = 0; r < w->rows; ++r) {
            const uint8_t *map = w->index + (size_t)r * (size_t)w->index_row_bytes;
            int64_t stored;
            if (form == TQ_S_BITMAP) {
                stored = tq_w_count_bits(map, 0, w->length);
            } else { /* kept blocks hold B values each, the last one L - (units - 1)·B */
                stored = 0;
                for (int32_t u = 0; u < units; ++u) {
                    if (tq_w_bit(map, u)) stored += u + 1 < units ? b : length - (int64_t)(units - 1) * b;
                }
            }
            /* non-decreasing, and each row big enough for its codes */
            TQ_ASSERT(w->row_start[r + 1] >= w->row_start[r] &&
                      (int64_t)w->row_start[r + 1] - w->row_start[r] >= tq_w_bytes(stored, bits));
        }
    }
#else
    (void)w;
    (void)rows;
    (void)length;
    (void)channel_axis;
#endif
}

/* An entry point's own contract: the descriptor holds the form the kernel was chosen for
 * (enc < 0: any value encoding; bits 0: any width; sparse: any sparse form, else dense). */
static inline void tq_w_expect(const tq_packed_weights *w, int32_t enc, int32_t bits, int sparse) {
    TQ_ASSERT(w != NULL);
    TQ_ASSERT(enc < 0 || w->value_encoding == enc);
    TQ_ASSERT(bits == 0 || w->bits == bits);
    TQ_ASSERT(sparse ? w->sparse_form != TQ_S_DENSE : w->sparse_form == TQ_S_DENSE);
    (void)w;
    (void)enc;
    (void)bits;
    (void)sparse;
}

#endif
