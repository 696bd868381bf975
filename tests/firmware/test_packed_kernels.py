"""Kernels on packed weights (firmware/src/tq_*_packed.c, docs/weight_encodings.md), with real compilers and
QEMU, nothing mocked. An encoding is storage: for seeded random shapes (odd lengths, padding, strides,
dilations, groups, depth multipliers 1 and 2, batches of 2) and every weight form, int8 weights that fit
the form are packed by tinyq.encode, and the packed kernel must write exactly the bytes the int8 reference
kernel writes on the decoded weights: on the host under ASan/UBSan with every kernel assert on, and on the
Cortex-M4 (mps2-an386) and Cortex-M3 (mps2-an385) under QEMU. Nested weights (topK) read a random int8 parent's
bytes as the child parent >> (8 - K). Hostile descriptors trip TQ_ASSERT."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinyq.encode import encode, rows_view
from tinyq.encode.nested import encode_top
from tinyq.encode.spec import parse
from tinyq.resources import data_dir
from tinyq.testing import SANITIZE

FIRMWARE = data_dir("firmware")
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", *SANITIZE, "-DTQ_ENABLE_ASSERT"]
KERNEL_SOURCES = ["tq_fully_connected.c", "tq_conv.c", "tq_depthwise_conv.c", "tq_fully_connected_packed.c",
                  "tq_conv_packed.c", "tq_depthwise_conv_packed.c", "tq_fully_connected_dsp.c", "tq_conv_dsp.c",
                  "tq_depthwise_conv_dsp.c", "tq_fully_connected_packed_dsp.c", "tq_conv_packed_dsp.c", "tq_weights_dot.c",
                  "tq_depthwise_conv_packed_dsp.c", "tq_depthwise_conv_packed_sparse_dsp.c", "tq_packed_s16_dsp.c",
                  "tq_packed_wk_dsp.c", "tq_fully_connected_packed_sparse_dsp.c", "tq_conv_packed_sparse_dsp.c",
                  "tq_codebook_packed_dsp.c"]
GUARD = 16  # elements after each output buffer that no kernel may touch

OPS = {"fc": ("fully_connected", "FULLY_CONNECTED"), "conv": ("conv", "CONV_2D"),
       "dw": ("depthwise_conv", "DEPTHWISE_CONV_2D")}
# (encoding, codebook tables per channel?) - every dense form, and sparse forms over every value encoding
FORMS = [
    ("int4", False), ("int2", False), ("int1", False), ("int3", False), ("int5", False), ("int6", False),
    ("int7", False), ("ternary", False), ("binary", False), ("codebook:1", True), ("codebook:3", False),
    ("codebook:4", True), ("codebook:7", False), ("codebook:2", True),
    ("sparse+int8", False), ("sparse+int4", False), ("sparse+int3", False), ("sparse+ternary", False),
    ("sparse+binary", False), ("sparse+codebook:2", True), ("sparse+codebook:5", False),
    ("sparse2:4+int8", False), ("sparse2:4+int4", False), ("sparse1:2+ternary", False),
    ("sparse3:8+codebook:3", False), ("sparse2:4+binary", False), ("sparse1:4+int6", False),
    ("block4+int8", False), ("block3+int5", False), ("block8+ternary", False), ("block5+codebook:4", True),
    ("block2+binary", False), ("block16+int2", False),
]
VALUE_ENCODING = {"int": 1, "ternary": 2, "binary": 3, "codebook": 4, "top": 5}  # TQ_W_* (TQ_W_INT8 = 0)
SPARSE_FORM = {"dense": 0, "sparse": 1, "nm": 2, "block": 3}  # TQ_S_*


def kernel_suffix(encoding: str) -> str:
    """The entry point's weight form: tq_<op>_<act>_<suffix>."""
    e = parse(encoding)
    if e.kind == "top":
        return "wn"
    if e.form != "dense":
        return "ws"
    if e.kind == "int":
        return {4: "w4", 2: "w2"}.get(e.bits, "wk")
    return {"ternary": "wt", "binary": "wb", "codebook": "wc"}[e.kind]


def has_dsp_variant(op: str, act: str, suffix: str) -> bool:
    """tq_<op>_<act>_<suffix> has a DSP variant (tinyq/kernel_select.py), which the M4 run then compares."""
    from tinyq.kernel_select import VARIANTS

    return f"tq_{OPS[op][0]}_{act}_{suffix}" in VARIANTS


# ---- weights that fit a form -----------------------------------------------------------------------

def dense_values(kind: str, bits: int, shape, channel: np.ndarray, channels: int, per_channel: bool, rng,
                 with_zero: bool = False):
    """int values of one value encoding; `channel` [shape]: each element's output channel."""
    if kind == "int":
        return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shape)
    if kind in ("ternary", "binary"):
        a = rng.integers(1, 128, channels)
        sign = rng.integers(-1, 2, shape) if kind == "ternary" else rng.choice([-1, 1], shape)
        return sign * a[channel]
    size = 1 << bits

    def levels():  # with 0 among them when the form stores zeros (N:M pads short groups with 0)
        lv = rng.choice(np.setdiff1d(np.arange(-128, 128), [0]) if with_zero else np.arange(-128, 128), size,
                        replace=False)
        if with_zero:
            lv[0] = 0
        return lv

    if per_channel:
        return np.stack([levels() for _ in range(channels)])[channel, rng.integers(0, size, shape)]
    return levels()[rng.integers(0, size, shape)]


