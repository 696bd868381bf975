"""Lowering: tinyq.ir.Graph -> tinyq.program.Program (one or more kernel-call records per TFLite op).

Each op family lives in tinyq/lower/<family>.py and registers its lowering with @lowers. A lowering
either returns records with every integer parameter resolved (multipliers, shifts, offsets, clamps,
padding), or raises UnsupportedError naming the op and what is not supported. Support is therefore
decided in one place, and `tinyq inspect` and docs/SUPPORTED_OPS.md read the same registry.
"""
from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Op, Tensor
from tinyq.program import KernelCall, ParamStruct, Program, TensorInfo
from tinyq.quant import ParameterError

FAMILIES = ("fully_connected", "conv", "pool", "reduce", "elementwise", "activation", "quantize", "softmax", "logistic", "shape", "resize",
            "prelu", "svdf", "lstm", "variable")


@dataclass(frozen=True)
class Lowering:
    opcode: str
    fn: Callable[["OpContext"], Sequence[KernelCall] | KernelCall]
    dtypes: tuple[str, ...]  # activation dtypes supported, for the docs
    doc: str  # constraints, one per line, for docs/SUPPORTED_OPS.md


REGISTRY: dict[str, Lowering] = {}
# Ops refused with a specific reason (recognised, but not yet lowered)
REFUSED = {
}
# How many inputs (absent optional ones included) each op takes, as TFLM's Prepare checks; every supported
# op writes exactly one output. A lowering reads inputs by position, so extra ones would go unnoticed.
INPUT_COUNTS = {
    "CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3),
    "AVERAGE_POOL_2D": (1, 1), "MAX_POOL_2D": (1, 1), "MEAN": (2, 2), "REDUCE_MAX": (2, 2),
    "ADD": (2, 2), "SUB": (2, 2), "MUL": (2, 2), "MAXIMUM": (2, 2), "MINIMUM": (2, 2),
    "RELU": (1, 1), "RELU6": (1, 1), "LEAKY_RELU": (1, 1), "HARD_SWISH": (1, 1), "PRELU": (2, 2), "LOGISTIC": (1, 1),
    "TANH": (1, 1), "QUANTIZE": (1, 1), "DEQUANTIZE": (1, 1), "SOFTMAX": (1, 1),
    "RESHAPE": (1, 2), "SQUEEZE": (1, 1), "EXPAND_DIMS": (2, 2), "CONCATENATION": (1, 1 << 16),
    "PAD": (2, 2), "PADV2": (3, 3), "TRANSPOSE": (2, 2), "STRIDED_SLICE": (4, 4), "SLICE": (3, 3),
    "RESIZE_NEAREST_NEIGHBOR": (2, 2), "RESIZE_BILINEAR": (2, 2),
    "SVDF": (5, 5), "UNIDIRECTIONAL_SEQUENCE_LSTM": (24, 24),
    "VAR_HANDLE": (0, 0), "CALL_ONCE": (0, 0), "READ_VARIABLE": (1, 1), "ASSIGN_VARIABLE": (2, 2),
}
OUTPUT_COUNTS = {"ASSIGN_VARIABLE": 0, "CALL_ONCE": 0}  # every other op writes exactly one output
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT8_HINT = "uint8 tensors are supported only through QUANTIZE (uint8 <-> int8) and DEQUANTIZE (uint8 -> float32)"


def lowers(*opcodes: str, dtypes: tuple[str, ...] = ("int8",), doc: str = ""):
    """Register a lowering function for one or more TFLite builtin ops."""

    def register(fn):
        for opcode in opcodes:
            REGISTRY[opcode] = Lowering(opcode, fn, dtypes, (doc or fn.__doc__ or "").strip())
        return fn

    return register


@functools.cache
def _load_families() -> None:
    for family in FAMILIES:
        importlib.import_module(f"tinyq.lower.{family}")


