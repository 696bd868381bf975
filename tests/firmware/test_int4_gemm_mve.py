"""The Helium int4 GEMM kernels (tq_conv_s8_im2col_int4_mve, tq_conv1x1_s8_int4_mve, tq_fully_connected_s8_int4_mve;
tinyq/specialize/int4_mve.py, firmware/src/tq_gemm_s8_int4_mve.c) on the emulated Cortex-M55: firmware ==
simulator == TFLM, exactly, on a model whose weights were rewritten to int4 levels, compiled with --weights int4.
Its layers reach every path of both decodes (pair sums: the 432-deep conv, on row pairs and its odd last row, and
the 180-input FC; scaled: the others): depths 27, 144, 7, 432, 32, 5, 81, 3, 180, 9, 6 (16-tap steps: none, 1, 2,
8, 11, 26 full ones, the one-step and two-step lead-ins and passes of four; tails of 11, 16, 7, 5, 1, 3, 4, 9, 6
taps), 16, 7, 48, 32, 5, 9, 3, 20, 6 channels (whole blocks and tails of 3, 2, 1), 576 and 144 pixels (row
pairs), 25 and 9 (an odd last row), an FC over 25 rows and FCs of one; padding through the bordered copy and, on a
24x24x16 image, the checked rows; strides 2, a dilated window, a strided 1x1; ReLU, ReLU6 and none. model.c must
call the three for every conv and FC. Then a declined conv, whose |accumulator| bound reaches 2^27 (huge biases):
it keeps a non-Helium kernel and stays exact."""
import numpy as np
import pytest

from tests.encode.helpers import rewrite
from tests.firmware.checked_runs import simulated
from tests.firmware.encoded_runs import firmware_equals_simulator
from tests.ops.oplib import convert_keras

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps3-an547"
CALLS = {"tq_conv_s8_im2col_int4_mve(": 5, "tq_conv1x1_s8_int4_mve(": 2, "tq_fully_connected_s8_int4_mve(": 4}


def _layers() -> bytes:
    """The model before its weights are rewritten (test_int2_gemm_mve rewrites it to the 2-bit forms)."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((24, 24, 3)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),  # K 27, bordered copy, 576 px
            keras.layers.Conv2D(7, 3, strides=2, padding="same"),  # K 144, 24x24x16: checked rows, stride 2
            keras.layers.Conv2D(48, 1, activation="relu6"),  # 1x1, K 7, 144 px
            keras.layers.Conv2D(32, 3, strides=2),  # K 432 unpadded, 25 px: pair sums (deep rows)
            keras.layers.Conv2D(5, 1),  # 1x1, K 32, 25 px: an odd last row
            keras.layers.Dense(9),  # FC over 25 rows, K 5
            keras.layers.Conv2D(3, 3, padding="same", dilation_rate=2, activation="relu"),  # dilated, K 81
            keras.layers.Conv2D(20, 1, strides=2),  # 1x1 strided: im2col, K 3, 9 px
            keras.layers.Flatten(),
            keras.layers.Dense(9),  # K 180, one row: pair sums
            keras.layers.Dense(6, activation="relu"),  # K 9
            keras.layers.Dense(3),  # K 6
        ])

    return convert_keras(build, seed=43, lo=-1.0, hi=2.0)


@pytest.fixture(scope="module")
def model():
    tfl, _ = rewrite.rewrite_model(_layers(), "int4", seed=0)
    program, inputs, sim = simulated(tfl, 3, seed=5, form="int4", extremes=True)
    assert sum(c.kernel.endswith("_w4") for c in program.calls) == 11
    return tfl, program, inputs, sim


def _decodes(program) -> list[int]:
    from tinyq.specialize import int4_mve

    got = [int4_mve.prepare(c) for c in program.calls if c.kernel in ("tq_conv_s8_w4", "tq_fully_connected_s8_w4")]
    return [getattr(p.call, "gemm", p.call).decode for p in got]


def test_int4_gemm_mve_equals_simulator(model, tmp_path):
    tfl, program, inputs, sim = model
    assert _decodes(program) == [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]  # PAIR_SUM 0, SCALED 1
    model_c = firmware_equals_simulator(tfl, "int4", program, inputs, sim, BOARD, tmp_path, CALLS)
    assert "_int4_dsp(" not in model_c and "_w4(" not in model_c


def _declined() -> bytes:
    """A conv whose biases (1000 against weights near 1e-3) put |acc| past 2^27, then a conv that is proved."""
    import keras

    def build():
        tiny = keras.initializers.RandomUniform(-1e-3, 1e-3)
        big = keras.layers.Conv2D(4, 3, padding="same", kernel_initializer=tiny,
                                  bias_initializer=keras.initializers.Constant(1000.0))
        return keras.Sequential([keras.Input((6, 6, 8)), big, keras.layers.Conv2D(4, 3, padding="same")])

    data = convert_keras(build, seed=44, lo=-1.0, hi=2.0)
    out, _ = rewrite.rewrite_model(data, "int4", seed=0)
    return out


def test_declined_bound_keeps_an_exact_kernel(tmp_path):
    from tinyq.specialize.int4_mve import prepare

    tfl = _declined()
    program, inputs, sim = simulated(tfl, 2, seed=6, form="int4", extremes=True)
    first, second = [c for c in program.calls if c.kernel == "tq_conv_s8_w4"]
    assert prepare(first) is None and prepare(second) is not None
    assert np.abs(first.bias).max() >= 2**27
    model_c = firmware_equals_simulator(tfl, "int4", program, inputs, sim, BOARD, tmp_path,
                                        {"tq_conv_s8_im2col_int4_mve(": 1})
    assert "tq_conv_s8_w4" in model_c
