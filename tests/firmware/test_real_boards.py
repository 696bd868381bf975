"""Real boards: every one builds offline with a size report; the UART harness works (checked by running the
NUCLEO-F446RE image on QEMU's STM32F405, which has the same USART2, flash and SRAM addresses); flashing
without a probe fails with one clear line."""
import subprocess
import time

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


def test_uart_harness_prints_the_zero_sample(projects, tmp_path):
    d = projects["nucleo_f446re"]
    elf = build_project(d).artifact
    uart = tmp_path / "uart.txt"
    # USART1 = QEMU's first serial port, USART2 (the Nucleo's ST-LINK port) = the second
    proc = subprocess.Popen(["qemu-system-arm", "-M", "netduinoplus2", "-nographic", "-monitor", "none",
                             "-serial", "null", "-serial", f"file:{uart}", "-kernel", str(elf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "TINYQ_EXIT" not in (uart.read_text() if uart.exists() else ""):
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    text = uart.read_text()
    assert "TINYQ_EXIT 0" in text
    zero = {"in0": np.zeros((1, 4), np.int8), "in1": np.zeros((1, 3), np.int16)}
    got = parse_console(text, read_manifest(d))
    for name, want in dummy.expected_outputs(zero).items():
        np.testing.assert_array_equal(got[name], want)


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
    with pytest.raises(RunError, match="real hardware.*tinyq flash"):
        run_project(projects["nucleo_f446re"], dummy.sample_inputs(1))
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
