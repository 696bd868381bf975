"""RELU, RELU6, LEAKY_RELU, HARD_SWISH: TFLM == simulator == host C, exactly.

Converter-made one-op models (int8 and 16x8, integer or float32 I/O) over a grid of ranges and shapes,
plus hand-built flatbuffers for the parameter corners the converter rarely produces (left shifts,
saturating RELU6 bounds, negative alpha, HARD_SWISH shifts beyond 15 bits).
"""
from __future__ import annotations

import pytest

from tests.ops.oplib import OpSpec, check_model, convert_function, ops_model


def _hard_swish(x):
    import tensorflow as tf

    return x * tf.nn.relu6(x + 3.0) / 6.0


def _fn(kind: str, alpha: float):
    import tensorflow as tf

    return {
        "RELU": tf.nn.relu,
        "RELU6": tf.nn.relu6,
        "LEAKY_RELU": lambda x: tf.nn.leaky_relu(x, alpha),
        "HARD_SWISH": _hard_swish,
    }[kind]


CASES = [
    # (op, alpha, int16, lo, hi, shape, float_io)
    ("RELU", 0, False, -1.0, 1.0, (16,), False),
    ("RELU", 0, False, -4.0, 8.0, (4, 5), True),
    ("RELU", 0, False, 0.5, 3.0, (2, 3, 4), False),
    ("RELU", 0, True, -1.0, 1.0, (16,), False),
    ("RELU", 0, True, -20.0, 3.0, (3, 7), True),
    ("RELU6", 0, False, -1.0, 1.0, (16,), False),
    ("RELU6", 0, False, -4.0, 8.0, (4, 5), True),
    ("RELU6", 0, False, -10.0, 30.0, (2, 3, 4), False),
    ("RELU6", 0, True, -4.0, 8.0, (4, 5), False),
    ("RELU6", 0, True, -2.0, 2.0, (9,), True),
    ("LEAKY_RELU", 0.2, False, -1.0, 1.0, (16,), False),
    ("LEAKY_RELU", 0.01, False, -8.0, 2.0, (4, 5), True),
    ("LEAKY_RELU", 0.3, False, -4.0, 8.0, (2, 3, 4), False),
    ("LEAKY_RELU", 1.5, False, -2.0, 2.0, (10,), False),
    ("LEAKY_RELU", -0.7, False, -3.0, 3.0, (10,), False),
    ("LEAKY_RELU", 0.2, True, -1.0, 1.0, (16,), False),
    ("LEAKY_RELU", 0.05, True, -30.0, 10.0, (4, 5), True),
    ("LEAKY_RELU", -0.4, True, -3.0, 3.0, (10,), False),
    ("HARD_SWISH", 0, False, -4.0, 8.0, (4, 5), False),
    ("HARD_SWISH", 0, False, -1.0, 1.0, (16,), True),
    ("HARD_SWISH", 0, False, -6.0, 6.0, (2, 3, 4), False),
    ("HARD_SWISH", 0, False, -40.0, 60.0, (8,), False),
    ("HARD_SWISH", 0, False, -0.05, 0.1, (8,), True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[
    f"{c[0]}-a{c[1]}-{'s16' if c[2] else 's8'}-{c[3]}_{c[4]}-{'f32io' if c[6] else 'int'}" for c in CASES])
def test_converted(case):
    op, alpha, int16, lo, hi, shape, float_io = case
    tfl = convert_function(_fn(op, alpha), [shape], seed=len(str(case)), int16=int16, lo=lo, hi=hi, float_io=float_io)
    expect = [op, "QUANTIZE", "DEQUANTIZE"] if float_io else [op]
    check_model(tfl, n=20, seed=3, expect_ops=expect)


def _leaky(alpha: float):
    from tensorflow.lite.python import schema_py_generated as schema

    o = schema.LeakyReluOptionsT()
    o.alpha = alpha
    return o


HAND_CASES = [
    # (op, input spec, output spec, options)
    ("RELU", ("int8", 0.02, -5), ("int8", 0.01, -128), None),  # ratio 2: left shift
    ("RELU", ("int8", 0.1, 10), ("int8", 0.1, 10), None),  # identity scale
    ("RELU", ("int8", 0.5, 0), ("int8", 0.001, -100), None),  # ratio 500: saturates
    ("RELU", ("int16", 0.001, 0), ("int16", 0.0005, 0), None),
    ("RELU6", ("int8", 0.01, 3), ("int8", 0.05, -128), None),  # six = 603 -> clamps to 127
    ("RELU6", ("int8", 0.1, 120), ("int8", 0.1, 120), None),
    ("RELU6", ("int16", 1e-4, 0), ("int16", 2e-4, 0), None),  # six = 60000 -> 32767
    ("LEAKY_RELU", ("int8", 0.05, 10), ("int8", 0.03, -20), _leaky(-0.5)),
    ("LEAKY_RELU", ("int8", 0.05, -128), ("int8", 0.02, 0), _leaky(1.7)),
    ("LEAKY_RELU", ("int8", 0.05, 0), ("int8", 0.05, 0), _leaky(0.0)),
    ("LEAKY_RELU", ("int16", 3e-4, 0), ("int16", 1e-4, 0), _leaky(0.1)),
    ("LEAKY_RELU", ("int16", 2e-4, 0), ("int16", 2e-4, 0), _leaky(-1.25)),
    ("HARD_SWISH", ("int8", 0.001, 5), ("int8", 0.0005, -100), None),  # reluish right shift 3
    ("HARD_SWISH", ("int8", 1e-6, 0), ("int8", 1e-6, 0), None),  # reluish right shift 13
    ("HARD_SWISH", ("int8", 2.0, -3), ("int8", 1.5, 17), None),  # reluish left shift 8
    ("HARD_SWISH", ("int8", 0.01, 0), ("int8", 10.0, 0), None),  # output right shift 16: the int16 mask wraps
    ("HARD_SWISH", ("int8", 1.0, -60), ("int8", 0.01, 120), None),  # output shift 0
]


@pytest.mark.slow
@pytest.mark.parametrize("op,inp,out,options", HAND_CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in HAND_CASES])
def test_hand_built(op, inp, out, options):
    tfl = ops_model([OpSpec(op, (5, 60), *inp, *out, options=options)])
    check_model(tfl, n=20, seed=9, expect_ops=[op])


