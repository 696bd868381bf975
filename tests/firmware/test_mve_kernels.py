"""Helium (MVE) kernels of the prepared records (tinyq/specialize/gemm_mve.py, depthwise_mve.py) on the
Cortex-M55 (mps3-an547): firmware == simulator == TFLM, exactly, on a few multi-layer models built to reach
every path: channel counts that are not multiples of 4 or 16 (block and lane tails), K not a multiple of 16
(the predicated step), odd pixel counts (the GEMM's single-row pass), 3x3 SAME stride 1 and 2 (im2col and
depthwise padding with the input zero point), a first layer with C_in 1 and 3, per-channel quantization,
ReLU / ReLU6 / none, a dead channel (zero weights, huge bias), FC with batch rows > 1 and depths
37/5/64/1/3, ADD with row tails and either input broadcast, average pools with channel tails, padding and
windows of 1 to 256 elements. Each model.c is checked to call the Helium kernels it should."""
import numpy as np
import pytest

from tests.firmware.test_kernel_variants import _assert_firmware_equals, _fc_chain
from tests.ops.oplib import check_model, convert_function, convert_keras, random_inputs, with_quant
from tinyq.sim.run import as_program
from tests.firmware.kernel_calls import layers_calling

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps3-an547"


def _dead_channel(layer, channel: int, bias: float) -> None:
    """Zero one output channel's weights and give it a huge bias (as the MLPerf VWW model has)."""
    w, b = layer.get_weights()
    w[..., channel] = 0.0
    b = np.random.default_rng(channel).normal(0, 0.3, b.shape).astype(np.float32)
    b[channel] = bias
    layer.set_weights([w, b])


def _conv_chain():
    """C_in 3 -> 3x3 SAME (5 ch, ReLU) -> 1x1 (19) -> 3x3 SAME stride 2 (21, ReLU6, a dead channel) -> 1x1 (6)
    -> (2, 3) VALID dilation (2, 1) (17) on a 9x7 image: odd pixel counts (63, 63, 20, 20, 12)."""
    import keras

    def build():
        x = keras.Input((9, 7, 3))
        a = keras.layers.Conv2D(5, 3, padding="same", activation="relu")
        b = keras.layers.Conv2D(19, 1)
        c = keras.layers.Conv2D(21, 3, strides=2, padding="same")
        d = keras.layers.Conv2D(6, 1, activation="relu")
        e = keras.layers.Conv2D(17, (2, 3), padding="valid", dilation_rate=(2, 1))
        y = e(d(keras.layers.ReLU(6.0)(c(b(a(x))))))
        model = keras.Model(x, y)
        _dead_channel(c, 7, 40.0)
        return model

    return convert_keras(build, seed=21, lo=-1.0, hi=2.0)


def _first_layer_c1():
    """C_in 1 (as KWS): (4, 3) SAME stride 2 with 13 channels on a 12x5 image, then a 3x3 SAME (33 channels:
    K = 117, seven full 16-byte steps and a tail of 5) and no activation."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((12, 5, 1)),
            keras.layers.Conv2D(13, (4, 3), strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(33, 3, padding="same"),
        ])

    return convert_keras(build, seed=22, lo=-2.0, hi=5.0)


def _conv_rows48():
    """The im2col interior copy by whole filter rows of 48 bytes (3 wide on 16k channels), on images too wide for
    the bordered copy even in bands (the edges take the generic row): 16 -> 3x3 SAME (16, ReLU) on 10x41, 3x3 SAME
    stride 2 (32: no padding at the top, one row at the bottom, a column on the left: the interior columns start
    at 1), 3x3 SAME (32: 96-byte rows), 3x3 VALID (8, no padding: every pixel inside); pixel counts 410, 105,
    105, 57."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((10, 41, 16)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, padding="same"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="valid"),
        ])

    return convert_keras(build, seed=28, lo=-1.0, hi=2.0)


def _depthwise_chain():
    """Depthwise, multiplier 1, on 21 channels (five groups of 4 and a tail of 1): 3x3 SAME (ReLU), 3x3 SAME
    stride 2 (ReLU6), (3, 2) VALID dilation 2, 5x5 SAME with a dead channel; image 9x7."""
    import keras

    def build():
        x = keras.Input((9, 7, 21))
        a = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")
        b = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")
        c = keras.layers.DepthwiseConv2D((3, 2), padding="valid", dilation_rate=2)
        d = keras.layers.DepthwiseConv2D(5, padding="same")
        y = d(c(keras.layers.ReLU(6.0)(b(a(x)))))
        model = keras.Model(x, y)
        for layer in (a, b, c):
            w, bias = layer.get_weights()
            layer.set_weights([w, np.random.default_rng(3).normal(0, 0.3, bias.shape).astype(np.float32)])
        w, bias = d.get_weights()
        w[..., 4, 0] = 0.0
        bias[:] = np.random.default_rng(4).normal(0, 0.3, bias.shape)
        bias[4] = 40.0
        d.set_weights([w, bias])
        return model

    return convert_keras(build, seed=23, lo=-1.0, hi=1.0)


