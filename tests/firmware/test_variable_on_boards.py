"""Resource variables on the Cortex-M4 (mps2-an386): the variable grid of tests/ops/test_variable.py through the
real file harness, its samples as consecutive invokes with the state kept and with `reset` (the harness calls
model_reset() before every sample), firmware == simulator == TFLM, exactly. (Every emulated board runs the grid
with the state kept in test_op_grids_on_boards.py.)"""
import numpy as np
import pytest

from tests.ops.test_variable import grid_inputs, grid_model
from tinyq.oracle import run_isolated
from tinyq.sim.run import as_program, run_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def test_harness_keeps_and_resets_variables(tmp_path):
    from tinyq.compiler import compile_model
    from tinyq.io import from_batch
    from tinyq.targets.run import run_project

    model, batches = grid_model(), grid_inputs(n=6)
    program = as_program(model)
    compile_model(model, tmp_path / "p", board="mps2-an386")
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    for state in ("keep", "reset"):
        env = run_program(program, batches, state=state)
        want = [env[i] for i in program.outputs]
        ref, _ = run_isolated(model, batches, len(want), reset=state == "reset")
        got = run_project(tmp_path / "p", arrays, state=state).arrays
        for g, w, r in zip(got, want, ref):
            assert np.array_equal(w, r.reshape(w.shape)), f"simulator != TFLM (state {state})"
            assert np.array_equal(g.reshape(w.shape), w), f"firmware != simulator on mps2-an386 (state {state})"


def test_serial_harness_restarts_and_resets_variables(tmp_path):
    """The console harness of a real board (NUCLEO-F446RE on QEMU, its UART a TCP port), which ran a self-test
    invoke at boot: two batches in one session, each as a fresh TFLM interpreter ('F' restarts, so the CALL_ONCE
    init values come back), the second with --state reset ('R' before each later sample)."""
    from tests.firmware.test_real_boards import uart_on_qemu
    from tinyq.compiler import compile_model
    from tinyq.io import from_batch
    from tinyq.targets.build import build_project
    from tinyq.targets.run import run_project

    model, batches = grid_model(), grid_inputs(n=4)
    program = as_program(model)
    compile_model(model, tmp_path / "p", board="nucleo_f446re")
    arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
    with uart_on_qemu(build_project(tmp_path / "p").artifact) as url:
        for state in ("keep", "reset"):
            env = run_program(program, batches, state=state)
            got = run_project(tmp_path / "p", arrays, port=url, state=state).arrays
            for g, i in zip(got, program.outputs):
                assert np.array_equal(g.reshape(env[i].shape), env[i]), f"serial harness != simulator (state {state})"
