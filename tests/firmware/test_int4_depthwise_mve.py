"""The Helium packed depthwise kernels (tq_depthwise_conv_s8_int4_mve, and tq_depthwise_conv_s8_int2_mve for int2,
ternary and binary; tinyq/specialize/depthwise_int4_mve.py, depthwise_lowbit_mve.py, firmware/src/
tq_depthwise_mve_common.h) on the Cortex-M55 (mps3-an547): firmware == simulator == TFLM, exactly, on the int8
Helium depthwise tests' models (test_mve_kernels.py; test_s16_mve.py's dw cases at int8) with their weights
rewritten to each form's levels (scripts/rewrite_weights.py) and compiled with --weights FORM, so the same paths
run: channel tails 1, 3 of the 4-channel groups (21, 20, 17, 9, 5, 1 channels; group counts odd and even), SAME
and VALID, strides 2 and (1, 2), dilation 2, pixel lanes along x and along y, two lines a pass (the full int8
clamp) and one, predicated chunks and moved-back ones, 3x3 in the assembly cores, 5x5, (3, 2) and (2, 3) in the
tap loop, batch 2, ReLU / ReLU6 / none, a dead channel, an output clamp that is not int8's. A depth multiplier 2
layer, which the preparers decline, keeps the packed kernel of its form and stays exact."""
import pytest

from tests.encode.helpers import rewrite
from tests.firmware.checked_runs import simulated
from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.kernel_calls import layers_calling
from tests.firmware.test_mve_kernels import _depthwise_chain, _depthwise_copies, _depthwise_tall
from tests.ops import test_conv as conv_cases
from tinyq.specialize import depthwise_int4_mve, depthwise_lowbit_mve

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps3-an547"
# form -> (its Helium kernel, the lowered packed kernel's weight suffix)
FORMS = {"int4": ("tq_depthwise_conv_s8_int4_mve(", "w4"), "int2": ("tq_depthwise_conv_s8_int2_mve(", "w2"),
         "ternary": ("tq_depthwise_conv_s8_int2_mve(", "wt"), "binary": ("tq_depthwise_conv_s8_int2_mve(", "wb")}
Case = conv_cases.Case
CASES = [  # test_s16_mve's depthwise cases at int8 that the models above do not reach: batch 2, (2, 3), 1 channel
    Case("dw", (9, 5, 9), 3, filters=1, batch=2, act="relu6"),
    Case("dw", (7, 9, 5), (2, 3), filters=1, strides=(1, 2), batch=2, act="relu"),
    Case("dw", (10, 8, 1), 3, filters=1, dilation=2),
    Case("dw", (7, 7, 17), 3, filters=1, strides=2, bias="none", lo=-3.0, hi=1.0),
]
DECLINED = Case("dw", (6, 5, 3), 3, filters=2)  # depth multiplier 2


def _grid(tmp_path, form: str):
    models = [("chain", _depthwise_chain(), 4), ("tall", _depthwise_tall(), 3), ("copies", _depthwise_copies(), 5)]
    models += [(str(c), conv_cases.convert_case(c), 1) for c in CASES]
    models.append(("multiplier 2", conv_cases.convert_case(DECLINED), 0))
    grid, taken = [], []  # taken: the layers the preparer takes
    prepare = depthwise_int4_mve.prepare_depthwise if form == "int4" else depthwise_lowbit_mve.prepare_depthwise
    for k, (name, data, n) in enumerate(models):
        tfl, _ = rewrite.rewrite_model(data, form, seed=0)
        program, inputs, sim = simulated(tfl, 5, seed=7 + k, form=form, extremes=True)  # simulator == TFLM
        dw = [c for c in program.calls if c.kernel == f"tq_depthwise_conv_s8_{FORMS[form][1]}"]
        assert len(dw) == max(n, 1), name
        taken.append(sum(prepare(c) is not None for c in dw))
        grid.append(GridModel(name, tfl, inputs, sim, weights=form))
    return zip(models, taken, run_grid(grid, BOARD, tmp_path))  # firmware == simulator, exactly


@pytest.mark.parametrize("form", FORMS)
def test_packed_depthwise_mve(form, tmp_path):
    kernel, suffix = FORMS[form]
    for (name, _, n), taken, model_c in _grid(tmp_path, form):
        # int2's levels (-2..1) make 64x the scales: most layers then have left shifts, which the Helium
        # requantization does not do (declined, they keep the DSP kernels); ternary and binary reach every path
        assert taken == n or (form == "int2" and taken < n), name
        assert layers_calling(model_c, kernel) == taken, name
        assert "tq_depthwise_conv_s8_mve(" not in model_c, name  # int8 weights nowhere
        if n == 0:  # the declined layer: the packed kernel of its form
            assert layers_calling(model_c, f"tq_depthwise_conv_s8_{suffix}_dsp(") == 1, name
