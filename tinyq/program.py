"""The lowered program: kernel-call records with every integer resolved. Output of tinyq.lower.

A Program is the ONLY input of both the NumPy simulator (tinyq.sim) and the C emitter (tinyq.emit),
so the two can disagree only about arithmetic, never about parameters.

Conventions (also in firmware/include/tinyq/tq_types.h):
  * multiplier: Q31 (0 <= m < 2**31); shift: positive = left (TFLite's sign).
  * input_offset = -input zero point; output_offset = +output zero point.
  * Activations are NHWC; conv filters OHWI; depthwise filters 1HW(C*M); FC weights [out, in].

A record is a frozen dataclass deriving from KernelCall. Its own fields become the members of the C
parameter struct `tq_<family>_params` (same names): ints, bools and tuples of ints become struct
members; NumPy arrays become `const` arrays in flash referenced by pointer. Fields whose name starts
with "_" are Python-only (not emitted).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class TensorInfo:
    """An activation tensor of the program (constants live inside the records)."""

    index: int  # tensor index in the TFLite graph
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name
    scale: float
    zero_point: int
    # A band (tinyq.patch): rows [row0, row0 + shape[1]) of the NHWC tensor `band_of` (its TFLite index).
    # With view=True the band has no buffer of its own: it IS those rows of band_of's buffer, or, with window >= 0,
    # rows [slot, slot + shape[1]) of tensor `window`'s buffer (a band buffer of band_of, or a halo stash).
    band_of: int = -1
    row0: int = 0
    view: bool = False
    window: int = -1
    slot: int = 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclass(frozen=True, eq=False)
class KernelCall:
    """Base of every record: which C kernel runs, on which tensors, for which TFLite op."""

    kernel: str  # C function name, e.g. "tq_conv_s8"; the simulator function has the same name
    layer: int  # TFLite operator index
    opcode: str  # TFLite builtin name
    inputs: tuple[int, ...]  # activation tensor indices, in the C call's argument order
    outputs: tuple[int, ...]

    params_type: ClassVar[str] = ""  # C struct name, e.g. "tq_conv_params"; "" = the kernel takes none
    variadic_inputs: ClassVar[bool] = False  # inputs passed as one `const void *const *` array (concat)
    in_place: ClassVar[bool] = False  # the output may be the input's memory (the kernel then does nothing)
    # The kernel writes output element i only after reading element i of every input, in increasing i, and
    # never reads an element below i again: an input it reads element for element (same count and width)
    # may be overwritten by the output when nothing reads that input later (tinyq.planner), and the output may
    # start before such an input (element i lands where element i or one below it was read: lag_limits).
    elementwise_order: ClassVar[bool] = False
    # The call's outputs after the first are persistent state (Program.states) that it reads, updates and
    # that lives across invokes; the simulator runs a batch's samples through it in order.
    stateful: ClassVar[bool] = False
    # A resource-variable copy (tinyq.lower.variable): the one kind of call that reads or writes such a state.
    variable_access: ClassVar[bool] = False

    def scratch_bytes(self) -> int:
        """Scratch memory the C kernel needs for this call (planned by the memory planner)."""
        return 0

    def raster_order(self):
        """How the C kernel walks its input and output (a tinyq.raster.RasterOrder, from a review of its loops),
        so that its output may overlap its input (tinyq.planner); None: it may not."""
        return None

    def param_fields(self) -> list[tuple[str, object]]:
        """(name, value) of the record's own fields: the C params struct members, in order."""
        base = {f.name for f in fields(KernelCall)}
        return [(f.name, getattr(self, f.name)) for f in fields(self) if f.name not in base and not f.name.startswith("_")]

    def constants(self) -> list[tuple[str, np.ndarray]]:
        """Every constant array of the record, those of the structs it points to included."""
        return _arrays(self.param_fields())


@dataclass(frozen=True, eq=False)
class ParamStruct:
    """A constant C struct that a record member points to (`.name = &<symbol>`), e.g. the descriptor of
    packed weights. Its fields are the struct's members, with the same rules as a record's."""

    params_type: ClassVar[str] = ""

    def param_fields(self) -> list[tuple[str, object]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self) if not f.name.startswith("_")]


def _arrays(members) -> list[tuple[str, np.ndarray]]:
    out = []
    for name, value in members:
        if isinstance(value, np.ndarray):
            out.append((name, value))
        elif isinstance(value, ParamStruct):
            out += [(f"{name}.{n}", v) for n, v in _arrays(value.param_fields())]
    return out


@dataclass(frozen=True)
class Program:
    tensors: tuple[TensorInfo, ...]  # every activation tensor the calls touch
    calls: tuple[KernelCall, ...]  # in execution order
    inputs: tuple[int, ...]  # graph input tensor indices
    outputs: tuple[int, ...]
    model_sha256: str
    # persistent state tensors (an SVDF's activation state): written only by their one stateful call, kept
    # across invokes in a buffer of their own (tinyq.planner), set to their initial value at start and by reset
    states: tuple[int, ...] = ()
    # (state, value) of the resource variables a CALL_ONCE init subgraph assigns (tinyq.lower.variable): the
    # first invoke starts them at that value; a reset fills them like any state, and the init does not rerun
    state_inits: tuple[tuple[int, np.ndarray], ...] = ()

    @cached_property
    def _tensor_by_index(self) -> dict[int, TensorInfo]:
        """Built once per Program (the planner and the patch search look tensors up hundreds of thousands of times)."""
        by_index: dict[int, TensorInfo] = {}
        for t in self.tensors:
            by_index.setdefault(t.index, t)
        return by_index

    def tensor(self, index: int) -> TensorInfo:
        return self._tensor_by_index[index]

    def view_base(self, index: int) -> tuple[int, int]:
        """(tensor whose buffer holds `index`, byte offset in it): the tensor itself at 0, unless it is a view."""
        t = self.tensor(index)
        if not t.view:
            return index, 0
        base = self.tensor(t.band_of if t.window < 0 else t.window)
        return base.index, (t.row0 if t.window < 0 else t.slot) * (base.nbytes // base.shape[1])

    @property
    def weight_bytes(self) -> int:
        """Constant bytes, each distinct array once (the emitter stores equal arrays once: a patched layer's
        bands share their weights)."""
        seen: dict[bytes, int] = {}
        for c in self.calls:
            for _, a in c.constants():
                seen.setdefault(a.tobytes(), int(a.nbytes))
        return sum(seen.values())


def const_array(values, dtype) -> np.ndarray:
    """A read-only array for a record field (records are frozen; so is their data)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    arr.setflags(write=False)
    return arr


def state_initial_value(t: TensorInfo) -> int:
    """What a state tensor holds at start and after a reset: TFLM's ResetTensorData fills an int8 variable
    with its zero point and any other with zeros."""
    return int(t.zero_point) if np.dtype(t.dtype) == np.int8 else 0
