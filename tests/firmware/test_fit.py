"""A model that cannot fit its board is refused before anything is compiled, with the sizes in the message."""
import pytest

from tinyq.targets.manifest import read_manifest

from tinyq.cli import main
from tinyq.errors import PlanError
from tinyq.targets.build import CompileFailed, build_project

from . import dummy


def test_weights_larger_than_flash_are_refused(tmp_path):
    d = dummy.make_project(tmp_path, "nucleo_f446re", weight_bytes=600_000)
    with pytest.raises(PlanError, match=r"nucleo_f446re: weights need 600,000 B but its flash holds 524,288 B"):
        build_project(d)
    assert not (d / ".pio").exists()  # refused before PlatformIO ran


def test_weights_use_the_weight_region_when_the_board_has_one(tmp_path):
    d = dummy.make_project(tmp_path, "mps3-an547", weight_bytes=3 * 1024 * 1024)
    with pytest.raises(PlanError, match=r"weights need 3,145,728 B but its weight region holds 2,097,152 B"):
        build_project(d)


def test_arena_larger_than_ram_is_refused_by_the_cli(tmp_path, capsys):
    d = dummy.make_project(tmp_path, "netduinoplus2", arena_bytes=124_000, scratch_bytes=4_000)
    assert main(["build", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    io = sum(t.bytes for t in read_manifest(d).inputs + read_manifest(d).outputs)
    assert err == [
        f"tinyq: error: model does not fit netduinoplus2: arena 124,000 B + I/O buffers {io:,} B + stack 8,192 B "
        f"= {124_000 + io + 8192:,} B but RAM holds 131,072 B"
    ]
    assert not (d / ".pio").exists()


@pytest.mark.firmware
@pytest.mark.slow
def test_linker_overflow_is_explained(tmp_path):
    # the manifest understates the arena: the linker still catches it, and says so in one line
    d = dummy.make_project(tmp_path, "netduinoplus2")
    model_c = d / "src" / "model.c"
    text = model_c.read_text().replace("    return TQ_OK;", "    big_arena[0] = 1;\n    return TQ_OK;")
    model_c.write_text('#include <stdint.h>\n'
                       'extern uint8_t big_arena[200000];\n'
                       'uint8_t big_arena[200000] __attribute__((section(".tq_arena")));\n' + text)
    want = r"model does not fit netduinoplus2: the linker's RAM region overflowed \(section .tq_arena does not fit\)"
    with pytest.raises(CompileFailed, match=want):
        build_project(d)
