"""QUANTIZE / DEQUANTIZE: TFLM == simulator == host C, exactly (float outputs compared bit for bit).

Converter-made models give float32 -> int -> float32 edges; hand-built one-op flatbuffers (oplib.ops_model)
cover every integer requantization pair and the QUANTIZE ops of the real keyword_scrambled models.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.ops.oplib import OpSpec, assert_same, check_model, convert_function, ops_model

F32 = ("float32", None, None)  # (dtype, scale, zero point) of a float tensor


def float_batch(shape, n: int, scale: float, qrange: tuple[int, int], seed: int) -> np.ndarray:
    """float32 inputs for a quantizer of `scale`: in range, beyond it, near-ties k + 0.5, and zeros."""
    rng = np.random.default_rng(seed)
    size = n * int(np.prod(shape))
    lo, hi = qrange
    k = rng.integers(2 * lo, 2 * hi, size=size)
    parts = [
        rng.uniform(lo * scale * 1.2, hi * scale * 1.2, size),  # in range and clamped
        (k + 0.5) * scale,  # ties (up to float32 rounding of the product)
        np.where(rng.random(size) < 0.5, -1.0, 1.0) * scale * 10.0 ** rng.uniform(0, 8, size),  # far out
    ]
    pick = rng.integers(0, len(parts), size)
    x = np.choose(pick, parts).astype(np.float32)
    x[rng.random(size) < 0.05] = 0.0
    return x.reshape(n, *shape)


@pytest.mark.slow
@pytest.mark.parametrize("int16", [False, True], ids=["int8", "int16"])
@pytest.mark.parametrize("lo,hi,shape", [(-1.0, 1.0, (8,)), (-3.0, 7.5, (3, 5)), (0.0, 0.3, (2, 3, 4)),
                                         (-50.0, 20.0, (17,))])
def test_float_io_edges(int16, lo, hi, shape):
    """Converter-made QUANTIZE (float32 -> int) and DEQUANTIZE (int -> float32) around a RELU."""
    import tensorflow as tf

    tfl = convert_function(tf.nn.relu, [shape], seed=int(hi * 10), int16=int16, lo=lo, hi=hi, float_io=True)
    from tinyq.tflite_reader import read_model

    g = read_model(tfl)
    q = g.tensors[g.ops[0].outputs[0]]
    qrange = (-32768, 32767) if int16 else (-128, 127)
    batch = float_batch(g.tensors[g.inputs[0]].shape, 40, q.scale, qrange, seed=len(shape))
    check_model(tfl, inputs=[batch], expect_ops=["QUANTIZE", "RELU", "DEQUANTIZE"])


QUANTIZE_CASES = [
    # (input spec, output spec)
    (("float32", None, None), ("int8", 0.05, -3)),
    (("float32", None, None), ("int8", 0.0078125, 127)),  # power-of-two scale: exact ties
    (("float32", None, None), ("int16", 0.00030517578125, 0)),
    (("float32", None, None), ("int16", 0.0123, -200)),
]


@pytest.mark.slow
@pytest.mark.parametrize("inp,out", QUANTIZE_CASES, ids=[f"{o[0]}-s{o[1]}-z{o[2]}" for _, o in QUANTIZE_CASES])
def test_quantize_float(inp, out):
    tfl = ops_model([OpSpec("QUANTIZE", (4, 9), *inp, *out)])
    qrange = (-128, 127) if out[0] == "int8" else (-32768, 32767)
    check_model(tfl, inputs=[float_batch((4, 9), 30, out[1], qrange, seed=7)], expect_ops=["QUANTIZE"])


@pytest.mark.slow
@pytest.mark.parametrize("inp", [("int8", 0.05, -3), ("int8", 0.2, 127), ("int16", 0.0003, 0), ("int16", 1e-5, -32768)],
                         ids=["s8", "s8-zp127", "s16", "s16-zpmin"])
def test_dequantize(inp):
    tfl = ops_model([OpSpec("DEQUANTIZE", (3, 11), *inp, *F32)])
    check_model(tfl, n=30, seed=5, expect_ops=["DEQUANTIZE"])


REQUANTIZE_CASES = [
    (("int8", 0.05, 3), ("int8", 0.1, -10)),  # ratio 0.5
    (("int8", 0.1, -128), ("int8", 0.02, 5)),  # ratio 5: left shift
    (("int8", 0.05, 7), ("int8", 0.05, -7)),  # same scale, zero point moves
    (("int8", 0.05, 3), ("int16", 0.001, 0)),
    (("int8", 0.05, -7), ("int32", 0.0005, 0)),
    (("int8", 0.006897618528455496, -128), ("int16", 5.367878475226462e-05, 0)),  # mixed model: into int16 layer
    (("int16", 5.3557927458314225e-05, 0), ("int8", 0.006882088724523783, -128)),  # mixed model: out of it
    (("int16", 0.0006249999860301614, 0), ("int8", 0.05920833349227905, -128)),  # keyword_scrambled op 0
    (("int16", 0.0003, 0), ("int16", 0.0007, 0)),
    (("int16", 1e-4, 5), ("int16", 2e-5, -3)),
    (("int16", 1.5259021893143654e-05, -32768), ("int32", 3.0518509447574615e-05, 0)),  # keyword_scrambled op 14
    (("int16", 0.5, 0), ("int32", 0.5 / 16384, 0)),  # shift +14, no int32 overflow
    (("int32", 0.001, 0), ("int8", 0.05, 2)),
    (("int32", 0.0002, 0), ("int16", 0.0001, -11)),
]


@pytest.mark.slow
@pytest.mark.parametrize("inp,out", REQUANTIZE_CASES,
                         ids=[f"{i[0]}-{o[0]}-r{i[1] / o[1]:.3g}" for i, o in REQUANTIZE_CASES])
def test_requantize(inp, out):
    tfl = ops_model([OpSpec("QUANTIZE", (2, 50), *inp, *out)])
    check_model(tfl, n=40, seed=11, expect_ops=["QUANTIZE"], kernels=[f"tq_requantize_s{inp[0][3:]}_s{out[0][3:]}"])


@pytest.mark.slow
def test_quantize_outside_tflm_range():
    """Where TFLM's float->int32 cast is undefined (inf, NaN, |x/scale| >= 2**31) tinyq saturates and
    NaN gives the zero point, as TFLM's cast does on a Cortex-M (vcvt saturates, NaN -> 0; on x86 it
    gives INT32_MIN); simulator and C agree."""
    tfl = ops_model([OpSpec("QUANTIZE", (6,), *F32, "int8", 0.1, 3)])
    x = np.array([[np.inf, -np.inf, np.nan, 3e38, -3e38, 1e9]], dtype=np.float32)
    (out,) = check_model(tfl, inputs=[x], tflm=False)
    np.testing.assert_array_equal(out, [[127, -128, 3, 127, -128, 127]])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tflm_keyword_scrambled.tflite", "tflm_keyword_scrambled_8bit.tflite"])
def test_keyword_scrambled_quantize_ops(shared_models, name):
    """The real models' QUANTIZE int16 -> int8 and int16 -> int32 lower (so does SVDF, tests/ops/test_svdf.py), and their
    records reproduce TFLM's intermediate tensors on seeded inputs."""
    from tinyq.lower import REGISTRY, OpContext, support_error
    from tinyq.oracle import TflmReference
    from tinyq.sim.kernels import get_kernel
    from tinyq.tflite_reader import read_model

    path = shared_models / name
    graph = read_model(path)
    quantize_ops = [op for op in graph.ops if op.opcode == "QUANTIZE"]
    assert len(quantize_ops) == 2
    assert all(support_error(graph, op) is None for op in quantize_ops)
    assert support_error(graph, next(op for op in graph.ops if op.opcode == "SVDF")) is None
    ref = TflmReference(path, preserve_all_tensors=True)
    x_info = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.integers(-32768, 32767, size=x_info.shape, endpoint=True, dtype=np.int16)
        ref.run([x[None]], len(graph.outputs))
        for op in quantize_ops:
            (call,) = [REGISTRY["QUANTIZE"].fn(OpContext(op, graph))]
            tin, tout = ref.tensor(op.inputs[0]), ref.tensor(op.outputs[0])
            got = get_kernel(call.kernel)(call, tin[None])
            assert_same(got.reshape(tout.shape), tout, f"{call.kernel} != TFLM on op #{op.index}")


@pytest.mark.slow
def test_refused():
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    for inp, out, what in [(F32, ("int32", 0.1, 0), "dtype int32"), (("int8", 0.1, 0), F32, "dtype float32")]:
        g = read_model(ops_model([OpSpec("QUANTIZE", (4,), *inp, *out)]))
        err = support_error(g, g.ops[0])
        assert err is not None and "QUANTIZE" in err and what in err, err
