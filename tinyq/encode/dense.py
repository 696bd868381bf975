"""Dense encodings: row r of the tensor is one row of L codes (docs/weight_encodings.md, "Encodings")."""
from __future__ import annotations

import numpy as np

from tinyq.encode import bitpack
from tinyq.encode.formats import EncodedWeights
from tinyq.encode.spec import Encoding
from tinyq.encode.values import Values, decode_values, encode_values


def values_of(rows: np.ndarray, channel_axis: int, mask: np.ndarray | None = None) -> Values:
    """The elements of `rows` (all, or where mask is set) in row-major order, with their positions."""
    r_count, length = rows.shape
    if mask is None:
        r = np.repeat(np.arange(r_count), length)
        e = np.tile(np.arange(length), r_count)
        v = rows.reshape(-1)
    else:
        r, e = np.nonzero(mask)
        v = rows[r, e]
    channels = r_count if channel_axis == 0 else length
    return Values(v.astype(np.int16), r, e, r if channel_axis == 0 else e, channels)


def channels_of(rows: int, length: int, channel_axis: int) -> np.ndarray:
    """The output channel of every element, row-major [R·L]."""
    if channel_axis == 0:
        return np.repeat(np.arange(rows), length)
    return np.tile(np.arange(length), rows)


def encode_dense(rows: np.ndarray, channel_axis: int, enc: Encoding) -> EncodedWeights:
    r_count, length = rows.shape
    if enc.value == "int8":  # the plain tensor, byte for byte
        return EncodedWeights(enc.name, r_count, length, channel_axis, 8, rows.view(np.uint8).reshape(-1), length)
    vc = encode_values(values_of(rows, channel_axis), enc)
    codes = bitpack.pack_fixed(vc.codes.reshape(r_count, length), enc.bits)
    return EncodedWeights(enc.name, r_count, length, channel_axis, enc.bits, codes.reshape(-1),
                          codes.shape[1] if r_count else (length * enc.bits + 7) // 8,
                          table=vc.table, magnitude=vc.magnitude)


def decode_dense(w: EncodedWeights, enc: Encoding) -> np.ndarray:
    codes = bitpack.unpack_fixed(w.codes, w.rows, w.length, w.bits).reshape(-1)
    channel = channels_of(w.rows, w.length, w.channel_axis)
    return decode_values(codes, channel, enc, w.table, w.magnitude).reshape(w.rows, w.length)
