"""The dense (value) encodings of a flat list of int8 values: int<k>, ternary, binary, codebook:<b>.

Dense tensors and the stored values of sparse ones go through the same code: each value comes with its
row, element and output channel, so a refusal names the first element that does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.encode.spec import Encoding, EncodingError


@dataclass(frozen=True)
class Values:
    """Flat int8 values with where they are: row, element, output channel; C channels in all."""

    v: np.ndarray  # int16 (so |v| and -v never overflow)
    row: np.ndarray
    elem: np.ndarray
    channel: np.ndarray
    channels: int

    def at(self, i: int) -> str:
        return f"row {int(self.row[i])}, element {int(self.elem[i])}"


@dataclass(frozen=True)
class ValueCodes:
    codes: np.ndarray  # uint8 [n], each < 2^bits
    table: np.ndarray | None = None
    magnitude: np.ndarray | None = None


def encode_values(vals: Values, enc: Encoding) -> ValueCodes:
    """Codes of the value encoding `enc.value`; EncodingError when a value cannot be stored exactly."""
    v = vals.v
    if enc.kind == "int":
        k = enc.bits
        lo, hi = -(1 << (k - 1)), (1 << (k - 1)) - 1
        bad = np.flatnonzero((v < lo) | (v > hi))
        if bad.size:
            i = bad[0]
            raise EncodingError(f"{enc.value} cannot store {int(v[i])} ({vals.at(i)}): its range is [{lo}, {hi}]")
        return ValueCodes((v & ((1 << k) - 1)).astype(np.uint8))
    if enc.kind in ("ternary", "binary"):
        return _signed_magnitude(vals, enc.kind)
    return _codebook(vals, enc.bits)


def _signed_magnitude(vals: Values, kind: str) -> ValueCodes:
    """ternary/binary: one magnitude a_c (1…127) per channel; codes 0/01/11 or 1/0."""
    v, ch = vals.v, vals.channel
    mag = np.abs(v)
    if kind == "binary":
        zero = np.flatnonzero(v == 0)
        if zero.size:
            raise EncodingError(f"binary cannot store 0 ({vals.at(zero[0])}): every weight must be +a or -a")
    a = np.zeros(vals.channels, np.int16)
    np.maximum.at(a, ch, mag)
    bad = np.flatnonzero((mag != 0) & (mag != a[ch]))
    if bad.size:
        i = bad[0]
        raise EncodingError(f"{kind} needs one magnitude per output channel: channel {int(ch[i])} has magnitudes "
                            f"{int(a[ch[i]])} and {int(mag[i])} ({int(v[i])} at {vals.at(i)})")
    big = np.flatnonzero(a > 127)
    if big.size:
        raise EncodingError(f"{kind} cannot store -128 (channel {int(big[0])}): a magnitude is an int8 in 1…127")
    a[a == 0] = 1  # a channel with nothing to scale: any positive magnitude
    if kind == "binary":
        codes = (v > 0).astype(np.uint8)
    else:
        codes = np.where(v > 0, 1, np.where(v < 0, 3, 0)).astype(np.uint8)
    return ValueCodes(codes, magnitude=a.astype(np.int8))


def _codebook(vals: Values, bits: int) -> ValueCodes:
    """A table per tensor when all distinct values fit 2^bits entries, else per channel when each channel's do.

    Values are int8, so distinct values are counted with bincount over 256 bins (per channel: C x 256)."""
    size = 1 << bits
    v = vals.v.astype(np.int64) + 128
    present = np.bincount(v, minlength=256) > 0
    levels = int(present.sum())
    if levels <= size:
        rank = np.cumsum(present) - 1  # value -> its position among the distinct values
        table = np.zeros(size, np.int8)
        table[:levels] = np.flatnonzero(present) - 128
        return ValueCodes(rank[v].astype(np.uint8), table=table)
    key = vals.channel.astype(np.int64) * 256 + v
    present = (np.bincount(key, minlength=vals.channels * 256) > 0).reshape(vals.channels, 256)
    per_channel = present.sum(axis=1)
    worst = int(per_channel.argmax())
    if per_channel[worst] > size:
        raise EncodingError(f"codebook:{bits} holds {size} values per table: the tensor has {levels} distinct "
                            f"values and output channel {worst} alone has {int(per_channel[worst])}")
    rank = np.cumsum(present, axis=1) - 1
    table = np.zeros((vals.channels, size), np.int8)
    ch, val = np.nonzero(present)
    table[ch, rank[ch, val]] = val - 128
    return ValueCodes(rank.reshape(-1)[key].astype(np.uint8), table=table)


def decode_values(codes: np.ndarray, channel: np.ndarray, enc: Encoding, table, magnitude) -> np.ndarray:
    """int8 values of `codes` (uint8) for elements of output channels `channel`."""
    c = np.asarray(codes, np.int16)
    if enc.kind == "int":
        k = enc.bits
        return (c - ((c >> (k - 1)) & 1) * (1 << k)).astype(np.int8)
    if enc.kind == "top":  # the parent's int8 byte, arithmetic shift: its top K bits
        return (c.astype(np.uint8).view(np.int8) >> enc.value_shift).astype(np.int8)
    if enc.kind == "ternary":
        sign = np.array([0, 1, 0, -1], np.int16)[c]
        return (sign * magnitude[channel]).astype(np.int8)
    if enc.kind == "binary":
        return ((2 * c - 1) * magnitude[channel]).astype(np.int8)
    return (table[c] if table.ndim == 1 else table[channel, c]).astype(np.int8)
