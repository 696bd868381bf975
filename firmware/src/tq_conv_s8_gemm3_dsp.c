/* CONV_2D int8 as a GEMM on the Arm DSP extension, three output pixels x two output channels a block, int16
 * weights prepared at compile time (tinyq/specialize/conv_dsp.py widen_filter3, tinyq/tq_conv_gemm.h "three output
 * pixels").
 *
 * The three pixels' patches are widened once into scratch as int16 pairs (taps 0, 2 and 1, 3 as
 * tq_conv_s8_gemm_dsp.c, but not doubled: the weights are, at compile time, |2w| <= 256), per group of 4 taps six
 * words {a (0, 2), b (0, 2), c (0, 2), a (1, 3), b (1, 3), c (1, 3)}. Per channel pair and half group: one LDRD
 * of the pair's weight words, one LDM of the three pixels' words, 6 SMLAD: 16 instructions a group,
 * 26 M4 cycles for 24 multiply-accumulates (the two-pixel block: 12 and 20 for 16). 6 accumulators, 2 weight
 * words, 3 input words and 3 pointers fill the 14 registers; the rest of the block's state is in memory. Biases,
 * weights and requant rows are one stream (conv_dsp.stream3) read through the weight pointer. Consecutive 1x1
 * pixels are widened three at a time (widen3_run), a first layer's 3x3x3 windows in registers (widen333).
 *
 * Exactness: as tq_conv_s8_gemm_dsp.c (2 * the folded bias plus the inputs times the doubled weights, |acc| <
 * 2^30 proved, padded taps read the input zero point, the zero taps that pad a patch add 0); the pixel count's
 * remainder repeats a real pixel whose outputs go to the dummy row in scratch. */
#include "tq_conv_gemm_dsp.h"

#if defined(__ARM_FEATURE_DSP)

/* taps 0, 2 and 1, 3 of v as int16 pairs into pixel slot[0] (even) and slot[3] (odd); not doubled: the weights
 * are (widen_filter3), so the sums still come out as 2 * acc */
static inline void widen3_word(uint32_t *slot, uint32_t v) {
    slot[0] = even_lanes(v);
    slot[3] = odd_lanes(v);
}

/* one pixel's patch, `words` groups of 4 int8 taps (any alignment), into its slot: n passes of four words in
 * assembly (LDR, 2 SXTB16, 2 STR a word: STR is 1 cycle and the pixel's even and odd words are not adjacent),
 * the words % 4 first in C (widen3) */
static __attribute__((noinline)) void widen3_x4(uint32_t *slot, const int8_t *src, int32_t n) {
    uint32_t e0, o0, e1, o1, e2, o2, e3, o3;
    __asm__ volatile("1:\n\t"
                     "ldr    %[e0], [%[src]], #4\n\t" /* unaligned LDR: allowed on Armv7-M / Armv8-M Mainline */
                     "ldr    %[e1], [%[src]], #4\n\t"
                     "ldr    %[e2], [%[src]], #4\n\t"
                     "ldr    %[e3], [%[src]], #4\n\t"
                     "sxtb16 %[o0], %[e0], ror #8\n\t"
                     "sxtb16 %[e0], %[e0]\n\t"
                     "sxtb16 %[o1], %[e1], ror #8\n\t"
                     "sxtb16 %[e1], %[e1]\n\t"
                     "sxtb16 %[o2], %[e2], ror #8\n\t"
                     "sxtb16 %[e2], %[e2]\n\t"
                     "sxtb16 %[o3], %[e3], ror #8\n\t"
                     "sxtb16 %[e3], %[e3]\n\t"
                     "str    %[o0], [%[slot], #12]\n\t"
                     "str    %[e1], [%[slot], #24]\n\t"
                     "str    %[o1], [%[slot], #36]\n\t"
                     "str    %[e2], [%[slot], #48]\n\t"
                     "str    %[o2], [%[slot], #60]\n\t"
                     "str    %[e3], [%[slot], #72]\n\t"
                     "str    %[o3], [%[slot], #84]\n\t"
                     "str    %[e0], [%[slot]], #96\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "bne    1b"
                     : [src] "+r"(src), [slot] "+r"(slot), [n] "+r"(n), [e0] "=&r"(e0), [o0] "=&r"(o0),
                       [e1] "=&r"(e1), [o1] "=&r"(o1), [e2] "=&r"(e2), [o2] "=&r"(o2), [e3] "=&r"(e3),
                       [o3] "=&r"(o3)
                     :
                     : "cc", "memory");
}

static inline void widen3(uint32_t *slot, const int8_t *src, int32_t words) {
    for (int32_t k = words & 3; k > 0; --k, slot += 6, src += 4) widen3_word(slot, load4(src));
    if (words >> 2) widen3_x4(slot, src, words >> 2); /* a tail call: the short rows push no registers */
}

/* Three consecutive pixels' patches of `depth` taps (depth % 4 == 0: whole words, all inside the three pixels)
 * into the block's slots, a group a step: 3 LDR, 6 SXTB16 and one STM of the group's six words, 21 M4 cycles
 * where widen3 takes 3 x 11 in C (the words are {a, b, c} even then odd: ascending registers r4-r6, r8-r10) */
