"""A two-level image of MLPerf Tiny KWS: int8 (level 0) and its nested int4 child (level 1, whose weights are
stored once, in level 0's arrays). Each level is bit-exact against TFLM on its own .tflite on the host and on
every emulated board; the nesting is checked value by value at compile time."""
import numpy as np
import pytest

from tests.samples import model_path
from tinyq.boards import board_names, load_board
from tinyq.compiler import compile_model, stored_bytes
from tinyq.errors import UnsupportedError
from tinyq.levels.verify import verify_levels
from tinyq.quantize.nested import nest

KWS = "mlperf_kws_dscnn_int8"
EMULATED = [b for b in board_names() if load_board(b).emulated]


@pytest.fixture(scope="module")
def kws_levels(tmp_path_factory):
    d = tmp_path_factory.mktemp("kws")
    parent = model_path(KWS)
    child = d / "kws_nested4.tflite"
    nest(parent, child, bits=4)
    return parent, child


def test_nested_level_adds_no_weight_tensor_bytes(kws_levels, tmp_path):
    parent, child = kws_levels
    r = compile_model([parent, child], tmp_path / "img", board="host", project=False)
    lv1 = r.levels[1]
    assert lv1.parent == 0
    nested = [c for c in lv1.program.calls if c.kernel.endswith("_wn")]
    assert len(nested) == 5 + 4 + 1  # every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
    level0 = {c.layer: c for c in r.levels[0].program.calls}
    for c in nested:
        parent_w = getattr(level0[c.layer], "filter", None)
        parent_w = parent_w if parent_w is not None else level0[c.layer].weights
        assert c.packed.codes.tobytes() == parent_w.tobytes()
    # what level 1 adds is its biases and shifts; no weight tensor byte
    weight_bytes = sum(c.packed.codes.nbytes for c in nested)
    added = stored_bytes([lv.program for lv in r.levels])[1]
    per_channel = sum(a.nbytes for c in nested for name, a in c.constants() if name in ("bias", "shift"))
    assert 0 < added <= per_channel < weight_bytes
    level0_weights = sum(a.nbytes for c in r.levels[0].program.calls for name, a in c.constants()
                         if name in ("filter", "weights"))
    assert stored_bytes([lv.program for lv in r.levels], weight_tensors=True) == [level0_weights, 0]
    data = (tmp_path / "img" / "src" / "model_data.c").read_text()
    assert "model_l1_c0_packed_codes" not in data


def _edit_weight(model_bytes: bytes, op: int) -> bytes:
    """The same file with the first weight of operator `op` one step larger, or smaller at 7 (metadata kept)."""
    from tests.modelkit import pack, unpack

    m = unpack(model_bytes)
    t = m.subgraphs[0].tensors[m.subgraphs[0].operators[op].inputs[1]]
    data = np.array(m.buffers[t.buffer].data, np.uint8).view(np.int8)
    data[0] = data[0] + 1 if data[0] < 7 else data[0] - 1
    m.buffers[t.buffer].data = data.view(np.uint8)
    return pack(m)


def test_a_child_whose_weights_are_not_the_top_bits_is_refused(kws_levels, tmp_path):
    parent, child = kws_levels
    edited = _edit_weight(child.read_bytes(), 0)
    bad = tmp_path / "edited.tflite"
    bad.write_bytes(edited)
    with pytest.raises(UnsupportedError, match=r"edited.tflite: level 1 is nested in level 0 \(mlperf_kws_dscnn_int8"
                                               r".tflite\), but operator 0: top4: 1 of 2560 child values are not the top 4 bits"):
        compile_model([parent, bad], tmp_path / "img", board="host")
    assert not (tmp_path / "img").exists()


def test_a_child_of_another_parent_is_stored_on_its_own(kws_levels, tmp_path):
    parent, child = kws_levels
    other = tmp_path / "other.tflite"
    other.write_bytes(_edit_weight(parent.read_bytes(), 0))  # a re-quantized parent: another SHA-256
    r = compile_model([other, child], tmp_path / "img", board="host", project=False)
    assert r.levels[1].parent is None and "not an earlier level of this image" in r.note
    assert not any(c.kernel.endswith("_wn") for c in r.levels[1].program.calls)


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.parametrize("board", ["host"] + EMULATED)
def test_each_level_is_bit_exact_on_every_board(kws_levels, board, tmp_path):
    parent, child = kws_levels
    report = verify_levels([parent, child], board, samples=3, work_dir=tmp_path)
    assert report.ok, "\n".join(str(c) for lv in report.levels for c in lv.comparisons)
    assert len(report.levels) == 2 and all(len(lv.comparisons) == (2 if board == "host" else 3)
                                           for lv in report.levels)
