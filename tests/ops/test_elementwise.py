"""ADD, SUB, MUL, MAXIMUM, MINIMUM: TFLM == simulator (== host C) over shapes, broadcast patterns,
constant operands, fused activations, quantization ranges and int8/int16; the broadcast loop nest
against NumPy broadcasting; the ADDs of the real models."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, edit_model
from tinyq.ir import Graph, Op, QuantParams, Tensor
from tinyq.lower import support_error
from tinyq.lower.elementwise import MAX_RANK, broadcast_loops
from tinyq.sim.kernels.elementwise import _loop_offsets

# ---------------------------------------------------------------- loop nest (fast, no TensorFlow)


def _numpy_offsets(shape, out_shape):
    """Flat input offset of every output element, by NumPy broadcasting."""
    return np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), out_shape).reshape(-1)


def test_broadcast_loops_match_numpy():
    rng = np.random.default_rng(7)
    for _ in range(500):
        full = tuple(int(d) for d in rng.integers(1, 4, size=rng.integers(1, MAX_RANK + 1)))
        shapes = []
        for _k in range(2):
            keep = rng.integers(0, len(full) + 1)  # right-aligned, possibly lower rank
            shapes.append(tuple(d if rng.random() < 0.6 else 1 for d in full[len(full) - keep:]))
        out = np.broadcast_shapes(*shapes)
        extents, stride1, stride2 = broadcast_loops(*shapes, out)
        assert int(np.prod(extents)) == int(np.prod(out))
        assert stride1[-1] in (0, 1) and stride2[-1] in (0, 1) and (stride1[-1] or stride2[-1])
        for shape, strides in zip(shapes, (stride1, stride2)):
            np.testing.assert_array_equal(_loop_offsets(extents, strides), _numpy_offsets(shape, out), err_msg=f"{shapes} -> {out}")


@pytest.mark.parametrize(
    "shape1, shape2, out, loops",
    [
        ((1, 8, 8, 16), (1, 8, 8, 16), (1, 8, 8, 16), ((1024,), (1,), (1,))),  # equal shapes: one flat loop
        ((1, 5, 5, 8), (8,), (1, 5, 5, 8), ((25, 8), (8, 1), (0, 1))),  # per-channel operand
        ((1, 6, 7), (1,), (1, 6, 7), ((42,), (1,), (0,))),  # scalar operand
        ((), (), (), ((1,), (1,), (1,))),  # one element: never both inner strides 0
        ((3, 1, 5), (1, 4, 1), (3, 4, 5), ((3, 4, 5), (5, 0, 1), (0, 1, 0))),
    ],
)
def test_broadcast_loops_merge(shape1, shape2, out, loops):
    assert broadcast_loops(shape1, shape2, out) == loops


def test_broadcast_loops_reject():
    assert "do not broadcast" in broadcast_loops((3, 4), (2, 4), (3, 4))
    assert "do not broadcast" in broadcast_loops((3, 4), (3, 4), (6, 4))
    assert "do not broadcast" in broadcast_loops((3, 1), (1, 4), (3, 5))


def _tensor(index, shape, dtype="int8", zero_point=0, data=None):
    quant = QuantParams((0.05,), (zero_point,))
    arr = None if data is None else np.full(shape, data, dtype=dtype)
    return Tensor(index, f"t{index}", tuple(shape), dtype, quant, arr)


def _graph(opcode, t1, t2, out):
    op = Op(0, opcode, 1, (0, 1), (2,), MappingProxyType({"fused_activation_function": 0}))
    return Graph((t1, t2, out), (op,), tuple(t.index for t in (t1, t2) if t.data is None), (2,)), op


@pytest.mark.parametrize(
    "opcode, tensors, message",
    [
        ("ADD", (_tensor(0, (4,), data=1), _tensor(1, (4,), data=2), _tensor(2, (4,))), "both inputs are constant"),
        ("ADD", (_tensor(0, (4,)), _tensor(1, (4,), "int16"), _tensor(2, (4,))), "share one dtype"),
        ("MUL", (_tensor(0, (4,), "int16", 3), _tensor(1, (4,), "int16"), _tensor(2, (4,), "int16")), "zero points 0"),
        ("SUB", (_tensor(0, (3, 4)), _tensor(1, (2, 4)), _tensor(2, (3, 4))), "do not broadcast"),
        ("MAXIMUM", (_tensor(0, (4,), "int32"), _tensor(1, (4,), "int32"), _tensor(2, (4,), "int32")), "dtype int32"),
        (
            "ADD",
            (_tensor(0, (2, 1, 2, 1, 2, 1, 2)), _tensor(1, (1, 2, 1, 2, 1, 2, 1)), _tensor(2, (2,) * 7)),
            "at most 6",
        ),
    ],
)
def test_unsupported(opcode, tensors, message):
    graph, op = _graph(opcode, *tensors)
    reason = support_error(graph, op)
    assert reason is not None and message in reason and f"op #0 {opcode}" in reason


# ---------------------------------------------------------------- one-op models vs TFLM


@dataclass(frozen=True)
class Case:
    op: str  # add | sub | mul | maximum | minimum
    shape1: tuple  # without the batch axis (the converter adds batch 1)
    shape2: tuple | None  # None: input 1 again (both operands are the same tensor)
    ranges: tuple = ((-1.0, 1.0), (-1.0, 1.0))  # calibration range of each operand (or of the constant's values)
    act: str = ""  # "", relu, relu6, relu_n1_to_1 (fused by the converter)
    int16: bool = False
    const: int = 0  # 1 or 2: that operand is a constant of its shape (no batch axis), not an input

    def __str__(self):
        c = f"-const{self.const}" if self.const else ""
        shape2 = "self" if self.shape2 is None else list(self.shape2)
        return f"{self.op}{'-s16' if self.int16 else ''}-{list(self.shape1)}x{shape2}{c}-{self.act or 'none'}-{self.ranges}"


WIDE = ((-1.0, 1.0), (-8.0, 8.0))  # input 2's scale 8x input 1's: input 1 rescales with shift < -1
SKEW = ((0.0, 4.0), (-0.5, 0.25))  # far-from-symmetric zero points
CASES = [
    # ADD
    Case("add", (8, 8, 3), (8, 8, 3)),
    Case("add", (8, 8, 3), (8, 8, 3), WIDE, "relu"),
    Case("add", (5, 5, 8), (8,), SKEW),
    Case("add", (8,), (5, 5, 8), WIDE),  # input 1 repeats along the row
    Case("add", (3, 1, 5), (1, 4, 1), SKEW, "relu6"),
    Case("add", (2, 3, 1, 4), (1, 3, 5, 1), WIDE),  # rank 5 with the batch axis
    Case("add", (2, 1, 3, 1, 2), (1, 2, 1, 3, 1)),  # rank 6
    Case("add", (6, 7), (), WIDE, "relu_n1_to_1"),
    Case("add", (4, 8), (8,), WIDE, const=2),
    Case("add", (8, 8, 3), (8, 8, 3), WIDE, "relu", int16=True),
    Case("add", (5, 5, 8), (8,), SKEW, int16=True),
    Case("add", (2, 3, 1, 4), (1, 3, 5, 1), WIDE, int16=True),
    Case("add", (4, 8), (8,), WIDE, const=2, int16=True),
    # SUB
    Case("sub", (8, 8, 3), (8, 8, 3), WIDE),
    Case("sub", (5, 5, 8), (1, 5, 1), SKEW, "relu"),
    Case("sub", (), (4, 8), ((0.5, 0.5), (-1.0, 1.0)), const=1),  # constant first operand
    Case("sub", (4, 8), (8,), SKEW, "relu6", const=2),
    Case("sub", (8, 8, 3), (8, 8, 3), WIDE, int16=True),
    Case("sub", (3, 1, 5), (1, 4, 1), SKEW, "relu", int16=True),
    Case("sub", (), (4, 8), ((0.5, 0.5), (-1.0, 1.0)), const=1, int16=True),
    # MUL
    Case("mul", (8, 8, 3), (8, 8, 3)),
    Case("mul", (8, 8, 3), (8, 8, 3), WIDE, "relu"),
    Case("mul", (5, 5, 8), (8,), SKEW, "relu6"),
    Case("mul", (3, 1, 5), (1, 4, 1), ((-4.0, 4.0), (-4.0, 4.0))),  # product range > 1: output shift > 0 possible
    Case("mul", (4, 8), (8,), ((-1.0, 1.0), (-2.0, 2.0)), const=2),
    Case("mul", (8, 8, 3), (8, 8, 3), WIDE, int16=True),
    Case("mul", (5, 5, 8), (8,), SKEW, "relu", int16=True),
    Case("mul", (4, 8), (8,), ((-1.0, 1.0), (-2.0, 2.0)), const=2, int16=True),
    # MAXIMUM / MINIMUM (the converter gives both inputs the output's quantization)
    Case("maximum", (8, 8, 3), (8, 8, 3)),
    Case("maximum", (5, 5, 8), (8,), SKEW),
    Case("maximum", (4, 8), (), ((-1.0, 1.0), (0.25, 0.25)), const=2),
    # int16 with two inputs of their own, the converter adds QUANTIZE ops (inputs to the output's scale)
    Case("maximum", (4, 8), None, int16=True),
    Case("minimum", (8, 8, 3), (8, 8, 3), SKEW),
    Case("minimum", (2, 3, 1, 4), (1, 3, 5, 1)),
    Case("minimum", (4, 8), (), ((-1.0, 1.0), (0.3, 0.3)), const=2),
    Case("minimum", (4, 8), (8,), ((-1.0, 1.0), (-0.2, 1.0)), const=2, int16=True),
]


def _build(case: Case, seed: int):
    import tensorflow as tf

    binary = {"add": tf.add, "sub": tf.subtract, "mul": tf.multiply, "maximum": tf.maximum, "minimum": tf.minimum}[case.op]
    act = {
        "": lambda t: t,
        "relu": tf.nn.relu,
        "relu6": tf.nn.relu6,
        "relu_n1_to_1": lambda t: tf.clip_by_value(t, -1.0, 1.0),
    }[case.act]
    if case.shape2 is None:
        return (lambda x: act(binary(x, x))), [case.shape1], [case.ranges[0]]
    shapes = [case.shape1, case.shape2]
    ranges = list(case.ranges)
    if not case.const:
        return (lambda x, y: act(binary(x, y))), shapes, ranges
    k = case.const - 1
    lo, hi = ranges[k]
    value = tf.constant(np.random.default_rng(seed).uniform(lo, hi, size=shapes[k]).astype(np.float32))
    del shapes[k], ranges[k]
    if k == 0:
        return (lambda y: act(binary(value, y))), shapes, ranges
    return (lambda x: act(binary(x, value))), shapes, ranges


def convert_case(case: Case) -> bytes:
    seed = len(str(case))
    fn, shapes, ranges = _build(case, seed)
    return convert_function(fn, shapes, seed, int16=case.int16, ranges=ranges)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_elementwise(case):
    from tinyq.sim.run import as_program

    tfl = convert_case(case)
    (call,) = as_program(tfl).calls
    assert call.kernel == f"tq_{case.op}{'_const' if case.const else ''}_{'s16' if case.int16 else 's8'}"
    check_model(tfl, n=20, seed=3, expect_ops=[case.op.upper()])


@pytest.mark.slow
def test_int16_add_ignores_pot_scale_flag():
    """TFLM runs int16 ADD on the general rescaling path whatever pot_scale_int16 says; so does tinyq."""
    tfl = convert_function(lambda x, y: x + y, [(64,), (64,)], seed=1, int16=True, ranges=((-3.0, 3.0), (-1.0, 1.0)))

    def flip(model, schema):
        options = model.subgraphs[0].operators[0].builtinOptions
        assert isinstance(options, schema.AddOptionsT)
        options.potScaleInt16 = not options.potScaleInt16

    check_model(edit_model(tfl, flip), n=20, seed=4, expect_ops=["ADD"])


# ---------------------------------------------------------------- real models


@pytest.mark.slow
def test_simple_add_matches_tflm(shared_models):
    """TFLM's memory_footprint example: one ADD of two int8[1, 128, 128, 1] inputs, 100 seeded inputs."""
    check_model((shared_models / "tflm_simple_add_int8.tflite").read_bytes(), n=100, seed=2024, expect_ops=["ADD"])


@pytest.mark.slow
def test_resnet8_adds_match_tflm(shared_models):
    """MLPerf Tiny IC: every ADD (fused RELU, unequal input scales) lowers, and the simulator kernel fed
    TFLM's own input tensors reproduces TFLM's output tensor exactly."""
    from tinyq.lower import _lower_op
    from tinyq.oracle import TflmReference
    from tinyq.sim.kernels import get_kernel
    from tinyq.tflite_reader import read_model

    path = shared_models / "mlperf_ic_resnet8_int8.tflite"
    graph = read_model(path)
    calls = [call for op in graph.ops if op.opcode == "ADD" for call in _lower_op(graph, op)]
    assert len(calls) == 3
    ref = TflmReference(path, preserve_all_tensors=True)
    shape = graph.tensors[graph.inputs[0]].shape
    for sample in np.random.default_rng(8).integers(-128, 127, size=(5, *shape), endpoint=True, dtype=np.int8):
        ref.run([sample[None]], 1)
        for call in calls:
            want = ref.tensor(call.outputs[0])
            got = get_kernel(call.kernel)(call, *(ref.tensor(i)[None] for i in call.inputs))
            np.testing.assert_array_equal(got.reshape(want.shape), want, err_msg=f"layer {call.layer}")
