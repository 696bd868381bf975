"""Nested weights (`topK`): a lower precision level's tensor read from a higher level's int8 bytes.

When a child level's weights are exactly the top K bits of the parent level's int8 weights
(child = parent >> (8 - K), an arithmetic shift), the image stores the parent's bytes once and the child's
kernel decodes value = (int8)byte >> (8 - K) in registers (docs/weight_encodings.md, "Nested"). As every
encoding, this is storage: the child's `_wn` kernel computes the int8 kernel's integers on the child's values.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyq.encode.apply import ENCODABLE, PackedWeights, _as_tflite_shape
from tinyq.encode.formats import EncodedWeights, rows_view
from tinyq.encode.spec import EncodingError
from tinyq.errors import UnsupportedError


def encode_top(child_rows: np.ndarray, parent_rows: np.ndarray, axis: int, bits: int) -> EncodedWeights:
    """The child's int8 rows [R, L] as `top<bits>` of the parent's int8 rows [R, L]: the codes are the parent's
    bytes. EncodingError (one line) when the child is not parent >> (8 - bits) everywhere."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 7:
        raise EncodingError(f"topK keeps K = 1…7 bits of the parent's int8 weights, got K = {bits!r}")
    name = f"top{int(bits)}"
    child, parent = np.asarray(child_rows), np.asarray(parent_rows)
    for what, a in (("child", child), ("parent", parent)):
        if a.dtype != np.int8 or a.ndim != 2:
            raise EncodingError(f"{name}: {what} weights must be int8 [rows, length], got {a.dtype}{list(a.shape)}")
    if child.shape != parent.shape:
        raise EncodingError(f"{name}: child weights {list(child.shape)} and parent weights {list(parent.shape)} "
                            f"differ in shape")
    if axis not in (0, 1):
        raise EncodingError(f"channel_axis must be 0 (row) or 1 (element), got {axis!r}")
    top = parent >> (8 - int(bits))  # numpy's >> on int8 is arithmetic, as the kernels' (int8_t)code >> s
    bad = np.argwhere(child != top)
    if bad.size:
        r, e = (int(v) for v in bad[0])
        raise EncodingError(f"{name}: {len(bad)} of {child.size} child values are not the top {bits} bits of the "
                            f"parent's (first at row {r}, element {e}: child {int(child[r, e])}, parent "
                            f"{int(parent[r, e])}, whose top {bits} bits are {int(top[r, e])})")
    r_count, length = parent.shape
    codes = np.ascontiguousarray(parent).view(np.uint8).reshape(-1)
    return EncodedWeights(name, r_count, length, axis, 8, codes, length)


def nest_call(call, parent_call, bits: int, where: str):
    """The child's lowered call `call` (int8 weights) reading the parent's call's int8 weights as top<bits>: kernel
    <kernel>_wn, a PackedWeights of encode_top. UnsupportedError (one line starting with `where`) when the two
    calls are not the same op with plain int8 weights of one shape, or the child is not the parent's top bits."""
    if getattr(parent_call, "packed", None) is not None:
        raise UnsupportedError(f"{where}: the parent's weights are already encoded ({parent_call.packed.encoded.encoding}); "
                               f"nesting reads plain int8 weights")
    if getattr(call, "packed", None) is not None:
        raise UnsupportedError(f"{where}: the child's weights are already encoded ({call.packed.encoded.encoding})")
    if call.kernel not in ENCODABLE:
        raise UnsupportedError(f"{where}: {call.kernel} has no weights to nest (only {', '.join(sorted(ENCODABLE))})")
    if parent_call.kernel != call.kernel:
        raise UnsupportedError(f"{where}: the child runs {call.kernel}, the parent {parent_call.kernel}: nesting needs "
                               f"the same kernel")
    op, weights = ENCODABLE[call.kernel]
    child_w, parent_w = getattr(call, weights), getattr(parent_call, weights)
    if child_w.shape != parent_w.shape:
        raise UnsupportedError(f"{where}: child weights {list(child_w.shape)} and parent weights "
                               f"{list(parent_w.shape)} differ in shape")
    try:
        child_rows, axis = rows_view(_as_tflite_shape(child_w, op), op)
        parent_rows, _ = rows_view(_as_tflite_shape(parent_w, op), op)
        packed = encode_top(child_rows, parent_rows, axis, bits)
    except EncodingError as exc:
        raise UnsupportedError(f"{where}: {exc}") from None
    return replace(call, kernel=f"{call.kernel}_wn", **{weights: None}, packed=PackedWeights.of(packed))
