"""The prepared int4 kernels (tq_conv1x1_s8_int4_dsp, tq_conv_s8_im2col_int4_dsp, tq_fully_connected_s8_int4_dsp,
tq_depthwise_conv3x3_s8_int4_dsp, tq_depthwise_convkxk_s8_int4_dsp; tinyq/specialize/int4_dsp.py) on the emulated
Cortex-M4 and M33 (DSP extension; an explicit --weights int4 takes them; the M55 runs the Helium int4 GEMM kernels
instead, tests/firmware/test_int4_gemm_mve.py, and these depthwise ones, the same C as on the M33): firmware ==
simulator == TFLM, exactly, on one model whose weights scripts/rewrite_weights.py rewrote to int4 levels, compiled
with --weights int4. Its layers reach every path: odd pixel counts (289, 81, 25,
9), odd channel counts (7, 5, 3: the last channel paired with a zero one), patches of 27 and 54 taps and 1x1 depths
6 and 5 (tails of 3, 2 and 1 taps), SAME padding at strides 1 and 2, a dilated window, a strided 1x1; depthwise 3x3
at strides 2 and 1 (interior and border pixels), 5x5 and dilated 3x3 (the tap list), on 7, 6 and 5 channels (a
4-channel block and tails of 3, 2, 1); FC with 36 inputs (chunk pairs plus an odd chunk), 9 (a tail) and 9 / 6 / 3
outputs (groups of 4 and last groups of 1, 2, 3 rows); ReLU, ReLU6 and none. model.c must call the int4 kernels
for every conv, depthwise and FC, and never the packed ones."""
import pytest

from tests.encode.helpers import rewrite
from tests.firmware.checked_runs import simulated
from tests.firmware.encoded_runs import firmware_equals_simulator
from tests.ops.oplib import convert_keras

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARDS = ["mps2-an386", "mps2-an505"]  # Cortex-M4, M33
CALLS = {"tq_conv_s8_im2col_int4_dsp(": 3, "tq_conv1x1_s8_int4_dsp(": 2, "tq_fully_connected_s8_int4_dsp(": 3,
         "tq_depthwise_conv3x3_s8_int4_dsp(": 2, "tq_depthwise_convkxk_s8_int4_dsp(": 2}


def _model() -> bytes:
    import keras

    def build():
        return keras.Sequential([
            keras.Input((17, 17, 3)),
            keras.layers.Conv2D(7, 3, padding="same", activation="relu"),  # 289 px, patch 27, 7 channels
            keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),  # 3x3 stride 2, 9x9, 7 channels
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),  # 3x3: 7x7 interior, a border
            keras.layers.Conv2D(6, 3, strides=2, padding="same"), keras.layers.ReLU(6.0),  # 25 px, patch 63
            keras.layers.DepthwiseConv2D(5, padding="same"),  # 5x5 (tap list, 25 taps), 6 channels
            keras.layers.Conv2D(5, 1),  # 1x1, depth 6
            keras.layers.DepthwiseConv2D(3, padding="same", dilation_rate=2, activation="relu"),  # dilated, 5 ch
            keras.layers.Conv2D(3, 3, padding="same", dilation_rate=2, activation="relu"),  # dilated, patch 45
            keras.layers.Conv2D(4, 1, strides=2),  # 1x1 strided, depth 3, 9 px
            keras.layers.Flatten(),
            keras.layers.Dense(9),  # K 36
            keras.layers.Dense(6, activation="relu"),  # K 9
            keras.layers.Dense(3),  # K 6
        ])

    data = convert_keras(build, seed=41, lo=-1.0, hi=2.0)
    out, _ = rewrite.rewrite_model(data, "int4", seed=0)
    return out


@pytest.fixture(scope="module")
def model():
    """(tflite, program, inputs, simulator outputs), with simulator == TFLM checked first."""
    tfl = _model()
    program, inputs, sim = simulated(tfl, 12, seed=7, form="int4", extremes=True)
    assert sum(c.kernel.endswith("_w4") for c in program.calls) == 12
    return tfl, program, inputs, sim


@pytest.mark.parametrize("board", BOARDS)
def test_int4_fast_equals_simulator(board, model, tmp_path):
    tfl, program, inputs, sim = model
    model_c = firmware_equals_simulator(tfl, "int4", program, inputs, sim, board, tmp_path, CALLS)
    assert "_w4_dsp(" not in model_c and "_w4(" not in model_c  # no packed kernel left
