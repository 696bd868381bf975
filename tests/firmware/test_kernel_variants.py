"""Optimized kernel variants (tinyq/kernel_select.py) on the emulated CPUs that select them, compiled without the
prepared kernels of tinyq/specialize (the variants are what a call falls back to when a preparer declines): firmware ==
simulator == TFLM, exactly, on models built to reach every path of each variant (block loops and their
remainders, padding, strides, dilations, groups, depth multipliers). The shared real models run on every
emulated board in test_models_on_boards.py as well."""
import numpy as np
import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.ops import test_conv as conv_cases
from tests.ops.oplib import check_model, convert_keras, random_inputs
from tinyq.compiler import compile_model
from tinyq.io import from_batch
from tinyq.sim.run import as_program
from tinyq.targets.run import run_project

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

DSP_BOARDS = ["mps2-an386", "mps2-an505", "mps3-an547"]  # Cortex-M4, M33, M55


def _assert_firmware_equals(tfl, inputs, sim, board, out_dir, specialize_calls: bool = True) -> str:
    """Compile `tfl` for `board`, run `inputs` (simulator batches) on QEMU, assert the outputs equal `sim`
    exactly; returns the generated model.c."""
    program = as_program(tfl)
    compile_model(tfl, out_dir, board=board, specialize_calls=specialize_calls)
    got = run_project(out_dir, [from_batch(x, program.tensor(i)) for x, i in zip(inputs, program.inputs)]).arrays
    for g, s, i in zip(got, sim, program.outputs):
        np.testing.assert_array_equal(g, from_batch(s, program.tensor(i)))
    return (out_dir / "src" / "model.c").read_text()


def _fc_chain():
    """FULLY_CONNECTED layers whose depths hit the DSP kernel's 4-wide blocks and remainders (37, 5, 64, 1, 3)
    and output depths both odd and even (5, 64, 1, 3, 16), with and without bias, rows > 1."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((2, 37)),
            keras.layers.Dense(5), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, use_bias=False),
            keras.layers.Dense(3), keras.layers.Dense(16, activation="relu"),
        ])

    return convert_keras(build, seed=11, lo=-3, hi=3)


@pytest.fixture(scope="module")
def fc_model():
    tfl = _fc_chain()
    program = as_program(tfl)
    inputs = random_inputs(program, 40, seed=5)
    sim = check_model(tfl, inputs=inputs)  # TFLM == simulator == host C first
    return tfl, inputs, sim


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_fully_connected_dsp_equals_simulator(board, fc_model, tmp_path):
    tfl, inputs, sim = fc_model
    model_c = _assert_firmware_equals(tfl, inputs, sim, board, tmp_path, specialize_calls=False)
    assert model_c.count("tq_fully_connected_s8_dsp(") == 5


CONV_CASES = [c for c in conv_cases.CASES if not c.int16]


def test_conv_dsp_equals_simulator(tmp_path):
    """The int8 CONV_2D / DEPTHWISE_CONV_2D grid of tests/ops/test_conv.py, on the Cortex-M4 (DSP variants),
    several cases to a firmware image (tests/firmware/grid_image.py)."""
    models = []
    for case in CONV_CASES:
        tfl = conv_cases.convert_case(case)
        program = as_program(tfl)
        inputs = random_inputs(program, 12, seed=3)
        sim = check_model(tfl, inputs=inputs)
        models.append(GridModel(str(case), tfl, inputs, sim, specialize_calls=False))
    sources = run_grid(models, "mps2-an386", tmp_path)
    for case, model_c in zip(CONV_CASES, sources):
        # a depthwise conv of a 1-channel input with several filters is lowered as a CONV_2D (tinyq/lower/conv.py)
        as_conv = case.op == "conv" or (case.shape[-1] == 1 and case.filters > 1)
        assert ("tq_conv_s8_dsp(" if as_conv else "tq_depthwise_conv_s8_dsp(") in model_c, case
