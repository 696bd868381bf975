"""`tinyq build`: compile a project for its board and report flash/RAM from the ELF.

Consumes a project directory (tinyq.json + sources + files from tinyq.targets.project); produces a
BuildResult (artifact path, SizeReport, compiler log). Before compiling it refuses a model whose
memory plan cannot fit the board. Host: one `cc` call -> DIR/build/runner. Others: `pio run`
-> .pio/build/<env>/firmware.elf, where env is "firmware", "profile" (-DTQ_PROFILE markers) or
"trace" (-DTQ_TRACE per-call output dumps). Every compiler run leaves its full output in DIR/build.log
(build-<env>.log for profile/trace); a failure is one CompileFailed line naming that file and, when short,
the compiler's first error line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import STACK_MARGIN_BYTES, Board, load_board
from tinyq.errors import BuildError, PlanError
from tinyq.targets import host, platformio
from tinyq.targets.elfsize import SizeReport, size_report
from tinyq.targets.manifest import Manifest, read_manifest
from tinyq.targets.project import PLATFORM_DIR

BUILD_TIMEOUT = 900.0
_NO_FIT = re.compile(r"section `(\S+)' will not fit in region `(\w+)'")
_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")
_COMPILER_ERROR = re.compile(r"^.*\b(fatal )?error:.*$", re.MULTILINE)  # gcc's "file:line:col: error: ..."
_ERROR_LINE = re.compile(r"^.*\b(error|Error|ERROR)\b.*$", re.MULTILINE)
_SHORT = 200  # characters: a longer first error line stays in the log only


class CompileFailed(BuildError):
    """The compiler or linker failed. The message is one line naming the build and `log_file`, which holds
    the full compiler output; `log` is that output."""

    def __init__(self, message: str, log: str, log_file: Path | None = None):
        super().__init__(message)
        self.log = log
        self.log_file = log_file


@dataclass(frozen=True)
class BuildResult:
    project_dir: Path
    board: Board
    artifact: Path  # host runner or firmware.elf
    sizes: SizeReport
    log: str  # compiler output ("" when the host runner was already up to date)
    seconds: float
    variant: str  # PlatformIO env: "firmware", "profile" or "trace"


def project_board(manifest: Manifest, project_dir: Path) -> Board:
    if not manifest.board:
        raise PlanError(f"{project_dir}/tinyq.json names no board")
    return load_board(manifest.board)


def check_fit(manifest: Manifest, board: Board) -> None:
    """Refuse a model whose weights or activations cannot fit the board (before compiling anything)."""
    if board.is_host:
        return
    region = board.weight_region
    if manifest.weight_bytes > region.size:
        raise PlanError(
            f"model does not fit {board.name}: weights need {manifest.weight_bytes:,} B "
            f"but its {'weight region' if board.weights else 'flash'} holds {region.size:,} B"
        )
    # scratch buffers are planned inside the arena; the harness's I/O buffers are static RAM too
    io_bytes = manifest.sample_in_bytes + manifest.sample_out_bytes
    # the stack reserve is sized at link time (the call graph's bound + the margin): the margin is its lower bound
    ram_need = manifest.arena_bytes + io_bytes + STACK_MARGIN_BYTES
    if ram_need > board.ram.size:
        raise PlanError(
            f"model does not fit {board.name}: arena {manifest.arena_bytes:,} B + I/O buffers "
            f"{io_bytes:,} B + stack at least {STACK_MARGIN_BYTES:,} B = {ram_need:,} B but RAM holds {board.ram.size:,} B"
        )


def artifact_path(project_dir: Path, board: Board, variant: str = "firmware") -> Path:
    if board.is_host:
        return host.runner_path(project_dir)
    return platformio.firmware_elf(project_dir, variant)


def _inputs(project_dir: Path, board: Board) -> list[Path]:
    project_dir = Path(project_dir)
    files = [project_dir / "tinyq.json", *(project_dir / "src").rglob("*"), *(project_dir / "lib").rglob("*")]
    if not board.is_host:
        files += [project_dir / "platformio.ini", *(project_dir / "boards").rglob("*")]
        files += list((project_dir / PLATFORM_DIR).rglob("*"))
    return [f for f in files if f.is_file() and "__pycache__" not in f.parts]


def is_fresh(project_dir: Path, board: Board, variant: str = "firmware") -> bool:
    """True if the artifact exists and is newer than every source it is built from."""
    artifact = artifact_path(project_dir, board, variant)
    if not artifact.is_file():
        return False
    built = artifact.stat().st_mtime
    return all(f.stat().st_mtime <= built for f in _inputs(project_dir, board))


def log_path(project_dir: Path, variant: str = "firmware") -> Path:
    """Where the last build's full compiler output is kept: DIR/build.log (DIR/build-<env>.log for the
    profile and trace envs)."""
    return Path(project_dir) / ("build.log" if variant == "firmware" else f"build-{variant}.log")


def _write_log(path: Path, done) -> None:
    path.write_text("$ " + " ".join(done.args) + "\n" + done.output, encoding="utf-8")


def _first_error(log: str, project_dir: Path) -> str | None:
    """The compiler's first error line, paths shortened to the project, if it is short enough to show."""
    found = _COMPILER_ERROR.search(log) or _ERROR_LINE.search(log)
    if not found:
        return None
    line = " ".join(found.group(0).replace(f"{project_dir}/", "").split())
    return line if len(line) <= _SHORT else None


