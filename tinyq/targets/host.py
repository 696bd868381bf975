"""The host target: builds the harness, the model and the kernel library with the system C compiler.

Consumes a project directory (src/*.c, lib/tinyq/{include,src}) and the host Board (compiler and
flags from boards/host.toml); produces DIR/build/runner, run as `runner INPUT.bin OUTPUT.bin`.
"""
from __future__ import annotations

from pathlib import Path

from tinyq.boards import Board
from tinyq.targets import process
from tinyq.targets.project import LIBRARY_DIR


def runner_path(project_dir: Path) -> Path:
    return Path(project_dir) / "build" / "runner"


def host_sources(project_dir: Path) -> list[Path]:
    project_dir = Path(project_dir)
    return sorted((project_dir / "src").glob("*.c")) + sorted((project_dir / LIBRARY_DIR / "src").rglob("*.c"))


def build_host(project_dir: Path, board: Board, *, timeout: float) -> process.Completed:
    """Compile and link DIR/build/runner in one compiler call."""
    project_dir = Path(project_dir).resolve()
    runner = runner_path(project_dir)
    runner.parent.mkdir(parents=True, exist_ok=True)
    args = [
        board.cc, *board.cflags,
        "-I", project_dir / "src", "-I", project_dir / LIBRARY_DIR / "include",
        *host_sources(project_dir), "-o", runner, *board.ldflags,
    ]
    return process.run(args, timeout=timeout, cwd=project_dir)
