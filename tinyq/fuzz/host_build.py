"""The sanitized host build of a compiled mutant: the host board's flags + ASan + UBSan, no recovery.

The kernel library (firmware/src) is the same for every mutant: build_library() compiles it once per
campaign and link_runner() links each mutant's generated sources against those objects.
"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tinyq.boards import load_board
from tinyq.resources import data_dir

SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")
RUN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:allocator_may_return_null=0",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1", "PATH": "/usr/bin:/bin"}
SANITIZER_MARKS = ("runtime error:", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer")


def flags() -> list[str]:
    board = load_board("host")
    return [board.cc, *board.cflags, *SANITIZE]


def build_library(out_dir: Path, timeout: float = 600) -> list[Path]:
    """firmware/src/*.c -> objects in out_dir (named by content and flags, so reruns reuse them)."""
    fw = data_dir("firmware")
    cmd = flags()
    headers = b"".join(p.read_bytes() for p in sorted((fw / "include").rglob("*.h")))
    headers += b"".join(p.read_bytes() for p in sorted((fw / "src").glob("*.h")))
    out_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for src in sorted((fw / "src").glob("*.c")):
        key = hashlib.sha256(headers + src.read_bytes() + " ".join(cmd).encode()).hexdigest()[:16]
        obj = out_dir / f"{src.stem}-{key}.o"
        if not obj.is_file():
            tmp = obj.with_suffix(".tmp.o")
            p = subprocess.run([*cmd, "-I", str(fw / "include"), "-c", str(src), "-o", str(tmp)],
                               capture_output=True, text=True, timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError(f"the kernel library does not build with the sanitizers: {src.name}\n{p.stderr}")
            tmp.replace(obj)
        objs.append(obj)
    return objs


def source_digest(project_dir: Path) -> str:
    """What the generated C is: every file under src/, by name and content."""
    h = hashlib.sha256()
    for p in sorted((Path(project_dir) / "src").rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def link_runner(project_dir: Path, objs: list[Path], timeout: float) -> tuple[Path | None, str]:
    """(runner, "") or (None, the compiler's complaint)."""
    project_dir = Path(project_dir)
    runner = project_dir / "build" / "runner-fuzz"
    runner.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*flags(), "-I", str(project_dir / "src"), "-I", str(data_dir("firmware") / "include"),
           *(str(p) for p in sorted((project_dir / "src").glob("*.c"))), *(str(o) for o in objs),
           "-o", str(runner), "-lm"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"the C compiler did not finish within {timeout:g} s"
    if p.returncode != 0:
        return None, p.stderr[-3000:] or f"cc exit status {p.returncode}"
    return runner, ""


def run_runner(runner: Path, data: bytes, work: Path, timeout: float) -> dict:
    """Run `runner in.bin out.bin` in work/; the exit status, stderr, output bytes and what went wrong."""
    fin, fout = work / "in.bin", work / "out.bin"
    fin.write_bytes(data)
    fout.unlink(missing_ok=True)
    try:
        p = subprocess.run([str(runner), fin.name, fout.name], cwd=work, capture_output=True, timeout=timeout,
                           env=RUN_ENV)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "timed_out": True, "stderr": "", "output": b"", "sanitizer": False}
    stderr = p.stderr.decode("utf-8", "replace")
    return {"returncode": p.returncode, "timed_out": False, "stderr": stderr[:3000],
            "output": fout.read_bytes() if fout.is_file() else b"",
            "sanitizer": any(m in stderr for m in SANITIZER_MARKS)}
