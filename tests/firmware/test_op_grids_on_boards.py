"""The per-op grids of tests/ops (conv and depthwise, fully connected, ADD, SVDF) on every emulated board:
firmware == simulator, byte for byte, with the kernels each board selects (the prepared DSP and Helium kernels
included). The simulator == TFLM part of each case is tests/ops' own test; here the grid is rebuilt and checked
against the simulator. A board's cases share a few firmware images (tests/firmware/grid_image.py)."""
import hashlib
import inspect
import os
import tempfile
from functools import cache
from pathlib import Path

import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.ops import test_conv, test_elementwise, test_fully_connected, test_svdf
from tests.ops.oplib import random_inputs
from tinyq.boards import list_boards
from tinyq.sim.run import as_program, run_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

EMULATED = [b.name for b in list_boards() if b.emulated]
SAMPLES = 6


CACHE = Path(os.environ.get("TINYQ_GRID_CACHE", Path(tempfile.gettempdir()) / "tinyq-grid-models"))


def _converted(module, convert, case) -> bytes:
    """The case's .tflite, converted once per machine: both pytest workers and later runs reuse it (the key
    is the test module's source and the case, so an edited grid converts again)."""
    key = hashlib.sha256((inspect.getsource(module) + repr(case)).encode()).hexdigest()[:24]
    path = CACHE / f"{key}.tflite"
    if path.is_file():
        return path.read_bytes()
    tfl = convert(case)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(tfl)
    tmp.replace(path)  # atomic: a concurrent reader sees the whole file or none
    return tfl


@cache
def grid() -> list[GridModel]:
    # elementwise: ADD (the op with a prepared kernel); SUB/MUL/MAXIMUM/MINIMUM run the kernels the firmware
    # tests of tests/firmware/test_kernel_variants.py and test_models_on_boards.py already cover
    cases = [(f"{mod.__name__.split('.')[-1][5:]}{k}", mod, c)
             for mod in (test_conv, test_fully_connected, test_elementwise) for k, c in enumerate(mod.CASES)
             if mod is not test_elementwise or c.op == "add"]
    out = []
    for name, mod, case in cases:
        tfl = _converted(mod, mod.convert_case, case)
        program = as_program(tfl)
        inputs = random_inputs(program, SAMPLES, seed=len(name))
        env = run_program(program, inputs)
        out.append(GridModel(f"{name} {case}", tfl, inputs, [env[i] for i in program.outputs]))
    # SVDF (stateful: the grid harness's samples are consecutive invokes, as the simulator's)
    tfl, inputs = test_svdf.grid_model(test_svdf.GRID), test_svdf.grid_inputs(test_svdf.GRID, SAMPLES, 5)
    program = as_program(tfl)
    env = run_program(program, inputs)
    out.append(GridModel("svdf grid", tfl, inputs, [env[i] for i in program.outputs]))
    return out


@pytest.mark.parametrize("board", EMULATED)
def test_op_grids_equal_simulator(board, tmp_path):
    run_grid(grid(), board, tmp_path)
