"""The per-op grids of tests/ops (conv, depthwise, FC, ADD, RESIZE_*, PRELU, REDUCE_MAX, SVDF, LSTM, resource variables,
uint8 QUANTIZE) on
every emulated board: firmware == simulator, byte for byte, with the kernels each board selects (the prepared
DSP and Helium kernels included). The simulator == TFLM part of each case is tests/ops' own test; here the grid is rebuilt and checked
against the simulator. A board's cases share a few firmware images (tests/firmware/grid_image.py)."""
import hashlib
import inspect
import os
import tempfile
from functools import cache
from pathlib import Path

import pytest

from tests.firmware.grid_image import GridModel, run_grid
from tests.ops import (test_conv, test_elementwise, test_fully_connected, test_lstm, test_prelu, test_quantize,
                       test_reduce, test_resize, test_svdf, test_variable)
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
             for mod in (test_conv, test_fully_connected, test_elementwise, test_resize, test_prelu)
             for k, c in enumerate(mod.CASES)
             if mod is not test_elementwise or c.op == "add"]
    out = []
    for name, mod, case in cases:
        tfl = _converted(mod, mod.convert_case, case)
        program = as_program(tfl)
        inputs = random_inputs(program, SAMPLES, seed=len(name))
        env = run_program(program, inputs)
        out.append(GridModel(f"{name} {case}", tfl, inputs, [env[i] for i in program.outputs]))
    # uint8 graph I/O: the uint8 <-> int8 QUANTIZE / uint8 DEQUANTIZE grid and a converter-made uint8 image model
    u8_grid, u8_inputs, _ = test_quantize.uint8_grid()
    u8_conv = _converted(test_quantize, lambda case: test_quantize.uint8_conv_model(), "uint8_conv")
    # REDUCE_MAX: the axis-set grid (ranks 2-5) and the Keras GlobalMaxPooling1D/2D model
    rmax = [(f"reduce_max {k}", _converted(test_reduce, lambda case: make(), k), None)
            for k, make in (("grid", test_reduce.max_grid_model), ("keras", test_reduce.max_keras_model))]
    for name, tfl, inputs in [("uint8 grid", u8_grid, u8_inputs), ("uint8 conv", u8_conv, None), *rmax]:
        program = as_program(tfl)
        inputs = random_inputs(program, SAMPLES, seed=15) if inputs is None else inputs
        env = run_program(program, inputs)
        out.append(GridModel(name, tfl, inputs, [env[i] for i in program.outputs]))
    # SVDF (stateful: the grid harness's samples are consecutive invokes, as the simulator's)
    tfl, inputs = test_svdf.grid_model(test_svdf.GRID), test_svdf.grid_inputs(test_svdf.GRID, SAMPLES, 5)
    program = as_program(tfl)
    env = run_program(program, inputs)
    out.append(GridModel("svdf grid", tfl, inputs, [env[i] for i in program.outputs]))
    tfl, inputs = test_lstm.grid_model(test_lstm.GRID), test_lstm.grid_inputs(test_lstm.GRID, SAMPLES, 5)
    program = as_program(tfl)
    env = run_program(program, inputs)
    out.append(GridModel("lstm grid", tfl, inputs, [env[i] for i in program.outputs]))
    tfl, inputs = test_variable.grid_model(), test_variable.grid_inputs(n=SAMPLES)  # resource variables
    program = as_program(tfl)
    env = run_program(program, inputs)
    out.append(GridModel("variable grid", tfl, inputs, [env[i] for i in program.outputs]))
    return out


@pytest.mark.parametrize("board", EMULATED)
def test_op_grids_equal_simulator(board, tmp_path):
    run_grid(grid(), board, tmp_path)
