"""Which encoding a weight tensor gets: every exact candidate, then the smallest one fast enough.

Kernel cost model (a placeholder the speed work will calibrate): KERNEL_COST is the relative cost per
*stored* value of each family against the int8 kernel's cost per weight. A candidate's cost is
KERNEL_COST[family] × stored values / (R·L): dense forms visit every weight (1.0 each, as int8); sparse
forms cost 2.0 per stored value (index decoding, gathered inputs), so they break even at 50 % zeros.

choose() keeps the candidates whose cost ≤ (1 + SPEED_MARGIN) × int8's, then takes the smallest by
nbytes (ties: the cheaper kernel, then the order of candidates()). int8 (the plain tensor) is always a
candidate, so it wins when nothing is smaller. With SPEED_MARGIN = 0, sparse forms are chosen only when
they store at most half the weights (sparsity ≥ 50 %).
"""
from __future__ import annotations

import numpy as np

from tinyq.encode.analyze import analyze, nm_compatible
from tinyq.encode.codec import encode
from tinyq.encode.formats import EncodedWeights
from tinyq.encode.sparse import build, kept_blocks, layout_of
from tinyq.encode.spec import EncodingError, parse

SPEED_MARGIN = 0.0
KERNEL_COST = {"int": 1.0, "ternary": 1.0, "binary": 1.0, "codebook": 1.0, "sparse": 2.0, "nm": 2.0, "block": 2.0}
NM_PATTERNS = ((1, 2), (1, 4), (2, 4), (1, 8), (2, 8), (4, 8))
BLOCK_SIZES = (2, 4, 8, 16)


def kernel_cost(w: EncodedWeights) -> float:
    """Modelled kernel time relative to int8 (1.0)."""
    enc = parse(w.encoding)
    if enc.form == "dense":
        return KERNEL_COST[enc.kind]
    total = w.rows * w.length
    return KERNEL_COST[enc.form] * (w.stored_values / total if total else 0.0)


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


def choose(rows: np.ndarray, channel_axis: int) -> EncodedWeights:
    """The smallest exact encoding whose modelled kernel cost is within SPEED_MARGIN of int8's."""
    limit = 1.0 + SPEED_MARGIN + 1e-12
    found = sorted(enumerate(candidates(rows, channel_axis)), key=lambda kw: (kw[1].nbytes, kw[0]))
    for size in dict.fromkeys(w.nbytes for _, w in found):  # ascending sizes; costs only as far as needed
        same = [(kernel_cost(w), k, w) for k, w in found if w.nbytes == size]
        allowed = [t for t in same if t[0] <= limit]
        if allowed:
            return min(allowed, key=lambda t: t[:2])[2]
    raise AssertionError("int8 is always a candidate")  # unreachable
