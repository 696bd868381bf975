"""Project generation: turns a directory holding the generated model sources into a buildable project.

Consumes OUT_DIR/src/<prefix>.{h,c} + <prefix>_data.c (written by the emitter), a Board and the
manifest. Produces, deterministically (no timestamps):
    src/main.c                  the harness (templates/main.c.j2)
    lib/tinyq/                  the kernel library as a PlatformIO library (library.json, include/, and the src/
                                files of the kernels src/*.c call: tinyq.targets.kernel_sources)
    platformio.ini              (not for the host) env "firmware" and env "profile" (-DTQ_PROFILE)
    boards/tinyq_<board>.json   (not for the host) PlatformIO board manifest generated from boards/<board>.toml
    platform/                   (not for the host) a copy of tinyq's dev-platform (platform = symlink://platform)
    .pio-core/                  (not for the host) the project's PlatformIO core dir, tool-scons provisioned
The project names no path outside itself: a plain `pio run` builds it offline, wherever it is moved.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from tinyq.emit.jinja_env import environment

from tinyq import __version__
from tinyq.boards import STACK_MARGIN_BYTES, Board, resolve_board
from tinyq.errors import TinyqError
from tinyq.resources import data_dir
from tinyq.targets.kernel_sources import library_texts, needed_sources
from tinyq.targets.manifest import Manifest, parse_manifest
from tinyq.targets.platformio import PROJECT_CORE_DIR, ensure_tool_scons

LIBRARY_DIR = Path("lib") / "tinyq"
PLATFORM_DIR = Path("platform")


def platform_dir() -> Path:
    """tinyq's PlatformIO dev-platform (firmware/platform), which every project copies."""
    return data_dir("firmware") / "platform"


def pio_board_id(board: Board) -> str:
    return "tinyq_" + board.name.replace("-", "_")


def pio_board_manifest(board: Board) -> dict:
    """PlatformIO board JSON; build.tinyq carries what the platform builder needs."""
    console = {"kind": board.console.kind}
    if board.console.kind == "uart":
        c = board.console
        console.update(
            init=[list(step) for step in c.init],
            tx_data=c.tx_data,
            tx_ready=None if c.tx_ready is None else [c.tx_ready.address, c.tx_ready.mask, c.tx_ready.value],
            tx_done=None if c.tx_done is None else [c.tx_done.address, c.tx_done.mask, c.tx_done.value],
            rx_data=c.rx_data,
            rx_ready=[c.rx_ready.address, c.rx_ready.mask, c.rx_ready.value],
            rx_event=c.rx_event,
        )
    upload = None
    if board.upload is not None:
        upload = {"protocol": board.upload.protocol, "openocd_target": board.upload.openocd_target}
    flash_total = board.flash.size + (board.weights.size if board.weights else 0)
    return {
        "name": board.title,
        "url": "https://github.com/tinyq",
        "vendor": "tinyq",
        "frameworks": [],
        "upload": {
            "maximum_size": flash_total,
            "maximum_ram_size": board.ram.size,
            "protocol": upload["protocol"] if upload else "qemu",
        },
        "build": {
            "cpu": board.cpu,
            "mcu": board.name,
            "tinyq": {
                "arch_flags": list(board.arch_flags),
                "memory": {
                    "flash": [board.flash.origin, board.flash.size],
                    "weights": [board.weights.origin, board.weights.size] if board.weights else None,
                    "ram": [board.ram.origin, board.ram.size],
                    "stack_bytes": board.stack_bytes,
                    "stack_margin": STACK_MARGIN_BYTES,
                },
                "console": console,
                "qemu_machine": board.qemu_machine,
                "upload": upload,
            },
        },
    }


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # keep mtimes: no needless rebuilds
        path.write_text(text, encoding="utf-8")
    written.append(path)


def write_library(out: Path, written: list[Path] | None = None) -> list[Path]:
    """Mirror firmware/library.json, include/ and the kernel sources that the project's src/**/*.c call
    (tinyq.targets.kernel_sources) into OUT/lib/tinyq, stale files removed; again after src/ changes."""
    written = [] if written is None else written
    firmware = data_dir("firmware")
    library = library_texts(firmware)
    needed = needed_sources(library, [p.read_text(encoding="utf-8") for p in sorted((out / "src").rglob("*.c"))])
    wanted = {Path("library.json"): firmware / "library.json"}
    wanted.update({rel: firmware / rel for rel in library if rel.suffix == ".h" or rel in needed})
    _mirror(out / LIBRARY_DIR, wanted, written)
    return written


def _copy_platform(out: Path, written: list[Path]) -> None:
    """Mirror tinyq's dev-platform into OUT/platform (no bytecode caches)."""
    root = platform_dir()
    wanted = {src.relative_to(root): src for src in sorted(root.rglob("*"))
              if src.is_file() and "__pycache__" not in src.parts}
    _mirror(out / PLATFORM_DIR, wanted, written)


def _mirror(dest: Path, wanted: dict[Path, Path], written: list[Path]) -> None:
    """DEST holds exactly `wanted` (relative path -> source file): stale files and empty directories go."""
    if dest.is_dir():
        for existing in sorted(dest.rglob("*"), reverse=True):
            rel = existing.relative_to(dest)
            if existing.is_file() and rel not in wanted:
                existing.unlink()
            elif existing.is_dir() and not any(existing.iterdir()):
                existing.rmdir()
    for rel, src in wanted.items():
        _write(dest / rel, src.read_text(encoding="utf-8"), written)


def render_main(board: Board, manifest: Manifest) -> str:
    """The harness source for `board` (file I/O on host and QEMU; one zero sample over UART on real boards)."""
    return environment().get_template("main.c.j2").render(
        version=__version__,
        board=board,
        files=board.console.kind in ("stdio", "semihosting"),
        prefix=manifest.prefix,
        PREFIX=manifest.prefix.upper(),
        model_sha256=manifest.model_sha256 or "unknown",
        inputs=manifest.inputs,
        outputs=manifest.outputs,
        levels=max(1, len(manifest.levels)),
    )


def write_project(out_dir: Path | str, board: Board | str, manifest: Manifest | Mapping) -> list[Path]:
    """Add the harness, kernel library and PlatformIO files to OUT_DIR; return the files written."""
    board = resolve_board(board)
    if not isinstance(manifest, Manifest):
        manifest = parse_manifest(manifest)
    if manifest.board and manifest.board != board.name:
        raise TinyqError(f"{out_dir}: the manifest is for board '{manifest.board}', not '{board.name}'")
    out = Path(out_dir)
    written: list[Path] = []
    _write(out / "src" / "main.c", render_main(board, manifest), written)
    write_library(out, written)
    if board.is_host:
        return written
    board_json = json.dumps(pio_board_manifest(board), indent=2, sort_keys=True) + "\n"
    _write(out / "boards" / f"{pio_board_id(board)}.json", board_json, written)
    _copy_platform(out, written)
    ini = environment().get_template("platformio.ini.j2").render(
        version=__version__,
        board=board,
        prefix=manifest.prefix,
        platform_dir=PLATFORM_DIR.as_posix(),
        core_dir=PROJECT_CORE_DIR,
        pio_board=pio_board_id(board),
    )
    _write(out / "platformio.ini", ini, written)
    ensure_tool_scons(out / PROJECT_CORE_DIR)  # a plain `pio run` must not go looking for it online
    return written
