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
from tinyq.planner import MemoryPlan, dead_ranges
from tinyq.program import KernelCall, ParamStruct, Program, TensorInfo, state_initial_value


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
    poison: tuple[str, ...]  # "offset, size" of the arena bytes dead before the call, for TQ_POISON builds


@dataclass(frozen=True)
class StructView:
    ctype: str
    symbol: str
    init: tuple[str, ...]


@dataclass(frozen=True)
class LevelView:
    """One precision level of a multi-level image: its calls and the function that runs them."""

    index: int
    model_name: str
    sha256: str
    run_symbol: str  # static function running the level's calls (arguments already checked)
    calls: tuple[CallView, ...]
    inputs: tuple["IoView", ...]
    outputs: tuple["IoView", ...]
    arena_bytes: int  # what this level alone needs of the shared arena
    weight_bytes: int  # constant bytes this level reads (arrays it shares with other levels included)


@dataclass(frozen=True)
class LevelCode:
    """What the emitter needs of one level: its program, memory plan, kernel variants and file name."""

    program: Program
    plan: MemoryPlan
    variants: Sequence[Variant | None]
    model_name: str


@dataclass(frozen=True)
class StateView:
    """A persistent state buffer in model.c's state region, and the byte its reset fills it with."""

    name: str
    offset: int
    nbytes: int
    fill: int  # 0..255: memset value (TFLM: an int8 state's zero point, else 0)


@dataclass(frozen=True)
class StateInitView:
    """A resource variable's start value (Program.state_inits), copied into its state buffer at the first invoke."""

    name: str
    offset: int
    nbytes: int
    ctype: str
    count: int
    lines: list[str]


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
    arena_offset: int = -1  # --io arena: where its buffer starts in the arena
    dims: tuple[int, ...] = ()  # its shape, for the shape macros
    kind: str = ""  # "s8" / "s16" / "u8": the quantize/dequantize helpers model.h gives it; "" for other dtypes


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


class _ArrayStore:
    """The constant arrays of the generated files. An array whose bytes equal an earlier one's is stored once
    and referenced by the earlier symbol (cast when its C type differs): this is how the bands of a patched
    layer (tinyq.patch), identical tensors of two levels, and nested weights cost flash once."""

    def __init__(self):
        self.arrays: list[ConstArray] = []
        self._by_bytes: dict[bytes, ConstArray] = {}

    def add(self, symbol: str, value: np.ndarray, what: str) -> str:
        """Store `value` (checked first); return the C expression that points to it."""
        if value.dtype.name not in C_TYPES:
            raise UnsupportedError(f"{what}: {value.dtype} array has no C type")
        if value.size > INT32_MAX or value.nbytes > INT32_MAX:
            raise UnsupportedError(f"{what}: {value.nbytes} bytes do not fit int32_t")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = value.reshape(-1)[~np.isfinite(value.reshape(-1))][0]
            raise UnsupportedError(f"{what}: value {float(bad)!r} is not a finite float32")
        ctype = c_type(value.dtype)
        key = np.ascontiguousarray(value).tobytes()
        first = self._by_bytes.get(key)
        if first is not None and first.nbytes == value.nbytes:
            return first.symbol if first.ctype == ctype else f"(const {ctype} *){first.symbol}"
        arr = ConstArray(symbol, ctype, int(value.size), int(value.nbytes), tuple(array_lines(value)),
                         c_text(f"{what} {value.dtype}{list(value.shape)}", 160))
        self.arrays.append(arr)
        self._by_bytes[key] = arr
        return symbol