static inline __attribute__((always_inline)) void widen3_run(uint32_t *slot, const int8_t *src, int32_t depth) {
    register uint32_t ae __asm__("r4"), be __asm__("r5"), ce __asm__("r6");
    register uint32_t ao __asm__("r8"), bo __asm__("r9"), co __asm__("r10");
    const int8_t *const end = src + depth;
    __asm__ volatile("1:\n\t"
                     "ldr    %[be], [%[src], %[d]]\n\t"
                     "ldr    %[ce], [%[src], %[d2]]\n\t"
                     "ldr    %[ae], [%[src]], #4\n\t"
                     "sxtb16 %[ao], %[ae], ror #8\n\t"
                     "sxtb16 %[ae], %[ae]\n\t"
                     "sxtb16 %[bo], %[be], ror #8\n\t"
                     "sxtb16 %[be], %[be]\n\t"
                     "sxtb16 %[co], %[ce], ror #8\n\t"
                     "sxtb16 %[ce], %[ce]\n\t"
                     "stmia  %[slot]!, {%[ae], %[be], %[ce], %[ao], %[bo], %[co]}\n\t"
                     "cmp    %[src], %[end]\n\t"
                     "bne    1b"
                     : [src] "+r"(src), [slot] "+r"(slot), [ae] "=&r"(ae), [be] "=&r"(be), [ce] "=&r"(ce),
                       [ao] "=&r"(ao), [bo] "=&r"(bo), [co] "=&r"(co)
                     : [d] "r"(depth), [d2] "r"(2 * depth), [end] "r"(end)
                     : "cc", "memory");
}

/* the same for n taps not a multiple of 4: the last group zero-filled (its weights are 0) */
static void widen3_tail(uint32_t *slot, const int8_t *src, int32_t n) {
    widen3(slot, src, n >> 2);
    if (n & 3) {
        uint32_t v = 0;
        for (int32_t k = n & ~3; k < n; ++k) v |= (uint32_t)(uint8_t)src[k] << (8 * (k & 3));
        widen3_word(slot + 6 * (n >> 2), v);
    }
}

/* Half a group of one channel pair, three pixels: the pair's two weight words (c, c + 1), the pixels' three words */
#define TQ_G3_HALF                                                                                                  \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                                                          \
    "ldm    %[xp]!, {%[xa], %[xb], %[xc]}\n\t"                                                                      \
    "smlad  %[a0], %[xa], %[w0], %[a0]\n\t"                                                                         \
    "smlad  %[b0], %[xb], %[w0], %[b0]\n\t"                                                                         \
    "smlad  %[c0], %[xc], %[w0], %[c0]\n\t"                                                                         \
    "smlad  %[a1], %[xa], %[w1], %[a1]\n\t"                                                                         \
    "smlad  %[b1], %[xb], %[w1], %[b1]\n\t"                                                                         \
    "smlad  %[c1], %[xc], %[w1], %[c1]\n\t"
#define TQ_G3 TQ_G3_HALF TQ_G3_HALF
/* the first group: the biases (a0, a1) are the addends of b and c's first products, a's last (no MOV) */
#define TQ_G3_FIRST                                                                                                 \
    "ldrd   %[w0], %[w1], [%[wp]], #8\n\t"                                                                          \
    "ldm    %[xp]!, {%[xa], %[xb], %[xc]}\n\t"                                                                      \
    "smlad  %[b0], %[xb], %[w0], %[a0]\n\t"                                                                         \
    "smlad  %[c0], %[xc], %[w0], %[a0]\n\t"                                                                         \
    "smlad  %[a0], %[xa], %[w0], %[a0]\n\t"                                                                         \
    "smlad  %[b1], %[xb], %[w1], %[a1]\n\t"                                                                         \
    "smlad  %[c1], %[xc], %[w1], %[a1]\n\t"                                                                         \
    "smlad  %[a1], %[xa], %[w1], %[a1]\n\t" TQ_G3_HALF

/* tq_conv_s8_gemm_dsp.c's TQ_GEMM_REQUANT: SMMLAR, ADD ASR #31, ASR, SSAT (the output offset folded) */
#define TQ_G3_REQUANT(acc)                                                                                          \
    "smmlar %[w0], %[" acc "], %[xa], %[xb]\n\t"                                                                  \
    "add    %[" acc "], %[w0], %[" acc "], asr #31\n\t"                                                            \
    "asr    %[" acc "], %[" acc "], %[xc]\n\t"                                                                     \
    "ssat   %[" acc "], #8, %[" acc "]\n\t"

/* The six int8 outputs stored: full range, six STRB; clamped (an activation range narrower than SSAT's int8),
 * each pixel's two bytes packed (a0 a1 b0 b1 in a0, c0 c1 in c0: BFI), clamped four lanes at a time (SSUB8 sets
 * GE where a lane >= the bound, SEL picks: max(lo), min(hi); the lanes of lo4 / hi4 are the bounds) and stored
 * by STRH (unaligned allowed): 24 instructions with the pointers against 50 for CMP / IT / MOV. */
