"""AVERAGE_POOL_2D / MAX_POOL_2D: TFLM == simulator (== host C) on a grid of windows, strides, paddings,
fused activations and dtypes, plus the pooling layer of every shared model that has one."""
import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, convert_keras, with_quant
from tinyq.errors import UnsupportedError

# (kind, input HWC, pool size, strides, padding, fused activation, int16, lo, hi)
CASES = [
    ("avg", (9, 7, 3), 3, 2, "same", None, False, -1, 1),
    ("avg", (8, 8, 4), 2, 2, "valid", None, False, -1, 1),
    ("avg", (5, 6, 2), (3, 2), 1, "same", None, False, -1, 1),  # stride 1: most windows are clipped
    ("avg", (10, 11, 3), 4, 3, "same", None, False, 0, 2),  # uneven padding split
    ("avg", (11, 12, 2), 5, (2, 3), "valid", None, False, -1, 1),
    ("avg", (25, 5, 8), (25, 5), (25, 5), "valid", None, False, -1, 1),  # global window, as MLPerf KWS
    ("avg", (8, 8, 3), 2, 2, "same", "relu", False, -8, 8),
    ("avg", (7, 7, 3), 3, 2, "valid", "relu6", False, -8, 8),
    ("avg", (9, 7, 3), 3, 2, "same", None, True, -1, 1),
    ("avg", (5, 6, 2), (3, 2), 1, "same", None, True, -1, 1),
    ("avg", (8, 8, 3), 2, 2, "valid", "relu6", True, -8, 8),
    ("max", (8, 8, 4), 2, 2, "valid", None, False, -1, 1),
    ("max", (9, 7, 3), 3, 2, "same", None, False, -1, 1),
    ("max", (6, 9, 2), (2, 3), 1, "same", None, False, -1, 1),
    ("max", (10, 11, 3), 4, 3, "same", "relu", False, -8, 8),
    ("max", (7, 7, 3), 3, 2, "valid", "relu6", False, -8, 8),
    ("max", (9, 7, 3), 3, 2, "same", None, True, -1, 1),
    ("max", (8, 8, 3), 2, 2, "valid", "relu", True, -8, 8),
    ("max", (6, 9, 2), (2, 3), 1, "same", "relu6", True, -8, 8),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_pool(case):
    import keras

    kind, shape, pool, strides, padding, act, int16, lo, hi = case
    layer = keras.layers.AveragePooling2D if kind == "avg" else keras.layers.MaxPooling2D

    def build():
        layers = [keras.Input(shape), layer(pool, strides, padding=padding)]
        if act:  # the converter fuses a following ReLU / ReLU6 into the pooling op
            layers.append(keras.layers.ReLU(6.0 if act == "relu6" else None))
        return keras.Sequential(layers)

    tfl = convert_keras(build, seed=len(str(case)), int16=int16, lo=lo, hi=hi)
    check_model(tfl, n=20, seed=3, expect_ops=["AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool_batch_of_two(kind):
    """A model batch of 2 (the kernel's batch loop), made by reshaping inside the function."""
    import tensorflow as tf

    pool = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d

    def fn(x):
        return tf.reshape(pool(tf.reshape(x, (2, 6, 5, 3)), 3, 2, "SAME"), (1, 2, 3, 3, 3))

    tfl = convert_function(fn, [(12, 5, 3)], seed=11)
    check_model(tfl, n=10, seed=4, expect_ops=["RESHAPE", "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"])


MODELS_WITH_AVGPOOL = [
    "mlperf_kws_dscnn_int8",
    "mlperf_vww_mobilenetv1_025_int8",
    "mlperf_ic_resnet8_int8",
    "tflm_person_detect_int8",
]


@pytest.mark.slow
@pytest.mark.parametrize("stem", MODELS_WITH_AVGPOOL)
def test_shared_model_avgpool(stem, shared_models):
    """The model's AVERAGE_POOL_2D lowers, and the kernel reproduces TFLM on the tensors TFLM computed."""
    from tinyq.lower import REGISTRY, OpContext
    from tinyq.oracle import TflmReference
    from tinyq.sim.kernels import get_kernel
    from tinyq.tflite_reader import read_model

    path = shared_models / f"{stem}.tflite"
    graph = read_model(path)
    (op,) = [op for op in graph.ops if op.opcode == "AVERAGE_POOL_2D"]
    call = REGISTRY[op.opcode].fn(OpContext(op, graph))
    ref = TflmReference(path, preserve_all_tensors=True)
    model_in = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(len(stem))
    for _ in range(3):
        ref.run([rng.integers(-128, 127, size=(1, *model_in.shape), endpoint=True, dtype=np.int8)], 1)
        pooled_in, pooled_out = ref.tensor(op.inputs[0]), ref.tensor(op.outputs[0])
        got = get_kernel(call.kernel)(call, pooled_in[None])
        np.testing.assert_array_equal(got.reshape(pooled_out.shape), pooled_out)


@pytest.mark.slow
def test_pool_refuses_different_quantization():
    import keras

    tfl = convert_keras(lambda: keras.Sequential([keras.Input((8, 8, 3)), keras.layers.AveragePooling2D(2)]), seed=1)
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    g = read_model(tfl)
    out = g.tensors[g.ops[0].outputs[0]]
    tfl = with_quant(tfl, out.index, out.scale * 2, out.zero_point)
    with pytest.raises(UnsupportedError, match=r"AVERAGE_POOL_2D .*quantization differ.*TFLM requires them equal"):
        as_program(tfl)
