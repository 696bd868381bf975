"""Sparse encodings (docs/weight_encodings.md, "Sparse"): unstructured bitmap, N:M positions, kept blocks.

Each wraps a value encoding of the stored values. sparse+E and blockB+E rows vary in size (row_start);
sparseN:M+E rows have a fixed size.
"""
from __future__ import annotations

import numpy as np

from tinyq.encode import bitpack
from tinyq.encode.dense import values_of
from tinyq.encode.formats import EncodedWeights
from tinyq.encode.spec import Encoding, EncodingError
from tinyq.encode.values import Values, decode_values, encode_values

_INT32_MAX = 2**31 - 1


def _row_start(offsets: np.ndarray) -> np.ndarray:
    if offsets[-1] > _INT32_MAX:
        raise EncodingError(f"the value stream ({int(offsets[-1]):,} bytes) does not fit int32 row offsets")
    return offsets.astype(np.int32)


def _variable(rows, channel_axis, enc: Encoding, mask: np.ndarray, index: np.ndarray, index_row_bytes: int,
              group=None) -> EncodedWeights:
    """Store the elements under `mask`, row by row, in the value encoding."""
    vals = values_of(rows, channel_axis, mask)
    vc = encode_values(vals, enc)
    stream, offsets = bitpack.pack_rows(vc.codes, mask.sum(axis=1), enc.bits)
    return EncodedWeights(enc.name, rows.shape[0], rows.shape[1], channel_axis, enc.bits, stream, 0,
                          table=vc.table, magnitude=vc.magnitude, index=index.reshape(-1),
                          index_row_bytes=index_row_bytes, row_start=_row_start(offsets), group=group)


def encode_unstructured(rows, channel_axis, enc: Encoding) -> EncodedWeights:
    mask = rows != 0
    bitmap = bitpack.pack_fixed(mask.astype(np.uint8), 1)
    return _variable(rows, channel_axis, enc, mask, bitmap, (rows.shape[1] + 7) // 8)


def _block_mask(kept: np.ndarray, block: int, length: int) -> np.ndarray:
    """[R, ceil(L/B)] kept blocks -> [R, L] element mask."""
    return np.repeat(kept, block, axis=1)[:, :length]


def encode_block(rows, channel_axis, enc: Encoding) -> EncodedWeights:
    r_count, length = rows.shape
    b = enc.block
    n_blocks = -(-length // b)
    padded = np.zeros((r_count, n_blocks * b), bool)
    padded[:, :length] = rows != 0
    kept = padded.reshape(r_count, n_blocks, b).any(axis=2)
    bitmap = bitpack.pack_fixed(kept.astype(np.uint8), 1)
    return _variable(rows, channel_axis, enc, _block_mask(kept, b, length), bitmap, (n_blocks + 7) // 8,
                     group=(b, b))


def encode_nm(rows, channel_axis, enc: Encoding) -> EncodedWeights:
    r_count, length = rows.shape
    n, m = enc.n, enc.m
    if length % m:
        raise EncodingError(f"{enc.name} needs rows whose length is a multiple of {m}; rows have {length} elements")
    g = length // m
    nonzero = (rows != 0).reshape(r_count, g, m)
    counts = nonzero.sum(axis=2)
    if r_count and g and counts.max() > n:
        r, k = np.unravel_index(int(counts.argmax()), counts.shape)
        raise EncodingError(f"{enc.name} keeps {n} of every {m}: row {r}, elements {k * m}…{k * m + m - 1} hold "
                            f"{int(counts[r, k])} nonzeros")
    # the nonzeros, then the smallest free positions, then ascending (the spec's padding rule)
    pos = np.arange(m)
    order = np.argsort(np.where(nonzero, pos, pos + m), axis=2, kind="stable")[:, :, :n]
    positions = np.sort(order, axis=2)
    elem = (positions + (np.arange(g) * m)[None, :, None]).reshape(r_count, g * n)
    row = np.repeat(np.arange(r_count), g * n)
    e = elem.reshape(-1)
    v = rows[row, e].astype(np.int16)
    vals = Values(v, row, e, row if channel_axis == 0 else e, r_count if channel_axis == 0 else length)
    vc = encode_values(vals, enc)
    codes = bitpack.pack_fixed(vc.codes.reshape(r_count, g * n), enc.bits)
    pos_bits = m.bit_length() - 1
    index = bitpack.pack_fixed(positions.reshape(r_count, g * n), pos_bits)
    return EncodedWeights(enc.name, r_count, length, channel_axis, enc.bits, codes.reshape(-1),
                          (g * n * enc.bits + 7) // 8, table=vc.table, magnitude=vc.magnitude,
                          index=index.reshape(-1), index_row_bytes=(g * n * pos_bits + 7) // 8, group=(n, m))


def _stored_mask(w: EncodedWeights, enc: Encoding) -> np.ndarray:
    """[R, L]: which elements sparse+E / blockB+E store, read from the index."""
    if enc.form == "sparse":
        return bitpack.unpack_fixed(w.index, w.rows, w.length, 1).astype(bool)
    n_blocks = -(-w.length // enc.block)
    kept = bitpack.unpack_fixed(w.index, w.rows, n_blocks, 1).astype(bool)
    return _block_mask(kept, enc.block, w.length)


def decode_sparse(w: EncodedWeights, enc: Encoding) -> np.ndarray:
    out = np.zeros((w.rows, w.length), np.int8)
    if enc.form == "nm":
        n, m = w.group
        g = w.length // m
        positions = bitpack.unpack_fixed(w.index, w.rows, g * n, m.bit_length() - 1).astype(np.int64)
        elem = (positions.reshape(w.rows, g, n) + (np.arange(g) * m)[None, :, None]).reshape(w.rows, g * n)
        codes = bitpack.unpack_fixed(w.codes, w.rows, g * n, w.bits)
        row = np.repeat(np.arange(w.rows), g * n)
        e = elem.reshape(-1)
    else:
        mask = _stored_mask(w, enc)
        row, e = np.nonzero(mask)
        codes = bitpack.unpack_rows(w.codes, w.row_start, mask.sum(axis=1), w.bits)
    channel = row if w.channel_axis == 0 else e
    out[row, e] = decode_values(codes.reshape(-1), channel, enc, w.table, w.magnitude)
    return out


def stored_count(w: EncodedWeights) -> int:
    enc = w.spec
    if enc.form == "dense":
        return w.rows * w.length
    if enc.form == "nm":
        n, m = w.group
        return w.rows * (w.length // m) * n
    return int(_stored_mask(w, enc).sum())