#define TQ_G3_STORE                                                                                                 \
    "ldr    %[xa], %[oa]\n\t"                                                                                       \
    "ldr    %[xb], %[ob]\n\t"                                                                                       \
    "ldr    %[xc], %[oc]\n\t"                                                                                       \
    "strb   %[a0], [%[xa]], #1\n\t"                                                                                 \
    "strb   %[a1], [%[xa]], #1\n\t"                                                                                 \
    "strb   %[b0], [%[xb]], #1\n\t"                                                                                 \
    "strb   %[b1], [%[xb]], #1\n\t"                                                                                 \
    "strb   %[c0], [%[xc]], #1\n\t"                                                                                 \
    "strb   %[c1], [%[xc]], #1\n\t"
#define TQ_G3_STORE_CLAMP                                                                                           \
    "bfi    %[a0], %[a1], #8, #8\n\t"                                                                               \
    "bfi    %[a0], %[b0], #16, #8\n\t"                                                                              \
    "bfi    %[a0], %[b1], #24, #8\n\t"                                                                              \
    "bfi    %[c0], %[c1], #8, #8\n\t"                                                                               \
    "ldr    %[a1], %[lo4]\n\t"                                                                                      \
    "ldr    %[b1], %[hi4]\n\t"                                                                                      \
    "ssub8  %[w1], %[a0], %[a1]\n\t"                                                                                \
    "sel    %[a0], %[a0], %[a1]\n\t"                                                                                \
    "ssub8  %[w1], %[a0], %[b1]\n\t"                                                                                \
    "sel    %[a0], %[b1], %[a0]\n\t"                                                                                \
    "ssub8  %[w1], %[c0], %[a1]\n\t"                                                                                \
    "sel    %[c0], %[c0], %[a1]\n\t"                                                                                \
    "ssub8  %[w1], %[c0], %[b1]\n\t"                                                                                \
    "sel    %[c0], %[b1], %[c0]\n\t"                                                                                \
    "ldr    %[xa], %[oa]\n\t"                                                                                       \
    "ldr    %[xb], %[ob]\n\t"                                                                                       \
    "ldr    %[xc], %[oc]\n\t"                                                                                       \
    "lsr    %[b0], %[a0], #16\n\t"                                                                                  \
    "strh   %[a0], [%[xa]], #2\n\t"                                                                                 \
    "strh   %[b0], [%[xb]], #2\n\t"                                                                                 \
    "strh   %[c0], [%[xc]], #2\n\t"

/* what pairs3_asm keeps in memory (GCC addresses this local by SP + offset) */
typedef struct {
    const uint32_t *x;     /* the widened block */
    const uint32_t *w_end; /* the end of the channel pairs' records in the stream */
    int8_t *oa, *ob, *oc;  /* the next outputs of pixels a, b and c */
    uint32_t lo4, hi4;     /* the activation range, its bounds in each byte (clamp only) */
} block3_state;

/* Every channel pair of three pixels in one assembly statement, reading one stream (tinyq/tq_conv_gemm.h "three
 * output pixels": per pair its 2 biases, its weights, its 2 tq_requant_rows): per pair, the biases, the first
 * group, then (loop: groups > 4) four a loop step, then `rest` = (groups - 1) % 4 groups, the six requantizations
 * and stores. 16 instructions a group, about 44 a pair besides (+12 with the clamp), for 24 multiply-accumulates
 * a group. Returns the stream after the pairs. */
