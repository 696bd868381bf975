"""Program + MemoryPlan -> generated C sources. Python prepares every C fragment (names, types, values,
array text); the templates in templates/ lay out the files. Output is byte-for-byte deterministic.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq import __version__
from tinyq.emit.c_literals import C_TYPES, INT32_MAX, INT32_MIN, array_lines, c_float, c_int, c_text, c_type, is_c_identifier
from tinyq.emit.jinja_env import render
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.kernel_select import Variant
from tinyq.planner import MemoryPlan
from tinyq.program import KernelCall, ParamStruct, Program, TensorInfo


@dataclass(frozen=True)
class ConstArray:
    symbol: str
    ctype: str
    length: int
    nbytes: int
    lines: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class CallView:
    index: int
    layer: int
    opcode: str
    kernel: str
    title: str  # comment line: layer, op, output tensor name and shape
    params_type: str
    params_symbol: str
    params_init: tuple[str, ...]  # ".member = value" lines
    structs: tuple["StructView", ...]  # constant structs the params point to, rendered before them
    prelude: str  # statement before the call (variadic input pointer array), or ""
    call: str  # the kernel call expression
    traced: tuple[str, ...]  # "pointer, nbytes" of each output, for TQ_TRACE builds


@dataclass(frozen=True)
class StructView:
    ctype: str
    symbol: str
    init: tuple[str, ...]


@dataclass(frozen=True)
class IoView:
    index: int
    name: str
    ctype: str
    shape: str
    nbytes: int
    align: int  # bytes: the element size, which invoke checks the caller's pointer against
    scale: str
    zero_point: int


def _shape(t: TensorInfo) -> str:
    return f"{t.dtype}[{', '.join(map(str, t.shape))}]"


def _fits_int32(v) -> bool:
    return INT32_MIN <= v <= INT32_MAX


def _identifier(name: str, what: str) -> str:
    """A C identifier that tinyq itself chose (kernel, struct, member, macro): never model text."""
    if not is_c_identifier(name):
        raise ValueError(f"{what} {name!r} is not a C identifier")  # a bug in tinyq, not in the model
    return name


def _check_tensor(t: TensorInfo) -> None:
    """Every tensor's byte count fits int32: kernels index tensors with int32 arithmetic and model.c
    states sizes as uint32 literals (also size_t on a 32-bit target)."""
    what = f"tensor '{c_text(t.name)}' (#{t.index})"
    if np.dtype(t.dtype).name not in C_TYPES:
        raise UnsupportedError(f"{what}: dtype {t.dtype} has no C type")
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in t.shape):
        raise UnsupportedError(f"{what}: shape {list(t.shape)} is not a list of sizes")
    nbytes = math.prod(int(d) for d in t.shape) * np.dtype(t.dtype).itemsize  # exact, unlike an int64 product
    if nbytes > INT32_MAX:
        raise UnsupportedError(f"{what} {t.dtype}{list(t.shape)}: {nbytes} bytes do not fit int32_t")


def _check_float(v, what: str) -> str:
    with np.errstate(over="ignore"):
        f = np.float32(v)
    if not np.isfinite(f):
        raise UnsupportedError(f"{what} = {float(v)!r} is not a finite float32")
    return c_float(f)


def _member(value, what: str) -> str:
    """A params-struct member initializer; every integer member is int32_t (firmware/include/tinyq)."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        if not _fits_int32(int(value)):
            raise UnsupportedError(f"{what} = {int(value)} does not fit int32_t")
        return c_int(value)
    if isinstance(value, (float, np.floating)):
        return _check_float(value, what)
    if isinstance(value, (tuple, list)):
        return "{" + ", ".join(_member(x, f"{what}[{k}]") for k, x in enumerate(value)) + "}"
    raise TypeError(f"{what}: cannot render {type(value).__name__} as a C initializer")


