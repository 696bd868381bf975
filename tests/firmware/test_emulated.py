"""Every emulated board: build with PlatformIO (offline), run on QEMU over semihosting files, equal outputs
to the host runner; faults come back with registers, hung firmware is killed."""
import time

import numpy as np
import pytest

from tinyq.boards import board_names, load_board
from tinyq.cli import main
from tinyq.targets.build import build_project
from tinyq.targets.elfsize import stack_sizing
from tinyq.targets.qemu import FirmwareFault, FirmwareTimeout
from tinyq.targets.run import run_project

from . import dummy

pytestmark = [pytest.mark.firmware, pytest.mark.slow]
EMULATED = [n for n in board_names() if load_board(n).emulated]
UNDEFINSTR = 1 << 16  # CFSR.UFSR bit: undefined instruction (__builtin_trap)


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("emulated")
    built = {}

    def get(board):
        if board not in built:
            built[board] = dummy.make_project(root, board)
            build_project(built[board])
        return built[board]

    return get


@pytest.fixture(scope="module")
def host_outputs(tmp_path_factory):
    d = dummy.make_project(tmp_path_factory.mktemp("host"), "host")
    return run_project(d, dummy.sample_inputs(6, seed=3)).outputs


def test_all_six_emulated_boards_are_covered():
    assert len(EMULATED) == 6


@pytest.mark.parametrize("board", EMULATED)
def test_equal_outputs_on_every_emulated_board(board, projects, host_outputs):
    d = projects(board)
    r = build_project(d)
    assert r.artifact.name == "firmware.elf"
    assert r.sizes.weight_bytes == 20 and r.sizes.arena_bytes == 32
    # the stack reserve: the call graph's bound of invoke + the stated margin, below the board's fallback
    sizing = stack_sizing(r.artifact)
    assert sizing.invoke_bytes > 0 and sizing.reserve_bytes == (sizing.invoke_bytes + sizing.margin_bytes + 7) // 8 * 8
    assert r.sizes.stack_bytes == sizing.reserve_bytes < load_board(board).stack_bytes and r.sizes.code_bytes > 1000
    got = run_project(d, dummy.sample_inputs(6, seed=3))
    assert got.samples == 6
    for name, want in host_outputs.items():
        np.testing.assert_array_equal(got.outputs[name], want)
    for name, want in dummy.expected_outputs(dummy.sample_inputs(6, seed=3)).items():
        np.testing.assert_array_equal(got.outputs[name], want)


@pytest.mark.parametrize("board", EMULATED)
def test_fault_is_reported_with_registers(board, projects):
    with pytest.raises(FirmwareFault) as info:
        run_project(projects(board), dummy.hook_inputs(dummy.FAULT), timeout=30)
    fault = info.value
    assert fault.registers["CFSR"] & UNDEFINSTR
    assert set(fault.registers) == {"CFSR", "HFSR", "MMFAR", "BFAR", "PC", "LR"}
    assert fault.function == "model_invoke_v"
    assert f"faulted at PC=0x{fault.registers['PC']:08x} in model_invoke_v(): UNDEFINSTR" in str(fault)


def test_hung_firmware_is_killed(projects):
    d = projects("mps2-an386")
    start = time.monotonic()
    with pytest.raises(FirmwareTimeout, match="did not finish within 2 s"):
        run_project(d, dummy.hook_inputs(dummy.HANG), timeout=2.0)
    assert time.monotonic() - start < 15


def test_model_status_error_on_qemu(projects):
    with pytest.raises(Exception, match="returned status 7"):
        run_project(projects("mps2-an505"), dummy.hook_inputs(dummy.BAD_STATUS), timeout=30)


def test_cli_run_on_qemu(projects, tmp_path, capsys):
    d = projects("mps3-an547")
    x = dummy.sample_inputs(4, seed=5)
    np.savez(tmp_path / "in.npz", **x)
    assert main(["run", str(d), "-i", str(tmp_path / "in.npz"), "-o", str(tmp_path / "out.npz")]) == 0
    got = np.load(tmp_path / "out.npz")
    for name, want in dummy.expected_outputs(x).items():
        np.testing.assert_array_equal(got[name], want)
    np.savez(tmp_path / "fault.npz", **dummy.hook_inputs(dummy.FAULT))
    assert main(["run", str(d), "-i", str(tmp_path / "fault.npz"), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "faulted at PC=" in err[0] and "CFSR=0x" in err[0]
