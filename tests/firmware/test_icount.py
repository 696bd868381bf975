"""Instruction counting under QEMU -icount with the tqcount plugin: exact, per invoke and per layer, repeatable."""
import pytest

from tinyq.bench.cycles import CLASSES, EXTRAS
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
    # the instruction classes split each count exactly; the extra counters ride along
    assert len(first.invoke_classes) == 3 and [len(ls) for ls in first.layer_classes] == [2, 2, 2]
    for invoke, classes in zip(first.invokes, first.invoke_classes):
        assert set(classes) == set(CLASSES + EXTRAS) and sum(classes[c] for c in CLASSES) == invoke
    for layers, classes in zip(first.layers, first.layer_classes):
        assert [sum(c[k] for k in CLASSES) for c in classes] == list(layers)
    ran = first.invoke_classes[0]
    assert ran["ldr"] > 0 and ran["str"] > 0 and ran["branch"] > 0 and ran["ldm_regs"] >= ran["ldm"]
    assert ran["cond_taken"] <= ran["branch_cond"] and ran["ldr_pipelined"] <= ran["ldr"]


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
