"""Byte-level mutators: (data, rng, ranges) -> (mutated bytes, what was done).

`ranges` are the constant-buffer byte ranges of the seed (schema.data_ranges): positions are drawn
from the other bytes (tables, vtables, offsets, vectors of indices) nine times in ten, since
flipping a weight byte only changes numbers. (A result equal to the seed is rejected by mutants.py.)
"""
from __future__ import annotations

import struct

import numpy as np

INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80)
INTERESTING_INT32 = (0, -1, 1, -(2**31), 2**31 - 1, 2**30, 2**24, 0xFFFF, -2)
# float32 bit patterns: NaN, -NaN, inf, -inf, 0, -0, smallest denormal, FLT_MAX, 4.9e34
INTERESTING_FLOAT32_BITS = (0x7FC00000, 0xFFC00000, 0x7F800000, 0xFF800000, 0x00000000, 0x80000000,
                            0x00000001, 0x7F7FFFFF, 0x7816D4FE)


def _positions(n: int, ranges, align: int) -> np.ndarray:
    mask = np.ones(n, bool)
    for start, end in ranges:
        mask[start:end] = False
    idx = np.flatnonzero(mask)
    idx = idx[(idx % align == 0) & (idx + align <= n)]
    return idx


def _pos(data: bytes, rng, ranges, align: int = 1) -> int:
    """A position (multiple of align), in structure bytes nine times in ten."""
    n = len(data)
    if rng.random() < 0.9:
        idx = _positions(n, ranges, align)
        if idx.size:
            return int(idx[rng.integers(idx.size)])
    return int(rng.integers(0, max(1, (n - align) // align + 1))) * align


def bit_flip(data: bytes, rng, ranges) -> tuple[bytes, str]:
    out = bytearray(data)
    flips = []
    for _ in range(int(rng.integers(1, 9))):
        p, bit = _pos(data, rng, ranges), int(rng.integers(8))
        out[p] ^= 1 << bit
        flips.append(f"{p}.{bit}")
    return bytes(out), "flipped bits " + ", ".join(flips)


def byte_interesting(data: bytes, rng, ranges) -> tuple[bytes, str]:
    out = bytearray(data)
    done = []
    for _ in range(int(rng.integers(1, 5))):
        p = _pos(data, rng, ranges)
        choices = [v for v in INTERESTING_BYTES if v != out[p]]
        out[p] = int(rng.choice(choices))
        done.append(f"[{p}]=0x{out[p]:02x}")
    return bytes(out), "set bytes " + ", ".join(done)


def _overwrite_word(data: bytes, rng, ranges, words, fmt: str, label, fmt_name: str) -> tuple[bytes, str]:
    out = bytearray(data)
    p = _pos(data, rng, ranges, align=4)
    old = struct.unpack_from(fmt, out, p)[0]
    choices = [w for w in words if w != old]
    value = int(rng.choice(choices))
    struct.pack_into(fmt, out, p, value)
    return bytes(out), f"{fmt_name} at {p}: {label(old)} -> {label(value)}"


def int32_interesting(data: bytes, rng, ranges) -> tuple[bytes, str]:
    return _overwrite_word(data, rng, ranges, INTERESTING_INT32, "<i", str, "int32")


def float32_interesting(data: bytes, rng, ranges) -> tuple[bytes, str]:
    def label(bits):
        return f"{struct.unpack('<f', struct.pack('<I', bits))[0]!r} (0x{bits:08x})"

    return _overwrite_word(data, rng, ranges, INTERESTING_FLOAT32_BITS, "<I", label, "float32")


def truncate(data: bytes, rng, ranges) -> tuple[bytes, str]:
    # half the time near the end (tables sit at the front of a flatbuffer, vtables and strings at the back)
    n = len(data)
    cut = int(rng.integers(max(0, n - 256), n)) if rng.random() < 0.5 else int(rng.integers(0, n))
    return data[:cut], f"truncated to {cut} of {n} bytes"


def _chunk(data: bytes, rng, ranges) -> tuple[int, int]:
    p = _pos(data, rng, ranges)
    length = int(rng.choice([1, 2, 4, 8, 16, 64])) if rng.random() < 0.7 else int(rng.integers(1, 512))
    return p, max(1, min(length, len(data) - p))


def chunk_delete(data: bytes, rng, ranges) -> tuple[bytes, str]:
    p, length = _chunk(data, rng, ranges)
    return data[:p] + data[p + length:], f"deleted {length} bytes at {p}"


def chunk_duplicate(data: bytes, rng, ranges) -> tuple[bytes, str]:
    p, length = _chunk(data, rng, ranges)
    return data[:p + length] + data[p:p + length] + data[p + length:], f"duplicated {length} bytes at {p}"


def chunk_insert(data: bytes, rng, ranges) -> tuple[bytes, str]:
    p = _pos(data, rng, ranges)
    length = int(rng.choice([1, 4, 8, 32]))
    if rng.random() < 0.5:
        chunk = bytes(int(rng.choice(INTERESTING_BYTES)) for _ in range(length))
    else:
        chunk = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    return data[:p] + chunk + data[p:], f"inserted {length} bytes at {p}"


BYTE_MUTATORS = {
    "bit_flip": bit_flip,
    "byte_interesting": byte_interesting,
    "int32_interesting": int32_interesting,
    "float32_interesting": float32_interesting,
    "truncate": truncate,
    "chunk_delete": chunk_delete,
    "chunk_duplicate": chunk_duplicate,
    "chunk_insert": chunk_insert,
}
