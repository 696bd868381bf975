"""Program + MemoryPlan -> generated C sources. Python prepares every C fragment (names, types, values,
array text); the templates in templates/ lay out the files. Output is byte-for-byte deterministic.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq import __version__
from tinyq.emit.c_literals import array_lines, c_type, c_value, is_c_identifier
from tinyq.emit.jinja_env import render
from tinyq.errors import TinyqError
from tinyq.kernel_select import Variant
from tinyq.planner import MemoryPlan
from tinyq.program import KernelCall, Program, TensorInfo


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
    prelude: str  # statement before the call (variadic input pointer array), or ""
    call: str  # the kernel call expression
    traced: tuple[str, ...]  # "pointer, nbytes" of each output, for TQ_TRACE builds


@dataclass(frozen=True)
class IoView:
    index: int
    name: str
    ctype: str
    shape: str
    nbytes: int
    scale: str
    zero_point: int


def _shape(t: TensorInfo) -> str:
    return f"{t.dtype}[{', '.join(map(str, t.shape))}]"


def _comment_safe(s: str) -> str:
    return s.replace("*/", "* /").replace("\n", " ")


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
        return f"({qual}{ctype} *)({self.prefix}_arena + {offset})"

    def call_view(self, k: int, call: KernelCall) -> CallView:
        sym = f"{self.prefix}_c{k}"
        inits = []
        for name, value in call.param_fields():
            if isinstance(value, np.ndarray):
                arr_sym = f"{sym}_{name}"
                self.arrays.append(
                    ConstArray(
                        arr_sym, c_type(value.dtype), int(value.size), int(value.nbytes), tuple(array_lines(value)),
                        f"call {k} (layer {call.layer} {call.opcode}): {name} {value.dtype}{list(value.shape)}",
                    )
                )
                value = arr_sym
                inits.append(f".{name} = {value},")
            else:
                inits.append(f".{name} = {c_value(value)},")
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
            args.append(f"(void *)({self.prefix}_arena + {self.plan.scratch_offset(k)})")
        out = self.program.tensor(call.outputs[0]) if call.outputs else None
        variant = self.variants[k]
        symbol = variant.symbol if variant else call.kernel
        title = f"layer {call.layer}: {call.opcode} -> {symbol}"
        if out is not None:
            title += f', output "{_comment_safe(out.name)}" {_shape(out)}'
        return CallView(
            k, call.layer, call.opcode, symbol, title, call.params_type, f"{sym}_params", tuple(inits), prelude,
            f"{symbol}({', '.join(args)})",
            tuple(f"{self.pointer(i, False)}, {self.program.tensor(i).nbytes}u" for i in call.outputs),
        )

    def io_view(self, k: int, index: int) -> IoView:
        t = self.program.tensor(index)
        return IoView(k, _comment_safe(t.name), c_type(t.dtype), _shape(t), t.nbytes, c_value(float(t.scale)), t.zero_point)


def emit_sources(program: Program, plan: MemoryPlan, out_dir: Path, prefix: str = "model",
                 model_name: str = "model.tflite", options: str = "",
                 variants: Sequence[Variant | None] | None = None) -> list[Path]:
    """Write model.h, model.c, model_data.h and model_data.c into out_dir; returns their paths.
    `variants`: per call, the optimized kernel to call (tinyq.kernel_select.select_kernels), or None for
    the reference; by default every call uses the reference."""
    if not is_c_identifier(prefix):
        raise TinyqError(f"--prefix '{prefix}' is not a valid C identifier")
    if variants is None:
        variants = [None] * len(program.calls)
    em = _Emitter(program, plan, prefix, variants)
    calls = [em.call_view(k, c) for k, c in enumerate(program.calls)]
    context = dict(
        prefix=prefix,
        PREFIX=prefix.upper(),
        version=__version__,
        sha256=program.model_sha256,
        model_name=_comment_safe(model_name),
        options=_comment_safe(options),
        calls=calls,
        arrays=em.arrays,
        inputs=[em.io_view(k, i) for k, i in enumerate(program.inputs)],
        outputs=[em.io_view(k, i) for k, i in enumerate(program.outputs)],
        plan=plan,
        required_features=sorted({(v.feature, v.macro) for v in variants if v}),
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for template, name in (("model.h.j2", "model.h"), ("model.c.j2", "model.c"),
                           ("model_data.h.j2", "model_data.h"), ("model_data.c.j2", "model_data.c")):
        path = out_dir / name
        path.write_text(render(template, file=name, **context), encoding="utf-8")
        written.append(path)
    return written
