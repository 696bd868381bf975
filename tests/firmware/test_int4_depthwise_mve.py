"""The Helium int4 depthwise kernel (tq_depthwise_conv_s8_int4_mve; tinyq/specialize/depthwise_int4_mve.py,
firmware/src/tq_depthwise_conv_s8_int4_mve.c) on the Cortex-M55 (mps3-an547): firmware == simulator == TFLM,
exactly, on the int8 Helium depthwise tests' models (test_mve_kernels.py; test_s16_mve.py's dw cases at int8)
with their weights rewritten to int4 levels (scripts/rewrite_weights.py) and compiled with --weights int4, so the
same paths run: channel tails 1, 3 of the 4-channel groups (21, 20, 17, 9, 5, 1 channels; group counts odd and
even), SAME and VALID, strides 2 and (1, 2), dilation 2, pixel lanes along x and along y, two lines a pass (the
full int8 clamp) and one, predicated chunks and moved-back ones, 3x3 in the assembly cores, 5x5, (3, 2) and (2, 3)
in the tap loop, batch 2, ReLU / ReLU6 / none, a dead channel, an output clamp that is not int8's. A depth
multiplier 2 layer, which the preparer declines, keeps the packed int4 kernel and stays exact."""
import pytest

from tests.encode.helpers import rewrite
from tests.firmware.checked_runs import simulated
from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.kernel_calls import layers_calling
from tests.firmware.test_mve_kernels import _depthwise_chain, _depthwise_copies, _depthwise_tall
from tests.ops import test_conv as conv_cases

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps3-an547"
KERNEL = "tq_depthwise_conv_s8_int4_mve("
Case = conv_cases.Case
CASES = [  # test_s16_mve's depthwise cases at int8 that the models above do not reach: batch 2, (2, 3), 1 channel
    Case("dw", (9, 5, 9), 3, filters=1, batch=2, act="relu6"),
    Case("dw", (7, 9, 5), (2, 3), filters=1, strides=(1, 2), batch=2, act="relu"),
    Case("dw", (10, 8, 1), 3, filters=1, dilation=2),
    Case("dw", (7, 7, 17), 3, filters=1, strides=2, bias="none", lo=-3.0, hi=1.0),
]
DECLINED = Case("dw", (6, 5, 3), 3, filters=2)  # depth multiplier 2


def _grid(tmp_path):
    models = [("chain", _depthwise_chain(), 4), ("tall", _depthwise_tall(), 3), ("copies", _depthwise_copies(), 5)]
    models += [(str(c), conv_cases.convert_case(c), 1) for c in CASES] + [("multiplier 2", conv_cases.convert_case(DECLINED), 0)]
    grid = []
    for k, (name, data, n) in enumerate(models):
        tfl, _ = rewrite.rewrite_model(data, "int4", seed=0)
        program, inputs, sim = simulated(tfl, 5, seed=7 + k, form="int4", extremes=True)  # simulator == TFLM
        assert sum(c.kernel == "tq_depthwise_conv_s8_w4" for c in program.calls) == max(n, 1), name
        grid.append(GridModel(name, tfl, inputs, sim, weights="int4"))
    return zip(models, run_grid(grid, BOARD, tmp_path))  # firmware == simulator, exactly


def test_int4_depthwise_mve(tmp_path):
    for (name, _, n), model_c in _grid(tmp_path):
        assert layers_calling(model_c, KERNEL) == n, name
        assert "tq_depthwise_conv_s8_mve(" not in model_c, name  # int8 weights nowhere
        if n == 0:  # the declined layer: the packed int4 kernel
            assert layers_calling(model_c, "tq_depthwise_conv_s8_w4_dsp(") == 1, name
