"""The scaffold of the prepared sub-8-bit kernel tests (test_int4_fast, test_int2_fast, test_int2_depthwise_fast):
a model whose weights were rewritten to an encoding's levels, checked simulator == TFLM, then compiled for a
board, its kernel calls counted, run on QEMU and compared with the simulator, exactly."""
import numpy as np

from tests.encode.helpers import rewrite
from tests.firmware.kernel_calls import layers_calling
from tests.ops.oplib import assert_same, random_inputs
from tinyq.compiler import compile_model
from tinyq.io import from_batch
from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program
from tinyq.targets.run import run_project


def simulated(tfl: bytes, form: str, batch: int, seed: int):
    """(program, inputs, simulator outputs) of `tfl` read with --weights `form`: simulator == TFLM checked first;
    the first input's first two values are the extremes of the proved bounds."""
    program = as_program(tfl, form)
    inputs = random_inputs(program, batch, seed=seed)
    inputs[0][0], inputs[0][1] = -128, 127
    env = run_program(program, inputs)
    sim = [env[i] for i in program.outputs]
    ref = TflmReference(tfl).run(inputs, len(sim))
    for k, s in enumerate(sim):
        assert_same(s, ref[k].reshape(s.shape), "simulator != TFLM")
    return program, inputs, sim


def firmware_equals_simulator(tfl: bytes, form: str, program, inputs, sim, board: str, tmp_path,
                              calls: dict[str, int]) -> str:
    """Compile for `board`, check that each kernel of `calls` runs its number of layers, run the firmware and
    compare every output with the simulator's; returns model.c for the caller's own checks."""
    compile_model(tfl, tmp_path, board=board, weights=form)
    model_c = (tmp_path / "src" / "model.c").read_text()
    for symbol, n in calls.items():
        got = layers_calling(model_c, symbol)
        assert got == n, f"{symbol} runs {got} layers, expected {n}"
    got = run_project(tmp_path, [from_batch(x, program.tensor(i)) for x, i in zip(inputs, program.inputs)]).arrays
    for g, s, i in zip(got, sim, program.outputs):
        np.testing.assert_array_equal(g, from_batch(s, program.tensor(i)))
    return model_c


def rewritten(make_model, batch: int, seed: int):
    """form -> (tflite, program, inputs, simulator outputs) of make_model()'s model with its weights rewritten to
    the form's levels (scripts/rewrite_weights.py), each form built and simulated once (a module fixture's body)."""
    data, cache = make_model(), {}

    def get(form: str):
        if form not in cache:
            tfl, _ = rewrite.rewrite_model(data, form, seed=0)
            cache[form] = (tfl, *simulated(tfl, form, batch, seed))
        return cache[form]

    return get
