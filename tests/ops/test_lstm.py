"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLM == simulator == host C, exactly, over batches of consecutive invokes (the
hidden and cell states kept, as TFLM does, and reset before every sample); the two real models (mnist_lstm,
dtln_noise_suppression: every LSTM state after every sample, not only the outputs); the refusals.

The grid is hand-built (tests/modelkit): TF 2.21's converter segfaults in its calibrator on every quantized
Keras LSTM (measured: LSTM(7), LSTM(3) with return_sequences False, a sigmoid LSTM; tensorflow/lite/python/
optimize/calibrator.py _feed_tensors), and a hand-built model also reaches what the converter never makes.
Many independent LSTM ops run side by side in one model (one TFLM run, one host-C build): int8 and 16x8 in
the same model, 1 and several time steps, batch 1 and 2, batch- and time-major,
with and without the cell clip, cell scales 2^-9 to 2^-14 (both signs of the cell tanh's shift), non-zero
input and hidden zero points. Scales are chosen so that gates and outputs spread instead of saturating.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.modelkit import Net
from tests.ops.oplib import assert_same

MODELS = Path("/work/shared/models")
REAL = ("tflm_mnist_lstm_int8.tflite", "tflm_dtln_noise_suppression_int8.tflite")
SEED = 20261204
GATES = ("i", "f", "c", "o")


@dataclass(frozen=True)
class Lstm:
    batch: int = 1
    steps: int = 4
    inputs: int = 6
    units: int = 5
    act: str = "int8"  # activations; int16 = 16x8 (int64 biases)
    time_major: bool = False
    cell_clip: float = 0.0
    cell_log2: int = -11  # cell scale 2^cell_log2
    in_zp: int = -3
    h_zp: int = 5


GRID = [
    Lstm(),
    Lstm(steps=1, inputs=3, units=2, cell_clip=10.0),
    Lstm(batch=2, steps=3, units=7, time_major=True, cell_clip=3.0, h_zp=-20),
    Lstm(steps=6, inputs=16, units=12, cell_log2=-14, in_zp=0, h_zp=0),
    Lstm(batch=2, steps=2, inputs=4, units=3, cell_log2=-9, in_zp=-128),
    # tq_lstm_s8_fast_dsp's paths: 3 input chunks (a pair and one) with a 1-byte tail, 3 unit groups, the last
    # of one unit; 4 chunks with a 1-byte tail and a single group
    Lstm(steps=3, inputs=9, units=9, cell_clip=2.0, in_zp=7, h_zp=-3),
    Lstm(batch=2, steps=2, inputs=13, units=4, time_major=True, cell_log2=-10),
    Lstm(act="int16", in_zp=0, h_zp=0),
    Lstm(act="int16", batch=2, steps=3, inputs=9, units=6, time_major=True, cell_clip=5.0, cell_log2=-12, in_zp=0, h_zp=0),
    Lstm(act="int16", steps=1, inputs=2, units=8, cell_log2=-13, in_zp=0, h_zp=0),
]


def _options(s: Lstm):
    o = schema.UnidirectionalSequenceLSTMOptionsT()
    o.fusedActivationFunction, o.cellClip, o.timeMajor = 4, s.cell_clip, s.time_major  # TANH
    return o


def add_lstm(net: Net, k: int, s: Lstm, rng, edit=None) -> tuple[int, int]:
    """One LSTM op with its own input and output; returns (input, output) tensor indices. edit(fields, inputs,
    variable, options) may change the tensors' construction arguments, the input list (names or None) and the
    states' is_variable first (the refusal tests)."""
    int8 = s.act == "int8"
    in_scale = 0.02 if int8 else 1.0 / 4096
    typical_in = 73 if int8 else 18918  # std of a uniform int8 / int16
    h_scale = 1.0 / 128 if int8 else 1.0 / 32768
    typical_h = 40 if int8 else 10000
    # the gate sums: about +-1.5 (input part) and +-1 (recurrent part) before the sigmoid
    wi_scale = float(np.float32(1.5 / (in_scale * np.sqrt(s.inputs) * typical_in * 73)))
    wr_scale = float(np.float32(1.0 / (h_scale * np.sqrt(s.units) * typical_h * 73)))
    shape_x = [s.steps, s.batch, s.inputs] if s.time_major else [s.batch, s.steps, s.inputs]
    shape_y = shape_x[:2] + [s.units]
    bias_dtype = "int32" if int8 else "int64"
    bias_scale = float(np.float32(in_scale) * np.float32(wi_scale))
    f = dict(x=dict(shape=shape_x, dtype=s.act, scale=in_scale, zero_point=s.in_zp))
    for g in GATES:
        f[f"wi_{g}"] = dict(shape=[s.units, s.inputs], dtype="int8", scale=wi_scale, zero_point=0,
                            data=rng.integers(-127, 128, (s.units, s.inputs)))
    for g in GATES:
        f[f"wr_{g}"] = dict(shape=[s.units, s.units], dtype="int8", scale=wr_scale, zero_point=0,
                            data=rng.integers(-127, 128, (s.units, s.units)))
    for g in GATES:  # up to +-0.5 in real terms (the forget gate's leans positive, as trained ones do)
        lo = 0.0 if g == "f" else -0.5
        f[f"b_{g}"] = dict(shape=[s.units], dtype=bias_dtype, scale=bias_scale, zero_point=0,
                           data=np.round(rng.uniform(lo, 0.5 + (g == "f"), s.units) / bias_scale))
    f["h"] = dict(shape=[s.batch, s.units], dtype=s.act, scale=h_scale, zero_point=s.h_zp)
    f["c"] = dict(shape=[s.batch, s.units], dtype="int16", scale=2.0**s.cell_log2, zero_point=0)
    f["y"] = dict(shape=shape_y, dtype=s.act, scale=h_scale, zero_point=s.h_zp)
    inputs = (["x"] + [f"wi_{g}" for g in GATES] + [f"wr_{g}" for g in GATES] + [None] * 3
              + [f"b_{g}" for g in GATES] + [None] * 2 + ["h", "c"] + [None] * 4)
    variable, options = True, _options(s)
    if edit is not None:
        variable, options = edit(f, inputs, variable, options)
    ids = {name: net.add_tensor(f"{name}{k}", **kw) for name, kw in f.items()}
    for name in ("h", "c"):
        net.sg.tensors[ids[name]].isVariable = variable
    net.add_op("UNIDIRECTIONAL_SEQUENCE_LSTM", [-1 if n is None else ids[n] for n in inputs], [ids["y"]], options)
    return ids["x"], ids["y"]


def grid_model(specs, seed: int = SEED) -> bytes:
    rng = np.random.default_rng(seed)
    net = Net()
    io = [add_lstm(net, k, s, rng) for k, s in enumerate(specs)]
    return net.io([x for x, _ in io], [y for _, y in io]).bytes()


def grid_inputs(specs, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for s in specs:
        shape = (s.steps, s.batch, s.inputs) if s.time_major else (s.batch, s.steps, s.inputs)
        lim = 128 if s.act == "int8" else 32768
        out.append(rng.integers(-lim, lim, (n, *shape)).astype(s.act))
    return out


def check_stateful(model: bytes, inputs: list[np.ndarray], state: str, states: bool = True) -> list[np.ndarray]:
    """TFLM == simulator == host C (ASan + UBSan) on consecutive invokes, state kept or reset: the outputs, and
    (states=True) every LSTM's hidden and cell state after every sample. Returns the outputs."""
    from tinyq.oracle import run_isolated
    from tinyq.sim.run import as_program, run_program
    from tinyq.testing import host_c_outputs

    program = as_program(model)
    ids = tuple(program.states) if states else ()
    env = run_program(program, inputs, trace=bool(ids), state=state)
    sim = [env[i] for i in program.outputs]
    ref, ref_states = run_isolated(model, inputs, len(sim), tensors=ids, per_sample=bool(ids),
                                   reset=state == "reset")
    for i in ids:
        n = env[i].shape[0]
        assert_same(env[i].reshape(n, -1), ref_states[i].reshape(n, -1),
                    f"simulator != TFLM on state '{program.tensor(i).name}' (state {state})")
    host = host_c_outputs(model, inputs, state=state)
    for k, got in enumerate(sim):
        name = program.tensor(program.outputs[k]).name
        assert_same(got, ref[k].reshape(got.shape), f"simulator != TFLM on '{name}' (state {state})")
        assert_same(host[k], got, f"host C != simulator on '{name}' (state {state})")
    return sim


@pytest.mark.slow
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_grid_matches_tflm(state):
    outs = check_stateful(grid_model(GRID), grid_inputs(GRID, 12, SEED + 1), state)
    for s, y in zip(GRID, outs):  # the grid is only a test if the outputs are not pinned at the rails
        info = np.iinfo(np.dtype(s.act))
        rails = float(np.mean((y == info.min) | (y == info.max)))
        assert len(np.unique(y)) > 10 and rails < 0.3, f"{s}: {len(np.unique(y))} values, {rails:.0%} at the rails"


@pytest.mark.slow
def test_keep_differs_from_reset_and_reset_is_a_fresh_start():
    """The state does carry over: keep and reset differ; reset sample k == a fresh model on sample k alone."""
    from tinyq.sim.run import as_program, run_program

    program = as_program(grid_model(GRID))
    xs = grid_inputs(GRID, 4, SEED + 2)
    keep, reset = run_program(program, xs), run_program(program, xs, state="reset")
    for i in program.outputs:
        assert not np.array_equal(keep[i][1:], reset[i][1:])
        assert np.array_equal(keep[i][0], reset[i][0])
    for k in range(4):
        alone = run_program(program, [x[k:k + 1] for x in xs])
        for i in program.outputs:
            assert np.array_equal(alone[i][0], reset[i][k])


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_real_models(name, state):
    """mnist_lstm (one LSTM, 28 steps, RESHAPE, FC, SOFTMAX) and dtln (two stacked LSTMs, FC, LOGISTIC) over
    consecutive samples: outputs and every LSTM state after every sample."""
    path = MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    data = path.read_bytes()
    from tinyq.sim.run import as_program

    program = as_program(data)  # lowered once: the input's shape
    t = program.tensor(program.inputs[0])
    x = np.random.default_rng(SEED).integers(-128, 128, (6, *t.shape)).astype(np.int8)
    check_stateful(data, [x], state)


def test_float_intermediates_are_not_read():
    """The real models' LSTMs carry five intermediates (four float32 gate intermediates, shape [0], and the
    effective hidden scale): no op reads them, TFLM never does, and tinyq's program has none of them."""
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    path = MODELS / REAL[0]
    if not path.is_file():
        pytest.skip(f"{path} not present")
    g = read_model(path.read_bytes())
    floats = [t.index for t in g.tensors if t.dtype == "float32"]
    assert len(floats) == 4 and all(g.tensors[i].shape == (0,) for i in floats)
    assert not any(i in op.inputs or i in op.outputs for op in g.ops for i in floats)
    program = as_program(path.read_bytes())
    assert not any(t.dtype == "float32" for t in program.tensors)
    assert len(program.states) == 2 and [program.tensor(i).dtype for i in program.states] == ["int8", "int16"]


# ---------------------------------------------------------------- plan and C API


def test_two_states_per_lstm_and_the_reset_fill(tmp_path):
    """Each LSTM owns two states in the state region (hidden, cell); reset fills the int8 hidden state with
    its zero point and the int16 cell with 0 (TFLM's ResetTensorData)."""
    from tinyq.compiler import compile_model
    from tinyq.planner import plan_memory
    from tinyq.sim.run import as_program

    model = grid_model(GRID[:2])
    program = as_program(model)
    plan = plan_memory(program)
    assert len(program.states) == 4 and [a.tensor for a in plan.states] == list(program.states)
    assert not any(a.tensor in program.states for a in plan.allocations)
    compile_model(model, tmp_path / "a", board="host")
    c = (tmp_path / "a" / "src" / "model.c").read_text()
    fills = re.findall(r"memset\(model_state \+ \d+, (\d+), (\d+)u\);", c)
    assert fills == [("5", "5"), ("0", "10"), ("5", "2"), ("0", "4")], fills


# ---------------------------------------------------------------- refusals


def _lower_error(edit, spec: Lstm = Lstm(), graph_io=None) -> str:
    from tinyq.errors import ModelFormatError, UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    x, y = add_lstm(net, 0, spec, np.random.default_rng(0), edit)
    ins, outs = graph_io(net, x, y) if graph_io else ([x], [y])
    with pytest.raises((UnsupportedError, ModelFormatError)) as info:
        lower(read_model(net.io(ins, outs).bytes()))
    return str(info.value)


def _set(name, **kw):
    def edit(f, inputs, variable, options):
        f[name].update(kw)
        return variable, options
    return edit


def _input(k, value):
    def edit(f, inputs, variable, options):
        if value == "extra_w":
            f["extra"] = dict(shape=[5], dtype="int8", scale=0.1, zero_point=0, data=np.zeros(5))
            inputs[k] = "extra"
        else:
            inputs[k] = value
        return variable, options
    return edit


def _option(**kw):
    def edit(f, inputs, variable, options):
        for k, v in kw.items():
            setattr(options, k, v)
        return variable, options
    return edit


REFUSALS = [
    (lambda f, i, v, o: (False, o), "variable tensor|is not a constant"),
    (_set("x", shape=[1, 4]), "must be 3-D"),
    (_set("x", dtype="float32", scale=None), "float and hybrid LSTMs are not supported"),
    (_set("y", dtype="int16"), "float and hybrid LSTMs"),
    (_set("x", scale=None), "is not quantized"),
    (_set("wi_f", shape=[5, 5], data=np.zeros((5, 5))), r"input weights of the forget gate\) \[5, 5\] must be \[5, 6\]"),
    (_set("wr_o", shape=[4, 5], data=np.zeros((4, 5))), r"recurrent weights of the output gate\) \[4, 5\] must be \[5, 5\]"),
    (_set("wi_c", dtype="int16", data=np.zeros((5, 6))), "int16; TFLM's integer LSTM takes int8 weights"),
    (_set("wr_i", dtype="float32", scale=None, data=np.zeros((5, 5))), "takes int8 weights"),
    (_set("wi_i", zero_point=3), "zero point 3"),
    (_set("wi_i", scale=[0.01] * 5, zero_point=[0] * 5), "per-tensor quantization"),
    (_set("b_c", dtype="int64", data=np.zeros(5)), "reads a int8 LSTM's biases as int32"),
    (_set("b_o", shape=[4], data=np.zeros(4)), r"bias of the output gate\) \[4\] must be \[5\]"),
    (_set("c", dtype="int8", zero_point=0), "needs an int16 cell"),
    (_set("c", zero_point=2), "cell state .* zero point 2"),
    (_set("h", dtype="int16", zero_point=0), "must have the input's type"),
    (_set("h", shape=[1, 4]), r"hidden state \[1, 4\] and cell state \[1, 5\] must hold 1 x 4"),
    (_set("c", shape=[5]), None),  # 1-D cell of the right size: TFLM takes it
    (_set("y", shape=[1, 4, 6]), r"output \[1, 4, 6\] must be \[1, 4, 5\]"),
    (_set("c", scale=4.0), "would overflow int32"),
    (_set("c", data=np.zeros((1, 5))), "must be a variable tensor"),
    (_input(9, "extra_w"), "peephole"),
    (_input(16, "extra_w"), "projection"),
    (_input(20, "extra_w"), "layer normalization"),
    (_input(1, None), "CIFG"),
    (_input(13, None), "bias of the forget gate \\(input 13\\) must be a constant"),
    (_input(3, "x"), "input weights of the cell gate \\(input 3\\) must be a constant"),
    (_input(18, None), "hidden .* is missing"),
    (_input(19, "h"), "also another input of this op"),
    (_option(fusedActivationFunction=1), "cell gate activation 1"),
    (_option(fusedActivationFunction=6), "cell gate activation 6"),  # no SIGMOID in the schema: parses as NONE
    (_option(fusedActivationFunction=0), "cell gate activation 0"),
    (_option(diagonalRecurrentTensors=True), "diagonal"),
    (lambda f, i, v, o: (v, None), "UnidirectionalSequenceLSTMOptions|no options table"),
]


@pytest.mark.parametrize("edit, message", REFUSALS)
def test_refusals(edit, message):
    if message is None:  # accepted
        from tinyq.lower import lower
        from tinyq.tflite_reader import read_model

        net = Net()
        x, y = add_lstm(net, 0, Lstm(), np.random.default_rng(0), edit)
        lower(read_model(net.io([x], [y]).bytes()))
        return
    text = _lower_error(edit)
    assert re.search(message, text), text
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in text


def test_refuses_16x8_without_int64_bias_or_with_zero_points():
    edit = _set("b_i", dtype="int32", data=np.zeros(5))
    assert "reads a int16 LSTM's biases as int64" in _lower_error(edit, Lstm(act="int16", in_zp=0, h_zp=0))
    assert "zero point 0" in _lower_error(None, Lstm(act="int16", in_zp=0, h_zp=3))


def test_refuses_wrong_input_count_and_shared_or_exposed_states():
    def drop_last(net, x, y):
        net.sg.operators[0].inputs = net.sg.operators[0].inputs[:23]
        return [x], [y]
    assert "has 23 inputs; UNIDIRECTIONAL_SEQUENCE_LSTM takes 24" in _lower_error(None, graph_io=drop_last)

    def state_as_input(net, x, y):
        return [x, net.sg.operators[0].inputs[18]], [y]
    assert "graph input or output" in _lower_error(None, graph_io=state_as_input)

    def state_as_output(net, x, y):
        return [x], [y, net.sg.operators[0].inputs[19]]
    assert "is written by no operator" in _lower_error(None, graph_io=state_as_output)  # the reader's check

    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    rng = np.random.default_rng(0)
    x0, y0 = add_lstm(net, 0, Lstm(), rng)
    x1, y1 = add_lstm(net, 1, Lstm(), rng)
    net.sg.operators[1].inputs[19] = net.sg.operators[0].inputs[19]  # two LSTMs on one cell state
    with pytest.raises(UnsupportedError, match="also read by operator"):
        lower(read_model(net.io([x0, x1], [y0, y1]).bytes()))