static inline __attribute__((always_inline)) const uint32_t *pairs3_asm(block3_state *s, const uint32_t *wp,
                                                                        const uint32_t *x_end, int loop,
                                                                        int rest, int clamp) {
    int32_t a0, b0, c0, a1, b1, c1;
    uint32_t w0, w1;
    const uint32_t *xp;
    register uint32_t xa __asm__("r8"); /* LDM loads ascending registers */
    register uint32_t xb __asm__("r9");
    register uint32_t xc __asm__("r10");
#define TQ_G3_TAIL(STORE)                                                                                           \
    "ldm    %[wp]!, {%[xa], %[xb], %[xc]}\n\t"                                                                      \
    TQ_G3_REQUANT("a0") TQ_G3_REQUANT("b0") TQ_G3_REQUANT("c0")                                                     \
    "ldm    %[wp]!, {%[xa], %[xb], %[xc]}\n\t"                                                                      \
    TQ_G3_REQUANT("a1") TQ_G3_REQUANT("b1") TQ_G3_REQUANT("c1")                                                     \
    STORE                                                                                                           \
    "str    %[xa], %[oa]\n\t"                                                                                       \
    "str    %[xb], %[ob]\n\t"                                                                                       \
    "str    %[xc], %[oc]\n\t"
#define TQ_G3_OUTS                                                                                                  \
    [a0] "=&r"(a0), [b0] "=&r"(b0), [c0] "=&r"(c0), [a1] "=&r"(a1), [b1] "=&r"(b1), [c1] "=&r"(c1),                \
        [xp] "=&r"(xp), [wp] "+r"(wp), [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb),            \
        [xc] "=&r"(xc), [oa] "+m"(s->oa), [ob] "+m"(s->ob), [oc] "+m"(s->oc)
#define TQ_G3_PAIRS(GROUPS, STORE)                                                                                  \
    __asm__ volatile(                                                                                               \
        "1:\n\t"                                                                                                    \
        "ldrd   %[a0], %[a1], [%[wp]], #8\n\t"                                                                      \
        "ldr    %[xp], %[x]\n\t" TQ_G3_FIRST GROUPS TQ_G3_TAIL(STORE)                                               \
        "ldr    %[w0], %[w_end]\n\t"                                                                                \
        "cmp    %[wp], %[w0]\n\t"                                                                                   \
        "bne    1b"                                                                                                 \
        : TQ_G3_OUTS                                                                                                \
        : [x_end] "r"(x_end), [x] "m"(s->x), [w_end] "m"(s->w_end), [lo4] "m"(s->lo4), [hi4] "m"(s->hi4)          \
        : "cc", "memory")
/* groups <= 4 (no loop): x_end's register keeps the stream's end instead, and the widened block's pointer steps
 * back by SUB (24 bytes a group) instead of LDR */
#define TQ_G3_SHORT(GROUPS, STORE)                                                                                  \
    __asm__ volatile(                                                                                               \
        "ldr    %[xp], %[x]\n\t"                                                                                    \
        "1:\n\t"                                                                                                    \
        "ldrd   %[a0], %[a1], [%[wp]], #8\n\t" TQ_G3_FIRST GROUPS TQ_G3_TAIL(STORE)                                 \
        "sub    %[xp], %[xp], %[xlen]\n\t"                                                                          \
        "cmp    %[wp], %[we]\n\t"                                                                                   \
        "bne    1b"                                                                                                 \
        : TQ_G3_OUTS                                                                                                \
        : [we] "r"(s->w_end), [xlen] "i"(24 * (1 + rest)), [x] "m"(s->x), [lo4] "m"(s->lo4), [hi4] "m"(s->hi4)    \
        : "cc", "memory")
#define TQ_G3_SHORT_CASE(GROUPS)                                                                                    \
    do {                                                                                                            \
        if (clamp) TQ_G3_SHORT(GROUPS, TQ_G3_STORE_CLAMP);                                                          \
        else TQ_G3_SHORT(GROUPS, TQ_G3_STORE);                                                                      \
    } while (0)
/* after the first group: loop steps of four groups (at least one: no test before it), then `rest` more */
#define TQ_G3_LOOP(REST)                                                                                            \
    "2:\n\t" TQ_G3 TQ_G3 TQ_G3 TQ_G3                                                                                \
    "cmp    %[xp], %[x_end]\n\t"                                                                                    \
    "bne    2b\n\t" REST
#define TQ_G3_CASE(GROUPS)                                                                                          \
    do {                                                                                                            \
        if (clamp) TQ_G3_PAIRS(GROUPS, TQ_G3_STORE_CLAMP);                                                          \
        else TQ_G3_PAIRS(GROUPS, TQ_G3_STORE);                                                                      \
    } while (0)
    if (!loop) { /* groups = 1 + rest */
        if (rest == 0) TQ_G3_SHORT_CASE("");
        else if (rest == 1) TQ_G3_SHORT_CASE(TQ_G3);
        else if (rest == 2) TQ_G3_SHORT_CASE(TQ_G3 TQ_G3);
        else TQ_G3_SHORT_CASE(TQ_G3 TQ_G3 TQ_G3);
    } else { /* groups = 1 + 4k + rest, k >= 1: x_end is where the loop stops, before the rest */
        x_end -= 6 * rest;
        if (rest == 0) TQ_G3_CASE(TQ_G3_LOOP(""));
        else if (rest == 1) TQ_G3_CASE(TQ_G3_LOOP(TQ_G3));
        else if (rest == 2) TQ_G3_CASE(TQ_G3_LOOP(TQ_G3 TQ_G3));
        else TQ_G3_CASE(TQ_G3_LOOP(TQ_G3 TQ_G3 TQ_G3));
    }
#undef TQ_G3_LOOP
#undef TQ_G3_CASE
#undef TQ_G3_PAIRS
#undef TQ_G3_SHORT_CASE
#undef TQ_G3_SHORT
#undef TQ_G3_OUTS
#undef TQ_G3_TAIL
    return wp;
}

/* an odd last channel (its record: bias, weights 2 words a group, tq_requant_row) of the three pixels, in C */
static inline __attribute__((always_inline)) void last_channel3(const uint32_t *w, const uint32_t *x,
                                                                const uint32_t *x_end, int8_t *const o[3],
                                                                int32_t out_off, int full, int32_t lo, int32_t hi) {
    const int32_t bias = (int32_t)*w++;
    int32_t acc[3] = {bias, bias, bias};
    for (const uint32_t *xp = x; xp != x_end; xp += 6, w += 2)
        for (int k = 0; k < 3; ++k)
            acc[k] = __smlad((int16x2_t)xp[k + 3], (int16x2_t)w[1], __smlad((int16x2_t)xp[k], (int16x2_t)w[0], acc[k]));
    const int32_t *row = (const int32_t *)w;
    int8_t y[3];
    for (int k = 0; k < 3; ++k) y[k] = clamp(requant(acc[k], row[0], row[1], row[2], out_off), full, lo, hi);
    for (int k = 0; k < 3; ++k) o[k][0] = y[k]; /* after every read (the dummy row may take two) */
}

/* words of a channel pair's record in the stream: 2 biases, 4 a group, 2 rows of 3 */
static inline int32_t pair_words3(const tq_conv_gemm_params *p) { return 8 + (p->patch_padded >> 2) * 4; }

