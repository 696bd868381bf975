"""int4 rows of even length are TFLite's INT4 bytes: TFLM runs a FULLY_CONNECTED whose INT4 weight buffer is
tinyq's int4 stream and computes exactly what it computes with the same weights as INT8."""
from __future__ import annotations

import numpy as np
import pytest
from tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests import modelkit
from tinyq.encode import encode


def _fc(weights: np.ndarray, bias: np.ndarray, int4_bytes: np.ndarray | None) -> bytes:
    n_out, n_in = weights.shape
    net = modelkit.Net()
    x = net.add_tensor("x", [1, n_in], scale=0.05, zero_point=-3)
    w = net.add_tensor("w", [n_out, n_in], scale=0.01, data=weights)
    b = net.add_tensor("b", [n_out], "int32", scale=float(np.float32(0.05) * np.float32(0.01)), data=bias)
    y = net.add_tensor("y", [1, n_out], scale=0.02, zero_point=1)
    net.add_op("FULLY_CONNECTED", [x, w, b], [y], schema.FullyConnectedOptionsT())
    net.io([x], [y])
    if int4_bytes is not None:
        t = net.sg.tensors[w]
        t.type = schema.TensorType.INT4
        net.model.buffers[t.buffer].data = np.asarray(int4_bytes, np.uint8)
    return net.bytes()


def _run(model: bytes, xs: np.ndarray) -> np.ndarray:
    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    out = []
    for x in xs:
        it.set_input(x[None], 0)
        it.invoke()
        out.append(it.get_output(0).copy())
    return np.concatenate(out)


@pytest.mark.parametrize("n_out,n_in", [(6, 10), (3, 2), (16, 64)])
def test_tflm_reads_int4_stream_as_tflite_int4(n_out, n_in):
    rng = np.random.default_rng(n_out * 100 + n_in)
    weights = rng.integers(-8, 8, (n_out, n_in)).astype(np.int8)
    weights[0, :2] = [-8, 7]  # both ends of the range
    bias = rng.integers(-300, 300, n_out)
    xs = rng.integers(-128, 128, (8, n_in)).astype(np.int8)
    stream = encode(weights, 0, "int4").codes
    want = _run(_fc(weights, bias, None), xs)
    assert np.array_equal(_run(_fc(weights, bias, stream), xs), want)
    swapped = (stream >> 4) | ((stream & 0xF) << 4)  # the other nibble order is not what TFLM reads
    assert not np.array_equal(_run(_fc(weights, bias, swapped), xs), want)
