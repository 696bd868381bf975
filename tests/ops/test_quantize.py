"""QUANTIZE / DEQUANTIZE: TFLM == simulator == host C, exactly (float outputs compared bit for bit).

Converter-made models give float32 -> int -> float32 edges and uint8 -> int8 -> uint8 ones; hand-built one-op
flatbuffers (oplib.ops_model) cover every integer requantization pair (uint8 <-> int8 included) and the QUANTIZE
ops of the real keyword_scrambled models.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.ops.oplib import OpSpec, assert_same, check_model, convert_function, convert_keras, ops_model

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


# ---------------------------------------------------------------- uint8 graph inputs and outputs

U8 = "uint8"


def _uint8_specs() -> list[OpSpec]:
    """QUANTIZE uint8 -> int8 and int8 -> uint8 (TFLM's only uint8 pairs) and DEQUANTIZE uint8 -> float32: TFLM's
    fast path (equal scales, zero points 128 apart), equal scales with other zero points, and true requantizations
    with ratios from 5e-4 to 300, then seeded random scales and zero points."""
    u8_s8 = [((1 / 255, 0), (1 / 255, -128)), ((0.02, 200), (0.02, 72)), ((0.05, 128), (0.05, 0)),
             ((0.05, 10), (0.05, 3)), ((0.05, 255), (0.05, 100)), ((0.1, 0), (0.05, -128)),
             ((0.01, 255), (0.03, 5)), ((1 / 255, 0), (0.0078125, -128)), ((0.3, 77), (0.001, 0)),
             ((1e-4, 3), (0.2, -1))]
    s8_u8 = [((0.05, -128), (0.05, 0)), ((0.05, 0), (0.05, 128)), ((0.003, -36), (0.003, 92)),
             ((0.05, 5), (0.05, 140)), ((0.05, 127), (0.05, 255)), ((0.1, -10), (0.04, 255)),
             ((0.02, 127), (0.07, 0)), ((0.7, -3), (0.002, 128)), ((2e-4, 60), (0.5, 1))]
    rng = np.random.default_rng(15)
    for pairs, (lo_in, hi_in), (lo_out, hi_out) in ((u8_s8, (0, 255), (-128, 127)), (s8_u8, (-128, 127), (0, 255))):
        for _ in range(8):
            s_in = float(10.0 ** rng.uniform(-4, 0))
            pairs.append(((s_in, int(rng.integers(lo_in, hi_in + 1))),
                          (s_in * float(10.0 ** rng.uniform(-2, 2)), int(rng.integers(lo_out, hi_out + 1)))))
    specs = [OpSpec("QUANTIZE", (256,), U8, si, zi, "int8", so, zo) for (si, zi), (so, zo) in u8_s8]
    specs += [OpSpec("QUANTIZE", (256,), "int8", si, zi, U8, so, zo) for (si, zi), (so, zo) in s8_u8]
    specs += [OpSpec("DEQUANTIZE", (256,), U8, s, z, *F32) for s, z in [(0.05, 0), (1 / 255, 128), (3.7e-3, 255),
                                                                          (123.4, 17), (1e-6, 1)]]
    return specs


def _kernel(spec: OpSpec) -> str:
    suffix = {"int8": "s8", U8: "u8"}
    if spec.opcode == "DEQUANTIZE":
        return f"tq_dequantize_{suffix[spec.in_dtype]}_f32"
    return f"tq_requantize_{suffix[spec.in_dtype]}_{suffix[spec.out_dtype]}"


def uint8_grid(n: int = 3, seed: int = 15):
    """(ops_model of _uint8_specs, its inputs, the kernels it lowers to): sample 0 holds every byte value,
    the others are random. Also run on every emulated board (tests/firmware/test_op_grids_on_boards.py)."""
    specs = _uint8_specs()
    rng = np.random.default_rng(seed)
    xs = []
    for spec in specs:
        lo = 0 if spec.in_dtype == U8 else -128
        x = rng.integers(lo, lo + 256, size=(n, 256)).astype(spec.in_dtype)
        x[0] = np.arange(lo, lo + 256)
        xs.append(x)
    return ops_model(specs), xs, [_kernel(s) for s in specs]


@pytest.mark.slow
def test_uint8_requantize_and_dequantize_grid():
    """Every uint8 <-> int8 requantization and uint8 dequantization of the grid: TFLM == simulator == host C on
    every input byte; where TFLM takes its x ^ 0x80 fast path, tinyq's multiplier is the one TFLM tests for."""
    from tinyq.sim.run import as_program

    tfl, xs, kernels = uint8_grid()
    specs = _uint8_specs()
    check_model(tfl, inputs=xs, kernels=kernels, labels=[str(s) for s in specs])
    calls = as_program(tfl).calls
    fast = [k for k, s in enumerate(specs) if s.opcode == "QUANTIZE" and np.float32(s.in_scale) == np.float32(s.out_scale)
            and s.in_zp - s.out_zp == (128 if s.in_dtype == U8 else -128)]
    assert len(fast) == 7
    for k in fast:
        assert (calls[k].multiplier, calls[k].shift) == (1 << 30, 1), specs[k]


def _uint8_conv_net():
    import keras

    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                             keras.layers.DepthwiseConv2D(3, strides=2), keras.layers.Conv2D(3, 1)])


@functools.cache
def uint8_conv_model() -> bytes:
    """A converter-made image model, inference_input_type = inference_output_type = tf.uint8: QUANTIZE uint8 ->
    int8, the int8 convolutions, QUANTIZE int8 -> uint8 (calibrated on [0, 1), as images are)."""
    return convert_keras(_uint8_conv_net, seed=15, lo=0.0, hi=1.0, uint8_io=True)


