"""Costs of a configuration on a board, with no build: flash and RAM exact, instructions modelled.

flash_bytes: the bytes of model data the compiler stores in flash, Program.weight_bytes = every constant array
    the generated C holds (weights in the encoding `auto` chose for the board's CPU, biases, multipliers/shifts,
    lookup tables), before the linker's alignment padding (a few bytes per array). Code is not counted: it does
    not depend on the weight specs beyond which kernels get linked.
ram_bytes: the planner's arena (activations + the largest scratch buffer, which lives in the arena) plus the
    caller-owned input/output buffers. Stack and runtime RAM are the board's, not the model's.
Both come from the same lower() + plan_memory() that `tinyq compile` runs, so they are what compile would produce.

instructions: int8 instructions per call x the relative cost of the kernel the call gets (encode.select's
    KERNEL_COST for the encoding auto chose, its op and the CPU kind; 1.0 for int8 and for calls without weights).
    The int8 counts come from one `tinyq bench` of the int8 model (exact, per layer), or, without a bench, from a
    static per-MAC model (STATIC_*; rough: kernels differ several-fold per MAC, see the report's error figure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinyq.encode.apply import ENCODABLE
from tinyq.encode.select import call_isa, kernel_cost

# --no-bench: instructions ~ MACs x per-MAC + output elements x per-element (fit by eye to the digits model's int8
# bench on mps2-an386 (M4, DSP kernels) and an385 (M3, portable C); good to a factor of ~2 per layer, no better)
STATIC_PER_MAC = {"mve": 1.0, "dsp": 8.0, "portable": 14.0}  # mve: the M55's Helium kernels, ~0.7 on MLPerf KWS
STATIC_PER_ELEMENT = {"mve": 10.0, "dsp": 30.0, "portable": 40.0}


@dataclass(frozen=True)
class Footprint:
    flash_bytes: int
    ram_bytes: int
    layer_bytes: tuple[int, ...]  # stored weight bytes per encodable call
    encodings: tuple[str, ...]  # what auto chose per encodable call


def lower_model(tflite: bytes, isa: str):
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    return lower(read_model(tflite), "auto", None, isa)


def footprint(program) -> Footprint:
    from tinyq.encode.apply import weight_report
    from tinyq.planner import plan_memory

    plan = plan_memory(program)
    report = weight_report(program)
    return Footprint(plan.weight_bytes, plan.arena_bytes + plan.io_bytes,
                     tuple(w.nbytes for w in report), tuple(w.encoding for w in report))


def relative_costs(program, isa: str) -> list[float]:
    """Per call: its kernel's modelled time relative to the int8 kernel of the same op (1.0 when int8)."""
    out = []
    for call in program.calls:
        packed = getattr(call, "packed", None)
        if packed is None:
            out.append(1.0)
            continue
        w = packed.encoded
        rows = w.decode()
        density = float(np.count_nonzero(rows)) / max(1, rows.size)
        op = ENCODABLE[call.kernel.rsplit("_", 1)[0]][0]
        out.append(float(kernel_cost(w, op, call_isa(call, isa), density)))
    return out


def static_int8_counts(program, isa: str) -> list[int]:
    """A per-call int8 instruction estimate from shapes alone (no board)."""
    counts = []
    for call in program.calls:
        out = program.tensor(call.outputs[0]).size if call.outputs else 0
        macs = _macs(program, call, out)
        if call.in_place and not macs:  # a reshape that aliases its input costs a call, not a copy
            out = 0
        counts.append(int(round(macs * STATIC_PER_MAC[isa] + out * STATIC_PER_ELEMENT[isa])))
    return counts


def _macs(program, call, out_elements: int) -> int:
    """Multiply-accumulates of a weighted call: output elements x weights per output channel (the output's last
    axis; true of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D alike)."""
    packed = getattr(call, "packed", None)
    if packed is not None:
        weights = packed.encoded.decode().size
    elif call.kernel in ENCODABLE:
        weights = np.asarray(getattr(call, ENCODABLE[call.kernel][1])).size
    else:
        return 0
    channels = program.tensor(call.outputs[0]).shape[-1]
    return out_elements * (weights // max(1, channels))


@dataclass(frozen=True)
class InstructionModel:
    """int8 instructions per call (bench or static) for one model's call sequence, on one CPU kind."""

    isa: str
    int8_counts: tuple[int, ...]
    source: str  # "bench <board>" or "static"

    def predict(self, program) -> int:
        rel = relative_costs(program, self.isa)
        if len(rel) != len(self.int8_counts):
            raise AssertionError(f"call count changed ({len(rel)} vs {len(self.int8_counts)}): weight specs "
                                 "must not change the program's calls")
        return int(round(sum(c * r for c, r in zip(self.int8_counts, rel))))


def bench_int8_counts(int8_tflite: bytes, board: str) -> tuple[int, ...]:
    from tinyq.bench import bench

    return tuple(layer.instructions for layer in bench(int8_tflite, board).layers)


def bench_instructions(tflite: bytes, board: str) -> int:
    from tinyq.bench import bench

    return int(bench(tflite, board).instructions)


def relative_error(predicted: Sequence[int], measured: Sequence[int]) -> dict:
    """Cost-model error figures (percent, signed = predicted above measured)."""
    errs = [100.0 * (p - m) / m for p, m in zip(predicted, measured) if m]
    if not errs:
        return {"points": 0}
    return {"points": len(errs), "mean_abs_percent": float(np.mean(np.abs(errs))),
            "max_abs_percent": float(np.max(np.abs(errs))), "per_point_percent": [round(e, 2) for e in errs]}
