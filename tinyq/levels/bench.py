"""`tinyq bench A.tflite B.tflite ... --board B`: the cost of each level of one multi-level image, and of switching.

One image is compiled and built; each level's invoke is counted exactly (QEMU, -icount shift=0, the counting
plugin) as `tinyq bench` counts one model (tinyq.bench). Switching is `<prefix>_set_level`, whose instructions are
read from the linked ELF: it is straight-line code (a compare, a store), so its listing is what every call runs.
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from tinyq.bench import BenchReport, LayerCost
from tinyq.bench import format_report as format_level
from tinyq.bench.run import peak_ram


@dataclass
class LevelsBench:
    board: str
    levels: list[BenchReport]
    added_weight_bytes: list[int]  # per level: constant bytes no earlier level stored
    added_weight_tensor_bytes: list[int]  # the part of them that is weight tensors (not biases, shifts, tables)
    set_level_instructions: int
    set_level_bytes: int
    flash_bytes: dict[str, int]
    ram_bytes: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


_INSN = re.compile(r"^\s*[0-9a-f]+:\s+((?:[0-9a-f]{4}\s?){1,2})\s+(\S+)", re.MULTILINE)


def function_instructions(elf: Path, symbol: str) -> tuple[int, int]:
    """(instructions, bytes) of `symbol`'s code in `elf`, literal pools and alignment padding left out."""
    from tinyq.errors import BuildError
    from tinyq.targets import process

    done = process.run(["arm-none-eabi-objdump", "-d", f"--disassemble={symbol}", elf], timeout=60)
    insns = [(code, op) for code, op in _INSN.findall(done.output) if op not in (".word", ".short", "nop")]
    if done.returncode != 0 or not insns:
        raise BuildError(f"cannot disassemble {symbol} in {elf}: {done.output.strip()[-200:]}")
    return len(insns), sum(len(code.replace(" ", "")) // 2 for code, _ in insns)


def bench_levels(models: list, board: str, work_dir=None, seed: int = 0,
                 progress: Callable[[str], None] = lambda s: None, weights: str = "auto") -> LevelsBench:
    from tinyq.boards import load_board
    from tinyq.compiler import MANIFEST, compile_model, stored_bytes
    from tinyq.errors import TinyqError
    from tinyq.io import from_batch
    from tinyq.targets.build import build_project
    from tinyq.targets.icount import count_instructions
    from tinyq.verify import random_batches

    if not load_board(board).emulated:
        raise TinyqError(f"bench needs an emulated board (QEMU); {board} is not one (see `tinyq boards`)")
    tmp = tempfile.TemporaryDirectory()
    out = Path(work_dir or tmp.name) / board
    try:
        progress(f"compiling {len(models)} levels for {board} ...")
        r = compile_model(list(models), out, board=board, weights=weights)
        progress("building ...")
        built = build_project(out)
        sizes = built.sizes
        info = json.loads((out / MANIFEST).read_text())
        insns, nbytes = function_instructions(built.artifact, f"{info['prefix']}_set_level")
        flash = {"code": sizes.code_bytes, "weights": sizes.weight_bytes, "total": sizes.flash_bytes}
        ram = {"arena": sizes.arena_bytes, "stack": sizes.stack_bytes, "other": sizes.other_ram_bytes,
               "total": sizes.ram_bytes}
        reports = []
        for lv, plan, entry in zip(r.levels, r.plans, info["levels"]):
            progress(f"level {lv.index}: counting instructions (QEMU, -icount shift=0) ...")
            program = lv.program
            batches = random_batches(program, 1, seed)
            arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
            counts = count_instructions(out, arrays, level=lv.index)
            layers = [LayerCost(k, c.layer, program.tensor(c.outputs[0]).name if c.outputs else "", c.opcode, c.kernel,
                                n, layer["implementation"])
                      for k, (c, n, layer) in enumerate(zip(program.calls, counts.layers[0], entry["layers"]))]
            reports.append(BenchReport(
                f"level {lv.index}: {lv.name}", board, counts.invokes[0], layers, flash,
                {**ram, "stack_used": counts.stack_used,
                 "peak": peak_ram(sizes.arena_bytes, plan.io_bytes, counts.stack_used)},
                {"arena_bytes": plan.arena_bytes, "scratch_bytes": plan.scratch_bytes,
                 "weight_bytes": program.weight_bytes, "io_bytes": plan.io_bytes}))
        programs = [lv.program for lv in r.levels]
        return LevelsBench(board, reports, stored_bytes(programs), stored_bytes(programs, weight_tensors=True), insns,
                           nbytes, flash, ram)
    finally:
        tmp.cleanup()


def format_report(r: LevelsBench) -> str:
    lines = []
    for lv, added, added_w in zip(r.levels, r.added_weight_bytes, r.added_weight_tensor_bytes):
        text = format_level(lv).split("\n\n  flash:")[0]  # the image's sizes are printed once, below
        lines += [text, f"  constants: reads {lv.plan['weight_bytes']:,} B, adds {added:,} B to the image "
                        f"({added_w:,} B of weight tensors); arena {lv.plan['arena_bytes']:,} B", ""]
    f, m = r.flash_bytes, r.ram_bytes
    lines += [f"image ({len(r.levels)} levels) on {r.board}",
              f"  flash: {f['total']:,} B = code {f['code']:,} + weights {f['weights']:,}",
              f"  RAM:   {m['total']:,} B = arena {m['arena']:,} (the largest level's) + stack {m['stack']:,} + "
              f"other {m['other']:,}",
              f"  set_level: {r.set_level_instructions} instructions ({r.set_level_bytes} B of code, no loop, no copy)"]
    return "\n".join(lines)


def save_json(r: LevelsBench, path) -> None:
    Path(path).write_text(json.dumps(r.to_dict(), indent=2) + "\n")