@pytest.mark.slow
def test_converter_uint8_io_model():
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    tfl = uint8_conv_model()
    g = read_model(tfl)
    assert [g.tensors[i].dtype for i in g.inputs + g.outputs] == [U8, U8]
    assert [op.opcode for op in g.ops] == ["QUANTIZE", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "QUANTIZE"]
    calls = as_program(g).calls
    assert (calls[0].kernel, calls[-1].kernel) == ("tq_requantize_u8_s8", "tq_requantize_s8_u8")
    for c in (calls[0], calls[-1]):  # the converter's edges: a shift by 128, TFLM's fast path
        assert (c.multiplier, c.shift, abs(c.input_offset + c.output_offset)) == (1 << 30, 1, 128)
    check_model(tfl, n=20, seed=15)


def test_uint8_refused_except_through_quantize(tmp_path, capsys):
    """uint8 anywhere but QUANTIZE (uint8 <-> int8) and DEQUANTIZE (uint8 -> float32) is refused with one line
    that says so; the reader refuses uint8 zero points outside [0, 255]. Built with tests/modelkit (no TF)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from tests.modelkit import Net
    from tinyq.errors import TinyqError, UnsupportedError
    from tinyq.lower import UINT8_HINT, lower
    from tinyq.tflite_reader import read_model

    def one_op(opcode, x, y, options=None, extra=()):
        net = Net()
        a = net.add_tensor("x", [1, 4, 4, 2], *x)
        b = net.add_tensor("y", [1, 4, 4, 2], *y)
        ins = [a] + [net.add_tensor(*e[:3], scale=e[3], data=e[4]) for e in extra]
        net.add_op(opcode, ins, [b], options)
        return net.io([a], [b]).bytes()

    def error(data) -> str:
        with pytest.raises(TinyqError) as info:
            lower(read_model(data))
        return str(info.value)

    conv = schema.Conv2DOptionsT()
    conv.strideH = conv.strideW = 1
    conv.padding = schema.Padding.SAME
    weights = [("w", [2, 1, 1, 2], "int8", 0.01, np.ones((2, 1, 1, 2))), ("b", [2], "int32", 0.0005, np.zeros(2))]
    cases = [  # (model, what the message says)
        (one_op("CONV_2D", ("uint8", 0.1, 128), ("int8", 0.1, 0), conv, weights), ["CONV_2D", "dtype uint8", UINT8_HINT]),
        (one_op("CONV_2D", ("int8", 0.1, 0), ("uint8", 0.1, 128), conv, weights), ["CONV_2D", "dtype uint8", UINT8_HINT]),
        (one_op("RELU", ("uint8", 0.1, 128), ("uint8", 0.1, 128)), ["RELU", UINT8_HINT]),
        (one_op("QUANTIZE", ("uint8", 0.1, 128), ("int16", 0.1, 0)), ["requantizing uint8 to int16 is not supported"]),
        (one_op("QUANTIZE", ("uint8", 0.1, 128), ("uint8", 0.2, 128)), ["requantizing uint8 to uint8 is not supported"]),
        (one_op("QUANTIZE", ("int16", 0.1, 0), ("uint8", 0.1, 128)), ["requantizing int16 to uint8 is not supported"]),
        (one_op("QUANTIZE", ("float32",), ("uint8", 0.1, 128)), ["QUANTIZE float32 -> uint8 is not supported"]),
        (one_op("QUANTIZE", ("uint8",), ("int8", 0.1, 0)), ["QUANTIZE", "is not quantized"]),
        (one_op("DEQUANTIZE", ("uint8", 0.1, 128), ("int8", 0.1, 0)), ["DEQUANTIZE", "dtype int8; supported: float32"]),
        (one_op("QUANTIZE", ("uint8", 0.1, 256), ("int8", 0.1, 0)), ["zero point 256, outside the uint8 range [0, 255]"]),
        (one_op("QUANTIZE", ("int8", 0.1, 0), ("uint8", 0.1, -1)), ["zero point -1, outside the uint8 range [0, 255]"]),
        (one_op("DEQUANTIZE", ("uint8", 0.1, 300), ("float32",)), ["zero point 300, outside the uint8 range"]),
    ]
    for data, says in cases:
        message = error(data)
        assert "\n" not in message and all(s in message for s in says), (says, message)
    from tinyq.cli import main
    from tinyq.errors import RunError
    from tinyq.oracle import run_isolated

    (tmp_path / "u8_conv.tflite").write_bytes(cases[0][0])  # the CLI: one line, exit 2
    assert main(["compile", str(tmp_path / "u8_conv.tflite"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyq: error: ") and err.count("\n") == 1 and UINT8_HINT in err, err

    with pytest.raises(RunError, match="invocation failed"):  # TFLM's Prepare takes float32 -> uint8, its Eval fails
        run_isolated(cases[6][0], [np.zeros((1, 1, 4, 4, 2), np.float32)], 1)
    with pytest.raises(UnsupportedError):  # per-channel quantization of a QUANTIZE input
        net = Net()
        a = net.add_tensor("x", [1, 2], "uint8", scale=[0.1, 0.2], zero_point=[0, 0], axis=1)
        b = net.add_tensor("y", [1, 2], "int8", scale=0.1, zero_point=0)
        net.add_op("QUANTIZE", [a], [b])
        lower(read_model(net.io([a], [b]).bytes()))
