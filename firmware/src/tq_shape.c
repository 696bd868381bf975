/* Data-movement kernels, reference versions: byte copy, concatenation, constant pad, strided gather.
 * Every index was resolved and bounds-checked on the host (tinyq/lower/shape.py). */
#include <string.h>

#include "tinyq/tq_shape.h"

/* n elements of `size` bytes, the k-th read at src + k * step elements, written contiguously to dst.
 * Returns the end of what was written. Only addresses of elements that are read are formed. */
static uint8_t *gather_row(uint8_t *dst, const uint8_t *src, int32_t n, int32_t step, int32_t size) {
    const size_t bytes = (size_t)size;
    if (step == 1) {
        memcpy(dst, src, (size_t)n * bytes);
        return dst + (size_t)n * bytes;
    }
    const ptrdiff_t stride = (ptrdiff_t)step * size;
    switch (size) { /* constant-size memcpy compiles to one load/store, without aliasing issues */
    case 1:
        for (int32_t k = 0; k < n; ++k) *dst++ = src[k * stride];
        break;
    case 2:
        for (int32_t k = 0; k < n; ++k, dst += 2) memcpy(dst, src + k * stride, 2);
        break;
    case 4:
        for (int32_t k = 0; k < n; ++k, dst += 4) memcpy(dst, src + k * stride, 4);
        break;
    default:
        for (int32_t k = 0; k < n; ++k, dst += bytes) memcpy(dst, src + k * stride, bytes);
        break;
    }
    return dst;
}

/* n copies of the element at value (`size` bytes) written to dst; returns the end. */
static uint8_t *fill(uint8_t *dst, const uint8_t *value, int32_t n, int32_t size) {
    if (size == 1) {
        memset(dst, *value, (size_t)n);
        return dst + n;
    }
    for (int32_t k = 0; k < n; ++k, dst += size) memcpy(dst, value, (size_t)size);
    return dst;
}

/* 1 when [a, a + an) and [b, b + bn) share a byte (addresses compared as integers, without overflow). */
static inline int overlap(const void *a, size_t an, const void *b, size_t bn) {
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x >= y ? x - y < bn : y - x < an;
}

static inline int elem_bytes_ok(int32_t n) { return n == 1 || n == 2 || n == 4; }

tq_status tq_copy(const tq_copy_params *p, const void *input, void *output) {
    /* memcpy needs disjoint buffers: the very same buffer is the only overlap allowed */
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->bytes >= 0);
    TQ_ASSERT(input == output || !overlap(input, (size_t)p->bytes, output, (size_t)p->bytes));
    if (input != output) memcpy(output, input, (size_t)p->bytes);
    return TQ_OK;
}

tq_status tq_concatenation(const tq_concatenation_params *p, const void *const *inputs, void *output) {
    TQ_ASSERT(p != NULL && output != NULL && p->num_inputs >= 1 && p->outer_size >= 0 && p->copy_bytes != NULL);
    for (int32_t i = 0; i < p->num_inputs; ++i) {
        TQ_ASSERT(p->copy_bytes[i] >= 0);
        TQ_ASSERT((p->const_offset != NULL && p->const_offset[i] >= 0) ? p->const_data != NULL : inputs != NULL);
    }
    uint8_t *out = (uint8_t *)output;
    for (int32_t o = 0; o < p->outer_size; ++o) {
        int32_t next = 0; /* next activation input */
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const size_t n = (size_t)p->copy_bytes[i];
            const uint8_t *base = (p->const_offset != NULL && p->const_offset[i] >= 0)
                                      ? (const uint8_t *)p->const_data + p->const_offset[i]
                                      : (const uint8_t *)inputs[next++];
            TQ_ASSERT(base != NULL);
            memcpy(out, base + (size_t)o * n, n);
            out += n;
        }
    }
    return TQ_OK;
}

/* 1 when output index o along a dimension falls on the input (not on padding). */
static int on_input(int32_t o, int32_t before, int32_t dim) {
    return o >= before && o - before < dim;
}

tq_status tq_pad(const tq_pad_params *p, const void *input, void *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && p->pad_value != NULL && elem_bytes_ok(p->elem_bytes));
    for (int32_t d = 0; d < TQ_SHAPE_MAX_RANK; ++d) { /* the input fits inside the output along every axis */
        TQ_ASSERT(p->in_dims[d] >= 0 && p->before[d] >= 0 && p->out_dims[d] >= p->before[d] + p->in_dims[d]);
    }
    const uint8_t *in = (const uint8_t *)input;
    const uint8_t *value = (const uint8_t *)p->pad_value;
    uint8_t *out = (uint8_t *)output;
    const int32_t size = p->elem_bytes;
    const int32_t *od = p->out_dims, *id = p->in_dims, *b = p->before;
    const int32_t after = od[4] - b[4] - id[4];
    const size_t row = (size_t)id[4] * (size_t)size; /* input bytes per innermost row */
    for (int32_t o0 = 0; o0 < od[0]; ++o0) {
        for (int32_t o1 = 0; o1 < od[1]; ++o1) {
            for (int32_t o2 = 0; o2 < od[2]; ++o2) {
                for (int32_t o3 = 0; o3 < od[3]; ++o3) {
                    if (on_input(o0, b[0], id[0]) && on_input(o1, b[1], id[1]) && on_input(o2, b[2], id[2]) &&
                        on_input(o3, b[3], id[3])) {
                        out = fill(out, value, b[4], size);
                        memcpy(out, in, row);
                        out += row;
                        in += row;
                        out = fill(out, value, after, size);
                    } else {
                        out = fill(out, value, od[4], size);
                    }
                }
            }
        }
    }
    return TQ_OK;
}

tq_status tq_strided_copy(const tq_strided_copy_params *p, const void *input, void *output) {
    TQ_ASSERT(p != NULL && input != NULL && output != NULL && elem_bytes_ok(p->elem_bytes) && p->offset >= 0);
    for (int32_t d = 0; d < TQ_SHAPE_MAX_RANK; ++d) TQ_ASSERT(p->count[d] >= 1);
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t *c = p->count, *s = p->step;
    for (int32_t i0 = 0; i0 < c[0]; ++i0) {
        for (int32_t i1 = 0; i1 < c[1]; ++i1) {
            for (int32_t i2 = 0; i2 < c[2]; ++i2) {
                for (int32_t i3 = 0; i3 < c[3]; ++i3) {
                    const int32_t first = p->offset + i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3];
                    out = gather_row(out, in + (ptrdiff_t)first * p->elem_bytes, c[4], s[4], p->elem_bytes);
                }
            }
        }
    }
    return TQ_OK;
}
