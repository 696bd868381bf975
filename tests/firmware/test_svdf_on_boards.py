"""SVDF on the Cortex-M4 (mps2-an386) and Cortex-M55 (mps3-an547) boards: keyword_scrambled_8bit and the
hand-built SVDF grid (tests/ops/test_svdf.py) as consecutive invokes, firmware == simulator (== TFLM), exactly;
and the real harness's `reset` argument (state reset before every sample) against the simulator's. (Both
keyword_scrambled models also run on every emulated board in test_models_on_boards.py.)"""
from functools import cache

import numpy as np
import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.ops.test_svdf import GRID, grid_inputs, grid_model
from tests.samples import model_path
from tinyq.oracle import run_isolated
from tinyq.sim.run import as_program, run_program

BOARDS = ["mps2-an386", "mps3-an547"]
KEYWORD = "tflm_keyword_scrambled_8bit"


@cache
def reference(name: str, state: str = "keep"):
    """(model, batches, simulator outputs) with the simulator checked against TFLM on the same invokes."""
    if name == "grid":
        model, batches = grid_model(GRID), grid_inputs(GRID, 12, 7)
    else:
        model = model_path(name).read_bytes()
        batches = [np.random.default_rng(11).integers(-3000, 3000, (10, 1, 96)).astype(np.int16)]
    program = as_program(model)
    env = run_program(program, batches, state=state)
    sim = [env[i] for i in program.outputs]
    ref, _ = run_isolated(model, batches, len(sim), reset=state == "reset")
    for s, r in zip(sim, ref):
        assert np.array_equal(s, r.reshape(s.shape)), f"{name}: simulator != TFLM (state {state})"
    return model, batches, sim


@pytest.mark.slow
@pytest.mark.firmware
@pytest.mark.parametrize("board", BOARDS)
def test_svdf_models_on_board(board, tmp_path):
    models = [GridModel(name, *reference(name)) for name in (KEYWORD, "grid")]
    run_grid(models, board, tmp_path / "grid")


@pytest.mark.slow
@pytest.mark.firmware
def test_harness_resets_the_state(tmp_path):
    board = BOARDS[0]
    from tinyq.compiler import compile_model
    from tinyq.io import from_batch
    from tinyq.targets.run import run_project

    model, batches, _ = reference("grid")
    program = as_program(model)
    compile_model(model, tmp_path / "p", board=board)
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    for state in ("keep", "reset"):
        _, _, want = reference("grid", state)
        got = run_project(tmp_path / "p", arrays, state=state).arrays
        for g, w in zip(got, want):
            assert np.array_equal(g.reshape(w.shape), w), f"firmware != simulator on {board} (state {state})"
