"""The prepared 2-bit depthwise kernels (tq_depthwise_conv3x3_s8_int2_dsp, tq_depthwise_convkxk_s8_int2_dsp;
tinyq/specialize/lowbit_dsp.py) on the emulated Cortex-M4 and M33 (DSP extension; the M55 takes the Helium 2-bit
depthwise, tests/firmware/test_int4_depthwise_mve.py, and these where that declines): firmware == simulator == TFLM, exactly, on one model whose weights
scripts/rewrite_weights.py rewrote to int2 levels ([-2, 1]: TFLM shifts then include left ones, R = 0), ternary
and binary levels ({-a, 0, a} / {-a, a} per channel: the magnitudes multiply the 2-bit sums). Its depthwise
layers reach every path: 3x3 at strides 2 and 1, SAME (interior and border pixels) and VALID, 5x5 (25 taps: six
words and a tap), 1x7 (a word and 3 taps) and dilated 3x3 (the tap list), on 7, 6 and 5 channels (a 4-channel
block and tails of 3, 2, 1) and 8 (whole blocks); ReLU, ReLU6 and none (int2 gives the unclamped 3x3 stride 1
and 1x7 layers shift 0, R = 0: their negative sums show the requantization's masked tie term). A depth multiplier
2 layer must be declined (it keeps the packed kernel); model.c must call the 2-bit depthwise kernels for every
other one. Every depthwise output is a model output."""
import pytest

from tests.firmware.encoded_runs import firmware_equals_simulator, rewritten
from tests.firmware.kernel_calls import layers_calling
from tests.ops.oplib import convert_keras

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

# Cortex-M4 for every form; M33 two (one firmware build a case)
CASES = [("int2", "mps2-an386"), ("ternary", "mps2-an386"), ("binary", "mps2-an386"), ("ternary", "mps2-an505"),
         ("int2", "mps2-an505")]
CALLS = {"tq_depthwise_conv3x3_s8_int2_dsp(": 4, "tq_depthwise_convkxk_s8_int2_dsp(": 3}
SUFFIX = {"int2": "w2", "ternary": "wt", "binary": "wb"}


def _model() -> bytes:
    import keras

    def build():
        dw, conv = keras.layers.DepthwiseConv2D, keras.layers.Conv2D
        x = inp = keras.Input((17, 17, 3))
        outs = []

        def add(layer, y):
            outs.append(layer(y))  # every depthwise output is a model output: an error cannot hide downstream
            return outs[-1]

        x = conv(7, 3, padding="same", activation="relu")(x)
        x = add(dw(3, strides=2, padding="same"), x)  # 3x3 stride 2: 9x9, 7 channels (a block, a tail of 3)
        x = add(dw(3, padding="same"), x)  # 3x3 stride 1: 7x7 interior, a border; int2: left shifts, no clamp
        x = conv(6, 1)(x)
        x = add(dw(5, padding="same"), x)  # 5x5: the tap list, 25 taps (six words and one), 6 channels (tail 2)
        x = add(dw((1, 7), padding="same"), x)  # 7 taps: a word and 3 taps
        x = add(dw(3, padding="same", dilation_rate=2, activation="relu"), x)  # dilated: the tap list
        x = conv(5, 1)(x)
        x = add(dw(3, padding="valid", activation="relu6"), x)  # VALID 7x7, 5 channels (a tail of 1), ReLU6
        x = add(dw(3, padding="same", depth_multiplier=2), x)  # depth multiplier 2: declined, 10 channels
        x = conv(8, 1)(x)
        add(dw(3, strides=2, padding="valid", activation="relu"), x)  # whole blocks, VALID stride 2
        return keras.Model(inp, outs)

    return convert_keras(build, seed=47, lo=-1.0, hi=2.0)


@pytest.fixture(scope="module")
def prepared():
    return rewritten(_model, 8, seed=9)


@pytest.mark.parametrize("form,board", CASES, ids=[f"{f}-{b}" for f, b in CASES])
def test_int2_depthwise_equals_simulator(form, board, prepared, tmp_path):
    tfl, program, inputs, sim = prepared(form)
    assert sum(c.kernel == f"tq_depthwise_conv_s8_{SUFFIX[form]}" for c in program.calls) == 8
    model_c = firmware_equals_simulator(tfl, form, program, inputs, sim, board, tmp_path, CALLS)
    packed = f"tq_depthwise_conv_s8_{SUFFIX[form]}_dsp("
    assert layers_calling(model_c, packed) == 1, "the depth multiplier 2 layer must keep the packed kernel"
