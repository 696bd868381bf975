"""Instruction counting under QEMU -icount with the tqcount plugin: exact, per invoke and per layer, repeatable."""
import pytest

from tinyq.errors import RunError
from tinyq.targets.icount import count_instructions, plugin_path

from . import dummy

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_counts_are_repeatable_to_the_instruction(board, tmp_path):
    d = dummy.make_project(tmp_path, board)
    x = dummy.sample_inputs(3, seed=7)
    first = count_instructions(d, x)
    second = count_instructions(d, x)
    assert first == second
    assert first.board == board and len(first.invokes) == 3
    assert all(len(layers) == 2 for layers in first.layers)  # the dummy model's TQ_LAYER 0 and 1
    for invoke, layers in zip(first.invokes, first.layers):
        assert 0 < sum(layers) < invoke
    assert first.total > sum(first.invokes)


def test_default_is_one_zero_sample_and_normal_build_is_untouched(tmp_path):
    d = dummy.make_project(tmp_path, "mps2-an505")
    counts = count_instructions(d)
    assert len(counts.invokes) == 1 and counts.invokes[0] > 0
    assert (d / ".pio" / "build" / "profile" / "firmware.elf").is_file()
    assert not (d / ".pio" / "build" / "firmware").exists()  # profiling builds its own env


def test_plugin_is_cached():
    assert plugin_path() == plugin_path() and plugin_path().stat().st_size > 0


def test_counting_needs_an_emulated_board(tmp_path):
    with pytest.raises(RunError, match="emulated board"):
        count_instructions(dummy.make_project(tmp_path, "host"))
