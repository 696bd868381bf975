"""What a weight tensor's values allow: levels, range, sparsity, and which encodings apply."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeightStats:
    rows: int
    length: int
    channel_axis: int
    channels: int
    levels: int  # distinct values in the tensor
    channel_levels: int  # the most distinct values in one output channel
    min: int
    max: int
    zeros: int
    sparsity: float  # fraction of zeros
    int_bits: int  # smallest k (1…8) whose signed range [-2^(k-1), 2^(k-1)-1] holds every value
    ternary_tensor: bool  # values in {-a, 0, a}, one a (1…127) for the whole tensor
    ternary_channel: bool  # one a_c per output channel
    binary_tensor: bool  # values in {-a, a}
    binary_channel: bool
    codebook_bits_tensor: int  # smallest b whose 2^b entries hold the tensor's distinct values (1…8)
    codebook_bits_channel: int  # ... each channel's
    nm_2_4: bool  # L a multiple of 4 and at most 2 nonzeros in every group of 4

    def describe(self) -> str:
        kinds = [k for k, ok in (("ternary", self.ternary_channel), ("binary", self.binary_channel),
                                 ("2:4", self.nm_2_4)) if ok]
        return (f"{self.rows}x{self.length}: {self.levels} levels ({self.channel_levels} per channel at most), "
                f"[{self.min}, {self.max}] fits int{self.int_bits}, {self.sparsity:.1%} zeros"
                + (f", {'/'.join(kinds)}" if kinds else ""))


def _bits_for(levels: int) -> int:
    return max(1, int(levels - 1).bit_length())


def _int_bits(lo: int, hi: int) -> int:
    for k in range(1, 9):
        if -(1 << (k - 1)) <= lo and hi <= (1 << (k - 1)) - 1:
            return k
    return 8


def nm_compatible(rows: np.ndarray, n: int, m: int) -> bool:
    r, length = rows.shape
    if length % m:
        return False
    return bool(r == 0 or ((rows != 0).reshape(r, length // m, m).sum(axis=2) <= n).all())


def analyze(rows: np.ndarray, channel_axis: int) -> WeightStats:
    rows = np.asarray(rows)
    r, length = rows.shape
    by_channel = (rows if channel_axis == 0 else rows.T).astype(np.int16)  # [C, n]
    c = by_channel.shape[0]
    size = rows.size
    mag = np.abs(by_channel)
    if size:
        lo, hi = int(rows.min()), int(rows.max())
        a_c = mag.max(axis=1, keepdims=True)
        one_mag = (mag == 0) | (mag == a_c)
        ternary_c = bool(one_mag.all() and a_c.max() <= 127)
        nz = mag[mag != 0]
        ternary_t = bool(nz.size == 0 or (nz.min() == nz.max() and nz.max() <= 127))
        no_zero = bool((mag != 0).all())
        key = np.arange(c)[:, None] * 256 + (by_channel.astype(np.int64) + 128)  # distinct values by bincount
        present = (np.bincount(key.reshape(-1), minlength=c * 256) > 0).reshape(c, 256)
        ch_levels = int(present.sum(axis=1).max())
        levels = int(present.any(axis=0).sum())
    else:
        lo = hi = levels = ch_levels = 0
        ternary_c = ternary_t = no_zero = True
    zeros = int(size - np.count_nonzero(rows))
    return WeightStats(
        rows=r, length=length, channel_axis=channel_axis, channels=c, levels=levels, channel_levels=ch_levels,
        min=lo, max=hi, zeros=zeros, sparsity=zeros / size if size else 0.0, int_bits=_int_bits(lo, hi),
        ternary_tensor=ternary_t, ternary_channel=ternary_c, binary_tensor=ternary_t and no_zero,
        binary_channel=ternary_c and no_zero, codebook_bits_tensor=_bits_for(levels),
        codebook_bits_channel=_bits_for(ch_levels), nm_2_4=nm_compatible(rows, 2, 4),
    )
