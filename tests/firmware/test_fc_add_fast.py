"""The compile-time specialized DSP kernels of tinyq/specialize (fully_connected_dsp.py, add_dsp.py) on the
emulated CPUs with the DSP extension: firmware == simulator == TFLM, exactly, on models built to reach every
path (input depth tails 1/2/3 and none, output row tails, no bias, rows > 1, ReLU; ADD with equal shapes,
either input broadcast in the inner or an outer loop, skewed zero points, different scales, fused
activations), and the generated model.c calls the specialized kernels."""
import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, convert_keras, random_inputs
from tinyq.compiler import compile_model
from tinyq.io import from_batch
from tinyq.sim.run import as_program
from tinyq.targets.run import run_project

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

DSP_BOARDS = ["mps2-an386", "mps2-an505"]  # Cortex-M4, M33 (the M55 runs Helium FC: test_mve_kernels.py)


def _firmware_equals(tfl, inputs, sim, board, out_dir, weights_layout="auto") -> str:
    """Compile for `board`, run `inputs` on QEMU, assert the outputs equal `sim` exactly; returns model.c."""
    program = as_program(tfl)
    compile_model(tfl, out_dir, board=board, weights_layout=weights_layout)
    got = run_project(out_dir, [from_batch(x, program.tensor(i)) for x, i in zip(inputs, program.inputs)]).arrays
    for g, s, i in zip(got, sim, program.outputs):
        np.testing.assert_array_equal(g, from_batch(s, program.tensor(i)))
    return (out_dir / "src" / "model.c").read_text()


def _fc_chain():
    """Input depths 37, 5, 64, 1, 3, 16, 7, 2, 6, 11 (tails 1, 1, 0, 1, 3, 0, 3, 2, 2, 3; chunks of 4 inputs: 4 a
    loop step, then 2, then 1) and output depths 5, 64, 1, 3, 16, 7, 2, 6, 11, 4 (row-group tails 1, 0, 1, 3, 0, 3,
    2, 2, 3, 0), 3 input rows, with and without bias, ReLU."""
    import keras

    def build():
        return keras.Sequential([
            keras.Input((3, 37)),
            keras.layers.Dense(5), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, use_bias=False),
            keras.layers.Dense(3), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(7, use_bias=False),
            keras.layers.Dense(2), keras.layers.Dense(6, activation="relu"), keras.layers.Dense(11),
            keras.layers.Dense(4, activation="relu"),
        ])

    return convert_keras(build, seed=13, lo=-3, hi=2)


def _add_graph():
    """ADDs of 1024 elements (above the preparer's 512): equal shapes with scales 8x apart and ReLU; input 1
    repeated along an outer loop; input 2 repeated along an outer loop; input 2 repeated along the inner row
    (stride 0) with a clamp to [-1, 1]; two intermediate tensors (their own scales and zero points)."""
    import tensorflow as tf

    def fn(x, y, z, w, v):
        a = tf.nn.relu(x + y)
        b = z + a  # z [16]: outer loop stride 0 for input 1
        c = b + w  # w [8, 1, 16]: middle loop stride 0 for input 2
        d = tf.clip_by_value(c + v, -1.0, 1.0)  # v [8, 8, 1]: inner row stride 0 for input 2
        return tf.nn.relu6(d + a)

    shapes = [(8, 8, 16), (8, 8, 16), (16,), (8, 1, 16), (8, 8, 1)]
    ranges = [(-1.0, 1.0), (-8.0, 8.0), (0.0, 4.0), (-0.5, 0.25), (-2.0, 1.0)]
    return convert_function(fn, shapes, seed=17, ranges=ranges)


@pytest.fixture(scope="module")
def fc_model():
    tfl = _fc_chain()
    inputs = random_inputs(as_program(tfl), 24, seed=5)
    return tfl, inputs, check_model(tfl, inputs=inputs)  # TFLM == simulator == host C first


@pytest.fixture(scope="module")
def add_model():
    tfl = _add_graph()
    inputs = random_inputs(as_program(tfl), 8, seed=6)
    return tfl, inputs, check_model(tfl, inputs=inputs)


@pytest.mark.parametrize("board, layout", [(b, "int8") for b in DSP_BOARDS] + [(b, "int16") for b in DSP_BOARDS]
                         + [("mps2-an500", "int16")])
def test_fully_connected_interleaved_equals_simulator(board, layout, fc_model, tmp_path, monkeypatch):
    """Both weight layouts (--weights-layout): int8 words, and int16 words widened at compile time: on the M4 / M33
    the x16 kernel (inputs widened into scratch; its assembly group loop where the range is full and one requant
    row serves all, steps of 16 chunks or 1; the C loop for the rest) where the output offset folds, else LDM
    chunks; LDRD chunks on the Cortex-M7 (tq_fully_connected_s8_wide_ldrd_dsp)."""
    from tinyq.specialize import fully_connected_dsp

    monkeypatch.setattr(fully_connected_dsp, "x16_pays", lambda chunks, groups: True)  # every layer's shape
    tfl, inputs, sim = fc_model
    model_c = _firmware_equals(tfl, inputs, sim, board, tmp_path, layout)
    if layout == "int8":
        assert model_c.count("tq_fully_connected_s8_interleaved_dsp(") == 10
    elif board == "mps2-an500":
        assert model_c.count("tq_fully_connected_s8_wide_ldrd_dsp(") == 10
    else:
        x16 = model_c.count("tq_fully_connected_s8_wide_x16_dsp(")
        assert x16 >= 8 and x16 + model_c.count("tq_fully_connected_s8_wide_dsp(") == 10, x16


def test_fully_connected_wide_ldm_equals_simulator_an386(fc_model, tmp_path, monkeypatch):
    """The LDM-chunk int16 kernel, which the M4 / M33 keep where the x16 kernel declines (an output offset that does
    not fold): the x16 preparer left out."""
    from tinyq import specialize
    from tinyq.specialize import fully_connected_dsp

    specialize._load()
    monkeypatch.setattr(specialize, "PREPARERS",
                        [p for p in specialize.PREPARERS if p.prepare is not fully_connected_dsp.prepare_x16])
    tfl, inputs, sim = fc_model
    model_c = _firmware_equals(tfl, inputs, sim, "mps2-an386", tmp_path, "int16")
    assert model_c.count("tq_fully_connected_s8_wide_dsp(") == 10


@pytest.mark.parametrize("board", DSP_BOARDS)
def test_add_table_equals_simulator(board, add_model, tmp_path):
    tfl, inputs, sim = add_model
    model_c = _firmware_equals(tfl, inputs, sim, board, tmp_path)
    assert model_c.count("tq_add_s8_table_dsp(") == 5