@dataclass(frozen=True)
class OpContext:
    """What a lowering function sees: the op, the graph, and helpers that raise located errors."""

    op: Op
    graph: Graph

    @property
    def where(self) -> str:
        return self.graph.op_location(self.op)

    def fail(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"{self.where}: {what}")

    def input(self, k: int) -> Tensor | None:
        """Input k, or None when absent (-1 or past the end)."""
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            return None
        return self.graph.tensors[self.op.inputs[k]]

    def output(self, k: int = 0) -> Tensor:
        return self.graph.tensors[self.op.outputs[k]]

    def require_same_shape(self, inp: Tensor, out: Tensor) -> None:
        """Elementwise ops: the declared output shape is the input's (the kernel writes inp.size elements)."""
        if tuple(out.shape) != tuple(inp.shape):
            raise self.fail(f"output shape {list(out.shape)} differs from the input shape {list(inp.shape)}")

    def const_input(self, k: int, what: str) -> Tensor:
        t = self.input(k)
        if t is None or t.data is None:
            raise self.fail(f"{what} (input {k}) must be a constant tensor")
        return t

    def require_dtype(self, tensor: Tensor, *dtypes: str) -> None:
        if tensor.dtype not in dtypes:
            hint = f"; {UINT8_HINT}" if tensor.dtype == "uint8" else ""
            raise self.fail(f"{tensor.describe()} has dtype {tensor.dtype}; supported: {', '.join(dtypes)}{hint}")

    def require_quant(self, tensor: Tensor, per_tensor: bool = True) -> None:
        if tensor.quant is None:
            raise self.fail(f"{tensor.describe()} is not quantized")
        if per_tensor and tensor.quant.per_channel:
            raise self.fail(f"{tensor.describe()} must have per-tensor quantization")
        bad = [s for s in tensor.quant.scale if not (math.isfinite(s) and s > 0)]
        if bad:
            raise self.fail(f"{tensor.describe()} has an invalid quantization scale {bad[0]!r}")

    def quantized_io(self, *dtypes: str) -> tuple[Tensor, Tensor]:
        """Input 0 and output 0: the input of one of `dtypes`, the output of the same dtype, both per-tensor
        quantized with valid scales. The opening of most lowerings."""
        inp, out = self.input(0), self.output(0)
        if inp is None:
            raise self.fail("input 0 is missing")
        self.require_dtype(inp, *dtypes)
        self.require_dtype(out, inp.dtype)
        self.require_quant(inp)
        self.require_quant(out)
        return inp, out

    def int8_weights(self, k: int, what: str) -> Tensor:
        """Constant int8 input k (or TFLite INT4, read as its int8 values), quantized per tensor or per channel."""
        weights = self.const_input(k, what)
        self.require_dtype(weights, "int8", "int4")
        self.require_quant(weights, per_tensor=False)
        return weights

    def call_fields(self, kernel: str, inputs: Sequence[int] | None = None, outputs: Sequence[int] | None = None) -> dict:
        """The KernelCall base fields for a record of this op."""
        return dict(
            kernel=kernel,
            layer=self.op.index,
            opcode=self.op.opcode,
            inputs=tuple(self.op.inputs if inputs is None else inputs),
            outputs=tuple(self.op.outputs if outputs is None else outputs),
        )


def support_error(graph: Graph, op: Op) -> str | None:
    """None if tinyq can lower `op`, else the reason (one line)."""
    try:
        _lower_op(graph, op)
    except UnsupportedError as exc:
        return str(exc)
    return None


def _lower_op(graph: Graph, op: Op) -> list[KernelCall]:
    _load_families()
    ctx = OpContext(op, graph)
    if op.custom:
        raise ctx.fail("custom op is not supported")
    if op.opcode in REFUSED:
        raise ctx.fail(REFUSED[op.opcode])
    lowering = REGISTRY.get(op.opcode)
    if lowering is None:
        raise ctx.fail("op is not supported")
    lo, hi = INPUT_COUNTS[op.opcode]
    if not lo <= len(op.inputs) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ctx.fail(f"has {len(op.inputs)} inputs; {op.opcode} takes {want}")
    n_out = OUTPUT_COUNTS.get(op.opcode, 1)
    if len(op.outputs) != n_out:
        raise ctx.fail(f"has {len(op.outputs)} outputs; {op.opcode} writes {'one' if n_out == 1 else n_out}")
    try:
        result = lowering.fn(ctx)
    except ParameterError as exc:  # a derived fixed-point parameter (multiplier, shift) is out of range
        raise ctx.fail(str(exc)) from None
    calls = list(result) if isinstance(result, (list, tuple)) else [result]
    for call in calls:
        _check_fits_int32(ctx, call)
    return calls


def _check_fits_int32(ctx: OpContext, call: KernelCall) -> None:
    """Every scalar member of a C params struct is an int32_t: refuse a value that would not fit."""
    _check_members_fit_int32(ctx, call.param_fields())


