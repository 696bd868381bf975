"""The 3-pixel CONV_2D kernels with int16 weights (tq_conv1x1_s8_wide3_dsp, tq_conv_s8_im2col_wide3_dsp,
firmware/src/tq_conv_s8_gemm3_dsp.c) on the Cortex-M4 and M33: firmware == simulator == TFLM, exactly, on models
built to reach every path: pixel counts = 0, 1 and 2 mod 3 (the last block's repeated pixel and dummy row), odd
output depths (the last channel in C), group counts 1 to 5, 7, 9, 12 and 18 (every entry: no loop and 0 to 3
groups after the first, a loop of 1 to 4 steps and 0 to 3 groups after it), clamped (narrower than int8) and full
activation ranges, padding (gathered patches), whole filter rows widened in place, dilation, and the C path of a
layer whose output offset could not be folded into its rows; the generated model.c calls the kernels where
tinyq.specialize.conv_dsp.block3_pays says, and the 2-pixel kernels on the M7."""
import pytest

from tests.firmware.checked_runs import assert_firmware_equals, simulated
from tests.firmware.kernel_calls import layers_calling
from tests.ops.oplib import convert_keras
from tinyq.compiler import compile_model
from tinyq.specialize import conv_dsp

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARDS = ["mps2-an386", "mps2-an505"]  # Cortex-M4, M33
WIDE3 = ("tq_conv1x1_s8_wide3_dsp(", "tq_conv_s8_im2col_wide3_dsp(")


def _pointwise():
    """1x1 convs on 35 pixels (= 2 mod 3), then a strided one on 12 (= 0): input depths 5, 9, 4, 14, 20, 7 (groups
    2, 3, 1, 4, 5, 2), output depths 9, 4, 14, 20, 7, 6; ReLU, ReLU6, none."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((5, 7, 5)),
            keras.layers.Conv2D(9, 1, activation="relu"),
            keras.layers.Conv2D(4, 1), keras.layers.ReLU(6.0),
            keras.layers.Conv2D(14, 1, activation="relu"),
            keras.layers.Conv2D(20, 1),
            keras.layers.Conv2D(7, 1, activation="relu"),
            keras.layers.Conv2D(6, 1, strides=2),
        ])

    return convert_keras(build, seed=31, lo=-2.0, hi=2.0), {WIDE3[0]: 6}


def _im2col():
    """KxK convs: 81 pixels (= 0 mod 3) of a 3-channel first layer with SAME padding (patch 27, 7 groups), 25
    (= 1) at stride 2 (rows of 24 taps widened in place, 18 groups), a (3, 2) VALID window on 12 pixels (9
    groups), a dilated conv with an odd output depth (12 groups); ReLU, ReLU6 and none."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((9, 9, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(4, 3, strides=2, padding="same"), keras.layers.ReLU(6.0),
            keras.layers.Conv2D(5, (3, 2), padding="valid"),
            keras.layers.Conv2D(3, 3, padding="same", dilation_rate=2),
        ])

    return convert_keras(build, seed=32, lo=-1.0, hi=3.0), {WIDE3[1]: 4}


def _first_layer():
    """A KWS-like first layer: one input channel, a (4, 3) window at stride 2 with SAME padding (25 pixels, = 1
    mod 3), 7 output channels, then a 1x1 on its output."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((10, 9, 1)),
            keras.layers.Conv2D(7, (4, 3), strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(6, 1),
        ])

    return convert_keras(build, seed=33, lo=-1.0, hi=1.0), {WIDE3[1]: 1, WIDE3[0]: 1}


def _clamped():
    """Activation ranges narrower than int8's (the clamp): ReLU6 convs whose outputs a CONCATENATION shares with a
    wider tensor (the converter gives them one scale): a 1x1 clamped to [3, 26] with an odd depth, a 3x3 to [-4, 22]."""
    import keras

    def build():
        x = keras.Input((5, 7, 6))
        a = keras.layers.Conv2D(9, 1, activation="relu6")(x)
        b = keras.layers.Lambda(lambda t: t * 8.0)(keras.layers.Conv2D(4, 1)(x))
        y = keras.layers.Conv2D(6, 3, padding="same", activation="relu6")(keras.layers.Concatenate()([a, b]))
        z = keras.layers.Lambda(lambda t: t * 8.0)(keras.layers.Conv2D(5, 1)(x))
        return keras.Model(x, keras.layers.Conv2D(4, 1)(keras.layers.Concatenate()([y, z])))

    return convert_keras(build, seed=41, lo=-2.0, hi=2.0), {WIDE3[0]: 4, WIDE3[1]: 1}


def _thin():
    """Stride-1 1x1 convs on whole words of input (depth % 4 == 0: widened three consecutive pixels at a time), as
    MobileNet's first pointwise layers: 40 pixels (= 1 mod 3) at input depths 8, 16, 8 and 12 (groups 2, 4, 2, 3),
    then 24 pixels (= 0) after a (2, 1)-strided 1x1 (the strided walk)."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((5, 8, 8)),
            keras.layers.Conv2D(16, 1, activation="relu"),
            keras.layers.Conv2D(8, 1),
            keras.layers.Conv2D(12, 1, activation="relu"),
            keras.layers.Conv2D(8, 1, strides=(2, 1)),
            keras.layers.Conv2D(16, 1, activation="relu"),
        ])

    return convert_keras(build, seed=34, lo=-2.0, hi=2.0), {WIDE3[0]: 5}


