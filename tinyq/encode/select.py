"""Which encoding a weight tensor gets: every exact candidate, then the smallest one fast enough.

Kernel cost model: KERNEL_COST[isa][family][op] is the packed kernel's instructions relative to the int8
kernel of the same op on the same CPU (1.0), from `tinyq bench` instruction counts. isa "dsp" (re-measured Dec
2026, tinyq issue 13): against the PREPARED int8 DSP kernels (tinyq/specialize) on the Cortex-M4 (mps2-an386),
per layer: MLPerf KWS for CONV_2D (the 64x64 pointwise layers, 686,231 int8 instructions each) and
DEPTHWISE_CONV_2D (the 3x3 layers, 288,198), MLPerf AD for FULLY_CONNECTED (Σ packed / Σ int8 over the layers
that took the family). Each layer's weights were rewritten to one family's levels (scripts/rewrite_weights.py:
int2, int3 for intk, ternary, binary, codebook16 for codebook4 and codebook:5 for codebook, sparse75, 2:4;
block4 by zeroing 75 % of the 4-blocks; "+v" forms with int4 values) and forced to its encoding (--layer).
Where a rewrite made the int8 preparer decline, the int8 count is the prepared kernel's on a same-shape layer.
int4 has prepared kernels of its own (tinyq/specialize/int4_dsp.py). "portable": against the int8 reference C
on the Cortex-M3 (mps2-an385; benchmarks/encoded_bench.py: AD for FULLY_CONNECTED, KWS for CONV_2D and
DEPTHWISE_CONV_2D). Families (family()): int4, int2, intk (the other widths), ternary, binary, codebook4
(codebook:4 with one table, which has a fast DSP FULLY_CONNECTED) and codebook (the others); a sparse
layout (sparse, nm, block) with int8 values, or "<layout>+v" with other value encodings (the DSP
FULLY_CONNECTED fast paths take int8 values only). 16x8 layers use the same figures.

Sparse figures are at 75 % zeros; a denser tensor scales them by its density / 0.25 (a sparse kernel's
time follows its stored values), a sparser one keeps them (conservative).

choose() keeps the candidates whose cost <= (1 + SPEED_MARGIN) x int8's (max_cost overrides that bound:
`--weights smallest` passes infinity), then takes the smallest by nbytes (ties: the cheaper kernel, then
the order of candidates()). int8 (the plain tensor, cost 1.0) is always a candidate, so it wins when
nothing small enough is fast enough.
"""
from __future__ import annotations

import numpy as np

from tinyq.encode.analyze import analyze, nm_compatible
from tinyq.encode.codec import encode
from tinyq.encode.formats import EncodedWeights
from tinyq.encode.sparse import build, kept_blocks, layout_of
from tinyq.encode.spec import EncodingError, parse
from tinyq.specialize.common_mve import helium_shifts

