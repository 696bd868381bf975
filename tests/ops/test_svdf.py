"""SVDF: TFLM == simulator == host C, exactly, over batches of consecutive invokes (the state kept, as TFLM
does, and reset before every sample); the two real keyword_scrambled models; the refusals.

The hand-built grid runs many independent SVDF ops side by side in one model (one TFLM run, one host-C
build): rank 1 to 3, memory 1 to 10, batch 1 and 2, int8 and int16 state and time weights, NONE and RELU
(which TFLM's integer SVDF does not apply), non-zero input, state and output zero points. Scales are chosen
so that states and outputs spread over their range instead of saturating.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.modelkit import Net
from tests.ops.oplib import assert_same

MODELS = Path("/work/shared/models")
KEYWORD = ("tflm_keyword_scrambled_8bit.tflite", "tflm_keyword_scrambled.tflite")
SEED = 20261204


@dataclass(frozen=True)
class Svdf:
    batch: int = 1
    inputs: int = 12
    units: int = 5
    rank: int = 1
    memory: int = 4
    state: str = "int8"  # the state's and the time weights' type
    activation: int = 0  # TFLite ActivationFunctionType
    in_zp: int = -3
    state_zp: int = 7
    out_zp: int = 2


GRID = [
    Svdf(),
    Svdf(rank=2, memory=3, activation=1),
    Svdf(batch=2, units=3, rank=3, memory=1, in_zp=-128, state_zp=-20, out_zp=-30),
    Svdf(inputs=40, units=8, memory=10, state_zp=0, activation=1, out_zp=0),
    Svdf(state="int16", state_zp=0),
    Svdf(state="int16", rank=2, memory=8, batch=2, in_zp=100, state_zp=0),
    Svdf(state="int16", inputs=3, units=2, memory=1, activation=1, out_zp=-50, state_zp=0),
    Svdf(state="int16", rank=2, memory=5, state_zp=-9000),  # TFLM takes an int16 state's zero point too
]


def _options(rank: int, activation: int):
    o = schema.SVDFOptionsT()
    o.rank, o.fusedActivationFunction = rank, activation
    return o


def add_svdf(net: Net, k: int, s: Svdf, rng, edit=None) -> tuple[int, int]:
    """One SVDF op with its own input and output; returns (input, output) tensor indices. edit(fields) may
    change any tensor's construction arguments first (the refusal tests)."""
    filters = s.units * s.rank
    wt_max = 127 if s.state == "int8" else 32767
    in_scale, wf_scale = 0.05, 0.01
    # typical magnitudes: a feature sum ~ sqrt(inputs) * 73 * 73 products; the state holds ~1/3 of its range
    feat = in_scale * wf_scale * np.sqrt(s.inputs) * 73 * 73
    state_scale = float(np.float32(feat / (40 if s.state == "int8" else 10000)))
    wt_scale = 0.5 / wt_max
    out_scale = float(np.float32(state_scale * wt_scale * np.sqrt(s.memory * s.rank) * (wt_max / 2) * (
        40 if s.state == "int8" else 10000) / 40))
    bias_scale = float(np.float32(state_scale) * np.float32(wt_scale))
    f = dict(
        x=dict(shape=[s.batch, s.inputs], dtype="int8", scale=in_scale, zero_point=s.in_zp),
        wf=dict(shape=[filters, s.inputs], dtype="int8", scale=wf_scale, zero_point=0,
                data=rng.integers(-127, 128, (filters, s.inputs))),
        wt=dict(shape=[filters, s.memory], dtype=s.state, scale=wt_scale, zero_point=0,
                data=rng.integers(-wt_max, wt_max + 1, (filters, s.memory))),
        b=dict(shape=[s.units], dtype="int32", scale=bias_scale, zero_point=0,  # up to +-30 output steps
               data=rng.integers(-1, 2, s.units) * rng.integers(0, int(30 * out_scale / bias_scale), s.units)),
        st=dict(shape=[s.batch, filters * s.memory], dtype=s.state, scale=state_scale,
                zero_point=s.state_zp),
        y=dict(shape=[s.batch, s.units], dtype="int8", scale=out_scale, zero_point=s.out_zp),
    )
    variable, options = True, _options(s.rank, s.activation)
    if edit is not None:
        variable, options = edit(f, variable, options)
    ids = {name: net.add_tensor(f"{name}{k}", **kw) for name, kw in f.items()}
    net.sg.tensors[ids["st"]].isVariable = variable
    net.add_op("SVDF", [ids[n] for n in ("x", "wf", "wt", "b", "st")], [ids["y"]], options)
    return ids["x"], ids["y"]


