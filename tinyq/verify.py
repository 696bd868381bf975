"""`tinyq verify`: TFLM runtime vs simulator vs host C vs firmware on the same inputs, compared exactly.

Every stage gets the same integer batches. Comparisons: simulator == TFLM, host C == simulator,
firmware == simulator (so any pair that differs is named). On a mismatch, the first sample that
differs is re-run with per-tensor tracing on both sides to name the first diverging call, layer
and tensor: TFLM with all tensors preserved; C and firmware built with -DTQ_TRACE.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyq.io import from_batch, load_inputs
from tinyq.oracle import reference_for, run_isolated
from tinyq.program import Program
from tinyq.sim.run import as_program, run_program


@dataclass
class Comparison:
    candidate: str
    reference: str
    equal: bool
    values: int
    mismatches: int = 0
    first_mismatch: str | None = None
    divergence: str | None = None  # first diverging call / layer / tensor, when it could be found


@dataclass
class VerifyReport:
    model: str
    sha256: str
    board: str
    samples: int
    random_samples: int
    seed: int
    seconds: dict[str, float] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.comparisons) and all(c.equal for c in self.comparisons)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def random_batches(program: Program, n: int, seed: int, float_range: tuple[float, float] = (-1.0, 1.0)) -> list[np.ndarray]:
    """Seeded inputs: integers over the dtype's full range; floats uniform in float_range. (N, *shape) each."""
    rng = np.random.default_rng(seed)
    out = []
    for i in program.inputs:
        t = program.tensor(i)
        if t.dtype == "float32":
            out.append(rng.uniform(*float_range, size=(n, *t.shape)).astype(np.float32))
        else:
            info = np.iinfo(t.dtype)
            out.append(rng.integers(info.min, info.max, size=(n, *t.shape), endpoint=True, dtype=t.dtype))
    return out


def _compare(program: Program, name: str, ref_name: str, got: list[np.ndarray], want: list[np.ndarray]) -> tuple[Comparison, int | None]:
    """Comparison of all outputs, and the first sample that differs (or None)."""
    total = mismatches = 0
    first = None
    first_sample = None
    for k, i in enumerate(program.outputs):
        g = got[k].reshape(-1, *program.tensor(i).shape)
        w = want[k].reshape(g.shape)
        total += g.size
        diff = g != w
        mismatches += int(diff.sum())
        if diff.any() and first is None:
            pos = tuple(int(v) for v in np.argwhere(diff)[0])
            first_sample = pos[0]
            first = f"output '{program.tensor(i).name}' sample {pos[0]} at {pos[1:]}: {g[pos]} vs {w[pos]}"
    return Comparison(name, ref_name, mismatches == 0, total, mismatches, first), first_sample


def _first_divergence(program: Program, sim_env: dict[int, np.ndarray], other: Callable[[int], np.ndarray | None]) -> str | None:
    """Walk the calls in order; the first output tensor where `other(tensor index)` differs from the simulator."""
    for k, call in enumerate(program.calls):
        for i in call.outputs:
            theirs = other(i)
            if theirs is None:
                continue
            ours = sim_env[i][0]
            theirs = np.asarray(theirs).reshape(ours.shape)
            if not np.array_equal(ours, theirs):
                n = int((ours != theirs).sum())
                t = program.tensor(i)
                return (f"first diverging call {k}: layer {call.layer} {call.opcode} ({call.kernel}), tensor '{t.name}' "
                        f"{t.dtype}{list(t.shape)}: {n} of {ours.size} values differ")
    return None


def _trace_records(path: Path) -> dict[int, bytes]:
    data = path.read_bytes() if path.is_file() else b""
    out, pos = {}, 0
    while pos + 8 <= len(data):
        call, n = np.frombuffer(data[pos : pos + 8], "<i4")
        out.setdefault(int(call), b"")
        out[int(call)] += data[pos + 8 : pos + 8 + int(n)]
        pos += 8 + int(n)
    return out


def _traced_outputs(program: Program, trace: dict[int, bytes]) -> dict[int, np.ndarray]:
    """Tensor index -> value, from a TQ_TRACE file (outputs of each call, concatenated in order)."""
    values = {}
    for k, call in enumerate(program.calls):
        blob, pos = trace.get(k), 0
        if blob is None:
            continue
        for i in call.outputs:
            t = program.tensor(i)
            values[i] = np.frombuffer(blob[pos : pos + t.nbytes], np.dtype(t.dtype).newbyteorder("<")).astype(t.dtype)
            pos += t.nbytes
    return values


