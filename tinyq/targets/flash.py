"""`tinyq flash`: program a real board through PlatformIO's upload target.

Consumes a project for a real board; builds it, then runs `pio run -t upload`, whose action (in
firmware/platform/builder/main.py) calls the board's tool: openocd, st-flash or nrfjprog. Produces
the upload's Completed record, or a FlashError with one line when the tool or the probe is missing.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from tinyq.errors import RunError
from tinyq.targets import platformio, process
from tinyq.targets.build import BUILD_TIMEOUT, build_project, project_board
from tinyq.targets.manifest import read_manifest

FLASH_TIMEOUT = 180.0
# what each tool says when no probe answers
_NO_PROBE = re.compile(
    r"(no ST-?LINK|Couldn't find any ST-Link|open failed|unable to (?:find|open)|No J-Link|"
    r"no debugger connected|There is no debugger|not found on the USB|LIBUSB_ERROR|No device found)",
    re.IGNORECASE,
)


class FlashError(RunError):
    """The board could not be programmed (no tool, no probe, or the tool failed)."""


def flash_project(project_dir: Path | str, *, timeout: float = FLASH_TIMEOUT,
                  build_timeout: float = BUILD_TIMEOUT) -> process.Completed:
    """Build PROJECT_DIR and upload it to the real board named in its manifest."""
    project_dir = Path(project_dir).resolve()
    board = project_board(read_manifest(project_dir), project_dir)
    if board.upload is None:
        raise FlashError(f"board {board.name} is {board.kind}, nothing to flash: use `tinyq run {project_dir}`")
    tool = board.upload.tool
    if shutil.which(tool) is None:
        raise FlashError(
            f"cannot flash {board.name}: '{tool}' (upload protocol {board.upload.protocol}) is not installed "
            f"or not on PATH"
        )
    build_project(project_dir, timeout=build_timeout)
    done = platformio.pio_run(project_dir, "firmware", ("upload",), timeout=timeout)
    if done.timed_out:
        raise FlashError(f"flashing {board.name} with {tool} did not finish within {timeout:g} s; it was killed")
    if done.returncode != 0:
        no_probe = _NO_PROBE.search(done.output)
        if no_probe:
            raise FlashError(f"no debug probe found for {board.name}: {tool} says '{_line_of(done.output, no_probe)}'")
        raise FlashError(f"flashing {board.name} with {tool} failed: {_last_line(done.output)}")
    return done


def _line_of(text: str, match: re.Match) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start:end if end >= 0 else None].strip()
    return re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+\s+", "", line)  # st-flash prefixes a timestamp


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not set(line.strip()) <= set("=-*")]
    return lines[-1] if lines else "no output"
