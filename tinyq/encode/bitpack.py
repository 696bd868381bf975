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


def _bit_positions(counts: np.ndarray, offsets: np.ndarray, bits: int) -> np.ndarray:
    """int64 [sum(counts), bits]: the stream bit of every bit of every code."""
    counts = np.asarray(counts, np.int64)
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts  # index of each row's first code in the flat code list
    j = np.arange(int(counts.sum()), dtype=np.int64) - first[row]
    start = offsets[:-1][row] * 8 + j * bits
    return start[:, None] + np.arange(bits, dtype=np.int64)


def pack_rows(codes: np.ndarray, counts: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat codes, `counts[r]` per row -> (uint8 stream, int64 offsets [R + 1])."""
    offsets = row_offsets(counts, bits)
    codes = np.asarray(codes).reshape(-1)
    stream_bits = np.zeros(int(offsets[-1]) * 8, np.uint8)
    if codes.size:
        pos = _bit_positions(counts, offsets, bits)
        stream_bits[pos] = (codes[:, None].astype(np.uint8) >> np.arange(bits, dtype=np.uint8)) & 1
    return np.packbits(stream_bits, bitorder="little"), offsets


def unpack_rows(stream: np.ndarray, offsets: np.ndarray, counts: np.ndarray, bits: int) -> np.ndarray:
    """The inverse of pack_rows, reading row r at byte offsets[r]: flat codes uint8 [sum(counts)]."""
    counts = np.asarray(counts, np.int64)
    if not counts.sum():
        return np.zeros(0, np.uint8)
    stream_bits = np.unpackbits(np.asarray(stream, np.uint8), bitorder="little")
    pos = _bit_positions(counts, np.asarray(offsets, np.int64), bits)
    return (stream_bits[pos] << np.arange(bits, dtype=np.uint8)).sum(axis=1, dtype=np.uint8)
