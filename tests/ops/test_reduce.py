"""MEAN: TFLM == simulator (== host C) on every case where TFLM's integer kernels once took different paths.

The current runtime requantizes every int8/int16 MEAN (tinyq/lower/reduce.py). Pinned here: Keras
GlobalAveragePooling (axes [1, 2], keep_dims false/true: formerly a special 4-D kernel), equal input and output
quantization (formerly a truncating path; made by patching the output's quantization in the flatbuffer), single,
negative, repeated, non-adjacent and 3-axis sets (formerly limited to 2), 5-D inputs, int16 sums that wrap,
a fold of 1/count limited by the shift; int8 and int16.
"""
import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, convert_keras, with_quant
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
