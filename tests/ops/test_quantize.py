"""QUANTIZE / DEQUANTIZE: TFLM == simulator == host C, exactly (float outputs compared bit for bit).

Converter-made models give float32 -> int -> float32 edges; hand-built one-op flatbuffers (one_op_model)
cover every integer requantization pair and the QUANTIZE ops of the real keyword_scrambled models.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.ops.oplib import convert_function, random_inputs

F32 = ("float32", None, None)


def one_op_model(opcode: str, inp: tuple, out: tuple, shape: tuple[int, ...], options=None) -> bytes:
    """A .tflite with one builtin op from one activation input to one output.

    inp/out: (dtype, scale, zero_point), or F32. options: a schema *OptionsT object, or None.
    """
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    def tensor(k, spec):
        dtype, scale, zp = spec
        t = schema.TensorT()
        t.shape, t.name, t.buffer = list(shape), f"t{k}", k + 1
        t.type = getattr(schema.TensorType, dtype.upper())
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale, q.zeroPoint = [float(scale)], [int(zp)]
            t.quantization = q
        return t

    code = schema.OperatorCodeT()
    code.builtinCode = getattr(schema.BuiltinOperator, opcode)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    if options is not None:
        op.builtinOptionsType = getattr(schema.BuiltinOptions, type(options).__name__[:-1])
        op.builtinOptions = options
    sg = schema.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = [tensor(0, inp), tensor(1, out)], [0], [1], [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [sg]
    model.buffers = [schema.BufferT() for _ in range(3)]  # 0: the empty sentinel; 1, 2: the two tensors
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want).reshape(np.shape(got))
    if got.dtype == np.float32:  # bit for bit: -0.0 != 0.0 here
        got, want = got.view(np.uint32), want.astype(np.float32).view(np.uint32)
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)
        raise AssertionError(f"{what}: {len(bad)} of {got.size} differ; first at {tuple(bad[0])}: "
                             f"{got[tuple(bad[0])]} vs {want[tuple(bad[0])]}")


def check_exact(tflite_bytes: bytes, batches: list[np.ndarray], expect_ops=None, tflm: bool = True) -> dict:
    """TFLM (unless tflm=False) == simulator == host-compiled C on the given (N, *shape) batches."""
    from tinyq.oracle import TflmReference
    from tinyq.sim.run import as_program, run_program
    from tinyq.testing import host_c_outputs
    from tinyq.tflite_reader import read_model

    graph = read_model(tflite_bytes)
    if expect_ops is not None:
        assert sorted({op.opcode for op in graph.ops}) == sorted(expect_ops)
    program = as_program(graph)
    sim = run_program(program, batches)
    c = host_c_outputs(tflite_bytes, batches)
    ref = TflmReference(tflite_bytes).run(batches, len(program.outputs)) if tflm else None
    for k, i in enumerate(program.outputs):
        name = program.tensor(i).name
        if tflm:
            _assert_same(sim[i], ref[k], f"simulator != TFLM on '{name}'")
        _assert_same(c[k], sim[i], f"host C != simulator on '{name}'")
    return {program.tensor(i).name: sim[i] for i in program.outputs}


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
    check_exact(tfl, [batch], expect_ops=["QUANTIZE", "RELU", "DEQUANTIZE"])


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
    tfl = one_op_model("QUANTIZE", inp, out, (4, 9))
    qrange = (-128, 127) if out[0] == "int8" else (-32768, 32767)
    check_exact(tfl, [float_batch((4, 9), 30, out[1], qrange, seed=7)], expect_ops=["QUANTIZE"])


@pytest.mark.slow
@pytest.mark.parametrize("inp", [("int8", 0.05, -3), ("int8", 0.2, 127), ("int16", 0.0003, 0), ("int16", 1e-5, -32768)],
                         ids=["s8", "s8-zp127", "s16", "s16-zpmin"])
def test_dequantize(inp):
    tfl = one_op_model("DEQUANTIZE", inp, F32, (3, 11))
    from tinyq.sim.run import as_program

    check_exact(tfl, random_inputs(as_program(tfl), 30, seed=5), expect_ops=["DEQUANTIZE"])


REQUANTIZE_CASES = [
    (("int8", 0.05, 3), ("int8", 0.1, -10)),  # ratio 0.5
    (("int8", 0.1, -128), ("int8", 0.02, 5)),  # ratio 5: left shift
    (("int8", 0.05, 7), ("int8", 0.05, -7)),  # same scale, zero point moves
    (("int8", 0.05, 3), ("int16", 0.001, 0)),
    (("int8", 0.05, -7), ("int32", 0.0005, 0)),
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
    from tinyq.sim.run import as_program

    tfl = one_op_model("QUANTIZE", inp, out, (2, 50))
    assert as_program(tfl).calls[0].kernel == f"tq_requantize_s{inp[0][3:]}_s{out[0][3:]}"
    check_exact(tfl, random_inputs(as_program(tfl), 40, seed=11), expect_ops=["QUANTIZE"])


@pytest.mark.slow
def test_quantize_outside_tflm_range():
    """Where TFLM's float->int32 cast is undefined (inf, NaN, |x/scale| >= 2**31) tinyq saturates,
    NaN gives the minimum; simulator and C agree."""
    tfl = one_op_model("QUANTIZE", F32, ("int8", 0.1, 3), (6,))
    x = np.array([[np.inf, -np.inf, np.nan, 3e38, -3e38, 1e9]], dtype=np.float32)
    outs = check_exact(tfl, [x], tflm=False)
    np.testing.assert_array_equal(next(iter(outs.values())), [[127, -128, -128, 127, -128, 127]])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tflm_keyword_scrambled.tflite", "tflm_keyword_scrambled_8bit.tflite"])
def test_keyword_scrambled_quantize_ops(shared_models, name):
    """The real models' QUANTIZE int16 -> int8 and int16 -> int32 lower (SVDF stays unsupported), and their
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
    assert "SVDF" in support_error(graph, next(op for op in graph.ops if op.opcode == "SVDF"))
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
            _assert_same(got.reshape(tout.shape), tout, f"{call.kernel} != TFLM on op #{op.index}")


@pytest.mark.slow
def test_refused():
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    for inp, out, what in [(F32, ("int32", 0.1, 0), "dtype int32"), (("int8", 0.1, 0), F32, "dtype float32")]:
        g = read_model(one_op_model("QUANTIZE", inp, out, (4,)))
        err = support_error(g, g.ops[0])
        assert err is not None and "QUANTIZE" in err and what in err, err