def grid_model(specs, seed: int = SEED) -> bytes:
    rng = np.random.default_rng(seed)
    net = Net()
    io = [add_svdf(net, k, s, rng) for k, s in enumerate(specs)]
    return net.io([x for x, _ in io], [y for _, y in io]).bytes()


def check_stateful(model: bytes, inputs: list[np.ndarray], state: str) -> list[np.ndarray]:
    """TFLM == simulator == host C (ASan + UBSan) on consecutive invokes, state kept or reset; the outputs."""
    from tinyq.oracle import run_isolated
    from tinyq.sim.run import as_program, run_program
    from tinyq.testing import host_c_outputs

    program = as_program(model)
    env = run_program(program, inputs, state=state)
    sim = [env[i] for i in program.outputs]
    ref, _ = run_isolated(model, inputs, len(sim), reset=state == "reset")
    host = host_c_outputs(model, inputs, state=state)
    for k, got in enumerate(sim):
        name = program.tensor(program.outputs[k]).name
        assert_same(got, ref[k].reshape(got.shape), f"simulator != TFLM on '{name}' (state {state})")
        assert_same(host[k], got, f"host C != simulator on '{name}' (state {state})")
    return sim


def grid_inputs(specs, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, s.batch, s.inputs)).astype(np.int8) for s in specs]


@pytest.mark.slow
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_grid_matches_tflm(state):
    model = grid_model(GRID)
    outs = check_stateful(model, grid_inputs(GRID, 24, SEED + 1), state)
    for s, y in zip(GRID, outs):  # the grid is only a test if the outputs are not pinned at the rails
        rails = float(np.mean((y == -128) | (y == 127)))
        assert len(np.unique(y)) > 20 and rails < 0.5, f"{s}: {len(np.unique(y))} values, {rails:.0%} at the rails"
        if s.activation == 1:  # TFLM's integer SVDF does not apply its RELU: outputs below the zero point
            assert (y < s.out_zp).any(), s


@pytest.mark.slow
def test_keep_differs_from_reset_and_reset_is_a_fresh_start():
    """The state does carry over: keep and reset differ; reset sample k == a fresh model on sample k alone."""
    from tinyq.sim.run import as_program, run_program

    program = as_program(grid_model(GRID))
    xs = grid_inputs(GRID, 6, SEED + 2)
    keep, reset = run_program(program, xs), run_program(program, xs, state="reset")
    assert any(not np.array_equal(keep[i], reset[i]) for i in program.outputs)
    for k in range(6):
        alone = run_program(program, [x[k:k + 1] for x in xs])
        for i in program.outputs:
            assert np.array_equal(alone[i][0], reset[i][k])


@pytest.mark.slow
@pytest.mark.parametrize("name", KEYWORD)
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_keyword_scrambled(name, state):
    """The real models (7 SVDFs each: int8 state in _8bit, int16 state in the other) over 10 consecutive samples."""
    path = MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    rng = np.random.default_rng(SEED)
    x = rng.integers(-3000, 3000, (10, 1, 96)).astype(np.int16)
    check_stateful(path.read_bytes(), [x], state)


@pytest.mark.slow
def test_keyword_scrambled_states_match_tflm():
    """Every SVDF's state after every sample, not only the (often saturated) model output: TFLM == simulator."""
    from tinyq.oracle import run_isolated
    from tinyq.sim.run import as_program, run_program

    path = MODELS / KEYWORD[1]
    if not path.is_file():
        pytest.skip(f"{path} not present")
    program = as_program(path.read_bytes())
    ids = tuple(i for c in program.calls if c.opcode == "SVDF" for i in c.outputs)
    rng = np.random.default_rng(1)  # this batch has a value TFLM's double-precision effective scale rounds down
    x = rng.integers(-3000, 3000, (10, 1, 96)).astype(np.int16)
    env = run_program(program, [x], trace=True)
    _, ref = run_isolated(path.read_bytes(), [x], 1, tensors=ids, per_sample=True)
    for i in ids:
        assert_same(env[i].reshape(10, -1), ref[i].reshape(10, -1), f"tensor {program.tensor(i).name}")


