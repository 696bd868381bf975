"""--weights-layout on the shared models (tinyq.compiler.WEIGHTS_LAYOUTS): on the Cortex-M4 (mps2-an386) the MLPerf
Tiny models with their conv and FC weights widened to int16 at compile time (the _wide_dsp kernels) and with the
int8 layout, firmware == simulator (== TFLM, checked by the reference), exactly; each layout calls its kernels."""
import re

import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.firmware.test_models_on_boards import reference
from tests.samples import model_path

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

BOARD = "mps2-an386"
STEMS = ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8",
         "mlperf_ad_fc_autoencoder_int8"]
WIDE = re.compile(r"\btq_(conv1x1_s8|conv_s8_im2col|fully_connected_s8)_wide(3|_x16)?_dsp\(")
INT8 = re.compile(r"\btq_(conv1x1_s8_dsp|conv_s8_im2col_dsp|fully_connected_s8_interleaved_dsp)\(")
INPUTS = 6  # the last inputs (the real samples among them)


def test_both_layouts_equal_the_simulator_on_the_shared_models(tmp_path):
    models = []
    for stem in STEMS:
        _, batches, sim = reference(stem)
        for layout in ("int16", "int8"):
            models.append(GridModel(f"{stem} --weights-layout {layout}", model_path(stem), [b[-INPUTS:] for b in batches],
                                    [s[-INPUTS:] for s in sim], weights_layout=layout))
    sources = run_grid(models, BOARD, tmp_path)
    for m, src in zip(models, sources):
        wide, int8 = len(WIDE.findall(src)), len(INT8.findall(src))
        if m.weights_layout == "int16":
            assert wide > 0 and int8 == 0, (m.name, wide, int8)
        else:
            assert wide == 0 and int8 > 0, (m.name, wide, int8)
