"""write_project: a complete, deterministic PlatformIO (or host) project around the generated model."""
import json

import pytest

from tinyq.boards import load_board
from tinyq.errors import TinyqError
from tinyq.resources import data_dir
from tinyq.targets.project import pio_board_manifest, render_main, write_project
from tinyq.targets.manifest import ManifestError, parse_manifest

from . import dummy


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_project_files_and_determinism(tmp_path):
    d = dummy.make_project(tmp_path / "a", "mps2-an386")
    names = set(_snapshot(d))
    assert {"platformio.ini", "src/main.c", "boards/tinyq_mps2_an386.json", "lib/tinyq/library.json",
            "lib/tinyq/include/tinyq/tq_profile.h", "lib/tinyq/include/tinyq/tq_types.h"} <= names
    firmware = data_dir("firmware")
    copied = {n for n in names if n.startswith("lib/tinyq/src/") and n.endswith(".c")}
    assert copied == {"lib/tinyq/src/tq_trace.c"}, copied  # the dummy model calls no kernel; TQ_TRACE_TENSOR
    assert {f"lib/tinyq/src/{h.name}" for h in (firmware / "src").glob("*.h")} <= names
    e = dummy.make_project(tmp_path / "b", "mps2-an386")
    assert _snapshot(d) == _snapshot(e)  # byte for byte: no timestamps, no absolute paths
    ini = (d / "platformio.ini").read_text()
    assert "platform = symlink://platform\n" in ini and "core_dir = .pio-core\n" in ini
    assert str(tmp_path) not in "".join(p.read_text() for p in d.rglob("*") if p.is_file())
    for src in (firmware / "platform").rglob("*.py"):  # the project's copy of the dev-platform
        assert (d / "platform" / src.relative_to(firmware / "platform")).read_bytes() == src.read_bytes()
    assert (d / ".pio-core" / "packages" / "tool-scons" / "scons.py").is_file()
    assert "[env:firmware]" in ini and "[env:profile]" in ini and "-DTQ_PROFILE" in ini


def test_rewrite_removes_stale_library_files(tmp_path):
    d = dummy.make_project(tmp_path, "mps2-an386")
    stale = d / "lib" / "tinyq" / "src" / "tq_removed_kernel.c"
    stale.write_text("int x;\n")
    written = write_project(d, "mps2-an386", dummy.manifest("mps2-an386"))
    assert not stale.exists()
    assert d / "src" / "main.c" in written


def test_host_project_has_no_platformio_files(tmp_path):
    d = dummy.make_project(tmp_path, "host")
    assert (d / "src" / "main.c").is_file() and (d / "lib" / "tinyq" / "include").is_dir()
    assert not (d / "platformio.ini").exists() and not (d / "boards").exists()


def test_board_manifest_carries_the_memory_map():
    b = load_board("mps3-an547")
    m = pio_board_manifest(b)
    mem = m["build"]["tinyq"]["memory"]
    assert mem["flash"] == [0x10000000, 512 * 1024] and mem["weights"] == [0x11000000, 2 * 1024 * 1024]
    assert mem["ram"] == [0x31000000, 4 * 1024 * 1024] and mem["stack_bytes"] == b.stack_bytes
    assert m["build"]["tinyq"]["qemu_machine"] == "mps3-an547"
    assert json.loads(json.dumps(m)) == m


def test_harness_variants():
    man = parse_manifest(dummy.manifest("mps2-an386"))
    files = render_main(load_board("mps2-an386"), man)
    assert "fopen(argv[1]" in files and "TINYQ_OUTPUT" not in files
    assert "static uint8_t input_1[6]" in files and "sizeof output_1" in files
    real = render_main(load_board("nucleo_f446re"), man)
    assert "TINYQ_OUTPUT" in real and "<stdio.h>" not in real and "USART2" in real


def test_manifest_mismatch_and_bad_manifest(tmp_path):
    with pytest.raises(TinyqError, match="manifest is for board 'host'"):
        write_project(tmp_path, "mps2-an386", dummy.manifest("host"))
    bad = dummy.manifest("host")
    bad["inputs"][0]["bytes"] = 5
    with pytest.raises(ManifestError, match="in0"):
        parse_manifest(bad)
    with pytest.raises(ManifestError, match="not a C identifier"):
        parse_manifest({**dummy.manifest("host"), "prefix": "1model"})


def test_odd_tensor_names_stay_inside_comments(tmp_path):
    info = dummy.manifest("host")
    info["inputs"][0]["name"] = "serving/in:0 */ int x;\nnext"
    d = dummy.make_project(tmp_path, "host")
    main_c = render_main(load_board("host"), parse_manifest(info))
    assert "*/ int x;" not in main_c and "serving/in:0 * / int x;_next" in main_c
    (d / "src" / "main.c").write_text(main_c)
    from tinyq.targets.build import build_project

    build_project(d)  # still compiles with -Werror


@pytest.mark.firmware
@pytest.mark.slow
def test_plain_pio_run_builds_a_moved_copy_offline(tmp_path):
    """The project names no path outside itself: a copy moved elsewhere (the original gone) builds with a
    plain `pio run`, with no PlatformIO directory of the user's and nothing fetched."""
    import os
    import shutil
    import subprocess
    import sys

    moved = tmp_path / "elsewhere" / "fw"
    shutil.copytree(dummy.make_project(tmp_path / "orig", "mps2-an386"), moved)
    shutil.rmtree(tmp_path / "orig")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORMIO_", "TINYQ_"))}
    env["HOME"] = str(tmp_path / "home")  # no ~/.platformio, no tinyq cache
    done = subprocess.run([sys.executable, "-m", "platformio", "run"], cwd=moved, env=env, capture_output=True,
                          text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert (moved / ".pio" / "build" / "firmware" / "firmware.elf").is_file()
    fetched = [line for line in log.splitlines() if "Downloading" in line or "HTTPClientError" in line
               or ("Installing" in line and "Installing symlink://platform" not in line)]  # linking its own copy
    assert not fetched, fetched
    assert sorted(p.name for p in (moved / ".pio-core" / "packages").iterdir()) == ["tool-scons"]
    assert not (tmp_path / "home" / ".platformio").exists()
