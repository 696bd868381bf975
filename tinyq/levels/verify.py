"""`tinyq verify A.tflite B.tflite ...`: every level of one multi-level image, each against TFLM on its own file.

The image is compiled once for the host and once for the board; level k then runs in both (the harness's LEVEL
argument) on the same inputs as TFLM and the simulator of level k's program, and the four are compared exactly,
as `tinyq verify` does for one model (tinyq.verify).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyq import verify as single
from tinyq.io import from_batch, load_inputs


@dataclass
class LevelsReport:
    board: str
    levels: list[single.VerifyReport] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.levels) and all(r.ok for r in self.levels)

    def to_dict(self) -> dict:
        return {"board": self.board, "ok": self.ok, "seconds": self.seconds,
                "levels": [r.to_dict() for r in self.levels]}


def verify_levels(models: list, board: str = "host", samples: int = 20, inputs=None, seed: int = 0,
                  work_dir=None, progress: Callable[[str], None] = lambda s: None,
                  weights: str = "auto") -> LevelsReport:
    from tinyq.boards import load_board
    from tinyq.compiler import compile_model
    from tinyq.errors import InputError, TinyqError
    from tinyq.oracle import reference_for
    from tinyq.sim.run import run_program
    from tinyq.testing import build_host_runner, run_host_runner

    board_obj = load_board(board)
    if not (board_obj.is_host or board_obj.emulated):
        raise TinyqError(f"board {board} is real hardware: verify runs on the host or an emulated board (see `tinyq boards`)")
    if samples <= 0 and inputs is None:
        raise InputError("no samples to verify: give --samples N > 0 or --input FILE")
    tmp = tempfile.TemporaryDirectory()
    work = Path(work_dir) if work_dir else Path(tmp.name)
    report = LevelsReport(board)

    def timed(label, fn):
        progress(f"{label} ...")
        t = time.perf_counter()
        result = fn()
        report.seconds[label] = report.seconds.get(label, 0.0) + round(time.perf_counter() - t, 3)
        return result

    try:
        host_dir, fw_dir = work / "host", work / board
        compiled = timed("compile for the host", lambda: compile_model(list(models), host_dir, board="host",
                                                                       weights=weights))
        runner = timed("build host C (ASan+UBSan)", lambda: build_host_runner(host_dir, sanitize=True))
        if not board_obj.is_host:
            from tinyq.targets.build import build_project
            from tinyq.targets.run import run_project

            timed(f"compile and build for {board}", lambda: (compile_model(list(models), fw_dir, board=board,
                                                                            weights=weights), build_project(fw_dir)))
        for lv in compiled.levels:
            program, k = lv.program, lv.index
            in_tensors = [program.tensor(i) for i in program.inputs]
            batches = single.random_batches(program, samples, seed) if samples > 0 else []
            if inputs is not None:
                extra = load_inputs(inputs, in_tensors)
                batches = [np.concatenate([a, b]) for a, b in zip(batches, extra)] if batches else extra
            n = batches[0].shape[0]
            r = single.VerifyReport(f"level {k}: {models[k]}", program.model_sha256, board, n, max(samples, 0), seed)
            model = Path(models[k]) if isinstance(models[k], (str, Path)) else models[k]
            ref, ref_model, ref_name = timed(f"level {k}: TFLM runtime",
                                             lambda: reference_for(model, batches, len(program.outputs)))
            env = timed(f"level {k}: simulator", lambda: run_program(program, batches))
            sim = [env[i] for i in program.outputs]
            cmp, bad = single._compare(program, "simulator", ref_name, sim, ref)
            if bad is not None:
                cmp.divergence = single._tflm_divergence(ref_model, program, [b[bad:bad + 1] for b in batches])
            r.comparisons.append(cmp)
            host = timed(f"level {k}: host C", lambda: run_host_runner(host_dir, runner, batches, level=k))
            cmp, bad = single._compare(program, "host C (ASan+UBSan)", "simulator", host, sim)
            if bad is not None:
                cmp.divergence = single._host_divergence(host_dir, program, [b[bad:bad + 1] for b in batches], k)
            r.comparisons.append(cmp)
            if not board_obj.is_host:
                arrays = {f"input_{j}": from_batch(b, t) for j, (b, t) in enumerate(zip(batches, in_tensors))}
                fw = timed(f"level {k}: firmware on {board} (QEMU)",
                           lambda: run_project(fw_dir, arrays, build=False, level=k).arrays)
                cmp, bad = single._compare(program, f"firmware ({board}, QEMU)", "simulator", fw, sim)
                if bad is not None:
                    cmp.divergence = single._firmware_divergence(fw_dir, program, [b[bad:bad + 1] for b in batches], k)
                r.comparisons.append(cmp)
            report.levels.append(r)
    finally:
        tmp.cleanup()
    return report


def format_report(r: LevelsReport) -> str:
    parts = [single.format_report(lv).replace("\nPASS: every stage equal, bit for bit", "").replace(
        "\nFAIL: outputs differ", "") for lv in r.levels]
    verdict = (f"PASS: every level, every stage equal, bit for bit ({len(r.levels)} levels)" if r.ok
               else "FAIL: outputs differ")
    return "\n".join(parts + [verdict])
