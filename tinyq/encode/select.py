"""Which encoding a weight tensor gets: every exact candidate, then the smallest one fast enough.

Kernel cost model: KERNEL_COST[isa][family][op] is the packed kernel's instructions relative to the int8
kernel of the same op on the same CPU (1.0), measured with benchmarks/encoded_bench.py (`tinyq bench`,
exact instruction counts) on the MLPerf KWS and AD models rewritten to each form: isa "dsp" on the
Cortex-M4 (mps2-an386) against the int8 DSP kernels, "portable" on the Cortex-M3 (mps2-an385) against the
int8 reference C. A family is int4, int2, intk (other widths), ternary, binary, codebook, or the sparse
layout (sparse, nm, block) whatever its value encoding. Where no figure was measured for an op, the
family's FULLY_CONNECTED figure stands in.

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
        "int4": {FC: 3.0, CONV: 3.0, DW: 3.0}, "int2": {FC: 3.0}, "intk": {FC: 3.0}, "ternary": {FC: 3.0},
        "binary": {FC: 3.0}, "codebook": {FC: 3.0}, "sparse": {FC: 5.0}, "nm": {FC: 5.0}, "block": {FC: 5.0},
    },
    "portable": {
        "int4": {FC: 3.0}, "int2": {FC: 3.0}, "intk": {FC: 3.0}, "ternary": {FC: 3.0}, "binary": {FC: 3.0},
        "codebook": {FC: 3.0}, "sparse": {FC: 5.0}, "nm": {FC: 5.0}, "block": {FC: 5.0},
    },
}
NM_PATTERNS = ((1, 2), (1, 4), (2, 4), (1, 8), (2, 8), (4, 8))
BLOCK_SIZES = (2, 4, 8, 16)


def family(encoding: str) -> str:
    """The cost family of an encoding name (KERNEL_COST's middle key); "int8" for the plain tensor."""
    enc = parse(encoding)
    if enc.form != "dense":
        return enc.form
    if enc.kind == "int":
        return {8: "int8", 4: "int4", 2: "int2"}.get(enc.bits, "intk")
    return enc.kind


def kernel_cost(w: EncodedWeights, op: str = FC, isa: str = "portable") -> float:
    """Modelled kernel time relative to int8 (1.0) for `op` on a CPU of kind `isa` ("dsp" or "portable")."""
    name = family(w.encoding)
    if name == "int8":
        return 1.0
    costs = KERNEL_COST[isa][name]
    return costs.get(op, costs[FC])


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
    found = sorted(enumerate(candidates(rows, channel_axis)), key=lambda kw: (kw[1].nbytes, kw[0]))
    for size in dict.fromkeys(w.nbytes for _, w in found):  # ascending sizes; costs only as far as needed
        same = [(kernel_cost(w, op, isa), k, w) for k, w in found if w.nbytes == size]
        allowed = [t for t in same if t[0] <= limit]
        if allowed:
            return min(allowed, key=lambda t: t[:2])[2]
    raise AssertionError("int8 is always a candidate")  # unreachable
