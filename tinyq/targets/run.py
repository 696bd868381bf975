"""`tinyq run`: run a built project on its board (host runner or QEMU) over a batch of inputs.

Consumes a project directory and input arrays (conventions of tinyq.io: batch on the leading axis,
.npz keyed by tensor name or input_<k>, float32 quantized with the tensor's scale/zero point);
produces a RunResult with one (N, *user_shape) integer array per output, keyed by tensor name.
The inputs go to the harness as one binary file (each sample = every input's raw bytes, in order)
and the outputs come back the same way, so new inputs never need a rebuild. A real board runs the
project's firmware already flashed on it (`tinyq flash`), with the same bytes sent over its serial port
(tinyq/targets/serial_run.py).
"""
from __future__ import annotations

import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.boards import Board
from tinyq.errors import RunError
from tinyq.io import from_batch, load_inputs
from tinyq.targets import process
from tinyq.targets.build import artifact_path, build_project, is_fresh, project_board
from tinyq.targets.manifest import Manifest, read_manifest
from tinyq.targets.qemu import FirmwareTimeout, run_qemu

RUN_TIMEOUT = 120.0
INPUT_FILE = "input.bin"
OUTPUT_FILE = "output.bin"

# exit statuses of the harness (templates/main.c.j2)
_HARNESS_STATUS = {
    2: "the harness was started with wrong arguments",
    3: "the model returned an error status",
    4: "the harness could not read its input or write its output file",
    5: "the harness's buffer sizes disagree with the compiled model (regenerate the project)",
}


@dataclass(frozen=True)
class RunResult:
    outputs: dict[str, np.ndarray]  # output tensor name -> (N, *user_shape), in model output order
    samples: int
    log: str  # console output of the runner / QEMU
    seconds: float

    @property
    def arrays(self) -> list[np.ndarray]:
        return list(self.outputs.values())


def pack_inputs(manifest: Manifest, batches: list[np.ndarray]) -> bytes:
    """(N, *shape) batches, one per input -> the harness's input file: sample by sample, inputs in order."""
    n = batches[0].shape[0]
    rows = [np.ascontiguousarray(b, dtype=np.dtype(t.dtype).newbyteorder("<")).reshape(n, -1).view(np.uint8)
            for b, t in zip(batches, manifest.inputs)]
    return np.concatenate(rows, axis=1).tobytes()


def unpack_outputs(manifest: Manifest, data: bytes, samples: int, level: int | None = None) -> dict[str, np.ndarray]:
    """The harness's output file -> output tensor name -> (N, *user_shape) (quantization of `level`)."""
    expected = samples * manifest.sample_out_bytes
    if len(data) != expected:
        raise RunError(f"the firmware wrote {len(data):,} output bytes, expected {expected:,} for {samples} samples")
    table = np.frombuffer(data, np.uint8).reshape(samples, manifest.sample_out_bytes)
    outputs, offset = {}, 0
    for t in manifest.level(level).outputs:
        raw = np.ascontiguousarray(table[:, offset:offset + t.bytes])
        batch = raw.view(np.dtype(t.dtype).newbyteorder("<")).astype(t.dtype).reshape((samples, *t.shape))
        outputs[t.name] = from_batch(batch, t)
        offset += t.bytes
    return outputs


def check_status(done: process.Completed, board: Board, timeout: float) -> None:
    """Raise a one-line RunError for a killed, crashed or failed harness run."""
    if done.timed_out:
        raise FirmwareTimeout(f"the {board.name} runner did not finish within {timeout:g} s (hung?); it was killed")
    if done.returncode == 0:
        return
    lines = [line for line in done.output.splitlines() if line.strip()]
    detail = f" ({lines[-1].strip()})" if lines else ""
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name if -done.returncode in signal.valid_signals() else "?"
        raise RunError(f"the {board.name} runner crashed: signal {-done.returncode} ({name}){detail}")
    reason = _HARNESS_STATUS.get(done.returncode, f"exit status {done.returncode}")
    raise RunError(f"running on {board.name} failed: {reason}{detail}")