/* Three pixels' patches (x) times every output channel, outputs to o[0..2]; the output offset folded. loop:
 * groups > 4; rest: (groups - 1) % 4 (constants of each caller). */
static inline __attribute__((always_inline)) void gemm_3px(const tq_conv_gemm_params *p, const uint32_t *x,
                                                           int8_t *const o[3], int full, int loop, int rest) {
    const uint32_t *const x_end = x + 6 * (p->patch_padded >> 2);
    const int32_t pairs = p->output_depth >> 1;
    const uint32_t *w = (const uint32_t *)p->weights;
    if (pairs) {
        block3_state s; /* lo4 and hi4 set (and read) by the clamp only */
        s.x = x, s.w_end = w + pairs * pair_words3(p), s.oa = o[0], s.ob = o[1], s.oc = o[2];
        if (!full) {
            s.lo4 = (uint32_t)(uint8_t)p->act_min * 0x01010101u;
            s.hi4 = (uint32_t)(uint8_t)p->act_max * 0x01010101u;
        }
        w = pairs3_asm(&s, w, x_end, loop, rest, !full);
    }
    if (p->output_depth & 1) {
        int8_t *const last[3] = {o[0] + 2 * pairs, o[1] + 2 * pairs, o[2] + 2 * pairs};
        last_channel3(w, x, x_end, last, 0, full, p->act_min, p->act_max);
    }
}

/* the same in C, for a layer whose output offset could not be folded (added after the shift) */
static void gemm_3px_c(const tq_conv_gemm_params *p, const uint32_t *x, int8_t *const o[3]) {
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int full = lo == INT8_MIN && hi == INT8_MAX;
    const uint32_t *w = (const uint32_t *)p->weights;
    const uint32_t *const x_end = x + 6 * (p->patch_padded >> 2);
    const int32_t pairs = p->output_depth >> 1;
    for (int32_t j = 0; j < pairs; ++j) {
        const int32_t b0 = (int32_t)w[0], b1 = (int32_t)w[1];
        int32_t acc[2][3] = {{b0, b0, b0}, {b1, b1, b1}};
        for (const uint32_t *xp = x, *wg = w + 2; xp != x_end; xp += 6, wg += 4)
            for (int k = 0; k < 3; ++k) {
                acc[0][k] = __smlad((int16x2_t)xp[k + 3], (int16x2_t)wg[2],
                                    __smlad((int16x2_t)xp[k], (int16x2_t)wg[0], acc[0][k]));
                acc[1][k] = __smlad((int16x2_t)xp[k + 3], (int16x2_t)wg[3],
                                    __smlad((int16x2_t)xp[k], (int16x2_t)wg[1], acc[1][k]));
            }
        const int32_t *row = (const int32_t *)w + pair_words3(p) - 6;
        int8_t y[2][3];
        for (int k = 0; k < 3; ++k) {
            y[0][k] = clamp(requant(acc[0][k], row[0], row[1], row[2], out_off), full, lo, hi);
            y[1][k] = clamp(requant(acc[1][k], row[3], row[4], row[5], out_off), full, lo, hi);
        }
        for (int k = 0; k < 3; ++k) o[k][2 * j] = y[0][k], o[k][2 * j + 1] = y[1][k];
        w += pair_words3(p);
    }
    if (p->output_depth & 1) {
        int8_t *const last[3] = {o[0] + 2 * pairs, o[1] + 2 * pairs, o[2] + 2 * pairs};
        last_channel3(w, x, x_end, last, out_off, full, lo, hi);
    }
}

/* One kernel variant, `blocks` blocks: of a 1x1 layer whose pixels are consecutive from src (widen3_run) to out,
 * or (src NULL) the one block already widened in x, to o. The block loop and the assembly in one function (one
 * copy of the assembly a variant; no call a block) */
typedef void (*gemm3_fn)(const tq_conv_gemm_params *p, uint32_t *x, const int8_t *src, int8_t *out, int32_t blocks,
                         int8_t *const o[3]);

static inline __attribute__((always_inline)) void gemm_blocks(const tq_conv_gemm_params *p, uint32_t *x,
                                                              const int8_t *src, int8_t *out, int32_t blocks,
                                                              int8_t *const o[3], int kind, int loop, int rest) {
    const int32_t depth = p->input_depth, n = p->output_depth;
    do {
        int8_t *const o3[3] = {src ? out : o[0], src ? out + n : o[1], src ? out + 2 * n : o[2]};
        if (src) widen3_run(x, src, depth), src += 3 * depth, out += 3 * n;
        if (kind == 0) gemm_3px_c(p, x, o3);
        else gemm_3px(p, x, o3, kind == 1, loop, rest);
    } while (--blocks > 0);
}

static void gemm3_c(const tq_conv_gemm_params *p, uint32_t *x, const int8_t *src, int8_t *out, int32_t blocks,
                    int8_t *const o[3]) {
    gemm_blocks(p, x, src, out, blocks, o, 0, 0, 0);
}

/* kind: 1 full (the activation range is int8's: SSAT only), 2 clamped */
#define TQ_G3_FN(full, loop, rest)                                                                                  \
    static void gemm3_##full##_##loop##_##rest(const tq_conv_gemm_params *p, uint32_t *x, const int8_t *src,       \
                                               int8_t *out, int32_t blocks, int8_t *const o[3]) {                   \
        gemm_blocks(p, x, src, out, blocks, o, 2 - full, loop, rest);                                               \
    }
