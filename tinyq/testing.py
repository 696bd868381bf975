"""Host-compiled C for tests and `tinyq verify`: compile a model for the `host` board and run it.

The runner is built with AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run).
Kernel-library objects are cached by content hash (the library is the same for every model), so a
one-op model costs one compile of its generated files only.
"""
from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinyq.boards import load_board
from tinyq.compiler import compile_model
from tinyq.errors import BuildError, RunError
from tinyq.resources import data_dir
from tinyq.targets.cache import cache_dir
from tinyq.targets.manifest import read_manifest
from tinyq.targets.run import harness_args, pack_inputs

# GCC's -fsanitize=undefined leaves out the two float checks; kernels also assert their contracts.
SANITIZE = ["-fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-g", "-DTQ_ENABLE_ASSERT"]


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "")
    return first[:200]


def _cc(args, what: str, log: Path, timeout: float = 300) -> None:
    """Run the compiler; a failure is one line naming `log`, which holds the full output."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(p.stdout + p.stderr, encoding="utf-8")
        raise BuildError(f"{what} failed: {_first_line(p.stderr)}; full compiler output in {log}")


def _flags(sanitize: bool) -> list[str]:
    board = load_board("host")
    return [*board.cflags, *(SANITIZE if sanitize else [])]


def library_objects(flags) -> list[Path]:
    """Compile firmware/src/*.c with `flags` once per (content, flags); returns the object files."""
    fw = data_dir("firmware")
    flags = [str(f) for f in flags]
    headers = b"".join(p.read_bytes() for p in sorted((fw / "include").rglob("*.h")))
    objs = []
    for src in sorted((fw / "src").glob("*.c")):
        key = hashlib.sha256(headers + src.read_bytes() + " ".join(flags).encode()).hexdigest()[:20]
        obj = cache_dir() / "objs" / f"{src.stem}-{key}.o"
        if not obj.is_file():
            obj.parent.mkdir(parents=True, exist_ok=True)
            tmp = obj.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp")
            _cc(["cc", *flags, "-I", fw / "include", "-c", src, "-o", tmp], f"compiling {src.name}",
                obj.with_suffix(".log"))
            tmp.replace(obj)  # atomic: parallel test workers may race
        objs.append(obj)
    return objs


def build_host_runner(project_dir: Path, sanitize: bool = True, extra_flags: tuple[str, ...] = ()) -> Path:
    """Link DIR/build/runner-asan (or runner) from the generated sources and the cached library objects."""
    project_dir = Path(project_dir)
    fw = data_dir("firmware")
    # not DIR/build/runner: that is the host target's own (tinyq build), built with the board's flags only
    name = ("runner-asan" if sanitize else "runner-test") + ("-trace" if "-DTQ_TRACE" in extra_flags else "")
    runner = project_dir / "build" / name
    runner.parent.mkdir(parents=True, exist_ok=True)
    _cc(["cc", *_flags(sanitize), *extra_flags, "-I", project_dir / "src", "-I", fw / "include",
         *sorted((project_dir / "src").glob("*.c")), *library_objects([*_flags(sanitize), *extra_flags]), "-o", runner, "-lm"],
        f"building {runner}", runner.with_suffix(".log"))
    return runner


def run_host_runner(project_dir: Path, runner: Path, batches: list[np.ndarray], timeout: float = 600,
                    level: int | None = None, state: str = "keep") -> list[np.ndarray]:
    """Run the runner on internal (N, *shape) batches (at `level` of a multi-level image); returns (N, *shape)
    arrays per output. The samples are consecutive invokes; state="reset" resets the model's state before each."""
    manifest = read_manifest(project_dir)
    n = batches[0].shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(pack_inputs(manifest, batches))
        args = [str(runner), str(fin), str(fout), *harness_args(level, state)]
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                           env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"})
        if p.returncode != 0 or "runtime error" in p.stderr or "Sanitizer" in p.stderr:
            log = runner.with_suffix(".run.log")
            log.write_text(p.stderr, encoding="utf-8")
            raise RunError(f"host runner failed (exit {p.returncode}): {_first_line(p.stderr)}; full output in {log}")
        data = fout.read_bytes()
    outs, pos = [], 0
    for t in manifest.outputs:
        outs.append(None)
    per_sample = sum(t.bytes for t in manifest.outputs)
    if len(data) != per_sample * n:
        raise RunError(f"host runner wrote {len(data)} bytes, expected {per_sample * n}")
    rows = np.frombuffer(data, np.uint8).reshape(n, per_sample)
    for k, t in enumerate(manifest.outputs):
        chunk = np.ascontiguousarray(rows[:, pos : pos + t.bytes])
        outs[k] = chunk.view(np.dtype(t.dtype).newbyteorder("<")).reshape((n, *t.shape)).astype(t.dtype)
        pos += t.bytes
    return outs


def host_c_outputs(model, batches: list[np.ndarray], sanitize: bool = True, work_dir: Path | None = None,
                   state: str = "keep") -> list[np.ndarray]:
    """Compile `model` (.tflite path or bytes) for the host and run it on (N, *shape) batches."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(work_dir or tmp) / "host"
        compile_model(model, out, board="host")
        runner = build_host_runner(out, sanitize)
        return run_host_runner(out, runner, batches, state=state)
