"""tq_avgpool_s8_dsp (tinyq/specialize/pool_dsp.py) on the DSP cores: firmware == simulator == TFLM, exactly, on
pools that reach every path: windows clipped by SAME padding (counts 9, 6, 4), the largest window it takes (255
elements, with all-minimum and all-maximum inputs: the int16 lane sums at their bound), a 1x1 window, a fused
ReLU; and the pools it declines (256 elements, a depth that is not a multiple of 4) staying on the reference
kernel. Each model.c is checked to call the kernels it should."""
import numpy as np
import pytest

from tests.firmware.kernel_calls import layers_calling
from tests.firmware.test_kernel_variants import _assert_firmware_equals
from tests.ops.oplib import check_model, convert_keras, random_inputs
from tinyq.sim.run import as_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def _pools():
    import keras

    def build():
        x = keras.Input((15, 17, 8))
        a = keras.layers.ReLU()(keras.layers.AveragePooling2D(3, strides=2, padding="same")(x))
        b = keras.layers.AveragePooling2D((15, 17))(x)  # 255 elements: the largest window taken
        c = keras.layers.AveragePooling2D(1, strides=(3, 2))(x)
        d = keras.layers.AveragePooling2D((16, 16), padding="same", strides=8)(x)  # windows up to 256: declined
        e = keras.layers.AveragePooling2D(2)(keras.layers.Conv2D(6, 1)(x))  # depth 6: declined
        return keras.Model(x, [a, b, c, d, e])

    return convert_keras(build, seed=31, lo=-1.0, hi=1.0)


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an505"])
def test_avgpool_dsp(board, tmp_path):
    tfl = _pools()
    program = as_program(tfl)
    (x,) = random_inputs(program, 6, seed=3)
    info = np.iinfo(x.dtype)
    x = np.concatenate([x, np.full_like(x[:1], info.min), np.full_like(x[:1], info.max)])  # the sums' bounds
    sim = check_model(tfl, inputs=[x])  # TFLM == simulator == host C first
    model_c = _assert_firmware_equals(tfl, [x], sim, board, tmp_path)
    assert layers_calling(model_c, "tq_avgpool_s8_dsp") == 3
    assert layers_calling(model_c, "tq_avgpool_s8") == 2