def harness_args(level: int | None, state: str) -> tuple[str, ...]:
    """The harness's optional third argument: the level of a multi-level image, else "reset" when a stateful
    model's state is reset before every sample (templates/main.c.j2)."""
    if level is not None:
        return (str(level),)
    return ("reset",) if state == "reset" else ()


def run_binary(board: Board, artifact: Path, data: bytes, *, timeout: float,
               qemu_extra=(), level: int | None = None, state: str = "keep") -> tuple[bytes, process.Completed]:
    """Feed the harness `data` (its input file) on the host or QEMU; return its output file and the process.
    `level`: the precision level of a multi-level image (the harness's third argument); else `state`: "reset"
    resets a stateful model's state before every sample (the third argument), "keep" carries it over."""
    args = (INPUT_FILE, OUTPUT_FILE) + harness_args(level, state)
    with tempfile.TemporaryDirectory(prefix="tinyq-run-") as tmp:
        work = Path(tmp)
        (work / INPUT_FILE).write_bytes(data)
        if board.is_host:
            done = process.run([artifact, *args], timeout=timeout, cwd=work)
        else:
            done = run_qemu(board, artifact, ("firmware", *args), cwd=work, timeout=timeout, extra=qemu_extra)
        check_status(done, board, timeout)
        out = work / OUTPUT_FILE
        return (out.read_bytes() if out.is_file() else b""), done


def run_project(project_dir: Path | str, arrays, *, timeout: float = RUN_TIMEOUT, build: bool = True,
                level: int | None = None, port: str | None = None, state: str = "keep") -> RunResult:
    """Run the project's model on `arrays` (one array, a sequence by position, a mapping or an .npy/.npz path).

    Builds first when the artifact is missing or older than its sources (unless build=False). `level`: which
    level of a multi-level image runs (default 0); floats are quantized with that level's scales. The samples
    are consecutive invokes; `state` "reset" resets a stateful model's state before each (tinyq.sim.run). A real
    board runs what is flashed on it, over `port` (default: its virtual COM port, found by USB vendor id);
    `timeout` then bounds each sample.
    """
    from tinyq.sim.run import check_state_mode

    check_state_mode(state)
    project_dir = Path(project_dir).resolve()
    manifest = read_manifest(project_dir)
    spec = manifest.level(level)  # refuses a level out of range before anything runs
    board = project_board(manifest, project_dir)
    if isinstance(arrays, (list, tuple)):
        arrays = {f"input_{k}": a for k, a in enumerate(arrays)}
    batches = load_inputs(arrays, spec.inputs)
    samples = batches[0].shape[0]
    if not (board.is_host or board.emulated):
        from tinyq.targets.serial_run import run_serial

        data = pack_inputs(manifest, batches)
        rows = [data[k * manifest.sample_in_bytes:(k + 1) * manifest.sample_in_bytes] for k in range(samples)]
        start = time.monotonic()
        out = run_serial(manifest, board, rows, port=port, timeout=timeout, level=level or 0, state=state)
        return RunResult(unpack_outputs(manifest, out, samples, level), samples, "", time.monotonic() - start)
    if port is not None:
        raise RunError(f"--port is for real boards; {board.name} runs {'here' if board.is_host else 'on QEMU'}")
    if build and not is_fresh(project_dir, board):
        build_project(project_dir)
    artifact = artifact_path(project_dir, board)
    if not artifact.is_file():
        raise RunError(f"{artifact} not found: run `tinyq build {project_dir}` first")
    data, done = run_binary(board, artifact, pack_inputs(manifest, batches), timeout=timeout,
                            level=level if manifest.levels else None, state=state)
    return RunResult(unpack_outputs(manifest, data, samples, level), samples, done.output, done.seconds)
