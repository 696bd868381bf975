"""Rows of b-bit codes <-> bytes, LSB-first, each row byte-aligned (docs/weight_encodings.md, "Packing a row").

Rows may hold different numbers of codes (sparse forms): `counts[r]` codes in row r. Vectorised with
np.packbits/np.unpackbits (bitorder="little" is exactly the spec's bit order); no per-element loops.
"""
from __future__ import annotations

import numpy as np


def row_sizes(counts: np.ndarray, bits: int) -> np.ndarray:
    """Bytes of each row: ceil(n·b / 8)."""
    return (np.asarray(counts, np.int64) * bits + 7) // 8


def row_offsets(counts: np.ndarray, bits: int) -> np.ndarray:
    """int64 [R + 1]: the byte offset of each row, then the stream's size."""
    return np.concatenate(([0], np.cumsum(row_sizes(counts, bits)))).astype(np.int64)


def pack_fixed(codes: np.ndarray, bits: int) -> np.ndarray:
    """codes [R, n] (each < 2^bits) -> uint8 [R, ceil(n·bits/8)]."""
    codes = np.asarray(codes)
    r, n = codes.shape
    if bits == 8:
        return codes.astype(np.uint8)
    width = (n * bits + 7) // 8
    planes = ((codes[:, :, None].astype(np.uint8) >> np.arange(bits, dtype=np.uint8)) & 1).reshape(r, n * bits)
    padded = np.zeros((r, width * 8), np.uint8)
    padded[:, : n * bits] = planes
    return np.packbits(padded, axis=1, bitorder="little")


def unpack_fixed(stream: np.ndarray, rows: int, n: int, bits: int) -> np.ndarray:
    """uint8 stream of `rows` rows of n codes -> codes uint8 [rows, n]."""
    width = (n * bits + 7) // 8
    data = np.asarray(stream, np.uint8).reshape(rows, width)
    if bits == 8:
        return data.copy()
    planes = np.unpackbits(data, axis=1, bitorder="little")[:, : n * bits].reshape(rows, n, bits)
    return (planes << np.arange(bits, dtype=np.uint8)).sum(axis=2, dtype=np.uint8)


def pack_rows(codes: np.ndarray, counts: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat codes, `counts[r]` per row -> (uint8 stream, int64 offsets [R + 1]).

    Each row is padded with zero codes to a multiple of 8 (8 codes = `bits` whole bytes), all rows are
    packed at once, then each row's bytes past ceil(n·b/8) (zero padding) are dropped."""
    counts = np.asarray(counts, np.int64)
    offsets = row_offsets(counts, bits)
    codes = np.asarray(codes).reshape(-1)
    chunks = (counts + 7) // 8
    padded_start = np.concatenate(([0], np.cumsum(chunks * 8)))
    grid = np.zeros(int(padded_start[-1]), np.uint8)
    grid[_flat_index(counts, padded_start)] = codes
    packed = pack_fixed(grid.reshape(-1, 8), bits).reshape(-1)  # row r: chunks[r]·bits bytes
    keep_bytes = np.repeat(row_sizes(counts, bits), chunks * bits)
    within = np.arange(packed.size) - np.repeat(np.cumsum(chunks * bits) - chunks * bits, chunks * bits)
    return packed[within < keep_bytes], offsets


def _flat_index(counts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For codes laid out row after row, each code's index in rows beginning at `starts`."""
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return starts[:-1][row] + np.arange(int(counts.sum()), dtype=np.int64) - first[row]


def unpack_rows(stream: np.ndarray, offsets: np.ndarray, counts: np.ndarray, bits: int) -> np.ndarray:
    """The inverse of pack_rows, reading row r at byte offsets[r]: flat codes uint8 [sum(counts)]."""
    counts = np.asarray(counts, np.int64)
    offsets = np.asarray(offsets, np.int64)
    stream = np.asarray(stream, np.uint8)
    chunks = (counts + 7) // 8
    sizes = row_sizes(counts, bits)
    # copy each row's bytes into whole chunks of 8 codes, unpack them all, then keep each row's codes
    grid = np.zeros(int(chunks.sum()) * bits, np.uint8)
    grid[_flat_index(sizes, np.concatenate(([0], np.cumsum(chunks * bits))))] = stream[_flat_index(sizes, offsets)]
    unpacked = unpack_fixed(grid, int(chunks.sum()), 8, bits).reshape(-1)
    return unpacked[_flat_index(counts, np.concatenate(([0], np.cumsum(chunks * 8))))]
