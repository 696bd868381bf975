"""Compile-time specialization of kernel calls for a board's CPU (ahead-of-time work a kernel library cannot do).

After lowering and kernel selection, a *preparer* may replace a call record with a prepared one: a record of
its own struct type (e.g. `tq_conv_s8_fast_params`) holding what the fast kernel wants computed once, at
compile time: biases with the input offset folded in, weights in the order the inner loop reads them,
per-channel requantization rows (tinyq/specialize/requant.py), scratch for im2col. The simulator never sees a
prepared record: it runs the lowered Program, and the firmware tests hold each prepared kernel to the same
integers on the boards that select it.

A preparer returns None when its conditions do not hold (a bound that cannot be proved, a shape it does not
handle); the call then keeps the variant tinyq.kernel_select chose. A preparer never refuses a model, so
`compile` refuses exactly what `simulate` refuses.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable

from tinyq.kernel_select import Variant
from tinyq.program import KernelCall, Program


@dataclass(frozen=True)
class Prepared:
    call: KernelCall  # the record to emit: same kernel/layer/opcode/inputs/outputs, its own params_type
    symbol: str  # the C function to call with it


@dataclass(frozen=True)
class Preparer:
    kernel: str  # the lowered kernel it specializes, e.g. "tq_conv_s8"
    feature: str  # the CPU feature its C function needs ("dsp", "mve")
    macro: str  # the compiler macro of that feature, checked by model.c
    prepare: Callable[[KernelCall], Prepared | None]
    wide: bool = False  # stores the weights widened to int16 (--weights-layout int16): tried only when asked
    cpus: tuple[str, ...] = ()  # the cores (Board.cpu) it is tried on, when its speed depends on the core; () = any


def base_fields(call: KernelCall) -> dict:
    """The KernelCall fields a prepared record copies from the lowered call (kernel, layer, opcode, inputs,
    outputs): the manifest and the reports keep naming the lowered kernel and its tensors."""
    return {f.name: getattr(call, f.name) for f in fields(KernelCall)}


# tried best feature first (FEATURE_ORDER), then in registration order: the first whose feature the board has
# and whose prepare() accepts the call wins. The feature order is explicit because registration happens on
# import: a module imported early (a test importing conv_dsp, say) would otherwise put the DSP preparers ahead
# of the Helium ones on the M55, which has both features.
PREPARERS: list[Preparer] = []
FEATURE_ORDER = ("mve", "dsp")


def register(p: Preparer) -> Preparer:
    PREPARERS.append(p)
    return p


def _load() -> None:
    # each module registers its preparers on import (best first within a kernel)
    from tinyq.specialize import _registry  # noqa: F401


def candidates(kernel: str, features: frozenset[str], wide: bool = False, cpu: str = "") -> list[Preparer]:
    """The preparers that may take a call of `kernel` on a CPU with `features`, in the order they are tried
    (wide: the int16-weight ones too, ahead of the int8 ones they are registered before; cpu: the board's core,
    for the preparers tried on some cores only; "" = unknown, none of those)."""
    _load()
    usable = [p for p in PREPARERS if p.kernel == kernel and p.feature in features and (wide or not p.wide)
              and (not p.cpus or cpu in p.cpus)]
    return sorted(usable, key=lambda p: FEATURE_ORDER.index(p.feature))  # stable: registration order within


def specialize(program: Program, variants, features: frozenset[str], wide: bool = False,
               cpu: str = "") -> tuple[Program, list]:
    """The program with prepared records where a preparer accepts the call, and the variant list to emit with.
    wide: weights widened to int16 where a kernel takes them so (tinyq.compiler's --weights-layout)."""
    calls, out = [], []
    for call, variant in zip(program.calls, variants):
        got = None
        for p in candidates(call.kernel, features, wide, cpu):
            got = p.prepare(call)
            if got is not None:
                got = (got, p)
                break
        if got is None:
            calls.append(call)
            out.append(variant)
        else:
            prepared, p = got
            calls.append(prepared.call)
            out.append(Variant(prepared.symbol, p.feature, p.macro))
    if all(a is b for a, b in zip(calls, program.calls)):
        return program, out
    return replace(program, calls=tuple(calls)), out