class _Emitter:
    def __init__(self, program: Program, plan: MemoryPlan, prefix: str, variants):
        self.program = program
        self.plan = plan
        self.prefix = prefix
        self.variants = variants  # per call: the kernel_select.Variant to call, or None for the reference
        self.arrays: list[ConstArray] = []

    def pointer(self, index: int, writable: bool) -> str:
        t = self.program.tensor(index)
        ctype = c_type(t.dtype)
        qual = "" if writable else "const "
        if index in self.program.inputs:
            return f"({qual}{ctype} *)inputs[{self.program.inputs.index(index)}]"
        if index in self.program.outputs:
            return f"({qual}{ctype} *)outputs[{self.program.outputs.index(index)}]"
        offset = self.plan.tensor_offset(index)
        if offset is None or not 0 <= offset <= self.plan.arena_bytes - t.nbytes:
            raise ValueError(f"tensor #{index} has no place inside the arena (offset {offset})")  # a planner bug
        return f"({qual}{ctype} *)({self.prefix}_arena + {offset})"

    def const_array(self, symbol: str, value: np.ndarray, what: str) -> ConstArray:
        if value.dtype.name not in C_TYPES:
            raise UnsupportedError(f"{what}: {value.dtype} array has no C type")
        if value.size > INT32_MAX or value.nbytes > INT32_MAX:
            raise UnsupportedError(f"{what}: {value.nbytes} bytes do not fit int32_t")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = value.reshape(-1)[~np.isfinite(value.reshape(-1))][0]
            raise UnsupportedError(f"{what}: value {float(bad)!r} is not a finite float32")
        return ConstArray(symbol, c_type(value.dtype), int(value.size), int(value.nbytes), tuple(array_lines(value)),
                          c_text(f"{what} {value.dtype}{list(value.shape)}", 160))

    def members(self, sym: str, members, where: str, structs: list) -> list[str]:
        """".member = value," lines; arrays become const arrays, ParamStructs static const structs."""
        inits = []
        for name, value in members:
            _identifier(name, f"{where}: parameter")
            if isinstance(value, np.ndarray):
                arr = self.const_array(f"{sym}_{name}", value, f"{where}: {name}")
                self.arrays.append(arr)
                inits.append(f".{name} = {arr.symbol},")
            elif isinstance(value, ParamStruct):
                inner = f"{sym}_{name}"
                lines = self.members(inner, value.param_fields(), f"{where}: {name}", structs)
                structs.append(StructView(_identifier(value.params_type, f"{where}: {name} struct"), inner, tuple(lines)))
                inits.append(f".{name} = &{inner},")
            else:
                inits.append(f".{name} = {_member(value, f'{where}: parameter {name}')},")
        return inits

    def call_view(self, k: int, call: KernelCall) -> CallView:
        sym = f"{self.prefix}_c{k}"
        where = f"call {k} (layer {call.layer} {c_text(call.opcode)})"
        _identifier(call.kernel, f"{where}: kernel")
        if call.params_type:
            _identifier(call.params_type, f"{where}: parameter struct")
        structs: list[StructView] = []
        inits = self.members(sym, call.param_fields(), where, structs)
        args = [f"&{sym}_params"] if call.params_type else []
        prelude = ""
        if call.variadic_inputs:
            ptrs = ", ".join(self.pointer(i, False) for i in call.inputs)
            prelude = f"const void *const {sym}_in[{len(call.inputs)}] = {{{ptrs}}};"
            args.append(f"{sym}_in")
        else:
            args += [self.pointer(i, False) for i in call.inputs]
        args += [self.pointer(i, True) for i in call.outputs]
        if call.scratch_bytes() > 0:
            offset = self.plan.scratch_offset(k)
            if offset is None or not 0 <= offset <= self.plan.arena_bytes - call.scratch_bytes():
                raise ValueError(f"{where}: its scratch buffer has no place inside the arena")  # a planner bug
            args.append(f"(void *)({self.prefix}_arena + {offset})")
        out = self.program.tensor(call.outputs[0]) if call.outputs else None
        variant = self.variants[k]
        symbol = _identifier(variant.symbol, f"{where}: variant") if variant else call.kernel
        title = f"layer {call.layer}: {c_text(call.opcode)} -> {symbol}"
        if out is not None:
            title += f', output "{c_text(out.name)}" {_shape(out)}'
        return CallView(
            k, call.layer, call.opcode, symbol, title, call.params_type, f"{sym}_params", tuple(inits), tuple(structs),
            prelude,
            f"{symbol}({', '.join(args)})",
            tuple(f"{self.pointer(i, False)}, {self.program.tensor(i).nbytes}u" for i in call.outputs),
        )

    def io_view(self, k: int, index: int) -> IoView:
        t = self.program.tensor(index)
        what = f"tensor '{c_text(t.name)}' (#{t.index})"
        if not _fits_int32(int(t.zero_point)):
            raise UnsupportedError(f"{what}: zero point {int(t.zero_point)} does not fit int32_t")
        scale = _check_float(float(t.scale), f"{what}: scale")
        return IoView(k, c_text(t.name), c_type(t.dtype), _shape(t), t.nbytes, np.dtype(t.dtype).itemsize, scale,
                      int(t.zero_point))