SPEED_MARGIN = 0.15  # the goal for int4 / int2 / codebook kernels against int8
FC, CONV, DW = "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"
KERNEL_COST = {
    "dsp": {
        # int4: the prepared kernels of tinyq/specialize/int4_dsp.py (Dec 2026, MLPerf KWS / AD rewritten to int4
        # levels on mps2-an386: CONV_2D 1.025-1.031, FULLY_CONNECTED 0.97-1.12, 0.98 on the large layers); DW: the
        # prepared tq_depthwise_conv3x3_s8_int4_dsp, 367,178-370,419 instructions vs 288,198 for the prepared int8
        # kernel on each KWS depthwise layer (tinyq bench, mps2-an386, Dec 2026): 1.27-1.29 (was 3.2, packed)
        "int4": {FC: 1.0, CONV: 1.03, DW: 1.28},
        # int2, ternary, binary FC and CONV: the prepared 2-bit kernels of tinyq/specialize/lowbit_dsp.py (Dec 2026,
        # benchmarks/lowbit_ratio.py on mps2-an386: MLPerf KWS / AD rewritten to each form's levels, Σ form / Σ prepared
        # int8 over the layers, int8 = the same shapes rewritten to ternary levels, which the int8 preparers all take):
        # CONV_2D 1.18 (KWS, 2,977,079 int8 instructions; 1.05 in estimated cycles; was 2.92 int2 / 3.07 ternary,
        # packed), FULLY_CONNECTED 1.05 (AD, 393,782; 0.95 in cycles; was 1.50 / 1.64), 1.23 on KWS's small FC; the
        # same kernels for all three forms, whose instruction counts do not depend on the weights (binary measured
        # alike). DW: the prepared tq_depthwise_conv3x3_s8_int2_dsp of the same file (Dec 2026,
        # benchmarks/lowbit_ratio.py on mps2-an386, the same method: MLPerf KWS's 4 depthwise layers, 1,017,988 int8
        # instructions): 1.19 for int2, ternary and binary alike (1.09 in estimated cycles; was 3.58 / 3.62 / 3.61
        # there, packed; 3.14 / 3.2 / 3.18 per layer against 288,198); MLPerf VWW's 13 (3,025,263): 1.18 (1.08);
        # the int4 one measures 1.42 (1.25) on KWS there
        "int2": {FC: 1.05, CONV: 1.18, DW: 1.19}, "ternary": {FC: 1.05, CONV: 1.18, DW: 1.19},
        "binary": {FC: 1.05, CONV: 1.18, DW: 1.19},
        # the others: the packed kernels against the prepared int8 kernels (Dec 2026, mps2-an386, tinyq bench per
        # layer: KWS pointwise CONV_2D 686,231 and depthwise 288,198 int8 instructions, AD FULLY_CONNECTED; see the
        # docstring)
        "intk": {FC: 2.66, CONV: 4.3, DW: 3.21}, "codebook4": {FC: 1.87, CONV: 2.97, DW: 3.21},
        "codebook": {FC: 5.68, CONV: 3.47, DW: 3.22},
        "sparse": {FC: 1.65, CONV: 1.48, DW: 0.86}, "nm": {FC: 0.8, CONV: 1.12, DW: 0.63},
        "block": {FC: 8.34, CONV: 1.5, DW: 0.85},
        "sparse+v": {FC: 5.87, CONV: 1.5, DW: 0.88}, "nm+v": {FC: 10.7, CONV: 1.13, DW: 0.66},
        "block+v": {FC: 5.67, CONV: 1.49, DW: 0.89},
    },
    "portable": {
        "int4": {FC: 0.7, CONV: 1.1, DW: 1.1}, "int2": {FC: 0.65, CONV: 1.05, DW: 1.05},
        "intk": {FC: 0.95, CONV: 1.2, DW: 1.2}, "ternary": {FC: 0.7, CONV: 1.05, DW: 1.05},
        "binary": {FC: 0.8, CONV: 1.1, DW: 1.1}, "codebook4": {FC: 1.05, CONV: 1.25, DW: 1.25},
        "codebook": {FC: 1.05, CONV: 1.25, DW: 1.25},
        "sparse": {FC: 1.15, CONV: 1.3, DW: 1.3}, "nm": {FC: 3.7, CONV: 2.6, DW: 2.6},
        "block": {FC: 1.3, CONV: 1.4, DW: 1.4},
        "sparse+v": {FC: 1.3, CONV: 1.4, DW: 1.4}, "nm+v": {FC: 3.7, CONV: 2.6, DW: 2.6},
        "block+v": {FC: 1.4, CONV: 1.5, DW: 1.5},
    },
}
# Helium (Cortex-M55): the packed kernels are the DSP ones, while int8 runs the prepared Helium kernels
# (tinyq/specialize). The prepared int8 DSP kernels over the prepared Helium ones (tinyq bench, Dec 2026, int8 builds
# on mps2-an386 and mps3-an547): KWS pointwise CONV_2D 686,231 / 185,536 = 3.7, KWS depthwise 288,198 / 193,639 =
# 1.49, MLPerf AD FULLY_CONNECTED (the prepared layers) 369,898 / 112,650 = 3.28. The packed kernels retire the
# same instructions on both cores (KWS on mps3-an547, int2/intk/ternary/binary: dsp figure x this within 2 %), so
# one multiplier per op describes them (was 11x / 6x / 5.7x, against the int8 DSP kernels before tinyq/specialize)
MVE_INT8_SPEEDUP = {FC: 3.28, CONV: 3.7, DW: 1.49}
KERNEL_COST["mve_packed"] = {fam: {op: c * MVE_INT8_SPEEDUP[op] for op, c in ops.items()}
                             for fam, ops in KERNEL_COST["dsp"].items()}