def verify(model: str | Path, board: str = "host", samples: int = 20, inputs=None, seed: int = 0,
           work_dir: str | Path | None = None, progress: Callable[[str], None] = lambda s: None,
           weights: str = "auto", layers=None, port: str | None = None, flash: bool = True,
           state: str = "keep") -> VerifyReport:
    """The samples are consecutive invokes everywhere (TFLM, simulator, host C, firmware): a stateful model
    carries its state across them (`state="keep"`) or resets it before each ("reset"). A real board is flashed
    (unless flash=False: it already runs this model's firmware) and run over its serial port (`port`, default:
    found by USB vendor id); the other stages run here."""
    from tinyq.boards import load_board
    from tinyq.sim.run import check_state_mode

    check_state_mode(state)
    board_obj = load_board(board)
    real = not (board_obj.is_host or board_obj.emulated)
    if port is not None and not real:
        from tinyq.errors import InputError

        raise InputError(f"--port is for real boards; {board} runs {'here' if board_obj.is_host else 'on QEMU'}")
    if real and port is None:  # before any stage runs: a board that is not attached fails at once
        from tinyq.targets.serial_run import find_port

        port = find_port(board_obj)
    model = Path(model)
    program = as_program(model, weights, layers)
    in_tensors = [program.tensor(i) for i in program.inputs]
    batches = random_batches(program, samples, seed) if samples > 0 else []
    if inputs is not None:
        extra = load_inputs(inputs, in_tensors)
        batches = [np.concatenate([a, b]) for a, b in zip(batches, extra)] if batches else extra
    if not batches:
        from tinyq.errors import InputError

        raise InputError("no samples to verify: give --samples N > 0 or --input FILE")
    n = batches[0].shape[0]
    report = VerifyReport(str(model), program.model_sha256, board, n, max(samples, 0), seed)
    tmp = tempfile.TemporaryDirectory()
    work = Path(work_dir) if work_dir else Path(tmp.name)
    stages = 4 if not board_obj.is_host else 3

    def timed(label, fn):
        progress(f"[{len(report.seconds) + 1}/{stages}] {label} ...")
        t = time.perf_counter()
        result = fn()
        report.seconds[label] = round(time.perf_counter() - t, 3)
        progress(f"      done in {report.seconds[label]:.2f} s")
        return result

    try:
        ref, ref_model, ref_name = timed("TFLM runtime", lambda: reference_for(model, batches, len(program.outputs),
                                                                                 reset=state == "reset"))
        env = timed("simulator", lambda: run_program(program, batches, state=state))
        # with the state kept, one sample alone does not reproduce what the batch computed: no per-layer search
        sequential = bool(program.states) and state == "keep"
        sim = [env[i] for i in program.outputs]
        cmp, bad = _compare(program, "simulator", ref_name, sim, ref)
        if bad is not None and not sequential:
            cmp.divergence = _tflm_divergence(ref_model, program, [b[bad : bad + 1] for b in batches])
        report.comparisons.append(cmp)

        from tinyq.testing import build_host_runner, run_host_runner
        from tinyq.compiler import compile_model

        host_dir = work / "host"
        compiled = {}  # board -> the program compile lowered (patched; specialization keeps its calls): what its trace follows

        def host():
            compiled["host"] = compile_model(model, host_dir, board="host", weights=weights, layers=layers).lowered
            return run_host_runner(host_dir, build_host_runner(host_dir, sanitize=True), batches, state=state)

        cmp, bad = _compare(program, "host C (ASan+UBSan)", "simulator", timed("host C, ASan+UBSan", host), sim)
        if bad is not None and not sequential:
            cmp.divergence = _host_divergence(host_dir, compiled["host"], [b[bad : bad + 1] for b in batches])
        report.comparisons.append(cmp)

        if not board_obj.is_host:
            from tinyq.targets.build import build_project
            from tinyq.targets.run import run_project

            fw_dir = work / board

            def firmware():
                compiled[board] = compile_model(model, fw_dir, board=board, weights=weights, layers=layers).lowered
                build_project(fw_dir)
                if real and flash:
                    from tinyq.targets.flash import flash_project

                    flash_project(fw_dir)
                arrays = {f"input_{k}": from_batch(b, t) for k, (b, t) in enumerate(zip(batches, in_tensors))}
                return run_project(fw_dir, arrays, build=False, port=port, state=state).arrays

            where = "serial port" if real else "QEMU"
            cmp, bad = _compare(program, f"firmware ({board}, {where})", "simulator",
                                timed(f"firmware on {board} ({where})", firmware), sim)
            if bad is not None and not sequential and not real:  # locating the layer needs the traced firmware, on QEMU
                cmp.divergence = _firmware_divergence(fw_dir, compiled[board], [b[bad : bad + 1] for b in batches])
            report.comparisons.append(cmp)
    finally:
        tmp.cleanup()
    return report