def _check_plan(plan: MemoryPlan) -> None:
    for what, n in (("activation arena", plan.arena_bytes), ("largest scratch buffer", plan.scratch_bytes),
                    ("weights", plan.weight_bytes)):
        if not 0 <= n <= INT32_MAX:
            raise UnsupportedError(f"{what}: {n} bytes do not fit int32_t")


def render_sources(program: Program, plan: MemoryPlan, prefix: str = "model", model_name: str = "model.tflite",
                   options: str = "", variants: Sequence[Variant | None] | None = None) -> dict[str, str]:
    """The four generated files, name -> text, all rendered in memory: a value that does not fit its C type
    raises UnsupportedError (one line naming the call or tensor and the value) before anything is written."""
    if not is_c_identifier(prefix):
        raise TinyqError(f"--prefix '{prefix}' is not a valid C identifier")
    if variants is None:
        variants = [None] * len(program.calls)
    for t in program.tensors:
        _check_tensor(t)
    _check_plan(plan)
    em = _Emitter(program, plan, prefix, variants)
    calls = [em.call_view(k, c) for k, c in enumerate(program.calls)]
    weight_bytes = sum(a.nbytes for a in em.arrays)
    if weight_bytes > INT32_MAX:
        raise UnsupportedError(f"weights: {weight_bytes} bytes do not fit int32_t")
    context = dict(
        prefix=prefix,
        PREFIX=prefix.upper(),
        version=c_text(__version__),
        sha256=c_text(program.model_sha256),
        model_name=c_text(model_name),
        options=c_text(options),
        calls=calls,
        arrays=em.arrays,
        inputs=[em.io_view(k, i) for k, i in enumerate(program.inputs)],
        outputs=[em.io_view(k, i) for k, i in enumerate(program.outputs)],
        arena_bytes=int(plan.arena_bytes),
        scratch_bytes=int(plan.scratch_bytes),
        weight_bytes=int(plan.weight_bytes),
        required_features=sorted({(c_text(v.feature), _identifier(v.macro, "feature macro")) for v in variants if v}),
    )
    return {name: render(f"{name}.j2", file=name, **context)
            for name in ("model.h", "model.c", "model_data.h", "model_data.c")}


def emit_sources(program: Program, plan: MemoryPlan, out_dir: Path, prefix: str = "model",
                 model_name: str = "model.tflite", options: str = "",
                 variants: Sequence[Variant | None] | None = None) -> list[Path]:
    """Write model.h, model.c, model_data.h and model_data.c into out_dir; returns their paths.
    `variants`: per call, the optimized kernel to call (tinyq.kernel_select.select_kernels), or None for
    the reference; by default every call uses the reference. Nothing is written (not even out_dir) when
    any value is refused."""
    files = render_sources(program, plan, prefix, model_name, options, variants)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