# int4 and the 2-bit forms have Helium kernels of their own (tinyq/specialize/int4_mve.py, lowbit_mve.py,
# depthwise_int4_mve.py, depthwise_lowbit_mve.py), against the prepared int8 Helium kernels on the same layers
# (tinyq bench, mps3-an547, Dec 2026, MLPerf models rewritten to each form's levels, --patch off): int4 CONV_2D
# 1.05-1.12 (KWS 1x1 1.123), FULLY_CONNECTED 1.03-1.08 (AD; 1.15-1.18 on the tiny heads), DEPTHWISE_CONV_2D
# 1.001-1.016 (KWS, VWW); ternary / binary / int2 (lowbit_mve's FIELDS decode where it pays) CONV_2D 1.06-1.24
# (KWS 1.19, IC 1.18, VWW's deep 1x1 1.06-1.19, its shallow ones 1.24), FULLY_CONNECTED 1.03-1.09 (AD's deep
# layers; 1.22-1.26 on the tiny heads), DEPTHWISE_CONV_2D 1.02-1.03 (KWS, VWW)
KERNEL_COST["mve"] = {**KERNEL_COST["mve_packed"], "int4": {FC: 1.08, CONV: 1.12, DW: 1.02},
                      **{fam: {FC: 1.1, CONV: 1.17, DW: 1.03} for fam in ("int2", "ternary", "binary")}}


def call_isa(call, isa: str) -> str:
    """The cost table for one call on a CPU of kind `isa`. On the M55 ("mve"), Helium takes a call only with int8
    activations, right shifts it does (common_mve.helium_shifts) and depth multiplier 1; otherwise its int8 and
    its packed forms both run the DSP kernels ("dsp" figures), and 16x8 calls' packed forms run DSP packed
    kernels against the Helium 16x8 ones ("mve_packed")."""
    if isa != "mve":
        return isa
    if not call.kernel.startswith(("tq_conv_s8", "tq_depthwise_conv_s8", "tq_fully_connected_s8")):
        return "mve_packed"
    helium = helium_shifts(call.shift) and getattr(call, "depth_multiplier", 1) == 1
    return "mve" if helium else "dsp"
SPARSE_REFERENCE_DENSITY = 0.25  # the sparse figures are at 75 % zeros
# A sparse CONV_2D kernel decodes each channel's row once per call, then walks it once per output pixel
# (firmware/src/tq_conv_packed_sparse_dsp.c): the decode weighs as much as about SPARSE_DECODE_PIXELS pixels'
# walks, so a layer of few pixels costs more than the figures above, measured on the 125 pixels of KWS. Fitted on
# MLPerf VWW's sparse layers against the prepared int8 kernels (tinyq bench, mps2-an386, Dec 2026): 36 pixels
# 1.28x (sparse1:2) and 0.92x (sparse2:8), 9 pixels 3.41x (sparse2:4) and 3.55x (sparse2:4+codebook:5).
SPARSE_DECODE_PIXELS = 20
SPARSE_REFERENCE_PIXELS = 125
NM_PATTERNS = ((1, 2), (1, 4), (2, 4), (1, 8), (2, 8), (4, 8))
BLOCK_SIZES = (2, 4, 8, 16)


def family(w: EncodedWeights) -> str:
    """The cost family of an encoded tensor (KERNEL_COST's middle key); "int8" for the plain tensor."""
    enc = parse(w.encoding)
    if enc.form != "dense":
        return enc.form if enc.value == "int8" else f"{enc.form}+v"
    if enc.kind == "int":
        return {8: "int8", 4: "int4", 2: "int2"}.get(enc.bits, "intk")
    if enc.kind == "codebook":
        return "codebook4" if enc.bits == 4 and w.table is not None and w.table.ndim == 1 else "codebook"
    return enc.kind


