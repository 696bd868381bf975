"""Real boards: every one builds offline with a size report; the UART harness and `tinyq run` / `verify` over a
serial port work (checked by running the NUCLEO-F446RE image on QEMU's STM32F405, which has the same USART2,
flash and SRAM addresses, its USART2 on a TCP socket); flashing without a probe fails with one clear line."""
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyq.boards import board_names, load_board
from tinyq.cli import main
from tinyq.errors import RunError
from tinyq.targets.build import build_project
from tinyq.targets.elfsize import stack_sizing
from tinyq.targets.console import parse_console
from tinyq.targets.flash import flash_project
from tinyq.targets.manifest import read_manifest
from tinyq.targets.run import run_project

from . import dummy

pytestmark = [pytest.mark.firmware, pytest.mark.slow]
REAL = [n for n in board_names() if load_board(n).kind == "real"]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    return {board: dummy.make_project(root, board) for board in REAL}


@pytest.mark.parametrize("board", REAL)
def test_real_board_builds_offline_with_size_report(board, projects, capsys):
    assert main(["build", str(projects[board])]) == 0
    out = capsys.readouterr().out
    b = load_board(board)
    assert f"for {board} (PlatformIO" in out
    assert f"of {b.flash.size:,}" in out and f"of {b.ram.size:,}" in out
    r = build_project(projects[board])
    sizing = stack_sizing(r.artifact)  # sized from the call graph (printed by build), not the board's fallback
    assert r.sizes.weight_bytes == 20 and r.sizes.arena_bytes == 32
    assert r.sizes.stack_bytes == sizing.reserve_bytes < b.stack_bytes and f"invoke <= {sizing.invoke_bytes:,} B" in out
    assert r.sizes.flash_bytes < b.flash.size and r.sizes.ram_bytes < b.ram.size
    assert (r.artifact.parent / "firmware.bin").is_file() and (r.artifact.parent / "firmware.hex").is_file()


