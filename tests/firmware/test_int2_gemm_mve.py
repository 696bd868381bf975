"""The Helium 2-bit GEMM kernels (tq_conv_s8_im2col_int2_mve, tq_conv1x1_s8_int2_mve, tq_fully_connected_s8_int2_mve;
tinyq/specialize/lowbit_mve.py, firmware/src/tq_gemm_s8_int2_mve.c) on the emulated Cortex-M55: firmware ==
simulator == TFLM, exactly, on test_int4_gemm_mve's model (every step count, depth and channel tail, row pairs and
odd rows, bordered and checked padding, strides, dilation, activations) with its weights rewritten to int2 levels
([-2, 1]), ternary and binary ({-a, 0, a} and {-a, a} per channel: the magnitudes multiply the 2-bit sums), each
compiled with its --weights. model.c must call the three for every conv and FC, except, in int2, the five layers
whose requantization is a left shift (the int2 levels' large weight scale; tq_mve_requant has no left shift, as
for int8): they keep the DSP 2-bit kernels. Each decode (SCALED, FIELDS; lowbit_mve.cost picks per layer) is also
forced on every layer."""
import pytest

from tests.firmware.encoded_runs import firmware_equals_simulator, rewritten
from tests.firmware.test_int4_gemm_mve import BOARD, CALLS, _layers
from tinyq.specialize import lowbit_mve

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

FORMS = ["int2", "ternary", "binary"]
EVERY = {k.replace("int4", "int2"): n for k, n in CALLS.items()}
EXPECTED = {"int2": {"tq_conv_s8_im2col_int2_mve(": 4, "tq_conv1x1_s8_int2_mve(": 1, "tq_fully_connected_s8_int2_mve(": 1,
                     "tq_conv_s8_im2col_int2_dsp(": 1, "tq_conv1x1_s8_int2_dsp(": 1, "tq_fully_connected_s8_int2_dsp(": 3},
            "ternary": EVERY, "binary": EVERY}


@pytest.fixture(scope="module")
def prepared():
    return rewritten(_layers, 3, seed=5)


@pytest.mark.parametrize("form", FORMS)
def test_int2_gemm_mve_equals_simulator(form, prepared, tmp_path):
    tfl, program, inputs, sim = prepared(form)
    model_c = firmware_equals_simulator(tfl, form, program, inputs, sim, BOARD, tmp_path, EXPECTED[form])
    assert form == "int2" or "_int2_dsp(" not in model_c


def _decodes(program) -> list[int]:
    got = [lowbit_mve.prepare(c) for c in program.calls if c.kernel.startswith(("tq_conv_s8_w", "tq_fully_"))]
    return [getattr(p.call, "gemm", p.call).decode for p in got if p is not None]


def test_cost_mixes_the_decodes(prepared):
    got = _decodes(prepared("ternary")[1])
    assert lowbit_mve.SCALED in got and lowbit_mve.FIELDS in got


@pytest.mark.parametrize("form, decode", [("int2", lowbit_mve.FIELDS), ("ternary", lowbit_mve.FIELDS),
                                          ("binary", lowbit_mve.FIELDS), ("ternary", lowbit_mve.SCALED)])
def test_each_decode_on_every_layer(form, decode, prepared, tmp_path, monkeypatch):
    monkeypatch.setattr(lowbit_mve, "cost", lambda d, *_: 0 if d == decode else 1)
    tfl, program, inputs, sim = prepared(form)
    assert set(_decodes(program)) == {decode}
    firmware_equals_simulator(tfl, form, program, inputs, sim, BOARD, tmp_path, EXPECTED[form])