def kernel_cost(w: EncodedWeights, op: str = FC, isa: str = "portable", density: float = 1.0,
                pixels: int | None = None) -> float:
    """Modelled kernel time relative to int8 (1.0) for `op` on a CPU of kind `isa` ("mve", "mve_packed", "dsp" or
    "portable"; call_isa picks it per call);
    `density`: the tensor's fraction of nonzeros (scales the sparse figures, see above); `pixels`: a CONV_2D's
    output pixels per call, when known (a sparse conv of few pixels pays its per-call decode, see above)."""
    name = family(w)
    if name == "int8":
        return 1.0
    cost = KERNEL_COST[isa][name][op]
    if parse(w.encoding).form != "dense":
        cost *= max(1.0, density / SPARSE_REFERENCE_DENSITY)
        if op == CONV and isa != "portable" and pixels:
            cost *= max(1.0, (1 + SPARSE_DECODE_PIXELS / pixels) / (1 + SPARSE_DECODE_PIXELS / SPARSE_REFERENCE_PIXELS))
    return cost


def _value_names(stats, sparse: bool) -> list[str]:
    """Dense value encodings worth trying (larger int<k> and codebook:<b> are never smaller)."""
    names = ["int8"]
    if stats.int_bits < 8:
        names.append(f"int{stats.int_bits}")
    if stats.ternary_channel:
        names.append("ternary")
    if stats.binary_channel or (sparse and stats.ternary_channel):
        names.append("binary")  # the nonzeros of a ternary tensor are binary
    bits = {stats.codebook_bits_tensor, stats.codebook_bits_channel}
    if sparse:  # zeros may not be stored: one level fewer
        bits |= {max(1, b - 1) for b in bits}
    names += [f"codebook:{b}" for b in sorted(bits) if b <= 7]
    return names


def candidates(rows: np.ndarray, channel_axis: int) -> list[EncodedWeights]:
    """Every exact encoding among: int8; the smallest int<k>; ternary; binary; codebook:<b> at the smallest b
    (per tensor and per channel); and, when the tensor has zeros, sparse+E, sparseN:M+E (NM_PATTERNS, when
    compatible) and blockB+E (BLOCK_SIZES, when a block is dropped) over those value encodings."""
    rows = np.ascontiguousarray(rows)
    stats = analyze(rows, channel_axis)
    out = []
    for name in _value_names(stats, sparse=False):
        _try(out, lambda: encode(rows, channel_axis, name))
    if not stats.zeros:
        return out
    wrappers = ["sparse"]
    wrappers += [f"sparse{n}:{m}" for n, m in NM_PATTERNS if nm_compatible(rows, n, m)]
    wrappers += [f"block{b}" for b in BLOCK_SIZES if not kept_blocks(rows, b).all()]
    values = _value_names(stats, sparse=True)
    for wrapper in wrappers:
        layout = layout_of(rows, channel_axis, parse(wrapper))  # shared by its value encodings
        for v in values:
            _try(out, lambda: build(rows, channel_axis, parse(f"{wrapper}+{v}"), layout))
    return out


def _try(out: list, make) -> None:
    try:
        out.append(make())
    except EncodingError:
        pass  # not exact for this tensor


def choose(rows: np.ndarray, channel_axis: int, max_cost: float | None = None, op: str = FC,
           isa: str = "portable", pixels: int | None = None) -> EncodedWeights:
    """The smallest exact encoding whose modelled kernel cost (for `op` on `isa`; `pixels`: see kernel_cost) is
    within SPEED_MARGIN of int8's (or at most max_cost)."""
    limit = (1.0 + SPEED_MARGIN if max_cost is None else max_cost) + 1e-12
    density = float(np.count_nonzero(rows)) / max(1, rows.size)
    found = sorted(enumerate(candidates(rows, channel_axis)), key=lambda kw: (kw[1].nbytes, kw[0]))
    for size in dict.fromkeys(w.nbytes for _, w in found):  # ascending sizes; costs only as far as needed
        same = [(kernel_cost(w, op, isa, density, pixels), k, w) for k, w in found if w.nbytes == size]
        allowed = [t for t in same if t[0] <= limit]
        if allowed:
            return min(allowed, key=lambda t: t[:2])[2]
    raise AssertionError("int8 is always a candidate")  # unreachable