def _sim_trace(program: Program, sample: list[np.ndarray]) -> dict[int, np.ndarray]:
    return run_program(program, sample, trace=True)


def _tflm_divergence(model: Path | bytes, program: Program, sample: list[np.ndarray]) -> str | None:
    def source(i):  # a band (tinyq.patch) is compared with its rows of the TFLite tensor
        t = program.tensor(i)
        return t.band_of if t.band_of >= 0 else i

    wanted = tuple(sorted({source(i) for c in program.calls for i in c.outputs}))
    _, tensors = run_isolated(model, sample, len(program.outputs), tensors=wanted)

    def value(i):
        t, whole = program.tensor(i), tensors.get(source(i))
        if whole is None or t.band_of < 0:
            return whole
        return np.asarray(whole)[..., t.row0 : t.row0 + t.shape[1], :, :]  # the rows of an NHWC tensor

    return _first_divergence(program, _sim_trace(program, sample), value)


def _host_divergence(host_dir: Path, program: Program, sample: list[np.ndarray], level: int | None = None) -> str | None:
    from tinyq.testing import build_host_runner

    runner = build_host_runner(host_dir, sanitize=False, extra_flags=("-DTQ_TRACE",))
    with tempfile.TemporaryDirectory() as tmp:
        from tinyq.targets.manifest import read_manifest
        from tinyq.targets.run import pack_inputs

        fin = Path(tmp) / "in.bin"
        fin.write_bytes(pack_inputs(read_manifest(host_dir), sample))
        args = [str(runner), str(fin), str(Path(tmp) / "out.bin")] + ([] if level is None else [str(level)])
        subprocess.run(args, cwd=tmp, capture_output=True, timeout=600)
        values = _traced_outputs(program, _trace_records(Path(tmp) / "tq_trace.bin"))
    return _first_divergence(program, _sim_trace(program, sample), values.get)


def _firmware_divergence(fw_dir: Path, program: Program, sample: list[np.ndarray], level: int | None = None) -> str | None:
    try:
        from tinyq.targets.trace import run_traced  # firmware built with -DTQ_TRACE, run on QEMU
    except ImportError:
        return None
    values = _traced_outputs(program, _trace_records(run_traced(fw_dir, sample, level=level)))
    return _first_divergence(program, _sim_trace(program, sample), values.get)


def format_report(r: VerifyReport) -> str:
    lines = [f"verify {r.model} on {r.board}: {r.samples} samples ({r.random_samples} random, seed {r.seed}"
             f"{', + ' + str(r.samples - r.random_samples) + ' given' if r.samples > r.random_samples else ''})"]
    width = max([14] + [len(c.reference) for c in r.comparisons])
    for c in r.comparisons:
        status = f"EQUAL ({c.values:,} values)" if c.equal else f"DIFFERENT: {c.mismatches:,} of {c.values:,} values"
        lines.append(f"  {c.candidate:<28} vs {c.reference:<{width}} {status}")
        if not c.equal:
            lines.append(f"      first mismatch: {c.first_mismatch}")
            lines.append(f"      {c.divergence or 'diverging layer: not found (outputs differ only)'}")
    lines.append("PASS: every stage equal, bit for bit" if r.ok else "FAIL: outputs differ")
    return "\n".join(lines)


def save_json(r: VerifyReport, path: str | Path) -> None:
    Path(path).write_text(json.dumps(r.to_dict(), indent=2) + "\n")
