"""Execute a Program on batches: the bit-exact NumPy simulator's driver.

simulate() reads a model (path, bytes, Graph or Program), lowers it, and runs the kernel records in
order; with trace=True it returns every activation tensor it computed, keyed by TFLite tensor name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from tinyq.io import from_batch, load_inputs
from tinyq.ir import Graph
from tinyq.program import Program, state_initial_value
from tinyq.sim.kernels import get_kernel


@dataclass
class SimResult:
    outputs: dict[str, np.ndarray]  # output tensor name -> (N, *user_shape)
    trace: dict[str, np.ndarray] | None = None  # every activation tensor name -> (N, *user_shape)
    program: Program | None = field(default=None, repr=False)

    def output_list(self) -> list[np.ndarray]:
        return list(self.outputs.values())


def as_program(model, weights: str = "auto", layers=None) -> Program:
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    if isinstance(model, Program):
        return model
    if not isinstance(model, Graph):
        model = read_model(model)
    return lower(model, weights, layers)


def run_program(program: Program, batches: list[np.ndarray], trace: bool = False,
                state: str = "keep") -> dict[int, np.ndarray]:
    """Run on internal (N, *shape) batches; returns tensor index -> batch (all tensors if trace, else outputs).
    The samples are consecutive invokes of a freshly started model: a stateful call (SVDF, LSTM) carries its
    state from one sample to the next (`state="keep"`, as TFLM), or starts each from the initial state
    (`state="reset"`); a state tensor's batch is its value after each sample."""
    check_state_mode(state)
    # One BLAS thread: the matmuls are small, and threads fighting other work (test workers, TFLM)
    # made them ten times slower on a two-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        if any(c.variable_access for c in program.calls):
            return _run_variables(program, batches, trace, state == "reset")
        return _run(program, batches, trace, state == "reset")


def _run_variables(program: Program, batches: list[np.ndarray], trace: bool, reset: bool) -> dict[int, np.ndarray]:
    """A model with resource variables (tinyq.lower.variable): a sample reads what the one before assigned, through
    the whole graph, so the samples run one at a time. As TFLM: every variable starts filled like any state, the
    first invoke's CALL_ONCE assigns the init values, and a reset fills them again without rerunning the init."""
    def filled():
        return {t: np.full((1, *program.tensor(t).shape), state_initial_value(program.tensor(t)),
                           program.tensor(t).dtype) for t in program.states}

    values, runs = filled(), []
    for s in range(batches[0].shape[0] if batches else 1):
        if reset:
            values = filled()
        if s == 0:  # CALL_ONCE: the first invoke only
            for t, init in program.state_inits:
                values[t] = init.reshape(1, *program.tensor(t).shape).copy()
        env = _run(program, [b[s:s + 1] for b in batches], trace, False, values)
        values = {t: env[t] for t in program.states}
        runs.append(env)
    return {i: np.concatenate([env[i] for env in runs]) for i in runs[0]}


def _band_rows(program: Program, index: int) -> tuple[int, slice]:
    """A view's base tensor and the flat element range it covers in each sample."""
    base, at = program.view_base(index)
    t = program.tensor(index)
    start = at // np.dtype(t.dtype).itemsize
    return base, slice(start, start + t.size)


STATE_MODES = ("keep", "reset")


def check_state_mode(state: str) -> None:
    if state not in STATE_MODES:
        from tinyq.errors import InputError

        raise InputError(f"--state {state!r}: choose keep (the state persists across samples, as TFLM) or reset")


def _run(program: Program, batches: list[np.ndarray], trace: bool, reset: bool,
         states: dict[int, np.ndarray] | None = None) -> dict[int, np.ndarray]:
    """states: the resource variables' values before the batch (_run_variables)."""
    env: dict[int, np.ndarray] = {**(states or {}), **dict(zip(program.inputs, batches))}
    last_use = {}
    for k, call in enumerate(program.calls):
        for i in call.inputs:
            last_use[i] = k
            last_use[program.view_base(i)[0]] = k
    keep = set(program.outputs) | set(program.states)

    def read(i):
        if not program.tensor(i).view:
            return env[i]
        base, rows = _band_rows(program, i)
        x = env[base]
        return x.reshape(x.shape[0], -1)[:, rows].reshape(x.shape[0], *program.tensor(i).shape)

    for k, call in enumerate(program.calls):
        kernel = get_kernel(call.kernel)
        if call.stateful:
            init = state_initial_value(program.tensor(call.outputs[1]))
            result = kernel(call, *(read(i) for i in call.inputs), initial=init, reset=reset)
        else:
            result = kernel(call, *(read(i) for i in call.inputs))
        results = result if isinstance(result, tuple) else (result,)
        for i, value in zip(call.outputs, results):
            # kernels may return any shape of the right size; the tensor's shape is the truth
            t = program.tensor(i)
            shape = (value.shape[0], *t.shape)
            assert value.size == int(np.prod(shape)), f"{call.kernel}: output size {value.shape} != {shape}"
            if t.view:  # the band's rows of its base tensor, which the patch's bands fill in turn
                base, rows = _band_rows(program, i)
                whole = env.setdefault(base, np.zeros((value.shape[0], *program.tensor(base).shape), t.dtype))
                whole.reshape(value.shape[0], -1)[:, rows] = value.reshape(value.shape[0], -1)
                if not trace:  # nothing reads a view that was written: its base is read
                    continue
            env[i] = value.reshape(shape)
        if not trace:  # free what no later call reads
            for i in call.inputs:
                for j in (i, program.view_base(i)[0]):
                    if last_use.get(j) == k and j not in keep:
                        env.pop(j, None)
    return env


def simulate(model, inputs, trace: bool = False, weights: str = "auto", layers=None, state: str = "keep") -> SimResult:
    """model: .tflite path/bytes, Graph or Program; inputs: array, .npy/.npz path or mapping (see tinyq.io);
    weights / layers: how weights are stored (tinyq.encode.apply), which the simulator decodes; state: keep
    or reset a stateful model's state between samples (run_program)."""
    program = as_program(model, weights, layers)
    in_tensors = [program.tensor(i) for i in program.inputs]
    batches = load_inputs(inputs, in_tensors)
    env = run_program(program, batches, trace, state)
    outputs = {program.tensor(i).name: from_batch(env[i], program.tensor(i)) for i in program.outputs}
    traced = None
    if trace:
        traced = {program.tensor(i).name: from_batch(v, program.tensor(i)) for i, v in env.items()}
    return SimResult(outputs, traced, program)
