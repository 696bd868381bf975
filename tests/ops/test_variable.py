"""Resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE + the CALL_ONCE init subgraph): TFLM ==
simulator == host C, exactly, over consecutive invokes with the state kept and reset before every sample; the
plan; the refusals.

TF 2.21's converter, asked for a full-integer model of a tf.Module that keeps tf.Variables, keeps the variables
float32 (READ_VARIABLE -> QUANTIZE ... DEQUANTIZE -> ASSIGN_VARIABLE): test_converted_module. The int8 and
int16 variables are built by hand in the converter's layout: subgraph 0 = CALL_ONCE + VAR_HANDLE +
READ_VARIABLE + ... + ASSIGN_VARIABLE, subgraph 1 = VAR_HANDLE + ASSIGN_VARIABLE of constants. The grid runs independent variables side by side in one model: running sums (ADD of the input onto the variable)
in int8 and int16, one without an init value (it starts at its zero point), one whose ASSIGN goes through a
second VAR_HANDLE of the same name, one read again after its ASSIGN (the new value), one requantized (QUANTIZE)
before the ASSIGN.

Measured on the tflite-micro runtime (the oracle): its reset() fills every resource variable with its zero
point (cast to int8) and CALL_ONCE does not run again, so with --state reset only the first sample starts
from the init values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.modelkit import Net
from tests.ops.test_svdf import check_stateful

SEED = 20261205


@dataclass(frozen=True)
class Var:
    dtype: str = "int8"
    shape: tuple = (1, 6)
    zero_point: int = -3  # the variable's (int16: 0)
    in_zp: int = 5
    init: bool = True  # the init subgraph assigns it
    second_handle: bool = False  # the ASSIGN goes through another VAR_HANDLE of the same shared_name
    read_after: bool = False  # a second READ after the ASSIGN, as a second output
    requantize: bool = False  # the sum has its own scale; a QUANTIZE brings it to the variable's


GRID = [
    Var(),
    Var(shape=(2, 3, 4), zero_point=20, in_zp=-100, second_handle=True),
    Var(init=False, zero_point=-60, read_after=True),
    Var(dtype="int16", shape=(1, 10), zero_point=0, in_zp=0),
    Var(dtype="int16", shape=(3, 5), zero_point=0, in_zp=0, init=False, read_after=True),
    Var(shape=(1, 7), zero_point=11, requantize=True),
]


def _resource(net: Net, name: str) -> int:
    h = net.add_tensor(name, [], "int32")
    net.sg.tensors[h].type = schema.TensorType.RESOURCE
    return h


def _handle(net: Net, name: str, shared: bytes, container: bytes | None = b"") -> int:
    h = _resource(net, name)
    o = schema.VarHandleOptionsT()
    o.container, o.sharedName = container, shared
    net.add_op("VAR_HANDLE", [], [h], o)
    return h


def _call_once(net: Net, index: int) -> None:
    o = schema.CallOnceOptionsT()
    o.initSubgraphIndex = index
    net.add_op("CALL_ONCE", [], [], o)


def _subgraph(net: Net) -> schema.SubGraphT:
    sg = schema.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs = [], [], [], []
    net.model.subgraphs.append(sg)
    return sg


def grid_model(specs=GRID, seed: int = SEED, edit=None) -> bytes:
    """The grid as one model; edit(net, main, init) may change it before it is packed (the refusal tests)."""
    rng = np.random.default_rng(seed)
    net = Net()
    main = net.sg
    _call_once(net, 1)
    ins, outs, inits = [], [], []
    for k, s in enumerate(specs):
        vq = dict(scale=0.05 if s.dtype == "int8" else 0.001, zero_point=s.zero_point)
        x = net.add_tensor(f"x{k}", s.shape, s.dtype, scale=vq["scale"] / 4, zero_point=s.in_zp)
        shared = f"var{k}".encode()
        h = _handle(net, f"h{k}", shared)
        v = net.add_tensor(f"v{k}", s.shape, s.dtype, **vq)
        net.add_op("READ_VARIABLE", [h], [v])
        if s.requantize:
            y0 = net.add_tensor(f"sum{k}", s.shape, s.dtype, scale=vq["scale"] * 1.37, zero_point=-7)
            net.add_op("ADD", [x, v], [y0], schema.AddOptionsT())
            y = net.add_tensor(f"y{k}", s.shape, s.dtype, **vq)
            net.add_op("QUANTIZE", [y0], [y], schema.QuantizeOptionsT())
        else:
            y = net.add_tensor(f"y{k}", s.shape, s.dtype, **vq)
            net.add_op("ADD", [x, v], [y], schema.AddOptionsT())
        h_assign = _handle(net, f"h{k}b", shared) if s.second_handle else h
        net.add_op("ASSIGN_VARIABLE", [h_assign, y], [])
        ins.append(x)
        outs.append(y)
        if s.read_after:
            v2 = net.add_tensor(f"after{k}", s.shape, s.dtype, **vq)
            net.add_op("READ_VARIABLE", [h], [v2])
            outs.append(v2)
        if s.init:
            hi = 127 if s.dtype == "int8" else 2000
            inits.append((shared, s, vq, rng.integers(-hi, hi + 1, s.shape)))
    net.io(ins, outs)
    init = _subgraph(net)
    net.sg = init
    for j, (shared, s, vq, values) in enumerate(inits):
        h = _handle(net, f"init_h{j}", shared)
        c = net.add_tensor(f"init_value{j}", s.shape, s.dtype, data=values, **vq)
        net.add_op("ASSIGN_VARIABLE", [h, c], [])
    net.sg = main
    if edit is not None:
        edit(net, main, init)
    return net.bytes()


def grid_inputs(specs=GRID, n: int = 8, seed: int = SEED + 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for s in specs:
        hi = 127 if s.dtype == "int8" else 3000
        out.append(rng.integers(-hi, hi + 1, (n, *s.shape)).astype(s.dtype))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_grid_matches_tflm(state):
    outs = check_stateful(grid_model(), grid_inputs(), state)
    for y in outs:  # a test only if the sums move and do not sit on the rails
        assert len(np.unique(y)) > 10 and np.mean((y == y.min()) | (y == y.max())) < 0.5


def converted_module() -> bytes:
    """A tf.Module with two running states (a decaying sum, and a rectified one of another shape), converted to a
    full-integer model with resource variables; their init values are non-zero."""
    from tests.ops.oplib import _finish, _tf

    tf = _tf()

    class Running(tf.Module):
        def __init__(self):
            self.sum = tf.Variable([[0.5, -0.25, 0.75, -1.0, 0.125, 0.3]], trainable=False)
            self.low = tf.Variable(tf.fill([1, 3, 2], 0.4), trainable=False)

        @tf.function(input_signature=[tf.TensorSpec([1, 6], tf.float32)])
        def __call__(self, x):
            s = self.sum * 0.75 + x
            self.sum.assign(s)
            low = tf.nn.relu(self.low * 0.5 - tf.reshape(x, [1, 3, 2]))
            self.low.assign(low)
            return s, tf.reshape(low, [1, 6])

    m = Running()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
    converter.experimental_enable_resource_variables = True
    return _finish(converter, [(6,)], SEED, False, [(-1.0, 1.0)], False, False)


@pytest.mark.slow
@pytest.mark.parametrize("state", ["keep", "reset"])
def test_converted_module(state):
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    model = _converted()
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= {op.opcode for op in read_model(model).ops}
    program = as_program(model)
    assert [program.tensor(i).dtype for i in program.states] == ["float32", "float32"] and len(program.state_inits) == 2
    x = np.random.default_rng(SEED).integers(-128, 128, (10, 1, 6)).astype(np.int8)
    for y in check_stateful(model, [x], state):
        assert len(np.unique(y)) > 10


_CONVERTED: list[bytes] = []


def _converted() -> bytes:
    if not _CONVERTED:
        _CONVERTED.append(converted_module())
    return _CONVERTED[0]


def test_reset_is_tflms():
    """keep and reset differ; under reset the first sample starts from the init values (CALL_ONCE runs at the
    first invoke) and the others from the zero point."""
    from tinyq.sim.run import as_program, run_program

    program = as_program(grid_model())
    xs = grid_inputs(n=4)
    keep, reset = run_program(program, xs), run_program(program, xs, state="reset")
    out = program.outputs[0]
    assert np.array_equal(keep[out][0], reset[out][0]) and not np.array_equal(keep[out][1:], reset[out][1:])
    # a variable without init: every reset sample equals a fresh model's first invoke
    k = [program.tensor(i).name for i in program.outputs].index("y2")
    for s in range(4):
        alone = run_program(program, [x[s:s + 1] for x in xs])
        assert np.array_equal(alone[program.outputs[k]][0], reset[program.outputs[k]][s])


def test_plan_and_c_api(tmp_path):
    from tinyq.compiler import compile_model
    from tinyq.errors import PlanError
    from tinyq.planner import check_states, plan_memory
    from tinyq.sim.run import as_program

    program = as_program(grid_model())
    assert len(program.states) == len(GRID) and len(program.state_inits) == sum(s.init for s in GRID)
    assert {c.opcode for c in program.calls if c.variable_access} == {"READ_VARIABLE", "ASSIGN_VARIABLE"}
    plan = plan_memory(program)
    assert not any(a.tensor in program.states for a in plan.allocations)
    # a state that another kind of call reads is refused
    add = next(c for c in program.calls if c.opcode == "ADD")
    bad = type(program)(program.tensors, tuple(c if c is not add else type(add)(**{**add.__dict__, "inputs": (add.inputs[0], program.states[0])})
                                              for c in program.calls), program.inputs, program.outputs,
                        program.model_sha256, program.states, program.state_inits)
    with pytest.raises(PlanError, match="must be written by exactly one stateful call"):
        check_states(bad, plan)
    compile_model(grid_model(), tmp_path / "p", board="host")
    c = (tmp_path / "p" / "src" / "model.c").read_text()
    assert "static const int8_t model_state_init0[6]" in c and "/* CALL_ONCE */" in c
    assert c.count("memcpy(model_state + ") == len(program.state_inits)
    h = (tmp_path / "p" / "src" / "model.h").read_text()
    assert "void model_restart(void);" in h and "model_state_started = 0;" in c  # restart re-arms the init


# ---------------------------------------------------------------- refusals


def _refusal(edit, specs=GRID[:1]) -> str:
    from tinyq.errors import ModelFormatError, UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    with pytest.raises((UnsupportedError, ModelFormatError)) as info:
        lower(read_model(grid_model(specs, edit=edit)))
    return str(info.value)


def _ops(net, sg, name):
    code = getattr(schema.BuiltinOperator, name)
    return [op for op in sg.operators if net.model.operatorCodes[op.opcodeIndex].builtinCode == code]


def _read_unknown(net, main, init):  # a READ of a variable nothing assigns
    net.sg = main
    h = _handle(net, "ghost_h", b"ghost")
    v = net.add_tensor("ghost", [1, 6], scale=0.05, zero_point=-3)
    net.add_op("READ_VARIABLE", [h], [v])
    main.outputs.append(v)


def _read_not_a_handle(net, main, init):
    _ops(net, main, "READ_VARIABLE")[0].inputs = [main.inputs[0]]


def _collide(dtype, shape):
    def edit(net, main, init):  # another handle of var0 assigns a tensor of another shape or dtype
        net.sg = main
        h = _handle(net, "other_h", b"var0")
        x = net.add_tensor("other_x", shape, dtype, scale=0.05, zero_point=0)
        net.add_op("ASSIGN_VARIABLE", [h, x], [])
        main.inputs.append(x)
    return edit


def _assign_quant(scale, zp):
    def edit(net, main, init):
        y = main.tensors[_ops(net, main, "ASSIGN_VARIABLE")[0].inputs[1]]
        y.quantization.scale, y.quantization.zeroPoint = [scale], [zp]
    return edit


def _assign_shape(net, main, init):
    main.tensors[_ops(net, main, "ASSIGN_VARIABLE")[0].inputs[1]].shape = [1, 5]


def _init_does_more(net, main, init):
    net.sg = init
    a = net.add_tensor("c1", [1, 6], scale=0.05, zero_point=-3, data=np.zeros((1, 6)))
    b = net.add_tensor("c2", [1, 6], scale=0.05, zero_point=-3)
    net.add_op("RELU", [a], [b])


def _init_calls_once(index):
    def edit(net, main, init):
        net.sg = init
        _call_once(net, index)
    return edit


def _call_once_index(index):
    def edit(net, main, init):
        _ops(net, main, "CALL_ONCE")[0].builtinOptions.initSubgraphIndex = index
    return edit


def _extra_subgraph(net, main, init):  # a subgraph no CALL_ONCE runs (a WHILE body, say)
    _subgraph(net)


def _call_once_late(net, main, init):
    main.operators.append(main.operators.pop(0))


def _containers(net, main, init):
    _ops(net, main, "VAR_HANDLE")[0].builtinOptions.container = b"other"


def _no_shared_name(net, main, init):
    _ops(net, main, "VAR_HANDLE")[0].builtinOptions.sharedName = None


def _int16_zero_point(net, main, init):
    for t in main.tensors + init.tensors:
        if t.quantization is not None and t.type == schema.TensorType.INT16:
            t.quantization.zeroPoint = [4]


def _assign_constant(net, main, init):
    net.sg = main
    c = net.add_tensor("const_value", [1, 6], scale=0.05, zero_point=-3, data=np.ones((1, 6)))
    net.add_op("ASSIGN_VARIABLE", [_ops(net, main, "VAR_HANDLE")[0].outputs[0], c], [])


REFUSALS = [
    (_read_unknown, "variable 'ghost' is read, but no ASSIGN_VARIABLE"),
    (_read_not_a_handle, "which no VAR_HANDLE of the model writes"),
    (_collide("int8", [1, 5]), r"int8\[1, 5\].*differs from variable 'var0'"),
    (_collide("int16", [1, 6]), "int16.*differs from variable 'var0'"),
    (_collide("float32", [1, 6]), "float32 .* of variable 'var0' has quantization parameters"),
    (_assign_quant(0.07, -3), r"op #\d+ ASSIGN_VARIABLE.*scale 0.07.*differs from variable 'var0'"),
    (_assign_quant(0.05, 9), "ASSIGN_VARIABLE.*zero point 9.*differs"),
    (_assign_shape, r"ASSIGN_VARIABLE.*\[1, 5\].*differs"),
    (_init_does_more, r"init subgraph 1 operator #2 \(RELU\): an init subgraph may only assign constants"),
    (_init_calls_once(0), r"init subgraph 1 operator #2 \(CALL_ONCE\): an init subgraph may only"),
    (_call_once_index(0), r"calls subgraph 0, the model itself \(recursion\)"),
    (_call_once_index(7), "calls subgraph 7, but there are 2"),
    (_extra_subgraph, "subgraph 2 is no CALL_ONCE's init subgraph"),
    (_call_once_late, r"CALL_ONCE.*runs after operator #\d+ .READ_VARIABLE."),
    (_containers, "named with another container|named with two containers"),
    (_no_shared_name, "VAR_HANDLE has no shared_name"),
    (_assign_constant, "assigns the constant .*only in a CALL_ONCE init subgraph"),
]


@pytest.mark.parametrize("edit, match", REFUSALS, ids=[e.__name__ if hasattr(e, "__name__") else str(k)
                                                       for k, (e, _) in enumerate(REFUSALS)])
def test_refusals(edit, match):
    import re

    msg = _refusal(edit)
    assert re.search(match, msg), msg


def test_int16_variable_needs_zero_point_0():
    msg = _refusal(_int16_zero_point, [GRID[3]])
    assert "int16 variables need zero point 0" in msg, msg


def test_init_assigning_an_activation():
    def edit(net, main, init):
        net.sg = init
        b = net.add_tensor("not_const", [1, 6], scale=0.05, zero_point=-3)
        _ops(net, init, "ASSIGN_VARIABLE")[0].inputs[1] = b
    assert "not a constant" in _refusal(edit)


def test_variables_and_an_svdf_state_together_are_refused():
    from tests.ops.test_svdf import Svdf, add_svdf

    def edit(net, main, init):
        net.sg = main
        x, y = add_svdf(net, 9, Svdf(), np.random.default_rng(0))
        main.inputs.append(x)
        main.outputs.append(y)
    assert "both resource variables and an SVDF or LSTM state" in _refusal(edit)


def test_multi_subgraph_control_flow_keeps_its_message():
    """A model with a second subgraph and no CALL_ONCE (WHILE, IF) is refused as before, naming control flow."""
    from tests.modelkit import relu_chain
    from tinyq.errors import UnsupportedError
    from tinyq.tflite_reader import read_model

    net = relu_chain()
    _subgraph(net)
    with pytest.raises(UnsupportedError, match="control flow such as WHILE and IF is not supported"):
        read_model(net.bytes())
