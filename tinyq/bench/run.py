"""`tinyq bench`: deterministic cost of a compiled model on an emulated board, and estimates for real boards.

Instructions per inference and per layer are exact counts of retired guest instructions (QEMU with
-icount shift=0 and tinyq's counting plugin between marker functions), repeatable to the instruction.
The plugin also splits them by instruction class; tinyq.bench.cycles prices the classes for the core
(estimated cycles). Flash and RAM come from the linked ELF's sections (weights, code, arena, stack,
other); the stack one invoke really uses is measured in the same run by painting the free stack.
A real board is counted on the emulated board with its core (its "twin"), after checking that both
compile to the same kernels; its milliseconds are the estimated cycles over its clock.
"""
from __future__ import annotations

import json
import tempfile
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    import tomli as tomllib
from pathlib import Path
from typing import Callable

from tinyq.bench.cycles import estimate_cycles, timing
from tinyq.bench.macs import call_macs
from tinyq.bench.report import BenchReport, LayerCost
from tinyq.compiler import MANIFEST, compile_model
from tinyq.errors import TinyqError
from tinyq.verify import random_batches

# the emulated board that counts for a real board's core (same ISA features: DSP, MVE)
TWINS = {"cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500",
         "cortex-m33": "mps2-an505", "cortex-m55": "mps3-an547"}


def peak_ram(arena: int, io: int, stack_used: int | None) -> int | None:
    """Peak data RAM of one inference: the arena, the caller-owned I/O buffers and the stack one invoke uses."""
    return None if stack_used is None else arena + io + stack_used


def board_clock_hz(name: str) -> int | None:
    """A real board's core clock (`clock_hz` in boards/<name>.toml), None if the file gives none."""
    from tinyq.resources import data_dir

    raw = tomllib.loads((data_dir("boards") / f"{name}.toml").read_text(encoding="utf-8"))
    return int(raw["clock_hz"]) if "clock_hz" in raw else None


def twin_board(board) -> str:
    """The emulated board that counts for `board` (itself when emulated)."""
    from tinyq.boards import load_board

    if board.emulated:
        return board.name
    twin = TWINS.get(board.cpu) if board.kind == "real" else None
    if twin is None:
        raise TinyqError(f"bench needs an emulated board (QEMU) or a real board whose core QEMU emulates; "
                         f"{board.name} is neither (see `tinyq boards`)")
    t = load_board(twin)
    if (t.has_dsp, t.has_mve) != (board.has_dsp, board.has_mve):
        raise TinyqError(f"{board.name}: its emulated twin {twin} has other CPU features (DSP {t.has_dsp}, "
                         f"MVE {t.has_mve}); its kernels could differ")
    return twin


def _ran(out: Path) -> list[str]:
    return [layer["implementation"] for layer in json.loads((out / MANIFEST).read_text())["layers"]]


def bench(model, board: str, work_dir=None, seed: int = 0, progress: Callable[[str], None] = lambda s: None,
          weights: str = "auto", layers=None, patch="auto", state: str = "keep", weights_layout: str = "auto") -> BenchReport:
    from tinyq.boards import load_board
    from tinyq.compiler import widened_layers
    from tinyq.io import from_batch
    from tinyq.sim.run import as_program
    from tinyq.targets.build import build_project
    from tinyq.targets.elfsize import stack_sizing
    from tinyq.targets.icount import count_instructions

    target = load_board(board)
    twin = twin_board(target)
    tmp = tempfile.TemporaryDirectory()
    root = Path(work_dir or tmp.name)
    out = root / twin
    try:
        if twin != board:
            progress(f"compiling for {board} (the kernels it gets) ...")
            compile_model(model, root / board, board=board, weights=weights, layers=layers, patch=patch,
                          weights_layout=weights_layout)
            wanted = _ran(root / board)
            # the twin's flash may differ: give it the layout auto chose for the board
            widened = any(layer.get("weights_layout") == "int16"
                          for layer in json.loads((root / board / MANIFEST).read_text())["layers"])
            weights_layout = "int16" if widened else "int8"
        progress(f"compiling for {twin} ...")
        r = compile_model(model, out, board=twin, weights=weights, layers=layers, patch=patch,
                          weights_layout=weights_layout)
        ran = _ran(out)
        if twin != board and ran != wanted:
            diff = next(k for k, (a, b) in enumerate(zip(wanted, ran)) if a != b)
            raise TinyqError(f"{board} and its emulated twin {twin} get different kernels (call {diff}: "
                             f"{wanted[diff]} vs {ran[diff]}): its instructions cannot be counted on {twin}")
        progress("building ...")
        sizes = build_project(out).sizes
        progress("counting instructions (QEMU, -icount shift=0) ...")
        program = r.program
        batches = random_batches(program, 1, seed)
        arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
        counts = count_instructions(out, arrays, state=state)
        # the static bound of the code that was measured (the profile build's call graph)
        sizing = stack_sizing(Path(out) / ".pio" / "build" / "profile" / "firmware.elf")
        lowered = r.lowered  # the records before specialization: their geometry gives MACs
        t = timing(target.cpu)
        costs = []
        for k, (c, n, fn, cls) in enumerate(zip(program.calls, counts.layers[0], ran, counts.layer_classes[0])):
            macs = call_macs(lowered.calls[k])
            costs.append(LayerCost(k, c.layer, program.tensor(c.outputs[0]).name if c.outputs else "", c.opcode,
                                   c.kernel, n, fn, macs, cycles=round(estimate_cycles(cls, t)), classes=cls))
        # the model's MACs: what the bands of a patched chain recompute is cost, not work (tinyq.patch)
        total_macs = sum(lc.macs for lc in costs) - (r.patching.extra_macs if r.patching else 0)
        cycles = round(estimate_cycles(counts.invoke_classes[0], t))
        clock = board_clock_hz(board) if target.kind == "real" else None
        return BenchReport(
            str(model), board, counts.invokes[0], costs,
            {"code": sizes.code_bytes, "weights": sizes.weight_bytes, "total": sizes.flash_bytes},
            {"arena": sizes.arena_bytes, "stack": sizes.stack_bytes, "stack_used": counts.stack_used,
             "stack_bound": sizing.invoke_bytes if sizing else None, "stack_total": counts.stack_total,
             "other": sizes.other_ram_bytes, "total": sizes.ram_bytes,
             "peak": peak_ram(sizes.arena_bytes, r.plan.io_bytes + r.plan.state_bytes, counts.stack_used)},
            {"arena_bytes": r.plan.arena_bytes, "scratch_bytes": r.plan.scratch_bytes, "weight_bytes": r.plan.weight_bytes,
             "io_bytes": r.plan.io_bytes, "state_bytes": r.plan.state_bytes,
             "widened_weight_bytes": sum(b for _, b in widened_layers(program))},
            counted_on=twin, core=t.core, macs=total_macs,
            instructions_per_mac=round(counts.invokes[0] / total_macs, 3) if total_macs else None,
            cycles=cycles, cycle_model=t.source, clock_hz=clock,
            ms=round(1000.0 * cycles / clock, 4) if clock else None, classes=counts.invoke_classes[0],
        )
    finally:
        tmp.cleanup()
