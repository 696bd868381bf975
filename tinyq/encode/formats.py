"""The encoded-weights record and the rows view of a weight tensor (docs/weight_encodings.md)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.encode.spec import EncodingError, parse

# op -> how its weight tensor is cut into rows: (expected rank, channel_axis)
_ROWS = {"FULLY_CONNECTED": (2, 0), "CONV_2D": (4, 0), "DEPTHWISE_CONV_2D": (4, 1)}


def rows_view(weights: np.ndarray, op: str) -> tuple[np.ndarray, int]:
    """The spec's Rows table: int8 [R, L] (a view when possible) and the channel axis (0: row, 1: element)."""
    if op not in _ROWS:
        raise EncodingError(f"weights of {op} cannot be encoded (only {', '.join(_ROWS)})")
    rank, axis = _ROWS[op]
    w = np.asarray(weights)
    if w.dtype != np.int8:
        raise EncodingError(f"{op} weights are {w.dtype}; only int8 weights can be encoded")
    if w.ndim != rank or (op == "DEPTHWISE_CONV_2D" and w.shape[0] != 1):
        want = "[1, KH, KW, C·M]" if op == "DEPTHWISE_CONV_2D" else f"{rank}-D"
        raise EncodingError(f"{op} weights have shape {list(w.shape)}; expected {want}")
    if axis == 1:
        return w.reshape(-1, w.shape[-1]), 1
    return w.reshape(w.shape[0], -1), 0


def frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, order="C", copy=True)  # the record owns its arrays: nobody can write them later
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class EncodedWeights:
    """One weight tensor in one encoding: the streams the C decoders read (all arrays read-only)."""

    encoding: str  # normalized name, e.g. "int4", "codebook:3", "sparse2:4+int8"
    rows: int  # R
    length: int  # L
    channel_axis: int  # 0: the row is the channel; 1: the element index is the channel
    bits: int  # code width of the value stream
    codes: np.ndarray  # uint8: the packed value stream
    row_bytes: int  # bytes per row of `codes` when rows are fixed-size, else 0
    table: np.ndarray | None = None  # int8 [2^b] or [C, 2^b] (codebook)
    magnitude: np.ndarray | None = None  # int8 [C], > 0 (ternary, binary)
    index: np.ndarray | None = None  # uint8: bitmap rows or N:M positions (sparse forms)
    index_row_bytes: int = 0
    row_start: np.ndarray | None = None  # int32 [R + 1] byte offsets into `codes` (sparse+E, blockB+E)
    group: tuple[int, int] | None = None  # (N, M) for sparseN:M, (B, B) for blockB

    def __post_init__(self):
        for name in ("codes", "table", "magnitude", "index", "row_start"):
            object.__setattr__(self, name, frozen(getattr(self, name)))

    @property
    def channels(self) -> int:
        return self.rows if self.channel_axis == 0 else self.length

    @property
    def nbytes(self) -> int:
        """Every stored byte: value stream + table + magnitudes + index + row_start."""
        parts = (self.codes, self.table, self.magnitude, self.index, self.row_start)
        return int(sum(a.nbytes for a in parts if a is not None))

    @property
    def stored_values(self) -> int:
        """How many values the value stream holds (what a kernel multiplies)."""
        from tinyq.encode.sparse import stored_count

        return stored_count(self)

    def decode(self) -> np.ndarray:
        """The exact inverse: int8 [R, L], computed from the streams alone (as a C decoder would)."""
        from tinyq.encode.codec import decode

        return decode(self)

    def describe(self) -> str:
        plain = self.rows * self.length
        parts = [f"values {self.codes.nbytes:,} B at {self.bits} bit{'s' if self.bits > 1 else ''}"]
        if self.table is not None:
            per = "per channel" if self.table.ndim == 2 else "per tensor"
            parts.append(f"table {self.table.nbytes:,} B {per}")
        if self.magnitude is not None:
            parts.append(f"magnitudes {self.magnitude.nbytes:,} B")
        if self.index is not None:
            parts.append(f"index {self.index.nbytes:,} B")
        if self.row_start is not None:
            parts.append(f"row starts {self.row_start.nbytes:,} B")
        ratio = self.nbytes / plain if plain else 1.0
        return (f"{self.encoding} [{self.rows}x{self.length}, channel axis {self.channel_axis}]: "
                f"{self.nbytes:,} B ({ratio:.1%} of int8; {', '.join(parts)})")

    @property
    def spec(self):
        return parse(self.encoding)