def _first333():
    """3x3x3 first layers (the walk with windows widened in registers) on 14x16: SAME at stride 2 (56 pixels, = 2
    mod 3; padding on the bottom and right edges only, the last pixel's window outside), VALID at stride 2 (42,
    = 0) clamped (a CONCATENATION shares its scale with a wider tensor), and VALID with dilation (2, 1) (140 = 2:
    the dummy repeats a window inside)."""
    import keras

    def build():
        x = keras.Input((14, 16, 3))
        a = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
        a = keras.layers.Conv2D(8, 2, padding="valid")(a)
        b = keras.layers.Conv2D(4, 3, strides=2, padding="valid", activation="relu6")(x)
        c = keras.layers.Lambda(lambda t: t * 8.0)(keras.layers.Conv2D(4, 3, strides=2, padding="valid")(x))
        d = keras.layers.Conv2D(6, 3, padding="valid", dilation_rate=(2, 1))(x)
        d = keras.layers.MaxPooling2D((5, 2), strides=(1, 2))(d)
        return keras.Model(x, keras.layers.Concatenate()([a, b, c, d]))

    return convert_keras(build, seed=35, lo=-1.0, hi=3.0), {WIDE3[1]: 5}


MODELS = {"pointwise": _pointwise, "im2col": _im2col, "first_layer": _first_layer, "clamped": _clamped,
          "thin": _thin, "first333": _first333}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    """(tflite, program, inputs, simulator outputs, expected calls), with simulator == TFLM checked first."""
    tfl, calls = MODELS[request.param]()
    program, inputs, sim = simulated(tfl, 12, seed=9)
    return tfl, program, inputs, sim, calls


@pytest.mark.parametrize("board", BOARDS)
def test_gemm3_equals_simulator(board, model, tmp_path, request):
    tfl, program, inputs, sim, calls = model
    compile_model(tfl, tmp_path, board=board, weights_layout="int16", patch="off")
    model_c = (tmp_path / "src" / "model.c").read_text()
    for symbol, n in calls.items():
        assert layers_calling(model_c, symbol) == n, f"{symbol} runs {layers_calling(model_c, symbol)} layers, expected {n}"
    if "clamped" in request.node.name:  # the model reaches the clamp: ranges narrower than int8's
        assert ".act_min = 3," in model_c and ".act_max = 22," in model_c
    if "first333" in request.node.name:  # a first layer clamped
        assert any(f".act_max = {v}," in model_c for v in range(-127, 127))
    assert_firmware_equals(tmp_path, program, inputs, sim)


def test_gemm3_unfolded_offset_equals_simulator(model, tmp_path, monkeypatch):
    """Every output offset left unfolded (as a large right shift would): the C path adds it after the shift."""
    tfl, program, inputs, sim, calls = model
    monkeypatch.setattr(conv_dsp, "fold_output_offset", lambda *a: None)
    compile_model(tfl, tmp_path, board="mps2-an386", weights_layout="int16", patch="off")
    model_c = (tmp_path / "src" / "model.c").read_text()
    assert layers_calling(model_c, *WIDE3) == sum(calls.values())
    assert_firmware_equals(tmp_path, program, inputs, sim)


def test_m7_keeps_two_pixels(tmp_path):
    """The M7's cost model favours the 2-pixel block's LDRDs: no 3-pixel kernel there."""
    tfl, calls = _pointwise()
    compile_model(tfl, tmp_path, board="mps2-an500", weights_layout="int16", patch="off")
    model_c = (tmp_path / "src" / "model.c").read_text()
    assert all(layers_calling(model_c, s) == 0 for s in WIDE3)
    assert layers_calling(model_c, "tq_conv1x1_s8_wide_dsp(") == 6


def test_block3_pays():
    assert conv_dsp.block3_pays(1000, 16) and conv_dsp.block3_pays(35, 1)
    assert not conv_dsp.block3_pays(2, 16) and not conv_dsp.block3_pays(4, 16) and not conv_dsp.block3_pays(1, 3)
