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

from tinyq.encode.analyze import analyze
from tinyq.encode.codec import encode
from tinyq.encode.formats import EncodedWeights
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
    (per tensor and per channel); and, when the tensor has zeros, sparse+E, sparseN:M+E (NM_PATTERNS) and
    blockB+E (BLOCK_SIZES, when a block is dropped) over those value encodings."""
    rows = np.ascontiguousarray(rows)
    stats = analyze(rows, channel_axis)
    names = list(_value_names(stats, sparse=False))
    if stats.zeros:
        values = _value_names(stats, sparse=True)
        wrappers = ["sparse"]
        wrappers += [f"sparse{n}:{m}" for n, m in NM_PATTERNS if _nm_ok(rows, n, m)]
        wrappers += [f"block{b}" for b in BLOCK_SIZES if _block_drops(rows, b)]
        names += [f"{w}+{v}" for w in wrappers for v in values]
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(encode(rows, channel_axis, name))
        except EncodingError:
            pass  # not exact for this tensor
    return out


def _nm_ok(rows, n, m) -> bool:
    from tinyq.encode.analyze import nm_compatible

    return nm_compatible(rows, n, m)


def _block_drops(rows: np.ndarray, b: int) -> bool:
    r, length = rows.shape
    nb = -(-length // b)
    padded = np.zeros((r, nb * b), bool)
    padded[:, :length] = rows != 0
    return bool((~padded.reshape(r, nb, b).any(axis=2)).any())


def choose(rows: np.ndarray, channel_axis: int) -> EncodedWeights:
    """The smallest exact encoding whose modelled kernel cost is within SPEED_MARGIN of int8's."""
    limit = 1.0 + SPEED_MARGIN
    allowed = [(w.nbytes, kernel_cost(w), k, w) for k, w in enumerate(candidates(rows, channel_axis))]
    allowed = [t for t in allowed if t[1] <= limit + 1e-12]
    return min(allowed, key=lambda t: t[:3])[3]
