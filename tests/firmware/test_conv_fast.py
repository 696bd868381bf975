"""The prepared CONV_2D kernels (tq_conv1x1_s8_dsp, tq_conv_s8_im2col_dsp; tinyq/specialize/conv_dsp.py) on the
emulated CPUs with the DSP extension: firmware == simulator == TFLM, exactly, on models built to reach every path
(pixel pairs and an odd last pixel, channel pairs and an odd last channel, input depths that are not a multiple
of 4, padding, strides, dilation, first layers with 1 and 3 input channels, ReLU / ReLU6 / none, a dead channel
with all-zero weights and a large bias); and the generated model.c calls them for every conv."""
import numpy as np
import pytest

from tests.firmware.checked_runs import assert_firmware_equals, simulated
from tests.firmware.kernel_calls import layers_calling
from tests.ops.oplib import convert_keras
from tinyq.compiler import compile_model

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARDS = ["mps2-an386", "mps2-an505"]  # Cortex-M4, M33 (the M55 takes the Helium kernels: test_mve_kernels.py)


def _pointwise():
    """1x1 convs: 35 pixels (odd), input depths 6 and 5 (tails of 2 and 1), output depths 5 (odd), 8 and 4,
    a strided 1x1; channel 2 of the first is dead (zero weights, large bias)."""
    import keras

    def build():
        x = keras.Input((5, 7, 6))
        first = keras.layers.Conv2D(5, 1, activation="relu")
        y = first(x)
        w, b = first.get_weights()
        w[..., 2] = 0.0
        b = np.linspace(-0.3, 0.3, 5).astype(np.float32)
        b[2] = 40.0
        first.set_weights([w, b])
        y = keras.layers.Conv2D(8, 1)(y)
        y = keras.layers.ReLU(6.0)(y)
        y = keras.layers.Conv2D(4, 1, strides=2)(y)
        return keras.Model(x, y)

    return convert_keras(build, seed=21, lo=-2.0, hi=2.0), {"tq_conv1x1_s8_dsp(": 3}


def _im2col():
    """KxK convs: a first layer with 3 input channels (patch 27, padded to 28), SAME padding at strides 1 and 2,
    a (3, 2) VALID window at strides (2, 1), a dilated conv; ReLU, ReLU6 and none."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((9, 9, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(6, 3, strides=2, padding="same"), keras.layers.ReLU(6.0),
            keras.layers.Conv2D(5, (3, 2), strides=(2, 1), padding="valid"),
            keras.layers.Conv2D(3, 3, padding="same", dilation_rate=2),
        ])

    return convert_keras(build, seed=22, lo=-1.0, hi=3.0), {"tq_conv_s8_im2col_dsp(": 4}


def _first_layer():
    """A KWS-like first layer: one input channel, a (4, 3) window at stride 2 with SAME padding (25 pixels),
    7 output channels, then a 1x1 on its output."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((10, 9, 1)),
            keras.layers.Conv2D(7, (4, 3), strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(6, 1),
        ])

    return convert_keras(build, seed=23, lo=-1.0, hi=1.0), {"tq_conv_s8_im2col_dsp(": 1, "tq_conv1x1_s8_dsp(": 1}


MODELS = {"pointwise": _pointwise, "im2col": _im2col, "first_layer": _first_layer}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    """(tflite, inputs, simulator outputs, expected calls), with simulator == TFLM checked first."""
    tfl, calls = MODELS[request.param]()
    program, inputs, sim = simulated(tfl, 16, seed=7)
    return tfl, program, inputs, sim, calls


@pytest.mark.parametrize("board, layout", [(b, "int8") for b in BOARDS] + [("mps2-an386", "int16")])
def test_conv_fast_equals_simulator(board, layout, model, tmp_path):
    """Both weight layouts (--weights-layout): int8 words, and int16 words widened at compile time (_wide_dsp)."""
    tfl, program, inputs, sim, calls = model
    compile_model(tfl, tmp_path, board=board, weights_layout=layout)
    model_c = (tmp_path / "src" / "model.c").read_text()
    for symbol, n in calls.items():
        # int16: the 2-pixel _wide_dsp kernels, or the 3-pixel _wide3_dsp ones where they pay (test_conv_gemm3.py)
        names = [symbol] if layout == "int8" else [symbol.replace("_dsp(", f"_{w}_dsp(")
                                                   for w in ("wide", "wide3")]
        got = layers_calling(model_c, *names)  # a layer in bands may run both (the bands' pixel counts differ)
        assert got == n, f"{names} run {got} layers, expected {n}"
    assert "tq_conv_s8_dsp(" not in model_c and "tq_conv_s8(" not in model_c
    assert_firmware_equals(tmp_path, program, inputs, sim)
