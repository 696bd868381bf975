"""MEAN and REDUCE_MAX: TFLM == simulator == host C.

MEAN, on every case where TFLM's integer kernels once took different paths.

The current runtime requantizes every int8/int16 MEAN (tinyq/lower/reduce.py). Pinned here: Keras
GlobalAveragePooling (axes [1, 2], keep_dims false/true: formerly a special 4-D kernel), equal input and output
quantization (formerly a truncating path; made by patching the output's quantization in the flatbuffer), single,
negative, repeated, non-adjacent and 3-axis sets (formerly limited to 2), 5-D inputs, int16 sums that wrap,
a fold of 1/count limited by the shift; int8 and int16.

REDUCE_MAX (int8 only, as TFLM): a grid of axis sets and keep_dims over ranks 2-5 in one converter-made model,
Keras GlobalMaxPooling1D/2D, and the models TFLM refuses (unequal quantization, int16, bad axes), refused here too.
"""
import re
from functools import cache

import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, convert_keras, edit_model, with_quant
from tinyq.errors import UnsupportedError
from tinyq.lower.reduce import _fold_count, merge_axes


def same_quant(tflite_bytes: bytes) -> bytes:
    """Give the (single) MEAN's output the input's quantization (once a separate, truncating path in TFLM)."""
    from tinyq.tflite_reader import read_model

    g = read_model(tflite_bytes)
    (op,) = [op for op in g.ops if op.opcode == "MEAN"]
    inp = g.tensors[op.inputs[0]]
    return with_quant(tflite_bytes, op.outputs[0], inp.scale, inp.zero_point)


def mean_fn(axes, keepdims):
    def fn(x):
        import tensorflow as tf

        return tf.reduce_mean(x, axis=axes, keepdims=keepdims)

    return fn


# (input shape without batch, axes, keep_dims, int16, lo, hi)
FUNCTION_CASES = [
    ((5, 6, 4), [1, 2], False, False, -1, 1),  # = GlobalAveragePooling2D
    ((5, 6, 4), [1, 2], True, False, 0, 3),  # keep_dims [1, 2]: the former special case, no longer special in TFLM
    ((5, 6, 4), [2, 1], True, True, -1, 1),
    ((5, 6, 4), [1], False, False, -2, 1),
    ((5, 6, 4), [3], True, False, -1, 1),
    ((5, 6, 4), [-1], False, True, -1, 2),  # negative axis
    ((5, 6, 4), [2], False, True, -1, 1),
    ((5, 6, 4), [1, 3], False, False, -1, 1),  # non-adjacent axes
    ((5, 6, 4), [1, 3], True, True, -1, 1),
    ((5, 6, 4), [0, 1], True, False, -1, 1),  # batch axis
    ((5, 6, 4), [1, 2, 3], False, False, -3, 1),  # every non-batch axis: one output per image
    ((5, 6, 4), [1, 2, 3], True, True, -1, 1),
    ((3, 4, 5, 2), [0, 2, 4], False, False, -1, 1),  # 5-D, three separated groups
    ((3, 4, 5, 2), [1, 3], True, True, -1, 1),
    ((7, 9), [1], False, False, -1, 1),  # 3-D
    ((7, 9), [1, -2], False, False, -1, 1),  # the same axis twice (TFLM drops duplicates)
    ((64, 48, 3), [1, 2], False, False, -1, 1),  # count 3072: a small folded multiplier
]


@pytest.mark.slow
@pytest.mark.parametrize("case", FUNCTION_CASES, ids=[str(c) for c in FUNCTION_CASES])
def test_mean_function(case):
    shape, axes, keepdims, int16, lo, hi = case
    tfl = convert_function(mean_fn(axes, keepdims), [shape], seed=len(str(case)), int16=int16, lo=lo, hi=hi)
    check_model(tfl, n=20, seed=5, expect_ops=["MEAN"])