def _depthwise_tall():
    """3x3 depthwise whose pixel lanes run along y (tall outputs): 9x5 SAME (two chunks of 4 and a tail of 1),
    VALID to 7x3 (a tail of 3), then stride 2 to 4x2 (no tail); 8 channels, so the bordered copy takes four
    pixels per word gather (input widths 5, 5 and 3: tails of 1, 1 and 3)."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((9, 5, 8)),
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
            keras.layers.DepthwiseConv2D(3, padding="valid"),
            keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
        ])

    return convert_keras(build, seed=24, lo=-1.0, hi=1.0)


def _depthwise_copies():
    """The bordered copy's word-scatter path and the 3x3 core's tails: 20 channels (one full 16-byte step and a
    predicated word) 3x3 SAME on 7x6 (ReLU6: a clamp inside int8), stride 2 VALID to 3x2 (lines shorter than 4:
    the predicated chunk), a 1x1 to 36 channels (two steps and a word), 3x3 SAME padding 1 on 3x2, then stride 2
    SAME on 3x2 (2x1) and a 3x3 SAME on 2x1 (a line of 2 lanes). The first output's zero point is moved to -100, so
    its clamp [-100, 127] is not int8's: the layer that would take two lines a pass takes one."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((7, 6, 20)),
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6"),
            keras.layers.DepthwiseConv2D(3, strides=2, padding="valid"),
            keras.layers.Conv2D(36, 1),
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
            keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
            keras.layers.DepthwiseConv2D(3, padding="same"),
        ])

    tfl = convert_keras(build, seed=27, lo=-1.0, hi=1.0)
    return with_quant(tfl, 13, 0.00266428, -100)  # tensor 13: the first depthwise's output (ReLU6)


def _add_graph():
    """ADDs for tq_add_s8_table_mve, rows of 11 (two full steps and a tail of 3) on 7x9x11 = 693 elements (equal
    shapes flatten to one row: a tail of 1): equal shapes with ReLU; input 1 repeated along an outer loop; input 2
    along a middle one; input 2 and then input 1 repeated along the inner row (stride 0), with a clamp; c = b + w
    is an output with an exact rescale, so its rounding meets ties."""
    import tensorflow as tf

    def fn(x, y, z, w, v):
        a = tf.nn.relu(x + y)
        b = z + a  # z [11]: outer loop stride 0 for input 1
        c = b + w  # w [7, 1, 11]: middle loop stride 0 for input 2
        d = tf.clip_by_value(c + v, -1.0, 1.0)  # v [7, 9, 1]: inner row stride 0 for input 2
        return tf.nn.relu6(v + d), c  # inner row stride 0 for input 1; c is an output: its rounding is seen

    shapes = [(7, 9, 11), (7, 9, 11), (11,), (7, 1, 11), (7, 9, 1)]
    ranges = [(-1.0, 1.0), (-8.0, 8.0), (0.0, 4.0), (-0.5, 0.25), (-2.0, 1.0)]
    tfl = convert_function(fn, shapes, seed=25, ranges=ranges)
    # c = b + w with scales 1/8, 1/8 -> 1/4: c is (b' + w') / 2 exactly, so negative halves (the rounding's h >> 31
    # correction) come up often, and c is an output; tensors 6 b, 3 w, 7 c
    for tensor, scale, zero_point in ((6, 1 / 8, -128), (3, 1 / 8, 42), (7, 1 / 4, -119)):
        tfl = with_quant(tfl, tensor, scale, zero_point)
    return tfl


def _avgpool_graph():
    """Average pools of a 16x17 image with 6 channels (a group of 4 and a tail of 2): 3x3 stride 2 SAME (windows
    of 9, 6 and 4 inside the input) then ReLU; 16x16 VALID (256 elements, the kernel's largest); 1x1 (count 1);
    and 16x17 (272 elements: the reference kernel keeps it)."""
    import keras

    def build():
        x = keras.Input((16, 17, 6))
        a = keras.layers.ReLU()(keras.layers.AveragePooling2D(3, strides=2, padding="same")(x))
        b = keras.layers.AveragePooling2D((16, 16), strides=1)(x)
        c = keras.layers.AveragePooling2D(1, strides=(3, 2))(x)
        d = keras.layers.AveragePooling2D((16, 17))(x)
        return keras.Model(x, [a, b, c, d])

    return convert_keras(build, seed=26, lo=-1.0, hi=1.0)


def _check(tfl, tmp_path, expect: dict[str, int]):
    program = as_program(tfl)
    inputs = random_inputs(program, 9, seed=7)  # 9 inputs: batches run one by one
    sim = check_model(tfl, inputs=inputs)  # TFLM == simulator == host C first
    model_c = _assert_firmware_equals(tfl, inputs, sim, BOARD, tmp_path)
    for symbol, n in expect.items():
        assert layers_calling(model_c, symbol) == n, symbol


def test_fully_connected_mve(tmp_path):
    _check(_fc_chain(), tmp_path, {"tq_fully_connected_s8_mve": 5})


def test_conv_mve(tmp_path):
    _check(_conv_chain(), tmp_path, {"tq_conv_s8_im2col_mve": 3, "tq_conv1x1_s8_mve": 2})


def test_conv_first_layer_c1_mve(tmp_path):
    _check(_first_layer_c1(), tmp_path, {"tq_conv_s8_im2col_mve": 2})


def test_conv_rows48_mve(tmp_path):
    _check(_conv_rows48(), tmp_path, {"tq_conv_s8_im2col_mve": 4})


def test_depthwise_conv_mve(tmp_path):
    _check(_depthwise_chain(), tmp_path, {"tq_depthwise_conv_s8_mve": 4})


def test_depthwise_conv_tall_mve(tmp_path):
    _check(_depthwise_tall(), tmp_path, {"tq_depthwise_conv_s8_mve": 3})


def test_depthwise_conv_copies_mve(tmp_path):
    _check(_depthwise_copies(), tmp_path, {"tq_depthwise_conv_s8_mve": 5})


def test_add_mve(tmp_path):
    _check(_add_graph(), tmp_path, {"tq_add_s8_table_mve": 5})


def test_avgpool_mve(tmp_path):
    _check(_avgpool_graph(), tmp_path, {"tq_avgpool_s8_mve": 3, "tq_avgpool_s8": 1})