#define TQ_G3_FNS(full, loop)                                                                                       \
    TQ_G3_FN(full, loop, 0) TQ_G3_FN(full, loop, 1) TQ_G3_FN(full, loop, 2) TQ_G3_FN(full, loop, 3)
TQ_G3_FNS(0, 0)
TQ_G3_FNS(0, 1)
TQ_G3_FNS(1, 0)
TQ_G3_FNS(1, 1)
#undef TQ_G3_FNS
#undef TQ_G3_FN

/* the kernel variant of a layer: [full][groups > 4][(groups - 1) % 4]; the C path for an unfolded offset */
static gemm3_fn pick_gemm3(const tq_conv_gemm_params *p) {
    static const gemm3_fn table[16] = {gemm3_0_0_0, gemm3_0_0_1, gemm3_0_0_2, gemm3_0_0_3, gemm3_0_1_0, gemm3_0_1_1,
                                       gemm3_0_1_2, gemm3_0_1_3, gemm3_1_0_0, gemm3_1_0_1, gemm3_1_0_2, gemm3_1_0_3,
                                       gemm3_1_1_0, gemm3_1_1_1, gemm3_1_1_2, gemm3_1_1_3};
    if (p->output_offset != 0) return gemm3_c;
    const int32_t groups = p->patch_padded >> 2;
    return table[(p->act_min == INT8_MIN && p->act_max == INT8_MAX) * 8 + (groups > 4) * 4 + ((groups - 1) & 3)];
}

/* scratch: [widened block: 6 * patch_padded B][gathered patch: patch_padded B (im2col)][dummy outputs] */
static inline int8_t *dummy3(const tq_conv_gemm_params *p, void *scratch, int gathers) {
    return (int8_t *)scratch + (6 + gathers) * p->patch_padded;
}

/* output pixel (batch, y, x)'s input pixel (1x1) */
static inline const int8_t *pixel_1x1(const tq_conv_gemm_params *p, const int8_t *input, int32_t batch, int32_t y,
                                      int32_t x) {
    return input + (batch * p->input_height * p->input_width + y * p->stride_height * p->input_width +
                    x * p->stride_width) * p->input_depth;
}

tq_status tq_conv1x1_s8_wide3_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                  void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    TQ_ASSERT(p->filter_height == 1 && p->filter_width == 1 && p->pad_height == 0 && p->pad_width == 0);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const dummy = dummy3(p, scratch, 0);
    const int32_t depth = p->input_depth, n = p->output_depth, pixels = p->batches * p->output_height * p->output_width;
    const gemm3_fn gemm = pick_gemm3(p);
    int32_t q = 0;
    if (p->stride_height == 1 && p->stride_width == 1 && (depth & 3) == 0) { /* pixel q's input at q * depth */
        q = pixels / 3 * 3;
        if (pixels >= 3) gemm(p, x, input, output, pixels / 3, NULL);
        if (q == pixels) return TQ_OK;
    }
    const int32_t plane = p->output_height * p->output_width; /* the rest from pixel q: its (batch, y, x) */
    int32_t batch = q / plane, y = q % plane / p->output_width, xo = q % p->output_width;
    for (; q < pixels; q += 3) {
        int8_t *o[3];
        const int8_t *src = NULL;
        for (int k = 0; k < 3; ++k) {
            if (q + k < pixels) { /* else pixel q + k - 1 again (src), its outputs to the dummy row */
                src = pixel_1x1(p, input, batch, y, xo);
                next_pixel(p, &batch, &y, &xo);
                o[k] = output + (q + k) * n;
            } else {
                o[k] = dummy;
            }
            widen3_tail(x + k, src, depth);
        }
        gemm(p, x, NULL, NULL, 1, o);
    }
    return TQ_OK;
}

/* pixel (iy0, ix0)'s patch widened into slot: straight from the image when its window is inside and each filter
 * row is whole groups of 4 taps (rows: 1) or it is a first layer's 3x3x3 (rows: 2), else gathered into `patch`
 * (padding, odd row lengths) first */
static __attribute__((noinline)) void load_patch3(const tq_conv_gemm_params *p, const int8_t *image, int32_t iy0,
                                                  int32_t ix0, uint32_t *slot, int8_t *patch, int rows) {
    const int32_t depth = p->input_depth, w = p->input_width, run = p->filter_width * depth;
    const int inside = iy0 >= 0 && iy0 + (p->filter_height - 1) * p->dilation_height < p->input_height && ix0 >= 0 &&
                       ix0 + p->filter_width <= w;
    if (inside && rows == 2) { /* tq_gemm_patch333 */
        uint32_t v[7];
        tq_gemm_patch333(image + (iy0 * w + ix0) * 3, p->dilation_height * w * 3, v);
        for (int32_t g = 0; g < 7; ++g) widen3_word(slot + 6 * g, v[g]);
        return;
    }
    if (rows == 1 && inside) {
        const int8_t *src = image + (iy0 * w + ix0) * depth;
        for (int32_t fy = 0; fy < p->filter_height; ++fy, src += p->dilation_height * w * depth)
            widen3(slot + 6 * (fy * run >> 2), src, run >> 2); /* a filter row: run / 4 groups, 6 words each */
        return;
    }
    tq_gemm_gather(p, image, iy0, ix0, patch);
    widen3(slot, patch, p->patch_padded >> 2);
}

