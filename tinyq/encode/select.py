"""Which encoding a weight tensor gets: every exact candidate, then the smallest one fast enough.

Kernel cost model: KERNEL_COST[isa][family][op] is the packed kernel's instructions relative to the int8
kernel of the same op on the same CPU (1.0), from `tinyq bench` instruction counts (Dec 2026): isa "dsp"
against the int8 DSP kernels on the Cortex-M4 (mps2-an386; kernel-level runs on the MLPerf KWS and AD
shapes, and benchmarks/encoded_bench.py on the rewritten models), "portable" against the int8 reference C
on the Cortex-M3 (mps2-an385; the same bench: AD for FULLY_CONNECTED, KWS for CONV_2D and
DEPTHWISE_CONV_2D). Families (family()): int4, int2, intk (the other widths), ternary, binary, codebook4
(codebook:4 with one table, which has a fast DSP FULLY_CONNECTED) and codebook (the others); a sparse
layout (sparse, nm, block) with int8 values, or "<layout>+v" with other value encodings (the DSP
FULLY_CONNECTED fast paths take int8 values only). 16x8 layers use the same figures: their packed DSP
kernels measure 0.3-0.9x the portable 16x8 int8 kernel, so the figures are conservative there.

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

SPEED_MARGIN = 0.15  # the goal for int4 / int2 / codebook kernels against int8
FC, CONV, DW = "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"
KERNEL_COST = {
    "dsp": {
        # int4: the prepared kernels of tinyq/specialize/int4_dsp.py (Dec 2026, MLPerf KWS / AD rewritten to int4
        # levels on mps2-an386: CONV_2D 1.025-1.031, FULLY_CONNECTED 0.97-1.12, 0.98 on the large layers); DW: the
        # prepared tq_depthwise_conv3x3_s8_int4_dsp, 367,178-370,419 instructions vs 288,198 for the prepared int8
        # kernel on each KWS depthwise layer (tinyq bench, mps2-an386, Dec 2026): 1.27-1.29 (was 3.2, packed)
        "int4": {FC: 1.0, CONV: 1.03, DW: 1.28}, "int2": {FC: 0.9, CONV: 0.85, DW: 0.8},
        "intk": {FC: 1.5, CONV: 1.5, DW: 0.8}, "ternary": {FC: 0.95, CONV: 0.9, DW: 0.8},
        "binary": {FC: 0.75, CONV: 0.75, DW: 0.8}, "codebook4": {FC: 1.1, CONV: 1.0, DW: 0.8},
        "codebook": {FC: 3.0, CONV: 1.0, DW: 0.8},
        "sparse": {FC: 0.95, CONV: 0.55, DW: 0.3}, "nm": {FC: 0.95, CONV: 0.75, DW: 0.45},
        "block": {FC: 4.0, CONV: 0.6, DW: 0.3},
        "sparse+v": {FC: 4.0, CONV: 0.6, DW: 0.3}, "nm+v": {FC: 6.0, CONV: 0.8, DW: 0.45},
        "block+v": {FC: 4.0, CONV: 0.6, DW: 0.3},
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
# (tinyq/specialize), measured 11x (CONV_2D, MLPerf KWS pointwise), 6x (DEPTHWISE_CONV_2D) and 5.7x
# (FULLY_CONNECTED, MLPerf AD) fewer instructions than the int8 DSP kernels these figures are relative to
MVE_INT8_SPEEDUP = {FC: 5.7, CONV: 11.0, DW: 6.0}
KERNEL_COST["mve"] = {fam: {op: c * MVE_INT8_SPEEDUP[op] for op, c in ops.items()}
                      for fam, ops in KERNEL_COST["dsp"].items()}
SPARSE_REFERENCE_DENSITY = 0.25  # the sparse figures are at 75 % zeros
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


def kernel_cost(w: EncodedWeights, op: str = FC, isa: str = "portable", density: float = 1.0) -> float:
    """Modelled kernel time relative to int8 (1.0) for `op` on a CPU of kind `isa` ("mve", "dsp" or "portable");
    `density`: the tensor's fraction of nonzeros (scales the sparse figures, see above)."""
    name = family(w)
    if name == "int8":
        return 1.0
    cost = KERNEL_COST[isa][name][op]
    if parse(w.encoding).form != "dense":
        cost *= max(1.0, density / SPARSE_REFERENCE_DENSITY)
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
           isa: str = "portable") -> EncodedWeights:
    """The smallest exact encoding whose modelled kernel cost (for `op` on `isa`) is within SPEED_MARGIN of
    int8's (or at most max_cost)."""
    limit = (1.0 + SPEED_MARGIN if max_cost is None else max_cost) + 1e-12
    density = float(np.count_nonzero(rows)) / max(1, rows.size)
    found = sorted(enumerate(candidates(rows, channel_axis)), key=lambda kw: (kw[1].nbytes, kw[0]))
    for size in dict.fromkeys(w.nbytes for _, w in found):  # ascending sizes; costs only as far as needed
        same = [(kernel_cost(w, op, isa, density), k, w) for k, w in found if w.nbytes == size]
        allowed = [t for t in same if t[0] <= limit]
        if allowed:
            return min(allowed, key=lambda t: t[:2])[2]
    raise AssertionError("int8 is always a candidate")  # unreachable
