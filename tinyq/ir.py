"""The frozen, index-linked intermediate representation that the TFLite reader produces.

Tensors and ops refer to each other by index (TFLite's own convention, -1 = absent optional input).
Constant data is a read-only NumPy array. Nothing here is mutated after construction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from tinyq.errors import UnsupportedError

# TFLite dtypes that have a NumPy equivalent; others (string, resource, int4, ...) keep their name only.
NUMPY_DTYPES = {
    "float32", "float16", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool",
}


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point). One entry per tensor, or one per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0  # TFLite quantized_dimension; meaningful only when per_channel

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8", "int16", "float32", ... (TFLite names lower-cased for non-NumPy types)
    quant: QuantParams | None
    data: np.ndarray | None = None  # constants only (read-only)
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def np_dtype(self) -> np.dtype:
        if self.dtype not in NUMPY_DTYPES:
            raise UnsupportedError(f"tensor '{self.name}' (#{self.index}) has dtype {self.dtype}")
        return np.dtype(self.dtype)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.np_dtype.itemsize

    @property
    def scale(self) -> float:
        """The per-tensor scale (first entry); 0.0 when unquantized."""
        return float(self.quant.scale[0]) if self.quant else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.quant.zero_point[0]) if self.quant else 0

    def describe(self) -> str:
        return f"tensor '{self.name}' (#{self.index}, {self.dtype}{list(self.shape)})"


@dataclass(frozen=True)
class Op:
    index: int
    opcode: str  # builtin name ("CONV_2D") or the custom code of a custom op
    version: int
    inputs: tuple[int, ...]  # tensor indices; -1 = absent optional input
    outputs: tuple[int, ...]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    custom: bool = False

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass(frozen=True)
class NestedInfo:
    """A nested child's claim (the `tinyq_nested` metadata entry, validated by the reader): these weight ops hold
    the top `bits` bits of the int8 weights of the parent file whose SHA-256 is parent_sha256."""

    parent_sha256: str  # 64 lower-case hex digits
    ops: tuple[tuple[int, int], ...]  # (operator index, bits), bits 1..7


@dataclass(frozen=True)
class VariableInit:
    """What a CALL_ONCE init subgraph assigns a resource variable (tinyq.tflite_reader): the constant `value` goes
    to the variable named (container, shared_name) before the first invoke's ops read it."""

    container: str | None  # None when the VAR_HANDLE names none
    shared_name: str
    value: Tensor  # a constant tensor of the init subgraph (its index is that subgraph's)
    where: str  # "subgraph k operator #j", for messages


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]  # in execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    sha256: str = ""
    description: str = ""
    source: str = ""  # the file it was read from (or "model bytes"), for error messages
    nested: NestedInfo | None = None  # set when the file is a nested child (tinyq quantize --nested-from)
    # the constants the CALL_ONCE init subgraphs assign to resource variables, in the order they run
    variable_inits: tuple[VariableInit, ...] = ()

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producer(self, tensor_index: int) -> Op | None:
        for op in self.ops:
            if tensor_index in op.outputs:
                return op
        return None

    def op_location(self, op: Op) -> str:
        """How error messages name an op: its index, type and first output tensor."""
        out = self.tensors[op.outputs[0]].name if op.outputs else "?"
        return f"op #{op.index} {op.opcode} (output '{out}')"
