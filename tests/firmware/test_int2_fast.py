"""The prepared 2-bit kernels (tq_conv1x1_s8_int2_dsp, tq_conv_s8_im2col_int2_dsp, tq_fully_connected_s8_int2_dsp;
tinyq/specialize/lowbit_dsp.py) on the emulated Cortex-M4 and M33 (DSP extension): firmware == simulator == TFLM,
exactly, on one model whose weights scripts/rewrite_weights.py rewrote to int2 levels ([-2, 1], --weights int2) and
to ternary levels ({-a, 0, a} per channel, --weights ternary: the magnitudes multiply the 2-bit sums). Its layers
reach every path: odd pixel counts (289, 81, 25, 9), channel counts 7, 6, 5, 3 (a group of 4 and last groups of 3,
2, 1 channels) and 4 (whole groups), patches of 27, 36, 45 and 63 taps and 1x1 depths 6 and 3 (tails of 3, 2 and 1
taps), SAME padding at strides 1 and 2, a dilated window, a strided 1x1; FC with 36 inputs (9 chunks: an odd one
and pairs), 9 and 6 (chunks plus tails of 1 and 2) and 3 (a tail alone), 9 / 6 / 3 / 5 outputs; ReLU, ReLU6 and
none. model.c must call the 2-bit kernels for every conv and FC, and never their packed ones."""
import pytest

from tests.firmware.encoded_runs import firmware_equals_simulator, rewritten
from tests.ops.oplib import convert_keras

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

CASES = [("int2", "mps2-an386"), ("ternary", "mps2-an505")]  # Cortex-M4, M33: one firmware build each
CALLS = {"tq_conv_s8_im2col_int2_dsp(": 4, "tq_conv1x1_s8_int2_dsp(": 2, "tq_fully_connected_s8_int2_dsp(": 4}
SUFFIX = {"int2": "w2", "ternary": "wt"}


def _model() -> bytes:
    import keras

    def build():
        return keras.Sequential([
            keras.Input((17, 17, 3)),
            keras.layers.Conv2D(7, 3, padding="same", activation="relu"),  # 289 px, patch 27, 7 channels
            keras.layers.Conv2D(6, 3, strides=2, padding="same"), keras.layers.ReLU(6.0),  # 81 px, patch 63
            keras.layers.Conv2D(5, 1),  # 1x1, depth 6
            keras.layers.Conv2D(3, 3, padding="same", dilation_rate=2, activation="relu"),  # dilated, patch 45
            keras.layers.Conv2D(4, 1, strides=2),  # 1x1 strided, depth 3, 25 px
            keras.layers.Conv2D(4, 3, strides=2),  # VALID 3x3 stride 2: 2x2 px, patch 36
            keras.layers.Flatten(),
            keras.layers.Dense(9),  # K 16 (4 chunks: pairs)
            keras.layers.Dense(6, activation="relu"),  # K 9
            keras.layers.Dense(3),  # K 6
            keras.layers.Dense(5),  # K 3
        ])

    return convert_keras(build, seed=43, lo=-1.0, hi=2.0)


@pytest.fixture(scope="module")
def prepared():
    return rewritten(_model, 12, seed=7)


@pytest.mark.parametrize("form,board", CASES, ids=[f"{f}-{b}" for f, b in CASES])
def test_int2_fast_equals_simulator(form, board, prepared, tmp_path):
    tfl, program, inputs, sim = prepared(form)
    assert sum(c.kernel.endswith("_" + SUFFIX[form]) for c in program.calls) == 10
    model_c = firmware_equals_simulator(tfl, form, program, inputs, sim, board, tmp_path, CALLS)
    assert f"_{SUFFIX[form]}_dsp(" not in model_c and f"_{SUFFIX[form]}(" not in model_c  # no packed kernel left
