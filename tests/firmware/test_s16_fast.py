"""16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on the DSP extension (tinyq/specialize/s16_dsp.py,
firmware/src/tq_*_s16_dsp.c): firmware == simulator == TFLM, exactly, on models that reach every path of the
kernels (1x1 and 3x3 filters, stride 1 and 2, SAME padding and VALID, odd filter counts and depth tails of the
SMLAD blocks, channel tails of the depthwise 4-channel blocks, dilation, groups, batches, FC rows > 1, int64 and
int32 biases, absent biases, ReLU / ReLU6 / none), and a check that model.c calls the prepared kernels."""
import re

import numpy as np
import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.test_kernel_variants import _assert_firmware_equals
from tests.ops import test_conv as conv_cases
from tests.ops.oplib import check_model, convert_keras, random_inputs
from tinyq.sim.run import as_program
from tests.firmware.kernel_calls import layers_calling

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

DSP_BOARDS = ["mps2-an386", "mps3-an547"]  # Cortex-M4, M55 (its Helium 16x8 kernels take FC, conv and depthwise)


def _calls(model_c: str, kernel: str) -> int:
    return layers_calling(model_c, kernel)


def _chain(int32_bias: bool):
    """conv 1x1 (7 filters: a pair tail; run as FC rows), conv 3x3 SAME + ReLU (depth 7: odd runs), depthwise 3x3
    SAME (depth 6: a 4-block and a 2-channel tail), conv 3x3 stride 2 VALID, depthwise 3x3 stride 2 SAME + ReLU
    (depth 5), conv 1x1 stride 2 (not pointwise rows: the conv kernel), then FC 5 -> 9 -> 4 (+ ReLU). TFLM's
    16x8 depthwise takes only int64 biases: the int32-bias chain has none."""
    import keras

    def build():  # keras used and the layers made in here: tests/session_cache.py keys build by its code and values
        layers = keras.layers
        depthwise = [] if int32_bias else [layers.DepthwiseConv2D(3, padding="same")]
        depthwise2 = [] if int32_bias else [layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")]
        return keras.Sequential([
            keras.Input((9, 9, 6)), layers.Conv2D(7, 1), layers.Conv2D(6, 3, padding="same", activation="relu"),
            *depthwise, layers.Conv2D(5, 3, strides=2), *depthwise2, layers.Conv2D(5, 1, strides=2),
            layers.Flatten(), layers.Dense(9), layers.Dense(4, activation="relu"),
        ])

    return convert_keras(build, seed=12, lo=-2, hi=2, int16=True, int32_bias=int32_bias)


def _fc_rows():
    """FC on 2 rows: depths 37, 5, 64, 1, 3 (4-blocks, pairs and single tails), output depths odd and even."""
    import keras

    def build():
        layers = keras.layers
        return keras.Sequential([
            keras.Input((2, 37)), layers.Dense(5), layers.Dense(64, activation="relu"),
            layers.Dense(1, use_bias=False), layers.Dense(3), layers.Dense(16, activation="relu"),
        ])

    return convert_keras(build, seed=11, lo=-3, hi=3, int16=True)


def _checked(tfl, n=20):
    program = as_program(tfl)
    inputs = random_inputs(program, n, seed=5)
    return tfl, inputs, check_model(tfl, inputs=inputs)  # TFLM == simulator == host C first


@pytest.fixture(scope="module")
def chain64():
    return _checked(_chain(int32_bias=False))


@pytest.fixture(scope="module")
def fc_rows():
    return _checked(_fc_rows())


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_chain_int64_bias(board, chain64, tmp_path):
    model_c = _assert_firmware_equals(*chain64, board, tmp_path)
    kernels = ("tq_conv_s16_dsp", "tq_depthwise_conv_s16_dsp", "tq_fully_connected_s16_dsp", "tq_conv_s16_wide_dsp",
               "tq_conv1x1_s16_mve", "tq_conv_s16_im2col_mve", "tq_depthwise_conv_s16_mve",
               "tq_fully_connected_s16_mve")
    want = (0, 0, 0, 0, 1, 3, 2, 2) if board == "mps3-an547" else (3, 2, 2, 1, 0, 0, 0, 0)
    assert tuple(_calls(model_c, k) for k in kernels) == want


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_fully_connected_rows(board, fc_rows, tmp_path):
    model_c = _assert_firmware_equals(*fc_rows, board, tmp_path)
    fc = "tq_fully_connected_s16_mve" if board == "mps3-an547" else "tq_fully_connected_s16_dsp"
    assert _calls(model_c, fc) == 5


def test_chain_int32_bias(tmp_path):
    """TFLM's int32 16x8 path (int32 biases: int32 sums, the int32 requantization): conv and FC take it."""
    tfl, inputs, sim = _checked(_chain(int32_bias=True))
    program = as_program(tfl)
    assert not any(getattr(c, "acc64", True) for c in program.calls if c.opcode == "CONV_2D")
    model_c = _assert_firmware_equals(tfl, inputs, sim, "mps2-an386", tmp_path)
    assert _calls(model_c, "tq_conv_s16_dsp") == 3 and _calls(model_c, "tq_fully_connected_s16_dsp") == 2
    assert _calls(model_c, "tq_conv_s16_wide_dsp") == 1  # the 1x1 conv of 7 filters, int32 requantization


Case = conv_cases.Case
CASES = [
    Case("conv", (8, 7, 4), 3, filters=6, dilation=2, groups=2, int16=True),  # groups, dilated taps one by one
    Case("conv", (7, 9, 3), (2, 3), filters=4, bias="none", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (7, 9, 3), (2, 3), filters=4, bias="int32-none", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (8, 8, 3), 3, filters=5, strides=2, bias="int32", act="relu6", int16=True),
    Case("conv", (5, 6, 2), 3, filters=3, batch=2, int16=True),
    # im2col (tq_conv_s16_im2col_dsp): a KWS-style first layer (1 channel, 10x4 filter, stride 2, SAME padding
    # on every side, 7 filters: a 4-block, a pair and a single), and dilated taps gathered one by one
    Case("conv", (13, 10, 1), (10, 4), filters=7, strides=2, act="relu", int16=True),
    Case("conv", (9, 9, 2), 3, filters=5, dilation=(1, 2), bias="int32", int16=True),
    # tq_conv_s16_wide_dsp (2 pixels x 3 filters): pointwise rows of odd depth (5, 7), filter counts 8 and 10
    # (a triple's 2 and 1 channels), odd pixel counts, ReLU / ReLU6 / none, int64 and int32 requantization; im2col
    # with 9 taps a patch (odd), SAME padding, 11 filters, batch 2 (an odd last pixel per image)
    Case("conv", (5, 7, 5), 1, filters=8, act="relu", int16=True),
    Case("conv", (3, 5, 7), 1, filters=10, bias="int32", act="relu6", int16=True),
    Case("conv", (3, 3, 4), 1, filters=6, batch=2, bias="int32", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (7, 5, 1), 3, filters=11, act="relu6", int16=True),
    Case("conv", (5, 3, 1), 3, filters=7, strides=(1, 2), batch=2, bias="int32", act="relu", int16=True),
    Case("dw", (10, 8, 6), 3, filters=1, dilation=2, bias="none", int16=True),
    Case("dw", (6, 5, 7), 3, filters=1, strides=(1, 2), batch=2, act="relu6", int16=True),
]


def test_single_op_cases(tmp_path):
    """CASES on the Cortex-M4, several to a firmware image (tests/firmware/grid_image.py)."""
    models = []
    for case in CASES:
        tfl, inputs, sim = _checked(conv_cases.convert_case(case), n=12)
        models.append(GridModel(str(case), tfl, inputs, sim))
    im2col = wide = 0
    for case, model_c in zip(CASES, run_grid(models, "mps2-an386", tmp_path)):
        im2col += _calls(model_c, "tq_conv_s16_im2col_dsp")
        wide += _calls(model_c, "tq_conv_s16_wide_dsp")
        kernels = (("tq_conv_s16_dsp", "tq_conv_s16_im2col_dsp", "tq_conv_s16_wide_dsp") if case.op == "conv"
                   else ("tq_depthwise_conv_s16_dsp",))
        assert sum(_calls(model_c, k) for k in kernels) == 1, case
    # the short-run cases with 4 filters gather for the pair kernel; 5 filters and more (and 3), and the
    # pointwise cases, run in triples
    assert (im2col, wide) == (2, 9)


def test_depth_multiplier_two_keeps_the_portable_kernel(tmp_path):
    """Depth multiplier 2 is declined: the call keeps tq_depthwise_conv_s16 (and is still exact)."""
    case = Case("dw", (8, 8, 3), 3, filters=2, int16=True)
    tfl, inputs, sim = _checked(conv_cases.convert_case(case), n=6)
    model_c = _assert_firmware_equals(tfl, inputs, sim, "mps2-an386", tmp_path)
    assert _calls(model_c, "tq_depthwise_conv_s16_dsp") == 0 and _calls(model_c, "tq_depthwise_conv_s16") == 1