class _Emitter:
    def __init__(self, program: Program, plan: MemoryPlan, prefix: str, variants, store: _ArrayStore,
                 symbols: str | None = None):
        self.program = program
        self.plan = plan
        self.prefix = prefix  # of the arena and the public API
        self.symbols = symbols or prefix  # of this program's call structs and arrays
        self.variants = variants  # per call: the kernel_select.Variant to call, or None for the reference
        self.store = store

    def pointer(self, index: int, writable: bool) -> str:
        t = self.program.tensor(index)
        ctype = c_type(t.dtype)
        qual = "" if writable else "const "
        base, at = self.program.view_base(index)  # a view (a band of rows) points into its base's buffer
        caller = None
        if base in self.program.inputs and not self.plan.io_in_arena:
            caller = f"inputs[{self.program.inputs.index(base)}]"
        elif base in self.program.outputs and not self.plan.io_in_arena:
            caller = f"outputs[{self.program.outputs.index(base)}]"
        if caller is not None:
            return f"({qual}{ctype} *){caller}" if at == 0 else f"({qual}{ctype} *)(({qual}uint8_t *){caller} + {at})"
        if index in self.program.states:  # a persistent state: in the state region, never the arena
            offset = self.plan.state_offset(index)
            if offset is None or not 0 <= offset <= self.plan.state_bytes - t.nbytes:
                raise ValueError(f"state tensor #{index} has no place inside the state region")  # a planner bug
            return f"({qual}{ctype} *)({self.prefix}_state + {offset})"
        offset = self.plan.tensor_offset(base)
        if offset is None or not 0 <= offset + at <= self.plan.arena_bytes - t.nbytes:
            raise ValueError(f"tensor #{index} has no place inside the arena (offset {offset})")  # a planner bug
        return f"({qual}{ctype} *)({self.prefix}_arena + {offset + at})"

    def members(self, sym: str, members, where: str, structs: list) -> list[str]:
        """".member = value," lines; arrays become const arrays, ParamStructs static const structs."""
        inits = []
        for name, value in members:
            _identifier(name, f"{where}: parameter")
            if isinstance(value, np.ndarray):
                inits.append(f".{name} = {self.store.add(f'{sym}_{name}', value, f'{where}: {name}')},")
            elif isinstance(value, ParamStruct):
                inner = f"{sym}_{name}"
                lines = self.members(inner, value.param_fields(), f"{where}: {name}", structs)
                structs.append(StructView(_identifier(value.params_type, f"{where}: {name} struct"), inner, tuple(lines)))
                inits.append(f".{name} = &{inner},")
            else:
                inits.append(f".{name} = {_member(value, f'{where}: parameter {name}')},")
        return inits

    def call_view(self, k: int, call: KernelCall) -> CallView:
        sym = f"{self.symbols}_c{k}"
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
            tuple(f"{o}u, {n}u" for o, n in dead_ranges(self.plan, k)),
        )

    def io_view(self, k: int, index: int) -> IoView:
        t = self.program.tensor(index)
        what = f"tensor '{c_text(t.name)}' (#{t.index})"
        if not _fits_int32(int(t.zero_point)):
            raise UnsupportedError(f"{what}: zero point {int(t.zero_point)} does not fit int32_t")
        scale = _check_float(float(t.scale), f"{what}: scale")
        offset = self.plan.tensor_offset(index) if self.plan.io_in_arena else -1
        if self.plan.io_in_arena and (offset is None or not 0 <= offset <= self.plan.arena_bytes - t.nbytes):
            raise ValueError(f"{what} has no place inside the arena (offset {offset})")  # a planner bug
        kind = {"int8": "s8", "int16": "s16", "uint8": "u8"}.get(t.dtype, "") if t.scale > 0 else ""
        return IoView(k, c_text(t.name), c_type(t.dtype), _shape(t), t.nbytes, np.dtype(t.dtype).itemsize, scale,
                      int(t.zero_point), offset, tuple(int(d) for d in t.shape), kind)


def _check_plan(plan: MemoryPlan) -> None:
    for what, n in (("activation arena", plan.arena_bytes), ("largest scratch buffer", plan.scratch_bytes),
                    ("weights", plan.weight_bytes)):
        if not 0 <= n <= INT32_MAX:
            raise UnsupportedError(f"{what}: {n} bytes do not fit int32_t")


def render_sources(program: Program, plan: MemoryPlan, prefix: str = "model", model_name: str = "model.tflite",
                   options: str = "", variants: Sequence[Variant | None] | None = None) -> dict[str, str]:
    """The four generated files, name -> text, all rendered in memory: a value that does not fit its C type
    raises UnsupportedError (one line naming the call or tensor and the value) before anything is written."""
    if variants is None:
        variants = [None] * len(program.calls)
    return render_levels([LevelCode(program, plan, variants, model_name)], prefix, options)


