"""tq_depthwise_conv_s16_dsp's pixel pairs (stride 1, dilation 1 across, 3x3: two adjacent pixels share their
input columns and weight words; inside, or at the left / right edge with one padded column): firmware ==
simulator == TFLM, exactly, for interior counts 0..5 (SAME: width 2..7, edge pairs from width 3 and a lone
pixel where the count is odd; VALID: width 3..7), depths 2 (no 4-channel group: no pairs), 4, 8
and odd (5, 7: a group and a channel tail), ReLU / ReLU6 / none, a dilated column, and a batch."""
import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.test_s16_fast import _calls, _checked
from tests.ops import test_conv as conv_cases

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

Case = conv_cases.Case
CASES = [
    *(Case("dw", (4, w, d), 3, filters=1, act=act, int16=True)  # SAME: w - 2 interior pixels (w >= 2)
      for w, d, act in ((2, 4, None), (3, 8, "relu"), (4, 5, None), (5, 4, "relu6"), (6, 7, "relu"), (7, 8, None),
                        (6, 2, None))),
    *(Case("dw", (5, w, d), 3, filters=1, padding="valid", act=act, int16=True)  # VALID: all w - 2 interior
      for w, d, act in ((3, 4, "relu"), (4, 8, None), (5, 7, None), (6, 4, "relu6"), (7, 5, "relu"))),
    Case("dw", (7, 6, 4), 3, filters=1, dilation=(2, 1), int16=True),  # dilated rows: still pairs
    Case("dw", (5, 7, 4), 3, filters=1, dilation=(1, 2), int16=True),  # dilated columns: no pairs
    Case("dw", (4, 5, 8), 3, filters=1, batch=2, bias="none", int16=True, lo=-3.0, hi=1.0),
]


def test_pixel_pairs(tmp_path):
    """CASES on the Cortex-M4, several to a firmware image."""
    models = []
    for case in CASES:
        tfl, inputs, sim = _checked(conv_cases.convert_case(case), n=8)
        models.append(GridModel(str(case), tfl, inputs, sim))
    for case, model_c in zip(CASES, run_grid(models, "mps2-an386", tmp_path)):
        assert _calls(model_c, "tq_depthwise_conv_s16_dsp") == 1, case
