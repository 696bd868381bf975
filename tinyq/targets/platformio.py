"""PlatformIO, offline: tinyq's own core dir, the tool-scons package provisioned locally, `pio run`.

Consumes a project directory made by tinyq.targets.project; produces Completed records of
`python -m platformio run` (build, `-t upload`). The core dir is $TINYQ_PIO_CORE (default
<tinyq cache>/platformio-<8 hex digits naming this tinyq installation's dev-platform directory>), never the
user's ~/.platformio unless they point TINYQ_PIO_CORE there. One core per installation: PlatformIO records the
symlinked dev-platform by name, so two tinyq checkouts sharing a core replace each other's record, and a
build of one fails with "Unknown development platform" while the other builds.
PlatformIO 6.2 insists on a `platformio/tool-scons` package and would download it; we write that
package ourselves around the SCons the venv already has (see shared notes, toolchain.md 1.1).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from tinyq.targets import process
from tinyq.targets.cache import cache_dir

BUILD_TIMEOUT = 900.0


def core_dir() -> Path:
    if os.environ.get("TINYQ_PIO_CORE"):
        return Path(os.environ["TINYQ_PIO_CORE"])
    from tinyq.targets.project import platform_dir

    tag = hashlib.sha256(str(platform_dir().resolve()).encode()).hexdigest()[:8]
    return cache_dir() / f"platformio-{tag}"


def pio_env() -> dict:
    """Environment for PlatformIO: tinyq's core dir, no telemetry, no upgrade checks."""
    env = dict(os.environ)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir()),
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="no",
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="36500",
        PLATFORMIO_DISABLE_PROGRESSBAR="true",
        PLATFORMIO_NO_ANSI="true",
    )
    return env


def _atomic_write(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_tool_scons() -> Path:
    """Provision <core>/packages/tool-scons (idempotent, safe to run concurrently)."""
    from platformio.dependencies import get_core_dependencies
    from platformio.package.meta import PackageSpec

    version = get_core_dependencies()["tool-scons"].lstrip("~^=<> ")
    pkg = core_dir() / "packages" / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    # PlatformIO runs this with the venv's python, whose SCons (pinned in pyproject) does the work.
    _atomic_write(pkg / "scons.py", "from SCons.Script.Main import main\n\nif __name__ == '__main__':\n    main()\n")
    _atomic_write(pkg / "package.json", json.dumps({"name": "tool-scons", "version": version}) + "\n")
    piopm = {
        "type": "tool",
        "name": "tool-scons",
        "version": version,
        "spec": PackageSpec(owner="platformio", name="tool-scons").as_dict(),
    }
    _atomic_write(pkg / ".piopm", json.dumps(piopm) + "\n")
    return pkg


def pio_run(project_dir: Path, environment: str, targets: tuple[str, ...] = (), *, timeout: float = BUILD_TIMEOUT):
    """`pio run -d PROJECT -e ENV [-t TARGET...]`, offline, bounded by `timeout`."""
    ensure_tool_scons()
    args = [sys.executable, "-m", "platformio", "run", "-d", str(project_dir), "-e", environment]
    for target in targets:
        args += ["-t", target]
    return process.run(args, timeout=timeout, env=pio_env())


def firmware_elf(project_dir: Path, environment: str) -> Path:
    return Path(project_dir) / ".pio" / "build" / environment / "firmware.elf"