# ---------------------------------------------------------------- plan and C API


def test_state_has_its_own_region():
    from tinyq.planner import plan_memory
    from tinyq.sim.run import as_program

    program = as_program(grid_model(GRID[:3]))
    plan = plan_memory(program)
    assert len(program.states) == 3 and [a.tensor for a in plan.states] == list(program.states)
    assert plan.state_bytes >= sum(program.tensor(i).nbytes for i in program.states)
    assert not any(a.tensor in program.states for a in plan.allocations)  # none in the arena


def test_plan_checker_refuses_a_state_in_the_arena():
    from dataclasses import replace

    from tinyq.errors import PlanError
    from tinyq.planner import check_states, plan_memory
    from tinyq.sim.run import as_program

    program = as_program(grid_model(GRID[:2]))
    plan = plan_memory(program)
    a, b = plan.states
    with pytest.raises(PlanError, match="share bytes"):
        check_states(program, replace(plan, states=(a, replace(b, offset=a.offset))))
    with pytest.raises(PlanError, match="outside the state region"):
        check_states(program, replace(plan, states=(a, replace(b, offset=plan.state_bytes))))
    with pytest.raises(PlanError, match="once"):
        check_states(program, replace(plan, states=(a,)))


def test_generated_c_api(tmp_path):
    """model.h declares model_reset() and the state size; a stateless model gets a no-op reset."""
    from tests.modelkit import relu_chain
    from tinyq.compiler import compile_model

    compile_model(grid_model(GRID[:2]), tmp_path / "a", board="host")
    h = (tmp_path / "a" / "src" / "model.h").read_text()
    c = (tmp_path / "a" / "src" / "model.c").read_text()
    assert "void model_reset(void);" in h and "#define MODEL_STATE_BYTES" in h
    assert "static uint8_t model_state[" in c and "memset(model_state + 0, 7," in c  # int8 state: its zero point
    compile_model(relu_chain().bytes(), tmp_path / "b", board="host")
    assert "#define MODEL_STATE_BYTES 0u" in (tmp_path / "b" / "src" / "model.h").read_text()
    assert "void model_reset(void) {}" in (tmp_path / "b" / "src" / "model.c").read_text()


# ---------------------------------------------------------------- refusals


def _refusal(edit) -> str:
    from tinyq.errors import ModelFormatError, UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    x, y = add_svdf(net, 0, Svdf(), np.random.default_rng(0), edit)
    with pytest.raises((UnsupportedError, ModelFormatError)) as info:
        lower(read_model(net.io([x], [y]).bytes()))
    return str(info.value)


def _set(name, **kw):
    def edit(f, variable, options):
        f[name].update(kw)
        return variable, options
    return edit


REFUSALS = [
    (lambda f, v, o: (False, o), "variable tensor|is not a constant"),  # not is_variable
    (_set("st", shape=[1, 19]), r"must be \[1, 20\]"),
    (_set("wf", shape=[5, 11], data=np.zeros((5, 11))), r"weights_feature \[5, 11\] must be \[5, 12\]"),
    (_set("y", shape=[1, 4]), r"output \[1, 4\] must be \[1, 5\]"),
    (_set("b", shape=[4], data=np.zeros(4)), r"must be \[5\]"),
    (_set("b", scale=1.0), "within 1e-5"),
    (_set("b", dtype="int8", data=np.zeros(5)), "int8; supported: int32"),
    (_set("st", dtype="int16", zero_point=0), "must have the type of weights_time"),
    (_set("wt", dtype="int32", data=np.zeros((5, 4))), "int32; supported: int8, int16"),
    (_set("x", dtype="float32", scale=None), "float and hybrid SVDF are not supported"),
    (_set("wf", dtype="float32", scale=None, data=np.zeros((5, 12))), "weights_feature .* must be int8"),
    (_set("st", scale=None), "is not quantized"),
    (_set("x", scale=None), "is not quantized"),
    (_set("wt", zero_point=3), "zero point 3"),
    (_set("x", shape=[1, 3, 4]), "must be 2-D"),
    (lambda f, v, o: (v, _options(2, 0)), "rank 2 must be positive and divide the 5 filters"),
    (lambda f, v, o: (v, _options(0, 0)), "rank 0"),
    (lambda f, v, o: (v, None), "SVDFOptions|no options table"),
]


