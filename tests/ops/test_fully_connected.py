"""FULLY_CONNECTED: TFLM == simulator (== host C) on a grid of shapes, biases, activations and dtypes."""
import pytest

from tests.ops.oplib import check_model, convert_keras

CASES = [
    # (in_features, units, use_bias, activation, int16, batch_dims)
    (16, 8, True, None, False, ()),
    (33, 5, False, None, False, ()),
    (64, 10, True, "relu", False, ()),
    (7, 3, True, "relu6", False, ()),
    (10, 4, True, None, False, (3,)),  # rank-3 input: rows flattened
    (16, 8, True, None, True, ()),
    (40, 12, False, "relu", True, ()),
]


def convert_case(case) -> bytes:
    import keras

    features, units, use_bias, act, int16, batch_dims = case

    def build():
        layers = [keras.Input((*batch_dims, features)), keras.layers.Dense(units, use_bias=use_bias)]
        if act == "relu":
            layers.append(keras.layers.ReLU())
        elif act == "relu6":
            layers.append(keras.layers.ReLU(6.0))
        return keras.Sequential(layers)

    return convert_keras(build, seed=len(str(case)), int16=int16, lo=-2, hi=2)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_fully_connected(case):
    check_model(convert_case(case), n=20, seed=3, expect_ops=["FULLY_CONNECTED"])


@pytest.mark.parametrize("use_bias", [True, False])
def test_fully_connected_16x8_int32_bias(use_bias):
    """A 16x8 FC with an int32 bias: TFLM then accumulates in int32 and uses the int32 requantize."""
    import keras

    def build():
        return keras.Sequential([keras.Input((24,)), keras.layers.Dense(7, use_bias=use_bias)])

    tfl = convert_keras(build, seed=5, int16=True, lo=-3, hi=3, int32_bias=True)
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    (call,) = lower(read_model(tfl)).calls
    assert call.acc64 is False
    check_model(tfl, n=50, seed=9, expect_ops=["FULLY_CONNECTED"])


@pytest.mark.slow
def test_weights_with_a_zero_point_are_refused():
    """TFLite's int8 spec fixes weight zero points at 0; TFLM's output with another one is not the textbook
    (w - zp) sum, so tinyq refuses the model instead of producing code it cannot prove equal."""
    import keras
    import numpy as np

    from tests.ops.oplib import with_quant
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    def build():
        return keras.Sequential([keras.Input((12,)), keras.layers.Dense(4)])

    tfl = convert_keras(build, seed=2)
    graph = read_model(tfl)
    (op,) = graph.ops
    weights = graph.tensors[op.inputs[1]]
    edited = with_quant(tfl, weights.index, float(np.atleast_1d(weights.scale)[0]), 3)
    with pytest.raises(UnsupportedError, match=r"FULLY_CONNECTED .*weights tensor .*non-zero zero point"):
        lower(read_model(edited))
