"""boards/*.toml -> Board records: every board loads, carries its real memory map, and the table lists it."""
import pytest

from tinyq.boards import BoardError, _parse, board_names, list_boards, load_board
from tinyq.cli import main

EMULATED = {  # name: (cpu, qemu machine, flash origin, RAM origin)
    "mps2-an385": ("cortex-m3", "mps2-an385", 0x0, 0x20000000),
    "mps2-an386": ("cortex-m4", "mps2-an386", 0x0, 0x20000000),
    "mps2-an500": ("cortex-m7", "mps2-an500", 0x0, 0x20000000),
    "mps2-an505": ("cortex-m33", "mps2-an505", 0x10000000, 0x38000000),
    "mps3-an547": ("cortex-m55", "mps3-an547", 0x10000000, 0x31000000),
    "netduinoplus2": ("cortex-m4", "netduinoplus2", 0x08000000, 0x20000000),
}
REAL = {  # name: (cpu, flash bytes, RAM origin, RAM bytes, upload protocol) from the vendors' datasheets
    "nucleo_f446re": ("cortex-m4", 512 * 1024, 0x20000000, 128 * 1024, "stlink"),
    "nucleo_l4r5zi": ("cortex-m4", 2048 * 1024, 0x20000000, 640 * 1024, "openocd"),
    "nucleo_h743zi": ("cortex-m7", 2048 * 1024, 0x24000000, 512 * 1024, "openocd"),
    "disco_f746ng": ("cortex-m7", 1024 * 1024, 0x20000000, 320 * 1024, "stlink"),
    "nrf52840_dk": ("cortex-m4", 1024 * 1024, 0x20000000, 256 * 1024, "nrfjprog"),
}


def test_every_board_is_listed_once():
    assert set(board_names()) == {"host", *EMULATED, *REAL}
    assert board_names()[0] == "host"


@pytest.mark.parametrize("name", sorted(EMULATED))
def test_emulated_boards(name):
    cpu, machine, flash, ram = EMULATED[name]
    b = load_board(name)
    assert (b.kind, b.cpu, b.qemu_machine, b.flash.origin, b.ram.origin) == ("emulated", cpu, machine, flash, ram)
    assert b.console.kind == "semihosting" and b.upload is None
    assert 0 < b.stack_bytes < b.ram.size


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_boards(name):
    cpu, flash_size, ram_origin, ram_size, protocol = REAL[name]
    b = load_board(name)
    assert (b.kind, b.cpu, b.flash.size, b.ram.origin, b.ram.size) == ("real", cpu, flash_size, ram_origin, ram_size)
    assert b.upload.protocol == protocol
    assert b.console.kind == "uart" and b.console.init and b.console.tx_data
    assert b.float_abi == "hard" and b.has_dsp and not b.has_mve


def test_isa_features():
    assert load_board("mps3-an547").has_mve
    assert [n for n in board_names() if load_board(n).has_mve] == ["mps3-an547"]
    assert not load_board("mps2-an385").has_dsp
    assert load_board("mps2-an385").arch_flags == ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft")
    assert load_board("mps2-an386").arch_flags == (
        "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
    assert load_board("mps2-an500").arch_flags[0] == "-mcpu=cortex-m7"
    assert not any(f.startswith("-D") for f in load_board("mps2-an500").arch_flags)  # cores pick by Preparer.cpus
    an547 = load_board("mps3-an547")
    assert an547.weight_region == an547.weights != an547.flash
    assert load_board("mps2-an386").weight_region == load_board("mps2-an386").flash


def test_host_board():
    b = load_board("host")
    assert b.is_host and b.arch_flags == () and b.flash is None
    assert {"-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"} <= set(b.cflags)


def test_unknown_board_names_the_known_ones():
    with pytest.raises(BoardError, match=r"unknown board 'stm32f9'.*mps2-an386"):
        load_board("stm32f9")


def test_malformed_board_is_refused():
    with pytest.raises(BoardError, match="qemu"):
        _parse("x", {"kind": "emulated", "cpu": "cortex-m4", "stack_bytes": 1024, "console": {"kind": "semihosting"},
                     "flash": {"origin": 0, "size": 1}, "ram": {"origin": 0, "size": 1}}, "x.toml")
    with pytest.raises(BoardError, match="kind"):
        _parse("x", {"kind": "fpga"}, "x.toml")


def test_boards_command_prints_the_table(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for b in list_boards():
        assert b.name in out
    assert "Cortex-M55" in out and "640 KB" in out and "nrfjprog" in out