/* tq_gemm_patch333's 7 words of the window at src (filter rows `row` bytes apart), widened into the pixel's slot
 * (group g: even word at slot[6 g], odd at slot[6 g + 3]) in registers: 9 loads, 2 ORR joins, 14 SXTB16, 14 STR,
 * about 43 M4 cycles where the C loop through a stack array took about 100. The 28th tap's odd lane takes
 * whatever byte SXTB16 ROR #16 gives: its weight is 0 (widen_filter3 pads the patch with zeros). */
static inline void widen333(uint32_t *slot, const int8_t *src, int32_t row) {
    uint32_t t0, t1, t2, t3, t4, t5;
    const int8_t *r;
    __asm__ volatile("add    %[r], %[src], %[row]\n\t"
                     "ldr    %[t0], [%[src]]\n\t"
                     "ldr    %[t1], [%[src], #4]\n\t"
                     "ldrb   %[t2], [%[src], #8]\n\t"
                     "ldr    %[t3], [%[r]]\n\t"
                     "ldr    %[t4], [%[r], #3]\n\t"
                     "ldrh   %[t5], [%[r], #7]\n\t"
                     "add    %[r], %[r], %[row]\n\t"
                     "orr    %[t2], %[t2], %[t3], lsl #8\n\t" /* src[8], row 1's taps 0-2 */
                     "sxtb16 %[t3], %[t0], ror #8\n\t"
                     "sxtb16 %[t0], %[t0]\n\t"
                     "str    %[t0], [%[slot]]\n\t"
                     "str    %[t3], [%[slot], #12]\n\t"
                     "sxtb16 %[t3], %[t1], ror #8\n\t"
                     "sxtb16 %[t1], %[t1]\n\t"
                     "str    %[t1], [%[slot], #24]\n\t"
                     "str    %[t3], [%[slot], #36]\n\t"
                     "sxtb16 %[t3], %[t2], ror #8\n\t"
                     "sxtb16 %[t2], %[t2]\n\t"
                     "str    %[t2], [%[slot], #48]\n\t"
                     "str    %[t3], [%[slot], #60]\n\t"
                     "sxtb16 %[t3], %[t4], ror #8\n\t"
                     "sxtb16 %[t4], %[t4]\n\t"
                     "str    %[t4], [%[slot], #72]\n\t"
                     "str    %[t3], [%[slot], #84]\n\t"
                     "ldr    %[t0], [%[r]]\n\t"
                     "ldr    %[t1], [%[r], #2]\n\t"
                     "ldr    %[t2], [%[r], #5]\n\t"
                     "orr    %[t5], %[t5], %[t0], lsl #16\n\t" /* row 1's taps 7-8, row 2's 0-1 */
                     "sxtb16 %[t3], %[t5], ror #8\n\t"
                     "sxtb16 %[t5], %[t5]\n\t"
                     "str    %[t5], [%[slot], #96]\n\t"
                     "str    %[t3], [%[slot], #108]\n\t"
                     "sxtb16 %[t3], %[t1], ror #8\n\t"
                     "sxtb16 %[t1], %[t1]\n\t"
                     "str    %[t1], [%[slot], #120]\n\t"
                     "str    %[t3], [%[slot], #132]\n\t"
                     "sxtb16 %[t3], %[t2], ror #16\n\t" /* row 2's tap 7 and the padding tap */
                     "sxtb16 %[t2], %[t2], ror #8\n\t"  /* row 2's taps 6, 8 */
                     "str    %[t2], [%[slot], #144]\n\t"
                     "str    %[t3], [%[slot], #156]"
                     : [r] "=&r"(r), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
                       [t5] "=&r"(t5)
                     : [src] "r"(src), [row] "r"(row), [slot] "r"(slot)
                     : "memory");
}

/* A first layer's pixel walk (tq_gemm_is_patch333): the window's first byte and whether the window is inside,
 * kept up to date pixel by pixel (no multiplies); a window outside goes through load_patch3's gather */
typedef struct {
    const int8_t *image; /* the batch's image */
    const int8_t *src;   /* the window's top left tap (may point outside the image: then only for the next one) */
    int32_t y, x, iy;    /* the output pixel and its window's top row */
    int row_inside;      /* the window's rows are in the image */
} walk333;

static inline void walk333_row(const tq_conv_gemm_params *p, walk333 *w) {
    w->iy = w->y * p->stride_height - p->pad_height;
    w->row_inside = w->iy >= 0 && w->iy + 2 * p->dilation_height < p->input_height;
    w->src = w->image + (w->iy * p->input_width - p->pad_width) * 3;
}

/* n pixels on, along the row (n > 1 only inside one row) */
static inline void walk333_next(const tq_conv_gemm_params *p, walk333 *w, int32_t n) {
    w->src += n * p->stride_width * 3, w->x += n;
    if (w->x == p->output_width) {
        w->x = 0;
        if (++w->y == p->output_height) w->y = 0, w->image += p->input_height * p->input_width * 3;
        walk333_row(p, w);
    }
}

