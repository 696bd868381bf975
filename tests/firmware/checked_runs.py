"""The two halves of every prepared-kernel firmware test: a model simulated and checked against TFLM first, and
its firmware's outputs compared with the simulator's, exactly."""
import numpy as np

from tests.ops.oplib import assert_same, random_inputs
from tinyq.io import from_batch
from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program
from tinyq.targets.run import run_project


def simulated(tfl: bytes, batch: int, seed: int, form: str = "auto", extremes: bool = False):
    """(program, inputs, simulator outputs) of `tfl` read with --weights `form`, simulator == TFLM checked first;
    with `extremes` the first input's first two values are -128 and 127 (the ends of a proved bound)."""
    program = as_program(tfl, form)
    inputs = random_inputs(program, batch, seed=seed)
    if extremes:
        inputs[0][0], inputs[0][1] = -128, 127
    env = run_program(program, inputs)
    sim = [env[i] for i in program.outputs]
    ref = TflmReference(tfl).run(inputs, len(sim))
    for k, s in enumerate(sim):
        assert_same(s, ref[k].reshape(s.shape), "simulator != TFLM")
    return program, inputs, sim


def assert_firmware_equals(project, program, inputs, sim) -> None:
    """Run the compiled project in `project` on `inputs` and compare every output with the simulator's."""
    got = run_project(project, [from_batch(x, program.tensor(i)) for x, i in zip(inputs, program.inputs)]).arrays
    for g, s, i in zip(got, sim, program.outputs):
        np.testing.assert_array_equal(g, from_batch(s, program.tensor(i)))
