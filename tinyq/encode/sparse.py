"""Sparse encodings (docs/weight_encodings.md, "Sparse"): unstructured bitmap, N:M positions, kept blocks.

Each wraps a value encoding of the stored values. sparse+E and blockB+E rows vary in size (row_start);
sparseN:M+E rows have a fixed size.
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Layout:
    """What a sparse form stores, before any value encoding: the stored values and the index stream."""

    values: Values
    counts: np.ndarray | None  # stored values per row (variable rows), or None (N:M: fixed rows)
    index: np.ndarray  # uint8 [R, index_row_bytes]
    group: tuple[int, int] | None


def build(rows: np.ndarray, channel_axis: int, enc: Encoding, layout: Layout) -> EncodedWeights:
    """The record of `layout` with its values in the value encoding `enc.value`."""
    r_count, length = rows.shape
    vc = encode_values(layout.values, enc)
    common = dict(table=vc.table, magnitude=vc.magnitude, index=layout.index.reshape(-1),
                  index_row_bytes=layout.index.shape[1], group=layout.group)
    if layout.counts is None:  # fixed rows of N values per group
        per_row = vc.codes.size // r_count if r_count else 0
        codes = bitpack.pack_fixed(vc.codes.reshape(r_count, per_row), enc.bits)
        return EncodedWeights(enc.name, r_count, length, channel_axis, enc.bits, codes.reshape(-1),
                              (per_row * enc.bits + 7) // 8, **common)
    stream, offsets = bitpack.pack_rows(vc.codes, layout.counts, enc.bits)
    return EncodedWeights(enc.name, r_count, length, channel_axis, enc.bits, stream, 0,
                          row_start=_row_start(offsets), **common)


def _masked(rows, channel_axis, mask: np.ndarray, index: np.ndarray, group=None) -> Layout:
    return Layout(values_of(rows, channel_axis, mask), mask.sum(axis=1), index, group)


def layout_unstructured(rows: np.ndarray, channel_axis: int) -> Layout:
    mask = rows != 0
    return _masked(rows, channel_axis, mask, bitpack.pack_fixed(mask.astype(np.uint8), 1))


def _block_mask(kept: np.ndarray, block: int, length: int) -> np.ndarray:
    """[R, ceil(L/B)] kept blocks -> [R, L] element mask."""
    return np.repeat(kept, block, axis=1)[:, :length]


def kept_blocks(rows: np.ndarray, block: int) -> np.ndarray:
    """bool [R, ceil(L/B)]: the blocks that hold a nonzero."""
    r_count, length = rows.shape
    n_blocks = -(-length // block)
    padded = np.zeros((r_count, n_blocks * block), bool)
    padded[:, :length] = rows != 0
    return padded.reshape(r_count, n_blocks, block).any(axis=2)


def layout_block(rows: np.ndarray, channel_axis: int, block: int) -> Layout:
    kept = kept_blocks(rows, block)
    return _masked(rows, channel_axis, _block_mask(kept, block, rows.shape[1]),
                   bitpack.pack_fixed(kept.astype(np.uint8), 1), group=(block, block))


def layout_nm(rows: np.ndarray, channel_axis: int, n: int, m: int, name: str) -> Layout:
    r_count, length = rows.shape
    if length % m:
        raise EncodingError(f"{name} needs rows whose length is a multiple of {m}; rows have {length} elements")
    g = length // m
    nonzero = (rows != 0).reshape(r_count, g, m)
    counts = nonzero.sum(axis=2)
    if r_count and g and counts.max() > n:
        r, k = np.unravel_index(int(counts.argmax()), counts.shape)
        raise EncodingError(f"{name} keeps {n} of every {m}: row {r}, elements {k * m}…{k * m + m - 1} hold "
                            f"{int(counts[r, k])} nonzeros")
    # the nonzeros, then the smallest free positions, then ascending (the spec's padding rule)
    pos = np.arange(m)
    order = np.argsort(np.where(nonzero, pos, pos + m), axis=2, kind="stable")[:, :, :n]
    positions = np.sort(order, axis=2)
    e = (positions + (np.arange(g) * m)[None, :, None]).reshape(-1)
    row = np.repeat(np.arange(r_count), g * n)
    vals = Values(rows[row, e].astype(np.int16), row, e, row if channel_axis == 0 else e,
                  r_count if channel_axis == 0 else length)
    index = bitpack.pack_fixed(positions.reshape(r_count, g * n), m.bit_length() - 1)
    return Layout(vals, None, index, (n, m))


def layout_of(rows: np.ndarray, channel_axis: int, enc: Encoding) -> Layout:
    if enc.form == "sparse":
        return layout_unstructured(rows, channel_axis)
    if enc.form == "block":
        return layout_block(rows, channel_axis, enc.block)
    return layout_nm(rows, channel_axis, enc.n, enc.m, enc.name)


def encode_sparse(rows: np.ndarray, channel_axis: int, enc: Encoding) -> EncodedWeights:
    return build(rows, channel_axis, enc, layout_of(rows, channel_axis, enc))


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
