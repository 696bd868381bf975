"""The compile stage: .tflite -> generated sources + manifest (+ the board's project files).

read_model -> lower -> plan_memory -> emit_sources -> tinyq.json -> targets.project.write_project
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinyq.emit.emitter import emit_sources
from tinyq.kernel_select import board_features, select_kernels
from tinyq.lower import lower
from tinyq.planner import MemoryPlan, plan_memory
from tinyq.program import Program
from tinyq.tflite_reader import read_model

MANIFEST = "tinyq.json"


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    program: Program
    plan: MemoryPlan
    files: tuple[Path, ...]


def _tensor_entry(t) -> dict:
    return {
        "name": t.name, "index": t.index, "shape": list(t.shape), "dtype": t.dtype,
        "scale": t.scale, "zero_point": t.zero_point, "bytes": t.nbytes,
    }


def manifest(program: Program, plan: MemoryPlan, board: str, prefix: str, model_name: str, variants) -> dict:
    return {
        "tinyq_version": __import__("tinyq").__version__,
        "model": model_name,
        "model_sha256": program.model_sha256,
        "board": board,
        "prefix": prefix,
        "inputs": [_tensor_entry(program.tensor(i)) for i in program.inputs],
        "outputs": [_tensor_entry(program.tensor(i)) for i in program.outputs],
        "plan": {"arena_bytes": plan.arena_bytes, "scratch_bytes": plan.scratch_bytes,
                 "weight_bytes": plan.weight_bytes, "io_bytes": plan.io_bytes},
        "layers": [
            {"call": k, "layer": c.layer, "op": c.opcode, "kernel": c.kernel,
             "implementation": v.symbol if v else c.kernel,
             "name": program.tensor(c.outputs[0]).name if c.outputs else ""}
            for k, (c, v) in enumerate(zip(program.calls, variants))
        ],
    }


def compile_model(model, out_dir, board: str = "host", prefix: str = "model", project: bool = True) -> CompileResult:
    """Compile a .tflite model (path or bytes) for `board` into out_dir (sources in out_dir/src)."""
    from tinyq.boards import load_board

    board_obj = load_board(board)  # fails early, with the list of boards, on a bad name
    model_name = Path(model).name if isinstance(model, (str, Path)) else "model.tflite"
    program = lower(read_model(model))
    plan = plan_memory(program)
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
    return CompileResult(out_dir, program, plan, tuple(files))
