"""`tinyq bench`: deterministic cost of a compiled model on an emulated board.

Instructions per inference and per layer are exact counts of retired guest instructions (QEMU with
-icount shift=0 and tinyq's counting plugin between marker functions), repeatable to the instruction.
Flash and RAM come from the linked ELF's sections (weights, code, arena, stack, other); the stack one invoke
really uses is measured in the same run by painting the free stack before the invoke.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from tinyq.compiler import MANIFEST, compile_model
from tinyq.verify import random_batches


@dataclass
class LayerCost:
    call: int
    layer: int
    name: str
    op: str
    kernel: str
    instructions: int
    implementation: str = ""  # the C function that ran: the kernel, or its variant for the board's CPU


@dataclass
class BenchReport:
    model: str
    board: str
    instructions: int
    layers: list[LayerCost]
    flash_bytes: dict[str, int]
    ram_bytes: dict[str, int]
    plan: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def bench(model, board: str, work_dir=None, seed: int = 0, progress: Callable[[str], None] = lambda s: None,
          weights: str = "auto", layers=None) -> BenchReport:
    from tinyq.boards import load_board
    from tinyq.errors import TinyqError
    from tinyq.io import from_batch
    from tinyq.targets.build import build_project
    from tinyq.targets.icount import count_instructions

    if not load_board(board).emulated:
        raise TinyqError(f"bench needs an emulated board (QEMU); {board} is not one (see `tinyq boards`)")
    tmp = tempfile.TemporaryDirectory()
    out = Path(work_dir or tmp.name) / board
    try:
        progress(f"compiling for {board} ...")
        r = compile_model(model, out, board=board, weights=weights, layers=layers)
        progress("building ...")
        sizes = build_project(out).sizes
        progress("counting instructions (QEMU, -icount shift=0) ...")
        program = r.program
        batches = random_batches(program, 1, seed)
        arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
        counts = count_instructions(out, arrays)
        ran = [layer["implementation"] for layer in json.loads((out / MANIFEST).read_text())["layers"]]
        layers = [
            LayerCost(k, c.layer, program.tensor(c.outputs[0]).name if c.outputs else "", c.opcode, c.kernel, n, fn)
            for k, (c, n, fn) in enumerate(zip(program.calls, counts.layers[0], ran))
        ]
        return BenchReport(
            str(model), board, counts.invokes[0], layers,
            {"code": sizes.code_bytes, "weights": sizes.weight_bytes, "total": sizes.flash_bytes},
            {"arena": sizes.arena_bytes, "stack": sizes.stack_bytes, "stack_used": counts.stack_used,
             "other": sizes.other_ram_bytes, "total": sizes.ram_bytes},
            {"arena_bytes": r.plan.arena_bytes, "scratch_bytes": r.plan.scratch_bytes, "weight_bytes": r.plan.weight_bytes,
             "io_bytes": r.plan.io_bytes},
        )
    finally:
        tmp.cleanup()


def format_report(r: BenchReport) -> str:
    lines = [f"bench {r.model} on {r.board}", f"  instructions per inference: {r.instructions:,}", "",
             f"  {'call':>4}  {'op':<20} {'kernel':<32} {'instructions':>13} {'share':>6}  output tensor"]
    for lc in r.layers:
        share = 100.0 * lc.instructions / r.instructions if r.instructions else 0.0
        lines.append(f"  {lc.call:>4}  {lc.op:<20} {(lc.implementation or lc.kernel):<32} {lc.instructions:>13,} "
                     f"{share:>5.1f}%  {lc.name.split(';')[0][:50]}")
    f, m = r.flash_bytes, r.ram_bytes
    lines += ["", f"  flash: {f['total']:,} B = code {f['code']:,} + weights {f['weights']:,}",
              f"  RAM:   {m['total']:,} B = arena {m['arena']:,} + stack {m['stack']:,} + other {m['other']:,}"
              f" (I/O buffers {r.plan['io_bytes']:,} B are in 'other')"]
    if m.get("stack_used") is not None:
        lines.append(f"  stack: one invoke uses {m['stack_used']:,} B (measured by stack painting) of the "
                     f"{m['stack']:,} B reserved")
    return "\n".join(lines)


def save_json(r: BenchReport, path) -> None:
    Path(path).write_text(json.dumps(r.to_dict(), indent=2) + "\n")