@pytest.mark.slow
def test_hard_swish_shift_corners_are_reached():
    """The hand-built HARD_SWISH cases really hit the shift corners they are named after."""
    from tinyq.sim.run import as_program

    shifts = {}
    for op, inp, out, options in HAND_CASES:
        if op == "HARD_SWISH":
            (call,) = as_program(ops_model([OpSpec(op, (4,), *inp, *out, options=options)])).calls
            shifts[(inp[1], out[1])] = (call.reluish_shift, call.output_shift)
    assert shifts[(0.001, 0.0005)][0] == -3 and shifts[(1e-6, 1e-6)][0] == -13
    assert shifts[(2.0, 1.5)][0] == 8 and shifts[(0.01, 10.0)][1] == -16 and shifts[(1.0, 0.01)][1] == 0


@pytest.mark.slow
@pytest.mark.parametrize("op,inp,out,why", [
    ("HARD_SWISH", ("int16", 1e-4, 0), ("int16", 1e-4, 0), "int16"),
    ("HARD_SWISH", ("int8", 1.0, 0), ("int8", 0.001, 0), "left shift"),
    ("RELU", ("int16", 1e-3, 3), ("int16", 1e-3, 0), "zero points 0"),
    ("RELU", ("int8", 0.1, 0), ("int16", 0.1, 0), "int16"),
])
def test_refused(op, inp, out, why):
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    g = read_model(ops_model([OpSpec(op, (4,), *inp, *out)]))
    err = support_error(g, g.ops[0])
    assert err is not None and op in err and why in err, err