# Keras layers that convert to MEAN: (layer, input shape, int16)
KERAS_CASES = [
    ("gap2d", (7, 5, 16), False),
    ("gap2d", (7, 5, 16), True),
    ("gap2d_keepdims", (4, 4, 8), False),
    ("gap2d_keepdims", (4, 4, 8), True),
    ("gap1d", (12, 6), False),
    ("gap1d", (12, 6), True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", KERAS_CASES, ids=[str(c) for c in KERAS_CASES])
def test_mean_keras(case):
    import keras

    layer, shape, int16 = case
    make = {
        "gap2d": lambda: keras.layers.GlobalAveragePooling2D(),
        "gap2d_keepdims": lambda: keras.layers.GlobalAveragePooling2D(keepdims=True),
        "gap1d": lambda: keras.layers.GlobalAveragePooling1D(),
    }[layer]
    def build():
        return keras.Sequential([keras.Input(shape), make()])

    tfl = convert_keras(build, seed=len(str(case)), int16=int16, lo=-2, hi=2)
    check_model(tfl, n=20, seed=6, expect_ops=["MEAN"])


# Same input and output quantization: older TFLM truncated the raw mean; the current one requantizes as usual
SAME_QUANT_CASES = [
    ((5, 6, 4), [1, 2], False, False, -1, 1),
    ((5, 6, 4), [1, 2], True, False, 0, 1),  # zero point -128: large negative sums
    ((5, 6, 4), [1, 3], False, True, -1, 1),
    ((3, 4, 5, 2), [0, 2, 4], True, False, -1, 1),
    ((7, 9), [1], False, True, -1, 1),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", SAME_QUANT_CASES, ids=[str(c) for c in SAME_QUANT_CASES])
def test_mean_same_quantization(case):
    shape, axes, keepdims, int16, lo, hi = case
    tfl = same_quant(convert_function(mean_fn(axes, keepdims), [shape], seed=len(str(case)), int16=int16, lo=lo, hi=hi))
    check_model(tfl, n=20, seed=7, expect_ops=["MEAN"])


@pytest.mark.slow
def test_mean_multiplier_fold_limited_by_shift():
    """An output scale 2^28 x the input's: shift -27, so folding 1/64 is limited to 31 + shift = 4 bits."""
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    tfl = convert_function(mean_fn([1, 2], False), [(8, 8, 3)], seed=3)
    g = read_model(tfl)
    out = g.tensors[g.ops[0].outputs[0]]
    tfl = with_quant(tfl, out.index, g.tensors[g.ops[0].inputs[0]].scale * 2.0**28, 3)
    (call,) = as_program(tfl).calls
    assert call.count == 64 and call.shift == -31 and call.multiplier == 1 << 28
    check_model(tfl, n=10, seed=8, expect_ops=["MEAN"])


@pytest.mark.slow
@pytest.mark.parametrize("same", [False, True], ids=["calibrated", "same_quant"])
def test_mean_s16_sum_wraps_like_tflm(same):
    """65,792 int16 values near full scale: the int32 sum wraps in TFLM, and must wrap identically here."""
    tfl = convert_function(mean_fn([1, 2], False), [(256, 257, 1)], seed=4, int16=True)
    if same:
        tfl = same_quant(tfl)
    x = np.stack([np.full((1, 256, 257, 1), v, np.int16) for v in (32767, -32768, 30000, -1)])
    check_model(tfl, inputs=[x])


def test_merge_axes():
    assert merge_axes((1, 5, 6, 4), {1, 2}) == (1, 30, 4, 1, 1, 1, 1)
    assert merge_axes((1, 5, 6, 4), {0, 1}) == (1, 5, 24, 1, 1, 1, 1)  # size-1 dims vanish
    assert merge_axes((2, 3, 4, 5), {0}) == (1, 2, 60, 1, 1, 1, 1)  # leading reduced group
    assert merge_axes((2, 3, 4, 5, 6, 7), {0, 2, 4}) == (1, 2, 3, 4, 5, 6, 7)
    assert merge_axes((2, 3, 4, 5, 6, 7), {1, 3, 5}) == (2, 3, 4, 5, 6, 7, 1)
    assert merge_axes((2, 3, 4, 5, 6, 7, 8), {1, 3, 5}) == (2, 3, 4, 5, 6, 7, 8)
    assert merge_axes((2, 3, 4, 5, 6, 7, 8), {0, 2, 4, 6}) is None


def test_fold_count():
    # floor(log2 30) = 4 bits kept: (m << 4) // 30, shift - 4
    assert _fold_count(1 << 30, 1, 30) == ((1 << 34) // 30, -3)
    assert _fold_count(1 << 30, -29, 64) == ((1 << 32) // 64, -31)  # limited to 31 + shift = 2 bits
    assert _fold_count(1 << 30, 0, 1) == (1 << 30, 0)


@pytest.mark.slow
def test_mean_refuses_rank_7():
    import tensorflow as tf

    tfl = convert_function(lambda x: tf.reduce_mean(tf.reshape(x, (1, 2, 1, 2, 1, 2, 3)), axis=[1, 3]), [(24,)], seed=1)
    from tinyq.sim.run import as_program

    with pytest.raises(UnsupportedError, match=r"MEAN .*input rank 7 exceeds 6"):
        as_program(tfl)


# ---------------------------------------------------------------- REDUCE_MAX

# (input, axes, keep_dims) over inputs of rank 2, 3, 4 and 5 (batch 1 included); one model, one output per case
MAX_SHAPES = [(9,), (7, 9), (5, 6, 4), (3, 4, 5, 2)]
MAX_CASES = [
    (0, [1], False), (0, [1], True), (0, [0, 1], False),  # rank 2; every axis: a scalar output
    (1, [1], False), (1, [2], True), (1, [-1], False), (1, [1, -2], False),  # negative; the same axis twice
    (2, [1, 2], False), (2, [1, 2], True), (2, [3], True), (2, [1, 3], False), (2, [0, 1], True),
    (2, [1, 2, 3], False), (2, [2, 1], True),  # = GlobalMaxPooling2D; non-adjacent; batch axis; three axes
    (3, [0, 2, 4], False), (3, [1, 3], True), (3, [4, 2, 0, 1], False),  # rank 5: separated groups, four axes
]


def max_grid_fn(*xs):
    import tensorflow as tf

    return [tf.reduce_max(xs[i], axis=axes, keepdims=keepdims) for i, axes, keepdims in MAX_CASES]


@cache
def max_model(int16: bool = False) -> bytes:
    """One REDUCE_MAX (axes [1, 2] of a [1, 5, 6, 4] input, keep_dims false): the base of the refusal edits."""
    import tensorflow as tf

    return convert_function(lambda x: tf.reduce_max(x, axis=[1, 2]), [(5, 6, 4)], seed=2, int16=int16)


def max_grid_model() -> bytes:
    return convert_function(max_grid_fn, MAX_SHAPES, seed=3, lo=-2, hi=1)


def max_keras_model() -> bytes:
    """GlobalMaxPooling2D and GlobalMaxPooling1D, keepdims false and true: REDUCE_MAX over the spatial axes."""
    import keras

    def build():
        image, signal = keras.Input((7, 5, 16)), keras.Input((12, 6))
        layers = keras.layers
        outputs = [layers.GlobalMaxPooling2D()(image), layers.GlobalMaxPooling2D(keepdims=True)(image),
                   layers.GlobalMaxPooling1D()(signal), layers.GlobalMaxPooling1D(keepdims=True)(signal)]
        return keras.Model([image, signal], outputs)

    return convert_keras(build, seed=4, lo=-1, hi=2)


@pytest.mark.slow
def test_reduce_max_grid():
    kernels = ["tq_reduce_max_s8"] * len(MAX_CASES)
    check_model(max_grid_model(), n=20, seed=9, expect_ops=["REDUCE_MAX"], kernels=kernels)


@pytest.mark.slow
def test_reduce_max_keras():
    check_model(max_keras_model(), n=20, seed=10, expect_ops=["REDUCE_MAX"], kernels=["tq_reduce_max_s8"] * 4)


def _edit_op_tensor(tfl: bytes, which: int, edit) -> bytes:
    """edit(tensor, model) on the REDUCE_MAX's input `which` (0, 1) or output (-1), via the object API."""
    def apply(model, schema):
        op = model.subgraphs[0].operators[0]
        edit(model.subgraphs[0].tensors[op.outputs[0] if which < 0 else op.inputs[which]], model, schema)
    return edit_model(tfl, apply)


def _axes_buffer(values):
    def edit(t, model, schema):
        model.buffers[t.buffer].data = np.asarray(values, np.int32).view(np.uint8).tolist()
        t.shape = [len(values)]
    return edit


def _tflm_refuses(tfl: bytes, dtype=np.int8) -> None:
    from tinyq.oracle import TflmReference

    with pytest.raises(Exception, match="Interpreter invocation failed"):
        TflmReference(tfl).run([np.zeros((1, 1, 5, 6, 4), dtype)], 1)


def _tinyq_error(tfl: bytes) -> str:
    from tinyq.sim.run import as_program

    with pytest.raises(UnsupportedError) as info:
        as_program(tfl)
    return str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("what", ["scale", "zero_point"])
def test_reduce_max_refuses_unequal_quantization(what):
    from tinyq.tflite_reader import read_model

    tfl = max_model()
    g = read_model(tfl)
    inp, out = g.tensors[g.ops[0].inputs[0]], g.ops[0].outputs[0]
    scale, zp = (inp.scale * (1 + 2**-20), inp.zero_point) if what == "scale" else (inp.scale, inp.zero_point + 1)
    tfl = with_quant(tfl, out, scale, zp)
    _tflm_refuses(tfl)
    assert "REDUCE_MAX" in (err := _tinyq_error(tfl)) and "TFLM requires them equal" in err


@pytest.mark.slow
def test_reduce_max_refuses_int16():
    tfl = max_model(int16=True)
    _tflm_refuses(tfl, np.int16)  # "Only float32 and int8 types are supported."
    assert "int16; TFLM's REDUCE_MAX supports int8 only" in _tinyq_error(tfl)


def _retype(dtype):
    def edit(t, model, schema):
        t.type = getattr(schema.TensorType, dtype)
    return edit


def _reshape(shape):
    def edit(t, model, schema):
        t.shape = list(shape)
    return edit


def _int64_axes(t, model, schema):
    t.type = schema.TensorType.INT64
    model.buffers[t.buffer].data = np.asarray([1, 2], np.int64).view(np.uint8).tolist()


def _axes_not_constant(t, model, schema):  # a graph input instead
    model.buffers[t.buffer].data = None
    model.subgraphs[0].inputs = [*model.subgraphs[0].inputs, model.subgraphs[0].tensors.index(t)]


HOSTILE = {
    "axis out of range": (1, _axes_buffer([1, 4]), r"axis 4 is out of range for a rank-4 input", True),
    "negative axis out of range": (1, _axes_buffer([-5]), r"axis -5 is out of range for a rank-4 input", True),
    "int64 axes": (1, _int64_axes, r"has dtype int64; supported: int32", False),
    "axes not constant": (1, _axes_not_constant, r"axes \(input 1\) must be a constant tensor", False),
    "output too large": (-1, _reshape([1, 5]), r"output shape \[1, 5\] does not match input \[1, 5, 6, 4\]", False),
    "output too small": (-1, _reshape([1, 2]), r"output shape \[1, 2\] does not match", False),
    "int16 output": (-1, _retype("INT16"), r"has dtype int16; supported: int8", False),
    "float input": (0, _retype("FLOAT32"), r"has dtype float32; supported: int8$", False),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_reduce_max_refuses(case):
    which, edit, message, tflm_refuses = HOSTILE[case]
    tfl = _edit_op_tensor(max_model(), which, edit)
    if tflm_refuses:
        _tflm_refuses(tfl)
    err = _tinyq_error(tfl)
    assert "REDUCE_MAX" in err and re.search(message, err), err


@pytest.mark.slow
@pytest.mark.parametrize("inputs, message", [(lambda i: i[:1], "has 1 inputs; REDUCE_MAX takes 2"),
                                             (lambda i: [*i, i[1]], "has 3 inputs; REDUCE_MAX takes 2"),
                                             (lambda i: [i[0], -1], r"axes \(input 1\) must be a constant tensor")],
                         ids=["axes missing", "extra input", "axes absent (-1)"])
def test_reduce_max_refuses_input_count(inputs, message):
    def edit(model, schema):
        op = model.subgraphs[0].operators[0]
        op.inputs = inputs(list(op.inputs))

    assert re.search(message, _tinyq_error(edit_model(max_model(), edit)))


@pytest.mark.slow
@pytest.mark.parametrize("shape", [[4], [2, 2], [1, 1, 4]], ids=str)
def test_reduce_max_output_shape_of_the_same_size(shape):
    """TFLM takes any output shape of the kept elements' count (it writes at the kept-index offsets): so do we."""
    check_model(_edit_op_tensor(max_model(), -1, _reshape(shape)), n=10, seed=11, expect_ops=["REDUCE_MAX"])
