"""TFLite INT4 weight tensors are read natively: two values per byte, low nibble first, two's complement.
The oracle for an INT4 FULLY_CONNECTED is TFLM on the same model with the weights widened to INT8 (TFLM's
reference FULLY_CONNECTED refuses INT4 filters; the TFLite spec makes the two equivalent)."""
import numpy as np
import pytest

from tests.modelkit import fc_model, int4_bytes, unpack, pack
from tinyq.errors import ModelFormatError
from tinyq.sim.run import simulate
from tinyq.tflite_reader import read_model


def _twins(seed=0):
    kw = dict(n_in=16, n_out=6, levels=(-8, 8), seed=seed)
    return fc_model(weight_dtype="int4", **kw).bytes(), fc_model(**kw).bytes()


def test_int4_reads_as_its_int8_values():
    int4, int8 = _twins()
    w4, w8 = read_model(int4).tensors[1], read_model(int8).tensors[1]
    assert w4.dtype == "int4" and w4.data.dtype == np.int8
    assert np.array_equal(w4.data, w8.data) and w8.data.min() == -8 and w8.data.max() == 7
    assert np.array_equal(int4_bytes(w8.data), np.frombuffer(bytes(unpack(int4).buffers[1].data), np.uint8))


def test_int4_model_equals_tflm_on_its_int8_twin():
    from tflite_micro import runtime

    int4, int8 = _twins(seed=3)
    x = np.random.default_rng(1).integers(-128, 128, (20, 16), dtype=np.int8)
    want = []
    interp = runtime.Interpreter.from_bytes(int8, arena_size=1 << 20)
    for row in x:
        interp.set_input(row[None], 0)
        interp.invoke()
        want.append(interp.get_output(0)[0])
    assert np.array_equal(simulate(int4, x).output_list()[0], np.array(want))


def test_widened_int4_is_the_int8_twin_and_the_reference_says_so():
    from tinyq.oracle import reference_for, widen_int4

    int4, int8 = _twins(seed=5)
    wide = widen_int4(int4)
    assert widen_int4(int8) is None
    g, t = read_model(wide), read_model(int8)
    assert [x.dtype for x in g.tensors] == [x.dtype for x in t.tensors]
    assert all(np.array_equal(a.data, b.data) for a, b in zip(g.tensors, t.tensors) if a.data is not None)
    x = np.random.default_rng(2).integers(-128, 128, (5, 1, 16), dtype=np.int8)
    sim = simulate(int4, x.reshape(5, 16)).output_list()[0]
    for model in (int4, wide):  # TFLM takes this FC's INT4 filter as it is (ai-edge-quantizer's it refuses)
        outs, ran, label = reference_for(model, [x], 1)
        assert (ran, label) == (model, "TFLM runtime")
        assert np.array_equal(outs[0].reshape(5, -1), sim)


def test_auto_keeps_int4_weights_at_four_bits(monkeypatch):
    from tinyq.encode import select
    from tinyq.encode.apply import weight_report
    from tinyq.sim.run import as_program

    int4, int8 = _twins()
    for model in (int4, int8):  # the measured costs: int4 is faster than int8 on every CPU
        (w,) = weight_report(as_program(model, "auto"))
        assert (w.encoding, w.nbytes) == ("int4", 48)
    # where int4 were too slow, auto would store the int8 twin's weights larger, but never the file's INT4 ones
    monkeypatch.setitem(select.KERNEL_COST["portable"], "int4", {op: 9.0 for op in (select.FC, select.CONV, select.DW)})
    (w4,), (w8,) = weight_report(as_program(int4, "auto")), weight_report(as_program(int8, "auto"))
    assert (w4.encoding, w4.nbytes) == ("int4", 48) and w8.nbytes > 48  # same values; the file decides


def _edit_buffer(data: bytes, fn) -> bytes:
    m = unpack(data)
    fn(m)
    return pack(m)


@pytest.mark.parametrize("edit, words", [
    (lambda m: setattr(m.buffers[1], "data", list(m.buffers[1].data)[:-1]), "needs 48 bytes packed two per byte"),
    (lambda m: setattr(m.subgraphs[0].tensors[1], "shape", [5, 15]), "odd element count 75"),
    (lambda m: setattr(m.subgraphs[0].tensors[1].quantization, "zeroPoint", [9]), "zero point 9, outside the int4 range"),
])
def test_malformed_int4_is_refused(edit, words):
    int4, _ = _twins()
    with pytest.raises(ModelFormatError, match=words.replace("(", r"\(")):
        read_model(_edit_buffer(int4, edit))