def _failure(board: Board, log: str, project_dir: Path, log_file: Path) -> CompileFailed:
    where = f"full compiler output in {log_file}"
    no_fit, overflow = _NO_FIT.search(log), _OVERFLOW.search(log)
    if no_fit or overflow:
        section, region = no_fit.groups() if no_fit else ("", overflow.group(1))
        by = int(overflow.group(2)) if overflow else 0
        detail = (f" (section {section} does not fit)" if section else "") + (f" by {by:,} B" if by else "")
        return CompileFailed(f"model does not fit {board.name}: the linker's {region} region overflowed{detail}; "
                             f"{where}", log, log_file)
    first = _first_error(log, project_dir)
    return CompileFailed(f"build for {board.name} failed: {first + '; ' if first else ''}{where}", log, log_file)


def require_tool(tool: str, what: str, packages: str) -> None:
    """Name a missing program before a step needs it (rather than a build that fails with `Error 127`)."""
    import shutil

    if shutil.which(tool) is None:
        raise BuildError(f"{what} needs `{tool}`, which is not on PATH: install the Debian/Ubuntu packages "
                         f"{packages} (scripts/setup.sh does)")


def build_project(project_dir: Path | str, *, profile: bool = False, trace: bool = False,
                  timeout: float = BUILD_TIMEOUT) -> BuildResult:
    """Build PROJECT_DIR for the board in its manifest; raise PlanError/CompileFailed on failure.

    profile=True builds the "profile" env (-DTQ_PROFILE), trace=True the "trace" env (-DTQ_TRACE).
    """
    project_dir = Path(project_dir).resolve()
    manifest = read_manifest(project_dir)
    board = project_board(manifest, project_dir)
    check_fit(manifest, board)
    if profile and trace:
        raise BuildError("build either with profiling markers or with tracing, not both")
    variant = "profile" if profile else ("trace" if trace else "firmware")
    if board.is_host:
        if variant != "firmware":
            raise BuildError(f"the {variant} build needs an emulated board, not the host")
        done = None if is_fresh(project_dir, board) else host.build_host(project_dir, board, timeout=timeout)
    else:
        require_tool("arm-none-eabi-gcc", f"building for {board.name}", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
        done = platformio.pio_run(project_dir, variant, timeout=timeout)
    if done is not None:
        log_file = log_path(project_dir, variant)
        _write_log(log_file, done)
        if done.timed_out:
            raise CompileFailed(f"build for {board.name} did not finish within {timeout:g} s; compiler output so "
                                f"far in {log_file}", done.output, log_file)
        if done.returncode != 0:
            raise _failure(board, done.output, project_dir, log_file)
    artifact = artifact_path(project_dir, board, variant)
    return BuildResult(
        project_dir=project_dir,
        board=board,
        artifact=artifact,
        sizes=size_report(artifact, board),
        log="" if done is None else done.output,
        seconds=0.0 if done is None else done.seconds,
        variant=variant,
    )
