"""The compile stage: .tflite -> generated sources + manifest (+ the board's project files).

read_model -> lower -> plan_memory -> emit_sources -> tinyq.json -> targets.project.write_project
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinyq.emit.c_literals import is_c_identifier
from tinyq.emit.emitter import emit_sources
from tinyq.errors import DoesNotFit, InputError
from tinyq.kernel_select import board_features, board_isa, select_kernels
from tinyq.lower import lower
from tinyq.planner import MemoryPlan, plan_memory
from tinyq.program import Program
from tinyq.tflite_reader import read_model

MANIFEST = "tinyq.json"

# What the firmware needs besides the model's plan, as lower bounds measured on the dummy model's builds
# (tests/firmware/dummy.py): start-up, harness and console code (newlib stdio + semihosting on QEMU, a bare
# UART on real boards), the code of each kernel call, and the harness's other static RAM. Lower bounds, so
# compile refuses only what cannot fit; `tinyq build` checks the linked ELF exactly.
CODE_BYTES = {"emulated": 13_000, "real": 2_200}
CODE_PER_CALL = 128
OTHER_RAM_BYTES = {"emulated": 850, "real": 32}


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    program: Program
    plan: MemoryPlan
    files: tuple[Path, ...]
    note: str = ""  # how auto adapted to the board, if it had to


def _tensor_entry(t) -> dict:
    return {
        "name": t.name, "index": t.index, "shape": list(t.shape), "dtype": t.dtype,
        "scale": t.scale, "zero_point": t.zero_point, "bytes": t.nbytes,
    }


def manifest(program: Program, plan: MemoryPlan, board: str, prefix: str, model_name: str, variants) -> dict:
    from tinyq.encode.apply import weight_report

    stored = {w.call: {"encoding": w.encoding, "bytes": w.nbytes, "int8_bytes": w.int8_bytes}
              for w in weight_report(program)}
    return {
        "tinyq_version": __import__("tinyq").__version__,
        "model": model_name,
        "model_sha256": program.model_sha256,
        "board": board,
        "prefix": prefix,
        "inputs": [_tensor_entry(program.tensor(i)) for i in program.inputs],
        "outputs": [_tensor_entry(program.tensor(i)) for i in program.outputs],
        "plan": {"arena_bytes": plan.arena_bytes, "scratch_bytes": plan.scratch_bytes,
                 "weight_bytes": plan.weight_bytes, "io_bytes": plan.io_bytes,
                 "weight_bytes_int8": plan.weight_bytes + sum(w["int8_bytes"] - w["bytes"] for w in stored.values())},
        "layers": [
            {"call": k, "layer": c.layer, "op": c.opcode, "kernel": c.kernel,
             "implementation": v.symbol if v else c.kernel,
             "name": program.tensor(c.outputs[0]).name if c.outputs else "",
             **({"weights": stored[k]} if k in stored else {})}
            for k, (c, v) in enumerate(zip(program.calls, variants))
        ],
    }


def check_prefix(prefix: str) -> None:
    if not is_c_identifier(prefix):
        raise InputError(f"--prefix '{prefix}' is not a C identifier (letters, digits, _; not a keyword)")
    if prefix.lower() == "tq" or prefix.lower().startswith("tq_"):
        raise InputError(f"--prefix '{prefix}': names starting with tq_ belong to tinyq's kernel library")


def check_fit(model_name: str, program: Program, plan: MemoryPlan, board) -> None:
    """Refuse a model that cannot fit the board, naming flash and RAM with their sizes (the host has no limit)."""
    if board.is_host:
        return
    weights, code = plan.weight_bytes, CODE_BYTES[board.kind] + CODE_PER_CALL * len(program.calls)
    other = OTHER_RAM_BYTES[board.kind]
    ram = plan.arena_bytes + plan.io_bytes + board.stack_bytes + other
    ram_part = (f"RAM needs ~{ram:,} B (arena {plan.arena_bytes:,} + I/O {plan.io_bytes:,} + stack "
                f"{board.stack_bytes:,} + other ~{other:,}) of {board.ram.size:,} B")
    if board.weights:  # weights have a region of their own; flash holds the code
        needs = [("flash", code, f"flash needs ~{code:,} B (code) of {board.flash.size:,} B", board.flash.size),
                 ("weight region", weights, f"weight region needs {weights:,} B (weights) of {board.weights.size:,} B",
                  board.weights.size)]
    else:
        needs = [("flash", weights + code, f"flash needs ~{weights + code:,} B (weights {weights:,} B + code "
                  f"~{code:,} B) of {board.flash.size:,} B", board.flash.size)]
    needs.append(("RAM", ram, ram_part, board.ram.size))
    exceeded = [name for name, need, _, size in needs if need > size]
    if exceeded:
        raise DoesNotFit(f"{model_name} does not fit {board.name} ({' and '.join(exceeded)} exceeded): "
                         + "; ".join(text for _, _, text, _ in needs), tuple(exceeded))


def compile_model(model, out_dir, board: str = "host", prefix: str = "model", project: bool = True,
                  weights: str = "auto", layers=None) -> CompileResult:
    """Compile a .tflite model (path or bytes) for `board` into out_dir (sources in out_dir/src).

    Everything is checked (board, prefix, model, fit) before a file is written.
    """
    from tinyq.boards import load_board

    board_obj = load_board(board)  # fails early, with the list of boards, on a bad name
    check_prefix(prefix)
    model_name = Path(model).name if isinstance(model, (str, Path)) else "model.tflite"
    graph = read_model(model)
    isa = board_isa(board_obj)  # auto weighs the packed kernels' speed on this board's CPU
    program = lower(graph, weights, layers, isa)
    plan = plan_memory(program)
    where = str(model) if isinstance(model, (str, Path)) else model_name
    note = ""
    try:
        check_fit(where, program, plan, board_obj)
    except DoesNotFit as exc:
        if weights != "auto" or exc.exceeded == ("RAM",):  # smaller weights cannot make RAM fit
            raise
        # flash is the wall: rather than refuse, store every tensor as small as it exactly goes
        program = lower(graph, "smallest", layers, isa)
        plan = plan_memory(program)
        check_fit(where, program, plan, board_obj)
        note = (f"the fast encodings do not fit {board_obj.name}: weights stored as small as they exactly go "
                f"(--weights smallest), with slower kernels")
    out_dir = Path(out_dir)
    variants = select_kernels(program, board_features(board_obj))
    files = emit_sources(program, plan, out_dir / "src", prefix, model_name, options=f"board={board} prefix={prefix}",
                         variants=variants)
    info = manifest(program, plan, board, prefix, model_name, variants)
    (out_dir / MANIFEST).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if project:
        from tinyq.targets.project import write_project
        from tinyq.targets.manifest import read_manifest

        files += list(write_project(out_dir, board_obj, read_manifest(out_dir)) or [])
    return CompileResult(out_dir, program, plan, tuple(files), note)
