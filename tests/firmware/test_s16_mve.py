"""16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D on Helium (tinyq/specialize/s16_mve.py,
firmware/src/tq_gemm_s16_mve.c, tq_depthwise_conv_s16_mve.c):
firmware == simulator == TFLM, exactly, on the Cortex-M55, with every path of the GEMM core: depths 3, 5, 8, 13, 33
(a predicated last step of 3, 5, 8 = full, 5 and 1 taps; 1 to 5 steps), output depths 1, 7, 9, 17 (a partial last
block of 1, 3, 1, 1), one row, two rows and three (a pair, then one), every clamp kind (int16, ReLU, ReLU6),
both requantization paths (int64 and int32 biases), and a layer whose int32 bound fails (Helium declines it);
conv (im2col) and depthwise cases listed in CASES."""
import numpy as np
import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.kernel_calls import layers_calling
from tests.ops import test_conv as conv_cases
from tests.ops.oplib import check_model, convert_keras, random_inputs
from tinyq.sim.run import as_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps3-an547"


def _fc(rows: int, int32_bias: bool):
    """FC on `rows` rows: 13 -> 7 -> 9 (ReLU) -> 17 (ReLU6) -> 1 -> 33 -> 8 -> 5 -> 3, with and without bias"""
    import keras

    layers = keras.layers

    def build():
        return keras.Sequential([
            keras.Input((rows, 13)), layers.Dense(7), layers.Dense(9, activation="relu"),
            layers.Dense(17, activation="relu6"), layers.Dense(1, use_bias=False), layers.Dense(33),
            layers.Dense(8), layers.Dense(5, activation="relu"), layers.Dense(3),
        ])

    return convert_keras(build, seed=21 + rows, lo=-3, hi=3, int16=True, int32_bias=int32_bias)


def _wide_fc():
    """A 1100-deep FC: sum|w| * 32768 passes 2^31, so the int32 sums are not proved and Helium declines it"""
    import keras

    def build():
        return keras.Sequential([keras.Input((1100,)), keras.layers.Dense(3, kernel_initializer="ones"),
                                 keras.layers.Dense(7)])

    return convert_keras(build, seed=3, lo=-1, hi=1, int16=True)


Case = conv_cases.Case
CASES = [  # conv 1x1 (stride 1, no padding): the pixels are the GEMM's rows
    Case("conv", (3, 5, 3), 1, filters=7, act="relu", int16=True),  # 15 pixels: pairs, then one
    Case("conv", (2, 4, 5), 1, filters=9, batch=2, bias="int32", act="relu6", int16=True),
    Case("conv", (3, 3, 8), 1, filters=17, bias="none", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (2, 3, 13), 1, filters=1, batch=2, int16=True),
    Case("conv", (1, 3, 33), 1, filters=4, bias="int32-none", act="relu", int16=True),
    # any other conv (tq_conv_s16_im2col_mve): padding on every side, strides, dilation along y and x, a KWS-style
    # first layer (1 channel, 10x4, stride 2), batch 2, both requantization paths, channel and depth tails
    Case("conv", (3, 3, 5), 1, filters=6, strides=2, int16=True),
    Case("conv", (13, 10, 1), (10, 4), filters=7, strides=2, act="relu", int16=True),
    Case("conv", (7, 6, 3), 3, filters=9, batch=2, bias="int32", act="relu6", int16=True),
    Case("conv", (8, 9, 2), 3, filters=5, dilation=(1, 2), int16=True),
    Case("conv", (9, 7, 5), (3, 2), filters=17, strides=(2, 1), padding="valid", bias="none", int16=True),
    Case("conv", (8, 8, 13), 3, filters=4, dilation=2, bias="int32", int16=True, lo=-3.0, hi=1.0),
    # filter rows of at most 8 taps (one predicated vector a row, the window stepped): 8 taps, unpadded, dilated
    # along y (25 pixels: pairs, then one), or strided along y; 3 taps, padded (bordered), batch 2
    Case("conv", (9, 8, 2), (3, 4), filters=5, dilation=(2, 1), padding="valid", int16=True),
    Case("conv", (9, 8, 2), (2, 4), filters=3, strides=(2, 1), padding="valid", bias="int32", int16=True),
    Case("conv", (6, 7, 1), (2, 3), filters=6, batch=2, act="relu", int16=True),
    # a padded image too large for the bordered copy (2 * 42 * 38 * 3 bytes > 8192): rows check every tap
    Case("conv", (40, 36, 3), 3, filters=5, strides=2, act="relu", int16=True),
    Case("conv", (34, 40, 3), (3, 2), filters=3, dilation=(1, 2), int16=True),
    # depthwise (tq_depthwise_conv_s16_mve): channel tails 1, 3, 1, 1, 3 of the 4-channel groups, SAME padding
    # and VALID, strides, dilation, lanes along x (wide) and y (tall), a partial last chunk, 3x3 and 5x5 / 2x3
    Case("dw", (6, 9, 7), 3, filters=1, act="relu", int16=True),
    Case("dw", (9, 5, 9), 3, filters=1, batch=2, act="relu6", int16=True),
    Case("dw", (7, 7, 17), 3, filters=1, strides=2, bias="none", int16=True, lo=-3.0, hi=1.0),
    Case("dw", (10, 8, 1), 3, filters=1, dilation=2, int16=True),
    Case("dw", (8, 6, 3), 5, filters=1, padding="valid", int16=True),
    Case("dw", (7, 9, 5), (2, 3), filters=1, strides=(1, 2), batch=2, act="relu", int16=True),
    Case("dw", (5, 5, 13), 3, filters=1, padding="valid", int16=True),
    # depths that are multiples of 8: the copy moves a pixel's 8 channels (two groups) a step
    Case("dw", (9, 5, 16), 3, filters=1, batch=2, act="relu", int16=True),
    Case("dw", (6, 7, 8), 3, filters=1, strides=2, bias="none", int16=True),
]


def _grid(tmp_path):
    models, expect = [], []
    for rows in (1, 2, 3):
        for int32_bias in (False, True):
            models.append((f"fc rows={rows} int32={int32_bias}", _fc(rows, int32_bias)))
            expect.append(("tq_fully_connected_s16_mve", 8))
    models.append(("fc 1100", _wide_fc()))
    expect.append(("tq_fully_connected_s16_mve", 1))
    for case in CASES:
        models.append((str(case), conv_cases.convert_case(case)))
        pointwise = case.k == 1 and case.strides == 1
        expect.append(("tq_depthwise_conv_s16_mve" if case.op == "dw" else
                       "tq_conv1x1_s16_mve" if pointwise else "tq_conv_s16_im2col_mve", 1))
    grid = []
    for name, tfl in models:
        program = as_program(tfl)
        inputs = random_inputs(program, 10, seed=7)
        grid.append(GridModel(name, tfl, inputs, check_model(tfl, inputs=inputs)))  # TFLM == simulator first
    return zip(models, expect, run_grid(grid, BOARD, tmp_path))  # firmware == simulator, exactly


def test_kernels_on_m55(tmp_path):
    for (name, _), (kernel, n), model_c in _grid(tmp_path):
        assert layers_calling(model_c, kernel) == n, name


def test_bound_declines():
    """the 1100-deep layer's bound: the int32 sums could leave int32, so requant_rows (and Helium) decline"""
    from tinyq.specialize.s16_mve import prepare_fully_connected

    calls = [c for c in as_program(_wide_fc()).calls if c.opcode == "FULLY_CONNECTED"]
    assert [prepare_fully_connected(c) is None for c in calls] == [True, False]