@contextlib.contextmanager
def uart_on_qemu(elf, log=None):
    """The NUCLEO-F446RE image on QEMU's netduinoplus2, its USART2 (QEMU's second serial port; the first is
    USART1) a TCP server; yields the pyserial URL of that port once QEMU listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uart = f"tcp:127.0.0.1:{port},server=on,wait=off"
    proc = subprocess.Popen(["qemu-system-arm", "-M", "netduinoplus2", "-nographic", "-monitor", "none",
                             "-serial", "null", "-serial", uart, "-kernel", str(elf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield f"socket://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_every_real_board_has_an_env_on_platformios_official_platform(projects):
    """env "official" names the board's own PlatformIO platform and board id and tinyq's extra script; the
    emulated boards, which exist only in QEMU, have none."""
    import configparser

    for board in REAL:
        ini = configparser.ConfigParser()
        ini.read(projects[board] / "platformio.ini")
        official = load_board(board).official
        env = ini["env:official"]
        assert (env["platform"], env["board"], env["upload_protocol"]) == (
            official.platform, official.board, official.upload_protocol)
        assert env["extra_scripts"] == "pre:platform/builder/official.py, post:platform/builder/official_link.py"
        assert (projects[board] / "platform" / "builder" / "official.py").is_file()
    assert all(load_board(n).official is None for n in board_names() if load_board(n).kind != "real")


@pytest.mark.skipif(not os.environ.get("TINYQ_PLATFORM_STSTM32"),
                    reason="set TINYQ_PLATFORM_STSTM32 to a checkout of platformio/platform-ststm32 to build env "
                           "official offline (PlatformIO's registry is unreachable here)")
def test_env_official_builds_on_ststm32_and_runs(projects, tmp_path):
    """The checkout stands in for the registry's ststm32 and the system arm-none-eabi-gcc for its toolchain: the
    platform's own builder makes the image, which then serves samples like env firmware's."""
    import shutil

    d = tmp_path / "project"
    shutil.copytree(projects["nucleo_f446re"], d, ignore=shutil.ignore_patterns(".pio"))
    gcc = tmp_path / "gcc"
    (gcc / "bin").mkdir(parents=True)
    for tool in Path("/usr/bin").glob("arm-none-eabi-*"):
        (gcc / "bin" / tool.name).symlink_to(tool)
    (gcc / "package.json").write_text('{"name": "toolchain-gccarmnoneeabi", "version": "1.120201.0", "system": "*"}')
    ini = (d / "platformio.ini").read_text().replace(
        "platform = ststm32", f"platform = symlink://{os.environ['TINYQ_PLATFORM_STSTM32']}").replace(
        "platformio/toolchain-gccarmnoneeabi@>=1.100301.0", f"toolchain-gccarmnoneeabi@symlink://{gcc}")
    (d / "platformio.ini").write_text(ini)
    done = subprocess.run([str(Path(sys.executable).parent / "pio"), "run", "-e", "official"], cwd=d,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    with uart_on_qemu(d / ".pio" / "build" / "official" / "firmware.elf") as url:
        batch = dummy.sample_inputs(3, seed=5)
        r = run_project(projects["nucleo_f446re"], batch, port=url)
    for name, want in dummy.expected_outputs(batch).items():
        np.testing.assert_array_equal(r.outputs[name], want)


def test_uart_harness_serves_samples_over_the_serial_port(projects, tmp_path, capsys):
    d = projects["nucleo_f446re"]
    with uart_on_qemu(build_project(d).artifact) as url:
        batch = dummy.sample_inputs(5, seed=3)
        r = run_project(d, batch, port=url)
        for name, want in dummy.expected_outputs(batch).items():
            np.testing.assert_array_equal(r.outputs[name], want)
        np.savez(tmp_path / "x.npz", **batch)
        assert main(["run", str(d), "-i", str(tmp_path / "x.npz"), "-o", str(tmp_path / "y.npz"), "--port", url]) == 0
        got = np.load(tmp_path / "y.npz")
        for name, want in dummy.expected_outputs(batch).items():
            np.testing.assert_array_equal(got[name], want)
        other = dummy.make_project(tmp_path / "other", "nucleo_f446re")
        (other / "tinyq.json").write_text((other / "tinyq.json").read_text().replace(
            read_manifest(other).model_sha256, "ab" * 32))
        with pytest.raises(RunError, match="runs another model.*tinyq flash"):
            run_project(other, batch, port=url)


def test_verify_on_a_real_board_over_its_serial_port(tmp_path, capsys):
    """`tinyq verify --board nucleo_f446re --no-flash --port URL`: the image verify builds is byte for byte the
    one a compile + build makes, so the emulated board already runs it."""
    from tests.samples import model_path

    model = model_path("mlperf_ad_fc_autoencoder_int8")
    fw = tmp_path / "fw"
    assert main(["compile", str(model), "--board", "nucleo_f446re", "--out", str(fw)]) == 0
    with uart_on_qemu(build_project(fw).artifact) as url:
        status = main(["verify", str(model), "--board", "nucleo_f446re", "-n", "4", "--no-flash", "--port", url])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "firmware (nucleo_f446re, serial port) vs simulator      EQUAL (2,560 values)" in out
    assert "PASS: every stage equal, bit for bit" in out


def test_no_serial_port_is_one_clear_line(projects, capsys, tmp_path):
    np.savez(tmp_path / "x.npz", **dummy.sample_inputs(1))
    args = ["run", str(projects["nucleo_f446re"]), "-i", str(tmp_path / "x.npz"), "-o", str(tmp_path / "y.npz")]
    assert main(args + ["--port", "/dev/tinyq-no-such-port"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("tinyq: error: cannot open serial port /dev/tinyq-no-such-port for nucleo_f446re")
    assert main(args) == 2  # no ST-LINK attached to this machine
    assert "no serial port of a nucleo_f446re found" in capsys.readouterr().err


def test_console_parser_reports_errors(projects):
    man = read_manifest(projects["nucleo_f446re"])
    with pytest.raises(RunError, match="status 7"):
        parse_console("TINYQ_OUTPUT 0 00\nTINYQ_STATUS 7\n", man)
    with pytest.raises(RunError, match="TINYQ_OUTPUT 1"):
        parse_console("TINYQ_OUTPUT 0 01020304\r\nTINYQ_STATUS 0\r\n", man)


@pytest.mark.parametrize("board", ["nucleo_f446re", "nucleo_h743zi", "nrf52840_dk"])  # stlink, openocd, nrfjprog
def test_flash_without_a_probe_fails_with_one_line(board, projects, capsys):
    assert main(["flash", str(projects[board]), "--timeout", "60"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tinyq: error: ") and board in lines[0]
    assert "no debug probe found" in lines[0] or "is not installed" in lines[0]


def test_run_and_flash_refuse_the_wrong_kind_of_board(projects, tmp_path):
    with pytest.raises(RunError, match="--port is for real boards"):
        run_project(dummy.make_project(tmp_path / "q", "mps2-an386"), dummy.sample_inputs(1), port="/dev/ttyACM0")
    with pytest.raises(RunError, match="nothing to flash"):
        flash_project(dummy.make_project(tmp_path, "mps2-an386"))


@pytest.mark.parametrize("board", REAL)
def test_real_board_builds_the_kws_model(board, tmp_path, capsys):
    """The MLPerf KWS model, compiled and built offline for each real board, with a size report."""
    from tests.samples import model_path

    out = tmp_path / board
    assert main(["compile", str(model_path("mlperf_kws_dscnn_int8")), "--board", board, "--out", str(out)]) == 0
    assert main(["build", str(out)]) == 0
    text = capsys.readouterr().out
    b = load_board(board)
    assert f"for {board} (PlatformIO" in text and f"of {b.flash.size:,}" in text
    sizes = build_project(out).sizes
    manifest = read_manifest(out)
    assert sizes.arena_bytes == manifest.arena_bytes and sizes.weight_bytes >= manifest.weight_bytes
    assert sizes.flash_bytes < b.flash.size and sizes.ram_bytes < b.ram.size