/* The full activation range's GEMM with its assembly inlined (a first layer's patch is 7 groups: a loop of one
 * step and 2 groups after it; one more copy of the assembly, no call a block) */
static void conv333_full(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output, uint32_t *x,
                         int8_t *patch, int8_t *dummy) {
    const int32_t pixels = p->batches * p->output_height * p->output_width, n = p->output_depth;
    const int32_t row = p->dilation_height * p->input_width * 3, step = p->stride_width * 3;
    /* output columns [x0, x1) have their windows inside the image's columns */
    const int32_t x0 = (p->pad_width + p->stride_width - 1) / p->stride_width;
    const int32_t right = p->input_width - 3 + p->pad_width; /* the last window's left column, padded */
    const int32_t inside = right < 0 ? -1 : right / p->stride_width; /* the last column whose window is inside */
    const int32_t x1 = inside + 1 < p->output_width ? inside + 1 : p->output_width;
    walk333 w = {input, NULL, 0, 0, 0, 0};
    walk333_row(p, &w);
    const int8_t *last = NULL, *last_image = input;
    int32_t last_iy = 0, last_ix = 0;
    for (int32_t q = 0; q < pixels; q += 3) {
        int8_t *o[3];
        if (w.row_inside && w.x >= x0 && w.x + 3 <= x1 && q + 3 <= pixels) { /* three windows inside, one row */
            widen333(x, w.src, row);
            widen333(x + 1, w.src + step, row);
            widen333(x + 2, w.src + 2 * step, row);
            o[0] = output + q * n, o[1] = o[0] + n, o[2] = o[1] + n;
            walk333_next(p, &w, 3);
        } else {
            for (int k = 0; k < 3; ++k) {
                if (q + k < pixels) { /* else pixel q + k - 1 again, its outputs to the dummy row */
                    o[k] = output + (q + k) * n;
                    if (w.row_inside && w.x >= x0 && w.x < x1) {
                        widen333(x + k, w.src, row);
                        last = w.src;
                    } else {
                        last = NULL, last_image = w.image, last_iy = w.iy;
                        last_ix = w.x * p->stride_width - p->pad_width;
                        load_patch3(p, last_image, last_iy, last_ix, x + k, patch, 2);
                    }
                    walk333_next(p, &w, 1);
                } else {
                    o[k] = dummy;
                    if (last) widen333(x + k, last, row);
                    else load_patch3(p, last_image, last_iy, last_ix, x + k, patch, 2);
                }
            }
        }
        gemm_3px(p, x, o, 1, 1, 2); /* one call site: one copy of the assembly */
    }
}

/* every other im2col layer: the window's origin from (batch, y, x) a pixel, load_patch3 (inlined: the indirect
 * call stays in the exported function, as firmware/platform/builder/stack_bound.py's call graph charges it) */
static inline __attribute__((always_inline)) void im2col3(const tq_conv_gemm_params *p, const int8_t *input,
                                                          int8_t *output, uint32_t *x, int8_t *patch,
                                                          int8_t *dummy, int rows) {
    const int32_t pixels = p->batches * p->output_height * p->output_width;
    const int32_t image = p->input_height * p->input_width * p->input_depth;
    const gemm3_fn gemm = pick_gemm3(p);
    int32_t batch = 0, y = 0, xo = 0;
    for (int32_t q = 0; q < pixels; q += 3) {
        int8_t *o[3];
        const int8_t *img = input;
        int32_t iy = 0, ix = 0;
        for (int k = 0; k < 3; ++k) {
            if (q + k < pixels) { /* else pixel q + k - 1 again, its outputs to the dummy row */
                img = input + batch * image;
                iy = y * p->stride_height - p->pad_height, ix = xo * p->stride_width - p->pad_width;
                next_pixel(p, &batch, &y, &xo);
                o[k] = output + (q + k) * p->output_depth;
            } else {
                o[k] = dummy;
            }
            load_patch3(p, img, iy, ix, x + k, patch, rows);
        }
        gemm(p, x, NULL, NULL, 1, o);
    }
}

tq_status tq_conv_s8_im2col_wide3_dsp(const tq_conv_gemm_params *p, const int8_t *input, int8_t *output,
                                      void *scratch) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && scratch != NULL);
    uint32_t *x = (uint32_t *)scratch;
    int8_t *const patch = (int8_t *)scratch + 6 * p->patch_padded;
    int8_t *const dummy = dummy3(p, scratch, 1);
    fill(patch + p->patch, 0, p->patch_padded - p->patch); /* the row's zero taps: any value, 0 is tidy */
    const int patch333 = tq_gemm_is_patch333(p);
    if (patch333 && p->output_offset == 0 && p->act_min == INT8_MIN && p->act_max == INT8_MAX) /* VWW's, IC's */
        conv333_full(p, input, output, x, patch, dummy);
    else /* a clamped or unfolded first layer too (load_patch3's tq_gemm_patch333): one copy of the fast walk */
        im2col3(p, input, output, x, patch, dummy,
                patch333 ? 2 : p->dilation_width == 1 && (p->filter_width * p->input_depth) % 4 == 0);
    return TQ_OK;
}
#else
typedef int tq_conv_s8_gemm3_dsp_unavailable; /* keeps this translation unit non-empty (ISO C) */
#endif
