"""Per-call output traces from firmware on QEMU, for `tinyq verify`'s first-divergence search.

Consumes a project for an emulated board and input batches in the internal (N, *shape) layout;
builds the "trace" env (-DTQ_TRACE: the generated model hands each kernel call's output to
tq_trace_tensor(), see firmware/include/tinyq/tq_trace.h), runs it on QEMU and produces the path of
the tq_trace.bin it wrote through semihosting: records {int32 call, uint32 nbytes, bytes}, in order.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tinyq.errors import RunError
from tinyq.targets.build import BUILD_TIMEOUT, build_project, project_board
from tinyq.targets.manifest import read_manifest
from tinyq.targets.qemu import run_qemu
from tinyq.targets.run import INPUT_FILE, OUTPUT_FILE, RUN_TIMEOUT, check_status, pack_inputs

TRACE_FILE = "tq_trace.bin"


def run_traced(project_dir: Path | str, batches, *, timeout: float = RUN_TIMEOUT,
               build_timeout: float = BUILD_TIMEOUT, level: int | None = None) -> Path:
    """Run the -DTQ_TRACE firmware on `batches`; return PROJECT_DIR/build/trace/tq_trace.bin."""
    project_dir = Path(project_dir).resolve()
    manifest = read_manifest(project_dir)
    board = project_board(manifest, project_dir)
    if not board.emulated:
        raise RunError(f"traced firmware runs need an emulated board; {board.name} is {board.kind}")
    elf = build_project(project_dir, trace=True, timeout=build_timeout).artifact
    work = project_dir / "build" / "trace"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / INPUT_FILE).write_bytes(pack_inputs(manifest, list(batches)))
    args = ("firmware", INPUT_FILE, OUTPUT_FILE) + (() if level is None else (str(level),))
    done = run_qemu(board, elf, args, cwd=work, timeout=timeout)
    check_status(done, board, timeout)
    return work / TRACE_FILE
