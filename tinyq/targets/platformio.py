"""PlatformIO, offline: the project's own core dir, the tool-scons package provisioned locally, `pio run`.

Consumes a project directory made by tinyq.targets.project; produces Completed records of
`python -m platformio run` (build, `-t upload`). The core dir is the project's (PROJECT/.pio-core, named by
`core_dir` in its platformio.ini, so that a plain `pio run` uses it too), or $TINYQ_PIO_CORE; never the
user's ~/.platformio unless they point TINYQ_PIO_CORE there. One core per project: PlatformIO records the
symlinked dev-platform by name, so projects of two tinyq installations sharing a core would replace each
other's record ("Unknown development platform").
PlatformIO 6.2 insists on a `platformio/tool-scons` package and would download it (a 60 s hang offline); we
write that package ourselves around the SCons of the Python that runs PlatformIO (see shared notes,
toolchain.md 1.1).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from tinyq.targets import process

BUILD_TIMEOUT = 900.0


PROJECT_CORE_DIR = ".pio-core"  # inside the project; platformio.ini's `core_dir`

# tool-scons's entry point. PlatformIO runs it with its own Python: the one tinyq is installed in has SCons
# (a tinyq dependency); another PlatformIO may not, and is told so.
_SCONS_SHIM = """try:
    from SCons.Script.Main import main
except ImportError:
    raise SystemExit("tinyq: error: this PlatformIO's Python has no SCons: run the `pio` installed with tinyq, "
                     "or `pip install scons==%s` beside your PlatformIO")

if __name__ == '__main__':
    main()
"""


def core_dir(project_dir: Path) -> Path:
    if os.environ.get("TINYQ_PIO_CORE"):
        return Path(os.environ["TINYQ_PIO_CORE"])
    return Path(project_dir) / PROJECT_CORE_DIR


def pio_env(project_dir: Path) -> dict:
    """Environment for PlatformIO: the project's core dir, no telemetry, no upgrade checks."""
    env = dict(os.environ)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir(project_dir)),
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


def ensure_tool_scons(core: Path) -> Path:
    """Provision CORE/packages/tool-scons (idempotent, safe to run concurrently)."""
    from platformio.dependencies import get_core_dependencies
    from platformio.package.meta import PackageSpec
    from SCons import __version__ as scons_version

    version = get_core_dependencies()["tool-scons"].lstrip("~^=<> ")
    pkg = Path(core) / "packages" / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    _atomic_write(pkg / "scons.py", _SCONS_SHIM % scons_version)
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
    ensure_tool_scons(core_dir(project_dir))
    args = [sys.executable, "-m", "platformio", "run", "-d", str(project_dir), "-e", environment]
    for target in targets:
        args += ["-t", target]
    return process.run(args, timeout=timeout, env=pio_env(project_dir))


def firmware_elf(project_dir: Path, environment: str) -> Path:
    return Path(project_dir) / ".pio" / "build" / environment / "firmware.elf"