def render_levels(levels: Sequence[LevelCode], prefix: str = "model", options: str = "") -> dict[str, str]:
    """The generated files of one image holding every program of `levels` (one: the plain single-model API;
    several: precision levels switched at run time, tinyq/levels). The levels share one arena, sized to the
    largest, and every constant array whose bytes another level already stored."""
    if not is_c_identifier(prefix):
        raise TinyqError(f"--prefix '{prefix}' is not a valid C identifier")
    multi = len(levels) > 1
    store = _ArrayStore()
    views = []
    for k, lv in enumerate(levels):
        for t in lv.program.tensors:
            _check_tensor(t)
        _check_plan(lv.plan)
        em = _Emitter(lv.program, lv.plan, prefix, lv.variants, store, f"{prefix}_l{k}" if multi else prefix)
        calls = tuple(em.call_view(j, c) for j, c in enumerate(lv.program.calls))
        views.append(LevelView(
            k, c_text(lv.model_name), c_text(lv.program.model_sha256), f"{prefix}_l{k}_run", calls,
            tuple(em.io_view(j, i) for j, i in enumerate(lv.program.inputs)),
            tuple(em.io_view(j, i) for j, i in enumerate(lv.program.outputs)),
            int(lv.plan.arena_bytes), int(lv.program.weight_bytes)))
    if multi and any(lv.program.states for lv in levels):
        raise UnsupportedError("a stateful model (SVDF, LSTM) cannot be one of several precision levels")
    weight_bytes = sum(a.nbytes for a in store.arrays)
    if weight_bytes > INT32_MAX:
        raise UnsupportedError(f"weights: {weight_bytes} bytes do not fit int32_t")
    first = levels[0]
    variants = [v for lv in levels for v in lv.variants]
    context = dict(
        prefix=prefix,
        PREFIX=prefix.upper(),
        version=c_text(__version__),
        sha256=c_text(first.program.model_sha256 if not multi else
                      " + ".join(lv.program.model_sha256 for lv in levels)),
        model_name=c_text(first.model_name if not multi else " + ".join(lv.model_name for lv in levels)),
        options=c_text(options),
        levels=views,
        calls=views[0].calls,
        arrays=store.arrays,
        inputs=views[0].inputs,
        outputs=views[0].outputs,
        io_macros=_io_macros(views),
        io_in_arena=first.plan.io_in_arena and not multi,
        arena_bytes=max(int(lv.plan.arena_bytes) for lv in levels),
        scratch_bytes=max(int(lv.plan.scratch_bytes) for lv in levels),
        weight_bytes=int(first.plan.weight_bytes) if not multi else weight_bytes,
        states=_state_views(first.program, first.plan) if not multi else [],
        state_bytes=int(first.plan.state_bytes) if not multi else 0,
        state_inits=_state_init_views(first.program, first.plan) if not multi else [],
        required_features=sorted({(c_text(v.feature), _identifier(v.macro, "feature macro")) for v in variants if v}),
    )
    return {name: render(f"{name}.j2", file=name, **context)
            for name in ("model.h", "model.c", "model_data.h", "model_data.c")}


def _state_views(program: Program, plan: MemoryPlan) -> list[StateView]:
    if not 0 <= plan.state_bytes <= INT32_MAX:
        raise UnsupportedError(f"state region: {plan.state_bytes} bytes do not fit int32_t")
    out = []
    for a in plan.states:
        t = program.tensor(a.tensor)
        out.append(StateView(c_text(t.name), int(a.offset), int(a.size), state_initial_value(t) & 0xFF))
    return out


def _state_init_views(program: Program, plan: MemoryPlan) -> list[StateInitView]:
    out = []
    for index, value in program.state_inits:
        t = program.tensor(index)
        offset = plan.state_offset(index)
        if offset is None or value.nbytes != t.nbytes or value.dtype != np.dtype(t.dtype):
            raise ValueError(f"state #{index}: its start value does not fit its state buffer")  # a lowering bug
        out.append(StateInitView(c_text(t.name), int(offset), int(t.nbytes), c_type(t.dtype), int(value.size),
                                 array_lines(value)))
    return out


def _io_macros(views: Sequence[LevelView]) -> list[tuple[str, str, str]]:
    """(macro name, value, C comment) of each input's and output's scale and zero point in a multi-level image:
    one unqualified macro where every level agrees, one per level (<PREFIX>_L<k>_...) where they differ, so that
    code reading the unqualified macro of a level-dependent value does not compile."""
    out = []
    for kind, pick in (("INPUT", lambda v: v.inputs), ("OUTPUT", lambda v: v.outputs)):
        for j in range(len(pick(views[0]))):
            for what, get in (("SCALE", lambda io: io.scale), ("ZERO_POINT", lambda io: str(io.zero_point))):
                values = [get(pick(v)[j]) for v in views]
                if len(set(values)) == 1:
                    out.append((f"{kind}{j}_{what}", values[0], ""))
                else:
                    out += [(f"L{v.index}_{kind}{j}_{what}", values[v.index], "differs between levels")
                            for v in views]
    return out


def emit_sources(program: Program, plan: MemoryPlan, out_dir: Path, prefix: str = "model",
                 model_name: str = "model.tflite", options: str = "",
                 variants: Sequence[Variant | None] | None = None) -> list[Path]:
    """Write model.h, model.c, model_data.h and model_data.c into out_dir; returns their paths.
    `variants`: per call, the optimized kernel to call (tinyq.kernel_select.select_kernels), or None for
    the reference; by default every call uses the reference. Nothing is written (not even out_dir) when
    any value is refused."""
    return _write(render_sources(program, plan, prefix, model_name, options, variants), out_dir)


def emit_levels(levels: Sequence[LevelCode], out_dir: Path, prefix: str = "model", options: str = "") -> list[Path]:
    """The same for a multi-level image (render_levels)."""
    return _write(render_levels(levels, prefix, options), out_dir)


def _write(files: dict[str, str], out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