def _check_members_fit_int32(ctx: OpContext, members) -> None:
    for name, value in members:
        if isinstance(value, ParamStruct):
            _check_members_fit_int32(ctx, value.param_fields())
            continue
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and not INT32_MIN <= int(v) <= INT32_MAX:
                raise ctx.fail(f"parameter {name} = {int(v)} does not fit the kernel's int32")


def lower(graph: Graph, weights: str = "auto", layers: Mapping[str, str] | None = None,
          isa: str = "portable", keep_int8: frozenset[int] = frozenset()) -> Program:
    """Lower every op of the graph, then encode weights (`weights`: auto, int8 or an encoding; `layers`:
    layer name or call index -> encoding; `isa`: the CPU kind `auto` weighs kernel speed for, "dsp" or
    "portable"; `keep_int8`: operator indices whose weights stay int8; tinyq.encode.apply). Raises UnsupportedError, naming the model
    file and every op tinyq cannot lower. The Program returned is well-formed: neither the simulator
    nor the emitter finds an error."""
    from tinyq.encode.apply import apply_encodings

    try:
        graph = prepare(graph)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{graph.source}: {exc}" if graph.source else str(exc)) from None
    # layers whose weights the file stores as TFLite INT4: `auto` never stores them larger than the file does
    int4 = frozenset(op.index for op in graph.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
                     and len(op.inputs) > 1 and op.inputs[1] >= 0 and graph.tensors[op.inputs[1]].dtype == "int4")
    try:
        return apply_encodings(_lower(graph), weights, layers, int4_layers=int4, isa=isa, keep_int8=keep_int8)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{graph.source}: {exc}" if graph.source else str(exc)) from None


def prepare(graph: Graph) -> Graph:
    """The graph lower() lowers: `graph` with its constant computations folded (tinyq.fold). The one place the
    pass runs, so that compile, simulate, verify and inspect all see the same graph."""
    from tinyq.fold import fold

    return fold(graph)


def _lower(graph: Graph) -> Program:
    from tinyq.lower import variable
    for t in graph.inputs + graph.outputs:
        tensor = graph.tensors[t]
        if tensor.dtype not in ("int8", "int16", "float32", "int32", "uint8"):  # uint8: its ops check it
            raise UnsupportedError(f"graph {'input' if t in graph.inputs else 'output'} {tensor.describe()} has unsupported dtype")
    calls: list[KernelCall] = []
    blockers = []
    for op in graph.ops:  # every op, so that one error names every blocker of the model
        try:
            calls.extend(_lower_op(graph, op))
        except UnsupportedError as exc:
            blockers.append(str(exc))
    if blockers:
        raise UnsupportedError(_blocker_list(blockers))
    used = sorted({i for c in calls for i in (*c.inputs, *c.outputs)} | set(graph.inputs) | set(graph.outputs))
    var_states, state_inits = variable.program_states(graph)  # resource variables (tinyq.lower.variable)
    tensors = tuple(_info(var_states.get(i, graph.tensors[i])) for i in used)
    # Arena offsets and sizes are int32 in the generated C: bound them here, so that compile and
    # simulate refuse the same models (the sum bounds any arena the planner can make).
    total = sum(t.nbytes for t in tensors)
    if total > INT32_MAX:
        raise UnsupportedError(f"the model's activation tensors take {total:,} bytes in all; tinyq's limit is 2 GiB")
    # a stateful call's outputs after the first are its persistent state (tinyq.lower.svdf)
    states = tuple(i for c in calls if c.stateful for i in c.outputs[1:])
    if states and var_states:  # the simulator runs the two kinds of state in different ways
        raise UnsupportedError("a model with both resource variables and an SVDF or LSTM state is not supported")
    states += tuple(var_states)
    return Program(tensors, tuple(calls), tuple(graph.inputs), tuple(graph.outputs), graph.sha256, states, state_inits)


MAX_BLOCKERS_LISTED = 20


def _blocker_list(blockers: list[str]) -> str:
    """One line: the first blocker, then the others ("; " between), at most MAX_BLOCKERS_LISTED of them."""
    if len(blockers) == 1:
        return blockers[0]
    shown = blockers[:MAX_BLOCKERS_LISTED]
    rest = len(blockers) - len(shown)
    text = f"{shown[0]}; and {len(blockers) - 1} more op(s) tinyq cannot lower: " + "; ".join(shown[1:])
    return text + (f"; and {rest} more (`tinyq inspect` lists every op)" if rest else "")


def _info(t: Tensor) -> TensorInfo:
    return TensorInfo(t.index, t.name, tuple(t.shape), t.dtype, t.scale, t.zero_point)