def make_rows(encoding: str, per_channel: bool, r: int, length: int, axis: int, rng) -> np.ndarray:
    """int8 [R, L] that `encoding` stores exactly, its zeros placed the way the sparse form keeps them."""
    e = parse(encoding)
    channel = np.repeat(np.arange(r)[:, None], length, 1) if axis == 0 else np.repeat(np.arange(length)[None], r, 0)
    v = dense_values(e.kind, e.bits, (r, length), channel, r if axis == 0 else length, per_channel, rng,
                     with_zero=e.form == "nm")
    if e.form == "sparse":
        mask = rng.random((r, length)) < 0.35
    elif e.form == "block":
        kept = rng.random((r, -(-length // e.block))) < 0.5
        mask = np.repeat(kept, e.block, axis=1)[:, :length]
    elif e.form == "nm":
        mask = np.zeros((r, length), bool)
        for row in range(r):
            for g in range(length // e.m):  # binary cannot store the zero of a short group: always N
                k = e.n if e.kind == "binary" else int(rng.integers(0, e.n + 1))
                mask[row, g * e.m + rng.choice(e.m, k, replace=False)] = True
    else:
        mask = np.ones((r, length), bool)
    return np.where(mask, v, 0).astype(np.int8)


# ---- C text ----------------------------------------------------------------------------------------

def c_array(ctype: str, name: str, values) -> str:
    vals = [int(v) for v in np.asarray(values).reshape(-1)]
    if ctype == "int64_t":
        body = ", ".join(f"INT64_C({v})" for v in vals)
    else:
        body = ", ".join(str(v) for v in vals)
    return f"static const {ctype} {name}[{max(len(vals), 1)}] = {{{body or '0'}}};\n"


def c_struct(ctype: str, name: str, fields: dict) -> str:
    body = ", ".join(f".{k} = {v}" for k, v in fields.items())
    return f"static const {ctype} {name} = {{{body}}};\n"


def packed_decl(prefix: str, w, rng) -> str:
    """The tq_packed_weights of an EncodedWeights record (what the emitter writes), and its arrays."""
    e = parse(w.encoding)
    text = c_array("uint8_t", f"{prefix}_codes", w.codes)
    f = {"bits": w.bits, "sparse_form": SPARSE_FORM[e.form], "rows": w.rows, "length": w.length,
         "channel_axis": w.channel_axis, "row_bytes": w.row_bytes, "codes": f"{prefix}_codes"}
    # int8 values of a sparse form: TQ_W_INT8, or TQ_W_INTK with bits 8 (the same numbers)
    f["value_encoding"] = 0 if e.kind == "int" and w.bits == 8 and rng.random() < 0.5 else VALUE_ENCODING[e.kind]
    if w.table is not None:
        text += c_array("int8_t", f"{prefix}_table", w.table)
        f["table"], f["table_per_channel"] = f"{prefix}_table", int(w.table.ndim == 2)
    if w.magnitude is not None:
        text += c_array("int8_t", f"{prefix}_mag", w.magnitude)
        f["magnitude"] = f"{prefix}_mag"
    if w.index is not None:
        text += c_array("uint8_t", f"{prefix}_index", w.index)
        f["index"], f["index_row_bytes"] = f"{prefix}_index", w.index_row_bytes
    if w.row_start is not None:
        text += c_array("int32_t", f"{prefix}_row_start", w.row_start)
        f["row_start"] = f"{prefix}_row_start"
    if w.group is not None:
        f["group_n"], f["group_m"] = w.group
    if e.value_shift:
        f["value_shift"] = e.value_shift
    return text + c_struct("tq_packed_weights", f"{prefix}_pw", f)


def requant(std: np.ndarray, target: float, shift_max: int, rng):
    """Per-channel Q31 multipliers and shifts that map a sum of spread `std` to about `target`."""
    mults, shifts = [], []
    for s in std:
        scale = target / max(float(s), 1.0) * rng.uniform(0.6, 1.6)
        shift = int(np.floor(np.log2(scale))) + 1
        mult = int(round(scale * 2.0 ** (31 - shift)))
        if mult >= 1 << 31:
            mult, shift = mult // 2, shift + 1
        shift = min(max(shift, -31), shift_max)
        mults.append(mult)
        shifts.append(shift)
    return np.array(mults), np.array(shifts)


@dataclass
class Case:
    id: int
    label: str  # op, activation, encoding
    decls: str
    body: str  # the C statements of case_<id>()
    per_channel_table: bool
    outputs: int
    dsp: bool  # also runs the _dsp variant where the CPU has the extension


def conv_sums(xo: np.ndarray, w: np.ndarray, geo: dict, groups: int, depthwise: bool) -> np.ndarray:
    """The int64 sums of the reference loops (padding taps skipped), [B, OH, OW, O]: for the test's scales."""
    b, h, wd, _ = xo.shape
    oh, ow = geo["output_height"], geo["output_width"]
    out_d = w.shape[-1] if depthwise else w.shape[0]
    acc = np.zeros((b, oh, ow, out_d), np.int64)
    for fy in range(geo["filter_height"]):
        iy = np.arange(oh) * geo["stride_height"] - geo["pad_height"] + geo["dilation_height"] * fy
        for fx in range(geo["filter_width"]):
            ix = np.arange(ow) * geo["stride_width"] - geo["pad_width"] + geo["dilation_width"] * fx
            inside = ((iy >= 0) & (iy < h))[:, None] & ((ix >= 0) & (ix < wd))[None, :]
            patch = xo[:, np.clip(iy, 0, h - 1)][:, :, np.clip(ix, 0, wd - 1)] * inside[None, :, :, None]
            if depthwise:
                mult = out_d // xo.shape[3]
                acc += patch[..., np.arange(out_d) // mult] * w[0, fy, fx]
            else:
                fpg, fid = out_d // groups, w.shape[3]
                for g in range(groups):
                    acc[..., g * fpg:(g + 1) * fpg] += patch[..., g * fid:(g + 1) * fid] @ w[g * fpg:(g + 1) * fpg, fy, fx].T
    return acc


def conv_geometry(rng, dilation_width=None, fixed=None):
    """Input size, filter, stride, dilation, padding before, output size (every output >= 1). `fixed` overrides
    some draws: filter (kh, kw), dilation (dh, dw), pad (before and after on both axes), size (h, w)."""
    fixed = fixed or {}
    kh, kw = (int(x) for x in rng.integers(1, 4, 2))
    kh, kw = fixed.get("filter", (kh, kw))
    sh, sw = (int(x) for x in rng.integers(1, 3, 2))
    dh, dw = (int(x) for x in rng.integers(1, 3, 2))
    dh, dw = fixed.get("dilation", (dh, dw))
    dw = dilation_width or dw
    geo = {}
    for axis, k, s, d in (("height", kh, sh, dh), ("width", kw, sw, dw)):
        size = int(rng.integers(1, 8))
        eff = d * (k - 1) + 1
        before = int(rng.integers(0, k))
        after = int(rng.integers(0, k))
        if "pad" in fixed:
            before = after = fixed["pad"]
        if "size" in fixed:
            size = fixed["size"][0 if axis == "height" else 1]
        size = max(size, eff - before - after)
        geo[f"input_{axis}"], geo[f"filter_{axis}"] = size, k
        geo[f"stride_{axis}"], geo[f"dilation_{axis}"], geo[f"pad_{axis}"] = s, d, before
        geo[f"output_{axis}"] = (size + before + after - eff) // s + 1
    return geo


def make_case(cid: int, op: str, act: str, encoding: str, per_channel: bool, rng, shape=None) -> Case:
    """One kernel call on random data; `shape` overrides the random sizes (acc_d, out_d, fid, groups, dilation_width;
    depthwise: filter (KH, KW), channels, mult; batches) and, with `extreme` (x, parent byte), fills the input and
    a nested parent with one value each (the products at one corner of their ranges)."""
    shape = shape or {}
    e = parse(encoding)
    s16 = act == "s16"
    m_mult = e.m if e.form == "nm" else 1  # N:M: rows whose length is a multiple of M
    batches = shape.get("batches", int(rng.integers(1, 3)))
    if op == "fc":
        out_d = shape.get("out_d", int(rng.integers(1, 10)))
        acc_d = m_mult * int(rng.integers(1, 12)) if m_mult > 1 else int(rng.integers(0, 50)) * 2 + 1
        acc_d = shape.get("acc_d", acc_d)
        tensor_shape = (out_d, acc_d)
    elif op == "conv":
        geo = conv_geometry(rng)
        if "dilation_width" in shape or "geo" in shape:
            geo = conv_geometry(rng, shape.get("dilation_width"), shape.get("geo"))
        groups = shape.get("groups", int(rng.choice([1, 1, 2, 3])))
        fid = int(rng.choice([1, 2, 3, 5, 33, 37])) if m_mult == 1 else m_mult * int(rng.integers(1, 3))
        fid = shape.get("fid", fid)
        out_d = shape.get("out_d", groups * int(rng.integers(1, 4)))
        tensor_shape = (out_d, geo["filter_height"], geo["filter_width"], fid)
    else:
        geo = shape["geo"] if "geo" in shape else conv_geometry(rng)
        if "filter" in shape:
            geo = conv_geometry(rng, fixed={"filter": shape["filter"]})
        mult = shape.get("mult", int(rng.integers(1, 3)))
        channels = int(rng.integers(1, 13))
        if m_mult > 1:
            channels = max(m_mult // mult, 1) * int(rng.integers(1, 4))
        channels = shape.get("channels", channels)
        out_d = channels * mult
        tensor_shape = (1, geo["filter_height"], geo["filter_width"], out_d)
    kind_op = OPS[op][1]
    axis = 1 if op == "dw" else 0
    r = int(np.prod(tensor_shape[:-1])) if op == "dw" else tensor_shape[0]
    length = int(np.prod(tensor_shape)) // r
    if e.kind == "top":  # nested: the child is the top K bits of a random int8 parent, whose bytes are the codes
        parent = rng.integers(-128, 128, (r, length)).astype(np.int8)
        if "extreme" in shape:
            parent[:] = shape["extreme"][1]
        rows = parent >> e.value_shift
    else:
        parent, rows = None, make_rows(encoding, per_channel, r, length, axis, rng)
    tensor = rows.reshape(tensor_shape)
    view, view_axis = rows_view(tensor, kind_op)
    assert view_axis == axis and np.array_equal(view, rows)
    w = encode_top(rows, parent, axis, e.value_bits) if e.kind == "top" else encode(rows, axis, encoding)
    assert np.array_equal(w.decode(), rows), encoding  # the packer is exact, so the int8 kernel is the oracle

    ctype = "int16_t" if s16 else "int8_t"
    lo, hi = (-32768, 32767) if s16 else (-128, 127)
    pre = f"c{cid}"
    decls = packed_decl(pre, w, rng)
    decls += c_array("int8_t", f"{pre}_w8", tensor)
    in_off = 0 if s16 else -int(rng.integers(-128, 128))
    in_off = shape.get("in_off", in_off)
    out_off = 0 if s16 else int(rng.integers(-128, 128))
    act_min, act_max = (lo, hi) if rng.random() < 0.7 else (int(rng.integers(lo, 0)), int(rng.integers(1, hi)))
    w64 = tensor.astype(np.int64)
    if op == "fc":
        f_off = int(rng.choice([0, 0, int(rng.integers(-127, 129))])) if not s16 else int(rng.choice([0, 0, 3]))
        x = rng.integers(lo, hi + 1, (batches, tensor_shape[1]))
        acc = (x + in_off) @ (w64 + f_off).T
    elif op == "conv":
        x = rng.integers(lo, hi + 1, (batches, geo["input_height"], geo["input_width"], tensor_shape[3] * groups))
        acc = conv_sums(x + in_off, w64, geo, groups, depthwise=False)
    else:
        x = rng.integers(lo, hi + 1, (batches, geo["input_height"], geo["input_width"], channels))
        acc = conv_sums(x + in_off, w64, geo, 1, depthwise=True)
    if "extreme" in shape:
        x[:] = shape["extreme"][0]
        acc = conv_sums(x + in_off, w64, geo, groups, depthwise=False) if op == "conv" else acc
        acc = (x + in_off) @ (w64 + f_off).T if op == "fc" else acc
        acc = conv_sums(x + in_off, w64, geo, 1, depthwise=True) if op == "dw" else acc
    decls += c_array(ctype, f"{pre}_in", x)
    # the sums' spread per channel sets the requantization, and a bias centres them (outputs not saturated)
    acc = acc.reshape(-1, out_d).astype(np.float64)
    std = np.maximum(acc.std(axis=0), np.abs(acc).mean(axis=0) / 4 if acc.shape[0] == 1 else 1.0)
    acc64 = int(s16 and (op == "dw" or rng.random() < 0.6))
    mults, shifts = requant(std, 6000.0 if s16 else 40.0, 14 if acc64 else 30, rng)
    per_ch = int(op != "fc" or rng.random() < 0.6)
    if not per_ch:
        mults, shifts = mults[:1], shifts[:1]
    if "shift_up" in shape:  # about the same scale with a left shift: multiplier / 2^k, shift + k
        k = shape["shift_up"]
        mults, shifts = mults >> k, np.minimum(shifts + k, 31)
    decls += c_array("int32_t", f"{pre}_mult", mults) + c_array("int32_t", f"{pre}_shift", shifts)
    bias = "NULL"
    if rng.random() < 0.8:
        b = np.round(-acc.mean(axis=0) + rng.normal(0, 1, out_d) * std / 2).astype(np.int64)
        b += shape.get("bias_add", 0)
        if not acc64:
            b = np.clip(b, -(1 << 31), (1 << 31) - 1)
        decls += c_array("int64_t" if acc64 else "int32_t", f"{pre}_bias", b)
        bias = f"{pre}_bias"
    common = {"batches": batches, "input_offset": in_off, "output_offset": out_off, "act_min": act_min,
              "act_max": act_max, "acc64": acc64, "bias": bias, "multiplier": f"{pre}_mult",
              "shift": f"{pre}_shift"}
    if op == "fc":
        fields = {**common, "accum_depth": tensor_shape[1], "output_depth": out_d, "filter_offset": f_off,
                  "per_channel": per_ch}
        ptype, wfield = "tq_fully_connected_params", "weights"
        out_n = batches * out_d
    else:
        fields = {**common, **geo, "output_depth": out_d}
        if op == "conv":
            fields["filter_input_depth"] = tensor_shape[3]
            fields["input_depth"] = tensor_shape[3] * groups
            ptype = "tq_conv_params"
        else:
            fields["input_depth"] = channels
            fields["depth_multiplier"] = mult
            ptype = "tq_depthwise_conv_params"
        wfield = "filter"
        out_n = batches * geo["output_height"] * geo["output_width"] * out_d
    decls += c_struct(ptype, f"{pre}_ref", {**fields, wfield: f"{pre}_w8"})
    decls += c_struct(ptype, f"{pre}_pk", {**fields, "packed": f"&{pre}_pw"})  # no int8 array at all
    name = f"tq_{OPS[op][0]}_{act}"
    suffix = kernel_suffix(encoding)
    dsp = ""
    if has_dsp_variant(op, act, suffix):  # the Arm DSP variants, on the M4
        dsp = (f"#if defined(__ARM_FEATURE_DSP)\n    {{\n        static {ctype} dsp[{out_n + GUARD}];\n"
               f"        memset(dsp, 0x5A, sizeof dsp);\n        ++dsp_cases;\n"
               f"        if ({name}_{suffix}_dsp(&{pre}_pk, {pre}_in, dsp) != TQ_OK || memcmp(dsp, ref, sizeof dsp) != 0)\n"
               f"            return report({cid}, 5, 0, 0, 0);\n    }}\n#endif\n    ")
    body = (f"static {ctype} ref[{out_n + GUARD}], pk[{out_n + GUARD}];\n"
            f"    memset(ref, 0x5A, sizeof ref);\n    memset(pk, 0x5A, sizeof pk);\n"
            f"    if ({name}(&{pre}_ref, {pre}_in, ref) != TQ_OK) return report({cid}, 3, 0, 0, 0);\n"
            f"    PROFILE_BEGIN();\n"
            f"    const tq_status st = {name}_{suffix}(&{pre}_pk, {pre}_in, pk);\n"
            f"    PROFILE_END();\n"
            f"    if (st != TQ_OK) return report({cid}, 4, 0, 0, 0);\n"
            f"    {dsp}return finish_{act}({cid}, ref, pk, {out_n});")
    label = f"{op} {act} {encoding}{' per-channel' if w.table is not None and w.table.ndim == 2 else ''}"
    return Case(cid, label, decls, body, w.table is not None and w.table.ndim == 2, out_n, bool(dsp))


HARNESS_HEAD = r"""
#include <stdint.h>
#include <string.h>
#include "tinyq/tq_kernels.h"

#ifdef __arm__
void put(const char *s); /* semihosting, in the test's startup file */
#else
#include <stdio.h>
static void put(const char *s) { fputs(s, stdout); }
#endif
#ifndef PROFILE_BEGIN
#define PROFILE_BEGIN() ((void)0)
#define PROFILE_END() ((void)0)
#endif

static void put_int(int64_t v) {
    char b[24];
    int n = 23;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    b[n] = 0;
    do { b[--n] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) b[--n] = '-';
    put(b + n);
}

/* one line per case: id, status (0 equal, 1 outputs differ, 2 guard written, 3/4 a kernel refused), the
 * FNV-1a hash of the output bytes, their min and max */
static int report(int id, int status, uint32_t hash, int32_t lo, int32_t hi) {
    put("case "); put_int(id); put(" "); put_int(status); put(" "); put_int(hash); put(" ");
    put_int(lo); put(" "); put_int(hi); put("\n");
    return status != 0;
}

static int dsp_cases; /* DSP variants compared (on CPUs with the extension) */

static uint32_t fnv(const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 16777619u;
    return h;
}

static int finish_s8(int id, const int8_t *ref, const int8_t *pk, int32_t n) {
    int status = memcmp(ref, pk, (size_t)n) != 0;
    for (int32_t i = n; i < n + GUARD; ++i) if ((uint8_t)ref[i] != 0x5A || (uint8_t)pk[i] != 0x5A) status = 2;
    int32_t lo = 127, hi = -128;
    for (int32_t i = 0; i < n; ++i) { if (pk[i] < lo) lo = pk[i]; if (pk[i] > hi) hi = pk[i]; }
    return report(id, status, fnv(pk, (size_t)n), lo, hi);
}

static int finish_s16(int id, const int16_t *ref, const int16_t *pk, int32_t n) {
    int status = memcmp(ref, pk, (size_t)n * 2) != 0;
    for (int32_t i = n; i < n + GUARD; ++i) if ((uint16_t)ref[i] != 0x5A5A || (uint16_t)pk[i] != 0x5A5A) status = 2;
    int32_t lo = 32767, hi = -32768;
    for (int32_t i = 0; i < n; ++i) { if (pk[i] < lo) lo = pk[i]; if (pk[i] > hi) hi = pk[i]; }
    return report(id, status, fnv(pk, (size_t)n * 2), lo, hi);
}
"""


def harness(cases: list[Case], only=None) -> str:
    chosen = [c for c in cases if only is None or c.id in only]
    parts = [f"#define GUARD {GUARD}\n", HARNESS_HEAD]
    for c in chosen:
        parts.append(c.decls)
        parts.append(f"static int case_{c.id}(void) {{\n    {c.body}\n}}\n")
    calls = "".join(f"    fails += case_{c.id}();\n" for c in chosen)
    parts.append(f"int main(void) {{\n    int fails = 0;\n{calls}    put(\"dsp \");\n    put_int(dsp_cases);\n"
                 f"    put(\"\\ndone \");\n    put_int(fails);\n    put(\"\\n\");\n    return fails != 0;\n}}\n")
    return "".join(parts)


# the DSP variants' paths: blocks and their remainders, a run longer than TQ_WD_RUN (256) and runs over
# 4096, odd output depths, filter offsets, the extreme input offsets (binary's z = 128 - offset is 0 and
# 255); conv receptive fields read in place (1x1, 1xK, KxW filters, all taps inside), gathered (with
# padding taps, groups, dilations, odd depths) and too big to gather (tap runs, and tap by tap)
DSP_SHAPES = [
    ("fc", {"acc_d": 37, "out_d": 5}), ("fc", {"acc_d": 64, "out_d": 4}), ("fc", {"acc_d": 131, "out_d": 3}),
    ("fc", {"acc_d": 4133, "out_d": 3}), ("fc", {"acc_d": 96, "out_d": 1}), ("fc", {"acc_d": 600, "out_d": 2}),
    ("fc", {"acc_d": 45, "out_d": 3, "in_off": 128}), ("fc", {"acc_d": 77, "out_d": 4, "in_off": -127}),
    ("conv", {"fid": 40, "groups": 1, "dilation_width": 1}), ("conv", {"fid": 7, "groups": 1, "dilation_width": 1}),
    ("conv", {"fid": 33, "groups": 1, "dilation_width": 2}), ("conv", {"fid": 16, "groups": 2}),
    ("conv", {"fid": 37, "groups": 1, "geo": {"filter": (1, 1), "pad": 0}}),
    ("conv", {"fid": 64, "groups": 1, "geo": {"filter": (1, 1), "pad": 0}, "in_off": 128}),
    ("conv", {"fid": 5, "groups": 1, "geo": {"filter": (1, 3), "dilation": (1, 1), "pad": 0}}),
    ("conv", {"fid": 3, "groups": 1, "geo": {"filter": (2, 4), "dilation": (1, 1), "pad": 0, "size": (5, 4)}}),
    ("conv", {"fid": 1, "groups": 1, "geo": {"filter": (3, 3), "dilation": (1, 1), "pad": 1}, "in_off": -127}),
    ("conv", {"fid": 9, "groups": 3, "geo": {"filter": (3, 2), "pad": 1}}),
    ("conv", {"fid": 61, "groups": 1, "geo": {"filter": (3, 3), "dilation": (1, 1), "pad": 1}}),
    ("conv", {"fid": 61, "groups": 2, "geo": {"filter": (3, 3), "pad": 1}}),
]
DSP_FORMS = ("int4", "int2", "ternary", "binary")
# depthwise: whole groups of 4 channels and a tail of 1..3 (multiplier 1) or 2 (multiplier 2), 25 taps (the
# most the DSP variants hold), 30 taps and multiplier 3 (they take the portable kernels then)
DW_DSP_SHAPES = [
    {"filter": (3, 3), "channels": 16, "mult": 1}, {"filter": (3, 3), "channels": 7, "mult": 1},
    {"filter": (3, 3), "channels": 9, "mult": 2}, {"filter": (5, 5), "channels": 6, "mult": 1},
    {"filter": (1, 3), "channels": 5, "mult": 2}, {"filter": (6, 5), "channels": 4, "mult": 1},
    {"filter": (2, 2), "channels": 3, "mult": 3},
]
DW_DSP_FORMS = [("int4", False), ("int2", False), ("int3", False), ("ternary", False), ("binary", False),
                ("codebook:4", True), ("codebook:3", False)]


def dw_geometry(size, k, stride, pad, dilation=(1, 1)):
    """A depthwise geometry: input (h, w), filter (kh, kw), strides, padding before (pad after the same)."""
    geo = {}
    for i, axis in enumerate(("height", "width")):
        eff = dilation[i] * (k[i] - 1) + 1
        geo[f"input_{axis}"], geo[f"filter_{axis}"], geo[f"stride_{axis}"] = size[i], k[i], stride[i]
        geo[f"dilation_{axis}"], geo[f"pad_{axis}"] = dilation[i], pad[i]
        geo[f"output_{axis}"] = (size[i] + 2 * pad[i] - eff) // stride[i] + 1
    return geo


# tq_depthwise_conv_s8_ws_dsp's paths: KWS DS-CNN's 3x3 on 25x5 (stride 1 and 2, depth multiplier 2), columns
# of more than 8 nonzero taps (5x5), filters past its stack lists (7x7: the portable kernel), an image smaller
# than the dilated filter (every pixel on the border), dilation with stride
DW_SPARSE_SHAPES = [
    {"geo": dw_geometry((25, 5), (3, 3), (1, 1), (1, 1)), "channels": 64, "mult": 1},
    {"geo": dw_geometry((25, 5), (3, 3), (2, 2), (1, 1)), "channels": 24, "mult": 1},
    {"geo": dw_geometry((9, 6), (3, 3), (1, 1), (1, 1)), "channels": 8, "mult": 2},
    {"geo": dw_geometry((8, 7), (5, 5), (1, 1), (2, 2)), "channels": 8, "mult": 1},
    {"geo": dw_geometry((9, 9), (7, 7), (1, 1), (3, 3)), "channels": 4, "mult": 1},
    {"geo": dw_geometry((4, 3), (3, 3), (2, 1), (2, 2), (2, 2)), "channels": 12, "mult": 1},
    {"geo": dw_geometry((11, 10), (3, 2), (2, 3), (1, 0), (3, 2)), "channels": 4, "mult": 3},
    # requantizations off its bounded fast path: left shifts, and sums near the int32 limits (outputs saturate)
    {"geo": dw_geometry((25, 5), (3, 3), (1, 1), (1, 1)), "channels": 24, "mult": 1, "shift_up": 12},
    {"geo": dw_geometry((8, 7), (5, 5), (1, 1), (2, 2)), "channels": 8, "mult": 1, "shift_up": 9},
    {"geo": dw_geometry((6, 5), (3, 3), (1, 1), (1, 1)), "channels": 4, "mult": 1, "bias_add": 2**31 - 2**15},
]
DW_SPARSE_FORMS = [("sparse+int8", False), ("sparse2:4+int8", False), ("block4+int8", False), ("sparse+ternary", False),
                ("sparse+codebook:2", True), ("sparse1:4+int6", False), ("block3+binary", False), ("sparse1:2+int8", False)]


# the 16x8 and k-bit DSP variants' paths (tq_packed_lanes_dsp.h): planes and fields runs, their heads and
# tails, two rows and the odd last one; conv row runs, taps of odd depth, groups, horizontal dilation;
# depthwise groups of 8 channels and the remainder, depth multiplier 2 (the portable path)
LANE_SHAPES = [
    ("fc", {"acc_d": 37, "out_d": 5}), ("fc", {"acc_d": 131, "out_d": 3}), ("fc", {"acc_d": 64, "out_d": 1}),
    ("conv", {"fid": 40, "groups": 1, "dilation_width": 1}), ("conv", {"fid": 7, "groups": 1, "dilation_width": 1}),
    ("conv", {"fid": 33, "groups": 1, "dilation_width": 2}), ("conv", {"fid": 16, "groups": 2}),
    ("dw", {"channels": 8, "mult": 1}), ("dw", {"channels": 29, "mult": 1}), ("dw", {"channels": 13, "mult": 2}),
]
LANE_FORMS = {
    "s16": [("int4", False), ("int2", False), ("ternary", False), ("binary", False), ("int1", False), ("int3", False),
            ("int5", False), ("int7", False), ("codebook:3", False), ("codebook:4", True), ("codebook:1", True)],
    "s8": [("int1", False), ("int3", False), ("int5", False), ("int6", False), ("int7", False)],
}

# the sparse and codebook DSP variants (tq_*_packed_sparse_dsp.c, tq_codebook_packed_dsp.c): FC input chunks
# (bitmap 256 elements, 2:4 32 groups, an odd last one), row blocks of 32, a lone row; conv windows crossing
# the padding, horizontal dilation, groups, rows of more than the 256 nonzeros the stack list holds
SPARSE_DSP_SHAPES = [
    ("fc", {"acc_d": 64, "out_d": 4}), ("fc", {"acc_d": 132, "out_d": 35}), ("fc", {"acc_d": 520, "out_d": 3}),
    ("fc", {"acc_d": 36, "out_d": 1}),
    ("conv", {"fid": 40, "groups": 1, "dilation_width": 1}), ("conv", {"fid": 8, "groups": 1, "dilation_width": 2}),
    ("conv", {"fid": 16, "groups": 2}), ("conv", {"fid": 800, "groups": 1}),
]
SPARSE_DSP_FORMS = [("sparse+int8", False), ("sparse2:4+int8", False), ("codebook:4", False), ("codebook:4", True)]
NESTED_FORMS = ("top1", "top2", "top4", "top7")  # every op and activation, random shapes (after the others: their data stays)
# tq_conv_s8_wn_dsp / tq_depthwise_conv_s8_wn_dsp: the int8 DSP kernels' paths (conv row runs and taps, groups,
# dilation, odd depths; depthwise 4-channel groups and tails, multipliers 2 and 3 (the portable kernel), strides,
# padding, KWS's 25x5 maps), every K of NESTED_FORMS
NESTED_DSP_SHAPES = ([("conv", shape) for op, shape in DSP_SHAPES if op == "conv"]
                     + [("dw", shape) for shape in DW_DSP_SHAPES + DW_SPARSE_SHAPES])
# the _wn_dsp kernels' masked path ((w >> s) · 2^s, one AND a word) holds while n products cannot take the scaled
# sum out of int32 (tq_dsp_masked_fits): at input_offset 128 or -127 the worst product is 128 · 255, so n = 65793
# is the largest such sum (-2^31 + 128 with x = 127, offset 128, every weight -128 · 2^s), and at n = 65794 the
# kernels take the shift-and-sign-extend decode (conv, FC) or the portable kernel (depthwise). Products at the
# corners of their ranges: extreme = (x, parent byte). Small n at both input_offset ends too.
N_FITS = 65793
NESTED_BOUND_CASES = [
    ("fc", {"acc_d": N_FITS, "out_d": 2, "batches": 1, "in_off": 128, "extreme": (127, -128)}, "top4"),
    ("fc", {"acc_d": N_FITS + 1, "out_d": 2, "batches": 1, "in_off": 128, "extreme": (127, -128)}, "top4"),
    ("conv", {"fid": N_FITS, "out_d": 2, "groups": 1, "batches": 1, "geo": {"filter": (1, 1), "pad": 0, "size": (1, 1)},
              "in_off": -127, "extreme": (-128, -128)}, "top4"),
    ("conv", {"fid": N_FITS + 1, "out_d": 3, "groups": 1, "batches": 1,
              "geo": {"filter": (1, 1), "pad": 0, "size": (1, 1)}, "in_off": 128, "extreme": (127, -128)}, "top2"),
    ("dw", {"geo": dw_geometry((1, N_FITS + 1), (1, N_FITS + 1), (1, 1), (0, 0)), "channels": 4, "mult": 1,
            "batches": 1, "in_off": 128, "extreme": (127, -128)}, "top4"),
    ("fc", {"acc_d": 37, "out_d": 3, "in_off": 128, "extreme": (127, -128)}, "top7"),
    ("fc", {"acc_d": 38, "out_d": 3, "in_off": -127, "extreme": (-128, -128)}, "top1"),
    ("conv", {"fid": 33, "groups": 1, "geo": {"filter": (3, 3), "pad": 1}, "in_off": 128, "extreme": (127, -128)}, "top4"),
    ("conv", {"fid": 7, "groups": 1, "dilation_width": 2, "in_off": -127, "extreme": (-128, -128)}, "top1"),
    ("dw", {"geo": dw_geometry((25, 5), (3, 3), (1, 1), (1, 1)), "channels": 9, "mult": 1, "in_off": 128,
            "extreme": (127, -128)}, "top4"),
    ("dw", {"geo": dw_geometry((6, 5), (3, 3), (1, 1), (1, 1)), "channels": 8, "mult": 1, "in_off": -127,
            "extreme": (-128, -128)}, "top2"),
]


def all_cases(seed: int = 2026) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for op in OPS:
        for act in ("s8", "s16"):
            for encoding, per_channel in FORMS:
                cases.append(make_case(len(cases), op, act, encoding, per_channel, rng))
    for op, shape in DSP_SHAPES:
        for encoding in DSP_FORMS:
            cases.append(make_case(len(cases), op, "s8", encoding, False, rng, shape))
    for shapes, forms in ((DW_DSP_SHAPES, DW_DSP_FORMS), (DW_SPARSE_SHAPES, DW_SPARSE_FORMS)):
        for shape in shapes:
            for encoding, per_channel in forms:
                cases.append(make_case(len(cases), "dw", "s8", encoding, per_channel, rng, shape))
    for op, shape in LANE_SHAPES:
        for act, forms in LANE_FORMS.items():
            for encoding, per_channel in forms:
                cases.append(make_case(len(cases), op, act, encoding, per_channel, rng, shape))
    cases.append(make_case(len(cases), "fc", "s8", "int1", False, rng, {"acc_d": 4133, "out_d": 3}))  # > TQ_WL_RUN
    for op, shape in SPARSE_DSP_SHAPES:
        for encoding, per_channel in SPARSE_DSP_FORMS:
            cases.append(make_case(len(cases), op, "s8", encoding, per_channel, rng, shape))
    for op in OPS:
        for act in ("s8", "s16"):
            for encoding in NESTED_FORMS:
                cases.append(make_case(len(cases), op, act, encoding, False, rng))
    for op, shape in DSP_SHAPES:  # tq_fully_connected_s8_wn_dsp's blocks, remainders and input offsets
        if op == "fc":
            for encoding in ("top1", "top4"):
                cases.append(make_case(len(cases), op, "s8", encoding, False, rng, shape))
    for op, shape in NESTED_DSP_SHAPES:
        for encoding in NESTED_FORMS:
            cases.append(make_case(len(cases), op, "s8", encoding, False, rng, shape))
    for op, shape, encoding in NESTED_BOUND_CASES:
        cases.append(make_case(len(cases), op, "s8", encoding, False, rng, shape))
    return cases


def parse_lines(text: str) -> dict[int, tuple[int, int, int, int]]:
    out = {}
    for line in text.splitlines():
        if line.startswith("case "):
            cid, status, h, lo, hi = (int(v) for v in line.split()[1:])
            out[cid] = (status, h, lo, hi)
    return out


@pytest.fixture(scope="module")
def cases():
    return all_cases()


@pytest.fixture(scope="module")
def sources(cases, tmp_path_factory):
    d = tmp_path_factory.mktemp("packed")
    (d / "cases.c").write_text(harness(cases))
    return d


def check_results(cases, lines: dict, where: str):
    bad = [f"{c.label} (case {c.id}): status {lines[c.id][0]}" for c in cases if c.id in lines and lines[c.id][0]]
    missing = [c.label for c in cases if c.id not in lines]
    assert not bad and not missing, f"{where}: {bad[:10]} missing {missing[:5]}"


def cc(args, timeout=600):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr[-4000:]


@pytest.fixture(scope="module")
def host_library(tmp_path_factory) -> list[Path]:
    """The kernels, compiled once with the strict sanitizer flags, for every host harness of this module."""
    d = tmp_path_factory.mktemp("lib")
    objs = []
    for src in KERNEL_SOURCES:
        objs.append(d / (Path(src).stem + ".o"))
        cc(["cc", *STRICT, "-I", FIRMWARE / "include", "-c", FIRMWARE / "src" / src, "-o", objs[-1]])
    return objs


@pytest.fixture(scope="module")
def host_results(cases, sources, host_library):
    exe = sources / "cases_host"
    cc(["cc", *STRICT, "-I", FIRMWARE / "include", sources / "cases.c", *host_library, "-o", exe, "-lm"])
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600,
                         env={"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"})
    assert run.returncode == 0 and "runtime error" not in run.stderr, (run.stdout[-3000:] + run.stderr[-3000:])
    return parse_lines(run.stdout)


def test_packed_equals_int8_reference_on_host(cases, host_results):
    """Every op x activation x weight form, byte for byte, with ASan/UBSan and every kernel assert on."""
    check_results(cases, host_results, "host")
    assert len(cases) == (3 * 2 * len(FORMS) + len(DSP_FORMS) * len(DSP_SHAPES) + len(DW_DSP_SHAPES) * len(DW_DSP_FORMS)
                          + len(DW_SPARSE_SHAPES) * len(DW_SPARSE_FORMS) + len(SPARSE_DSP_FORMS) * len(SPARSE_DSP_SHAPES)
                          + len(LANE_SHAPES) * sum(map(len, LANE_FORMS.values())) + 1 + 3 * 2 * len(NESTED_FORMS)
                          + 2 * sum(op == "fc" for op, _ in DSP_SHAPES) + len(NESTED_DSP_SHAPES) * len(NESTED_FORMS)
                          + len(NESTED_BOUND_CASES))
    # not vacuous: outputs spread (no case saturated into one value), per-channel codebooks occur
    flat = [c.label for c in cases if c.outputs >= 4 and host_results[c.id][2] == host_results[c.id][3]]
    assert len(flat) <= len(cases) // 20, flat
    assert sum(c.per_channel_table for c in cases) >= 10


# ---- QEMU: the same cases on the Cortex-M4 and the Cortex-M3 -----------------------------------------

ARM_STARTUP = r"""
#include <stdint.h>
extern uint32_t __StackTop, __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
int main(void);
void Reset_Handler(void);

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
void put(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */
static void stop(int code) { /* SYS_EXIT_EXTENDED: QEMU exits with `code` */
    const uint32_t block[2] = {0x20026u, (uint32_t)code};
    semihost(0x20, block);
    for (;;) {}
}
void Fault_Handler(void) { put("*** FAULT\n"); stop(99); }
__attribute__((noipa)) void tq_region_begin(void) { __asm__ volatile("nop"); }
__attribute__((noipa)) void tq_region_end(void) { __asm__ volatile("nop; nop"); }

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))&__StackTop, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler};

void Reset_Handler(void) {
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: the FPU, in case GCC spills to it */
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    uint32_t *s = &__data_load__, *d = &__data_start__;
    while (d < &__data_end__) *d++ = *s++;
    for (d = &__bss_start__; d < &__bss_end__;) *d++ = 0;
    stop(main());
}
"""
LINKER_SCRIPT = """
MEMORY { CODE (rx) : ORIGIN = 0x00000000, LENGTH = 4M
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M }
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.isr_vector)) *(.text*) *(.rodata*) . = ALIGN(4); } > CODE
  .ARM.exidx : { *(.ARM.exidx*) } > CODE
  .data : ALIGN(4) { __data_start__ = .; *(.data*) . = ALIGN(4); __data_end__ = .; } > RAM AT > CODE
  __data_load__ = LOADADDR(.data);
  .bss (NOLOAD) : ALIGN(4) { __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; } > RAM
  __StackTop = ORIGIN(RAM) + LENGTH(RAM);
}
"""
CPU_FLAGS = {
    "mps2-an386": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "mps2-an385": ["-mcpu=cortex-m3", "-mfloat-abi=soft"],
}


def build_arm(directory: Path, source: Path, board: str, extra=(), opt="-O2") -> Path:
    (directory / "startup.c").write_text(ARM_STARTUP)
    (directory / "mps2.ld").write_text(LINKER_SCRIPT)
    elf = directory / f"{source.stem}-{board}.elf"
    args = ["arm-none-eabi-gcc", *CPU_FLAGS[board], "-mthumb", opt, "-std=c99", "-Wall", "-Wextra", "-Werror",
            "-ffunction-sections", "-fdata-sections", *extra, "-I", FIRMWARE / "include", "-nostartfiles",
            "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections", "-T", directory / "mps2.ld",
            directory / "startup.c", source, *(FIRMWARE / "src" / s for s in KERNEL_SOURCES), "-o", elf]
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]
    return elf


def run_qemu(board: str, elf: Path, extra=()) -> subprocess.CompletedProcess:
    return subprocess.run(["qemu-system-arm", "-M", board, "-nographic", "-monitor", "none", "-semihosting-config",
                           "enable=on,target=native", *extra, "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.firmware
@pytest.mark.slow
@pytest.mark.parametrize("board", list(CPU_FLAGS))
def test_packed_equals_int8_reference_on_qemu(board, cases, sources, host_results):
    """The same cases on the emulated CPU (no asserts, -O2, as firmware is built): packed = int8 reference,
    and both equal the host's outputs (the same hash per case)."""
    elf = build_arm(sources, sources / "cases.c", board)
    p = run_qemu(board, elf)
    text = p.stdout + p.stderr
    assert p.returncode == 0 and "done 0" in text, text[-3000:]
    lines = parse_lines(text)
    check_results(cases, lines, board)
    dsp = sum(c.dsp for c in cases) if board == "mps2-an386" else 0  # the M3 has no DSP extension
    assert f"dsp {dsp}\n" in text
    assert {k: v[1:] for k, v in lines.items()} == {k: v[1:] for k, v in host_results.items()}


# ---- hostile descriptors: TQ_ASSERT aborts -----------------------------------------------------------

def hostile_source(rng) -> str:
    """A valid int8 FC layer in three packed forms (codebook, int3, sparse+int4) and a depthwise sparse one;
    main(argv[1]) breaks one field of one descriptor, then calls the kernel."""
    fc_rows = make_rows("int3", False, 5, 11, 0, rng)
    cb_rows = make_rows("codebook:2", False, 5, 11, 0, rng)
    sp_rows = make_rows("sparse+int4", False, 5, 11, 0, rng)
    nm_rows = make_rows("sparse2:4+int8", False, 5, 12, 0, rng)
    text = (packed_decl("k3", encode(fc_rows, 0, "int3"), rng) + packed_decl("cb", encode(cb_rows, 0, "codebook:2"), rng)
            + packed_decl("sp", encode(sp_rows, 0, "sparse+int4"), rng)
            + packed_decl("nm", encode(nm_rows, 0, "sparse2:4+int8"), rng))
    parent = rng.integers(-128, 128, (5, 11)).astype(np.int8)
    text += packed_decl("tp", encode_top(parent >> 5, parent, 0, 3), rng)
    return text + r"""
static const int32_t mult[1] = {1 << 30}, shift[1] = {-4};
int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "valid";
    static int8_t in[12], out[5];
    tq_fully_connected_params p = {.batches = 1, .accum_depth = 11, .output_depth = 5, .act_min = -128,
                                   .act_max = 127, .multiplier = mult, .shift = shift};
    tq_packed_weights k3 = k3_pw, cb = cb_pw, sp = sp_pw, nm = nm_pw, tp = tp_pw;
    int32_t rs[6];
    memcpy(rs, sp_row_start, sizeof rs);
    sp.row_start = rs;
    uint8_t pos[sizeof nm_index];
    memcpy(pos, nm_index, sizeof pos);
    nm.index = pos;
    if (!strcmp(what, "valid")) {
        p.packed = &k3; tq_fully_connected_s8_wk(&p, in, out);
        p.packed = &cb; tq_fully_connected_s8_wc(&p, in, out);
        p.packed = &sp; tq_fully_connected_s8_ws(&p, in, out);
        p.packed = &tp; tq_fully_connected_s8_wn(&p, in, out);
        p.accum_depth = 12; p.packed = &nm; tq_fully_connected_s8_ws(&p, in, out);
        return 0;
    }
    if (!strcmp(what, "top shift 0")) { tp.value_shift = 0; p.packed = &tp; tq_fully_connected_s8_wn(&p, in, out); }
    if (!strcmp(what, "top shift 8")) { tp.value_shift = 8; p.packed = &tp; tq_fully_connected_s8_wn(&p, in, out); }
    if (!strcmp(what, "top bits 4")) { tp.bits = 4; tp.row_bytes = 6; p.packed = &tp; tq_fully_connected_s8_wn(&p, in, out); }
    if (!strcmp(what, "shift on int3")) { k3.value_shift = 2; p.packed = &k3; tq_fully_connected_s8_wk(&p, in, out); }
    if (!strcmp(what, "codebook NULL table")) { cb.table = NULL; p.packed = &cb; tq_fully_connected_s8_wc(&p, in, out); }
    if (!strcmp(what, "bits 0")) { k3.bits = 0; p.packed = &k3; tq_fully_connected_s8_wk(&p, in, out); }
    if (!strcmp(what, "bits 9")) { k3.bits = 9; p.packed = &k3; tq_fully_connected_s8_wk(&p, in, out); }
    if (!strcmp(what, "codebook bits 8")) { cb.bits = 8; p.packed = &cb; tq_fully_connected_s8_wc(&p, in, out); }
    if (!strcmp(what, "row_start backwards")) {
        rs[2] = rs[1] - 1; p.packed = &sp; tq_fully_connected_s8_ws(&p, in, out);
    }
    if (!strcmp(what, "row too short")) { /* the first row with codes loses them, the others keep their sizes */
        int32_t r = 0;
        while (rs[r + 1] == rs[r]) ++r;
        const int32_t cut = rs[r + 1] - rs[r];
        for (int32_t j = r + 1; j < 6; ++j) rs[j] -= cut;
        p.packed = &sp; tq_fully_connected_s8_ws(&p, in, out);
    }
    if (!strcmp(what, "no row_start")) { sp.row_start = NULL; p.packed = &sp; tq_fully_connected_s8_ws(&p, in, out); }
    if (!strcmp(what, "rows do not match the op")) { p.output_depth = 4; p.packed = &k3; tq_fully_connected_s8_wk(&p, in, out); }
    if (!strcmp(what, "sparse record to a dense kernel")) { p.packed = &sp; tq_fully_connected_s8_w4(&p, in, out); }
    if (!strcmp(what, "N:M positions descending")) {
        pos[0] = (uint8_t)((pos[0] & 0xF0u) | ((pos[0] & 0x3u) << 2) | ((pos[0] >> 2) & 0x3u));
        p.accum_depth = 12; p.packed = &nm; tq_fully_connected_s8_ws(&p, in, out);
    }
    if (!strcmp(what, "no packed weights")) { p.packed = NULL; tq_fully_connected_s8_wk(&p, in, out); }
    return 0; /* unreachable when the assert fires */
}
"""


HOSTILE = ["codebook NULL table", "bits 0", "bits 9", "codebook bits 8", "row_start backwards", "row too short",
           "no row_start", "rows do not match the op", "sparse record to a dense kernel", "N:M positions descending",
           "no packed weights", "top shift 0", "top shift 8", "top bits 4", "shift on int3"]


@pytest.fixture(scope="module")
def hostile_exe(tmp_path_factory, host_library):
    d = tmp_path_factory.mktemp("hostile")
    src = d / "hostile.c"
    src.write_text("#include <string.h>\n#include \"tinyq/tq_kernels.h\"\n" + hostile_source(np.random.default_rng(7)))
    exe = d / "hostile"
    cc(["cc", *STRICT, "-I", FIRMWARE / "include", src, *host_library, "-o", exe])
    return exe


def run_hostile(exe: Path, what: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), what], capture_output=True, text=True, timeout=60,
                          env={"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"})


def test_valid_descriptors_pass_the_asserts(hostile_exe):
    p = run_hostile(hostile_exe, "valid")
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("what", HOSTILE)
def test_hostile_descriptor_trips_assert(hostile_exe, what):
    p = run_hostile(hostile_exe, what)
    assert p.returncode != 0 and "Assertion" in p.stderr, (p.returncode, p.stderr[-2000:])
