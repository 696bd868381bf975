"""encode / decode: one entry point over the dense and sparse packers."""
from __future__ import annotations

import numpy as np

from tinyq.encode.dense import decode_dense, encode_dense
from tinyq.encode.formats import EncodedWeights
from tinyq.encode.sparse import decode_sparse, encode_sparse
from tinyq.encode.spec import EncodingError, parse, parse_encoding

_ENCODERS = {"dense": encode_dense, "sparse": encode_sparse, "nm": encode_sparse, "block": encode_sparse}


def encode(rows: np.ndarray, channel_axis: int, encoding: str) -> EncodedWeights:
    """Encode int8 rows [R, L] exactly; EncodingError (one line) when `encoding` cannot hold them.

    `auto` returns choose(rows, channel_axis)."""
    rows = np.asarray(rows)
    if rows.dtype != np.int8 or rows.ndim != 2:
        raise EncodingError(f"weights to encode must be int8 [rows, length], got {rows.dtype}{list(rows.shape)}")
    if channel_axis not in (0, 1):
        raise EncodingError(f"channel_axis must be 0 (row) or 1 (element), got {channel_axis!r}")
    if parse_encoding(encoding) == "auto":
        from tinyq.encode.select import choose

        return choose(rows, channel_axis)
    enc = parse(encoding)
    if enc.kind == "top":  # the low 8 - K bits of each code are another level's: not in these rows
        raise EncodingError(f"{enc.name} is made only by nesting: its codes are a parent level's int8 weights "
                            f"(tinyq.encode.nested.encode_top), not something these rows alone can be stored as")
    return _ENCODERS[enc.form](np.ascontiguousarray(rows), channel_axis, enc)


def decode(w: EncodedWeights) -> np.ndarray:
    """int8 [R, L] from the record's streams."""
    enc = parse(w.encoding)
    out = decode_dense(w, enc) if enc.form == "dense" else decode_sparse(w, enc)
    out.setflags(write=False)
    return out