@pytest.mark.parametrize("edit, message", REFUSALS)
def test_refusals(edit, message):
    import re

    text = _refusal(edit)
    assert re.search(message, text), text
    assert "SVDF" in text


def test_refuses_a_missing_bias_and_a_shared_state():
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    x, y = add_svdf(net, 0, Svdf(), np.random.default_rng(0))
    net.sg.operators[0].inputs[3] = -1
    with pytest.raises(UnsupportedError, match="bias .* is missing"):
        lower(read_model(net.io([x], [y]).bytes()))
    net = Net()
    rng = np.random.default_rng(0)
    x0, y0 = add_svdf(net, 0, Svdf(), rng)
    x1, y1 = add_svdf(net, 1, Svdf(), rng)
    net.sg.operators[1].inputs[4] = net.sg.operators[0].inputs[4]  # two SVDFs on one state
    with pytest.raises(UnsupportedError, match="also read by operator"):
        lower(read_model(net.io([x0, x1], [y0, y1]).bytes()))
    net = Net()
    x, y = add_svdf(net, 0, Svdf(), np.random.default_rng(0))
    state = net.sg.operators[0].inputs[4]
    relu_in = net.add_tensor("r", [1, 20], scale=net.sg.tensors[state].quantization.scale[0],
                             zero_point=net.sg.tensors[state].quantization.zeroPoint[0])
    net.add_op("RELU", [relu_in], [state])  # another op writes the state
    net.sg.operators.insert(0, net.sg.operators.pop())
    with pytest.raises(UnsupportedError, match="written by operator"):
        lower(read_model(net.io([x, relu_in], [y]).bytes()))


def test_refuses_a_state_that_is_a_graph_input_or_constant():
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    x, y = add_svdf(net, 0, Svdf(), np.random.default_rng(0))
    state = net.sg.operators[0].inputs[4]
    with pytest.raises(UnsupportedError, match="graph input or output"):
        lower(read_model(net.io([x, state], [y]).bytes()))
    net = Net()
    x, y = add_svdf(net, 0, Svdf(), np.random.default_rng(0), _set("st", data=np.zeros((1, 20))))
    with pytest.raises(UnsupportedError, match="must be a variable tensor"):
        lower(read_model(net.io([x], [y]).bytes()))


def test_a_stateful_model_is_not_a_precision_level(tmp_path):
    from tinyq.emit.emitter import LevelCode, render_levels
    from tinyq.errors import UnsupportedError
    from tinyq.planner import plan_memory
    from tinyq.sim.run import as_program

    program = as_program(grid_model(GRID[:1]))
    level = LevelCode(program, plan_memory(program), [None] * len(program.calls), "a.tflite")
    with pytest.raises(UnsupportedError, match="stateful model"):
        render_levels([level, level])


def test_cli_simulate_state_option(tmp_path, capsys):
    """`tinyq simulate --state keep|reset` runs the batch as the simulator does; another value is refused."""
    from tinyq.cli import main
    from tinyq.sim.run import as_program, run_program

    model = tmp_path / "svdf.tflite"
    model.write_bytes(grid_model(GRID[:1]))
    x = grid_inputs(GRID[:1], 5, 3)[0]
    np.save(tmp_path / "x.npy", x.reshape(5, -1))
    program = as_program(model)
    for state in ("keep", "reset"):
        assert main(["simulate", str(model), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / f"{state}.npy"),
                     "--state", state]) == 0
        want = run_program(program, [x], state=state)[program.outputs[0]]
        assert np.array_equal(np.load(tmp_path / f"{state}.npy"), want.reshape(5, -1))
    assert not np.array_equal(np.load(tmp_path / "keep.npy"), np.load(tmp_path / "reset.npy"))
    capsys.readouterr()
    assert main(["simulate", str(model), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"),
                 "--state", "zero"]) == 2
    assert "invalid choice: 'zero'" in capsys.readouterr().err
