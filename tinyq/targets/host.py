"""The host target: builds the harness, the model and the kernel library with the system C compiler.

Consumes a project directory (src/*.c, lib/tinyq/{include,src}) and the host Board (compiler and
flags from boards/host.toml); produces DIR/build/runner, run as `runner INPUT.bin OUTPUT.bin`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tinyq.boards import Board
from tinyq.errors import BuildError
from tinyq.targets import process
from tinyq.targets.project import LIBRARY_DIR


def runner_path(project_dir: Path) -> Path:
    return Path(project_dir) / "build" / "runner"


def host_sources(project_dir: Path) -> list[Path]:
    project_dir = Path(project_dir)
    return sorted((project_dir / "src").glob("*.c")) + sorted((project_dir / LIBRARY_DIR / "src").rglob("*.c"))


# The host runner is a development and test build: the kernels check their contracts (tq_config.h).
HOST_DEFINES = ("-DTQ_ENABLE_ASSERT",)


def build_host(project_dir: Path, board: Board, *, timeout: float) -> process.Completed:
    """Compile and link DIR/build/runner in one compiler call (sources named relative to DIR, so the
    compiler's messages are short)."""
    project_dir = Path(project_dir).resolve()
    runner = runner_path(project_dir)
    runner.parent.mkdir(parents=True, exist_ok=True)
    args = [
        board.cc, *board.cflags, *HOST_DEFINES,
        "-I", "src", "-I", LIBRARY_DIR / "include",
        *(p.relative_to(project_dir) for p in host_sources(project_dir)), "-o", runner.relative_to(project_dir),
        *board.ldflags,
    ]
    if shutil.which(board.cc) is None:
        raise BuildError(f"the host C compiler '{board.cc}' is not installed (boards/host.toml names it)")
    return process.run(args, timeout=timeout, cwd=project_dir)
