"""UNIDIRECTIONAL_SEQUENCE_LSTM firmware: the real harness's `reset` argument (both LSTM states back to TFLM's
initial values before every sample) against the simulator's, on the Cortex-M4 (mps2-an386, the _dsp kernel).
mnist_lstm and dtln_noise_suppression run on every emulated board in test_models_on_boards.py (tests/samples.py
MODELS), the hand-built LSTM grid (int8 and 16x8) in test_op_grids_on_boards.py."""
from functools import cache

import numpy as np
import pytest

from tests.ops.test_lstm import GRID, grid_inputs, grid_model
from tests.samples import model_path
from tinyq.oracle import run_isolated
from tinyq.sim.run import as_program, run_program

BOARDS = ["mps2-an386"]
REAL = ("tflm_mnist_lstm_int8", "tflm_dtln_noise_suppression_int8")


@cache
def reference(name: str, state: str = "keep"):
    """(model, batches, simulator outputs) with the simulator checked against TFLM on the same invokes."""
    if name == "grid":
        model, batches = grid_model(GRID), grid_inputs(GRID, 8, 7)
    else:
        model = model_path(name).read_bytes()
        program = as_program(model)
        shape = program.tensor(program.inputs[0]).shape
        batches = [np.random.default_rng(11).integers(-128, 128, (8, *shape)).astype(np.int8)]
    program = as_program(model)
    env = run_program(program, batches, state=state)
    sim = [env[i] for i in program.outputs]
    ref, _ = run_isolated(model, batches, len(sim), reset=state == "reset")
    for s, r in zip(sim, ref):
        assert np.array_equal(s, r.reshape(s.shape)), f"{name}: simulator != TFLM (state {state})"
    return model, batches, sim


@pytest.mark.slow
@pytest.mark.firmware
def test_harness_resets_the_lstm_state(tmp_path):
    board = BOARDS[0]
    from tinyq.compiler import compile_model
    from tinyq.io import from_batch
    from tinyq.targets.run import run_project

    model, batches, _ = reference(REAL[0])
    program = as_program(model)
    compile_model(model, tmp_path / "p", board=board)
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    for state in ("keep", "reset"):
        _, _, want = reference(REAL[0], state)
        got = run_project(tmp_path / "p", arrays, state=state).arrays
        for g, w in zip(got, want):
            assert np.array_equal(g.reshape(w.shape), w), f"firmware != simulator on {board} (state {state})"


@pytest.mark.slow
@pytest.mark.firmware
def test_lstm_grid_fast_and_plain_dsp_kernels(tmp_path):
    """The int8 grid on the M4 through tq_lstm_s8_fast_dsp (prepared: every tail of its chunks and unit groups)
    and, with the preparers off, through tq_lstm_s8_dsp; both against the simulator."""
    from tests.firmware.grid_image import GridModel, run_grid

    specs = [s for s in GRID if s.act == "int8"]
    model, batches = grid_model(specs), grid_inputs(specs, 6, 9)
    program = as_program(model)
    env = run_program(program, batches)
    want = [env[i] for i in program.outputs]
    sources = run_grid([GridModel("lstm fast", model, batches, want),
                        GridModel("lstm dsp", model, batches, want, specialize_calls=False)], BOARDS[0], tmp_path)
    assert sources[0].count("tq_lstm_s8_fast_dsp(") == len(specs), "the preparer declined a grid case"
    assert "tq_lstm_s8_dsp(" in sources[1] and "tq_lstm_s8_fast_dsp(" not in sources[1]
