"""Figures for every supported shared model, measured in one run:

1. memory plan: tinyq's arena / largest scratch / caller-owned I/O / weights, next to the TFLM Python
   runtime's own arena (RecordingMicroAllocator: head = activations and scratch, tail = persistent data);
2. on emulated boards (default mps2-an386 and mps3-an547), for the MLPerf Tiny models: exact instructions
   per inference, flash (code, weights) and RAM (arena, stack, other) from `tinyq bench`, beside TFLM +
   CMSIS-NN's figures on the same emulated CPUs (benchmarks/anchors.json, from ../shared/notes/anchors.md);
   "stack" is the reservation, "used" the stack one invoke really uses (measured).

    python benchmarks/models_report.py [--boards mps2-an386 mps3-an547] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "models"
sys.path.insert(0, str(HERE.parent))

from tests.samples import MODELS  # noqa: E402
from tinyq.bench import bench  # noqa: E402
from tinyq.planner import plan_memory  # noqa: E402
from tinyq.sim.run import as_program  # noqa: E402

MLPERF = [m for m in MODELS if m.startswith("mlperf_")]


def tflm_arena(path: Path) -> tuple[int, int]:
    """(head, tail) bytes of TFLM's arena on this host, from its allocation report (printed by C++ code, so
    captured from a child process)."""
    code = ("from tflite_micro import runtime; import sys; "
            f"runtime.Interpreter.from_file({str(path)!r}, arena_size=64 << 20).print_allocations()")
    text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stderr  # TFLM logs to stderr
    head = int(re.search(r"allocation head (\d+)", text).group(1))
    tail = int(re.search(r"allocation tail (\d+)", text).group(1))
    return head, tail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="*", default=["mps2-an386", "mps3-an547"])
    ap.add_argument("--json")
    args = ap.parse_args()
    anchors = json.loads((HERE / "anchors.json").read_text())
    result = {"plan": {}, "bench": {}}

    print("Memory plan (bytes). TFLM head = its activations+scratch incl. I/O tensors; tail = persistent data.")
    print(f"{'model':<34} {'arena':>8} {'scratch':>8} {'I/O':>7} {'weights':>9} | {'TFLM head':>9} {'tail':>7} | {'arena+I/O / head':>16}")
    for stem in MODELS:
        path = SHARED / f"{stem}.tflite"
        plan = plan_memory(as_program(path))
        head, tail = tflm_arena(path)
        ratio = (plan.arena_bytes + plan.io_bytes) / head if head else float("nan")
        result["plan"][stem] = {"arena": plan.arena_bytes, "scratch": plan.scratch_bytes, "io": plan.io_bytes,
                                "weights": plan.weight_bytes, "tflm_head": head, "tflm_tail": tail}
        print(f"{stem:<34} {plan.arena_bytes:>8,} {plan.scratch_bytes:>8,} {plan.io_bytes:>7,} {plan.weight_bytes:>9,} | "
              f"{head:>9,} {tail:>7,} | {ratio:>16.2f}")

    for board in args.boards:
        print(f"\nOn {board} (QEMU, exact instruction counts; ratio = tinyq / TFLM):")
        print(f"{'model':<34} {'instructions':>13} {'vs TFLM ref':>11} {'vs CMSIS-NN':>11} | {'code':>7} {'weights':>8} | "
              f"{'arena':>7} {'stack':>6} {'used':>5} {'RAM':>7} {'TFLM arena':>10}")
        for stem in MLPERF:
            r = bench(SHARED / f"{stem}.tflite", board)
            a = anchors["instructions"][stem][board]
            result["bench"].setdefault(board, {})[stem] = r.to_dict()
            print(f"{stem:<34} {r.instructions:>13,} {r.instructions / a['reference']:>10.2f}x {r.instructions / a['cmsis_nn']:>10.2f}x | "
                  f"{r.flash_bytes['code']:>7,} {r.flash_bytes['weights']:>8,} | {r.ram_bytes['arena']:>7,} "
                  f"{r.ram_bytes['stack']:>6,} {r.ram_bytes['stack_used'] or 0:>5,} {r.ram_bytes['total']:>7,} "
                  f"{anchors['arena_bytes'][stem][board]:>10,}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
