"""The shared toolkit of the per-op tests (tests/ops/test_<family>.py): make small .tflite models and check
TFLM == simulator == host C on them, exactly (float outputs bit for bit).

Models come from three places:
- the TFLiteConverter, on a seeded Keras model (convert_keras) or tf.function (convert_function), calibrated on
  seeded uniform inputs: one (lo, hi) for all inputs, or one per input (ranges=);
- hand-built flatbuffers (OpSpec + ops_model), for the dtypes and quantizations the converter never emits;
- a converted model edited afterwards (with_quant patches one tensor's quantization, edit_model anything else).

check_model runs one model on seeded random inputs (random_inputs) or on given ones; check_exact does it for
an ops_model grid; lowering_error returns why tinyq refuses one OpSpec.

Usage:
    tfl = convert_keras(lambda: keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)]), seed=1)
    check_model(tfl, n=20, seed=1, expect_ops=["CONV_2D"])
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest

from tests.session_cache import host_c_outputs, once_per_session

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tf():
    import tensorflow as tf

    return tf


# ---------------------------------------------------------------- converter-made models


def _calibration_ranges(shapes, lo, hi, ranges) -> list[tuple[float, float]]:
    if ranges is None:
        return [(lo, hi)] * len(shapes)
    if len(ranges) != len(shapes):  # zip() would silently drop inputs
        raise ValueError(f"{len(ranges)} calibration ranges for {len(shapes)} inputs")
    return list(ranges)


def _finish(converter, shapes, seed, int16, ranges, float_io, int32_bias, batch=1, uint8_io=False) -> bytes:
    """Full-integer quantization (int8, or 16x8 if int16), calibrated on 64 seeded uniform samples per input;
    uint8_io: uint8 graph inputs and outputs (the converter adds uint8 <-> int8 QUANTIZE ops)."""
    tf = _tf()
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(64):
            yield [rng.uniform(lo, hi, size=(batch, *s)).astype(np.float32) for s, (lo, hi) in zip(shapes, ranges)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    if int16:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        io = tf.int16
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io = tf.int8
    if int32_bias:  # 16x8 only: TFLM then accumulates in int32 (int64 otherwise)
        converter._experimental_full_integer_quantization_bias_type = tf.int32
    if uint8_io:
        io = tf.uint8
    if not float_io:
        converter.inference_input_type = io
        converter.inference_output_type = io
    return converter.convert()


@once_per_session
def convert_keras(build, seed: int, int16: bool = False, lo: float = -1.0, hi: float = 1.0, float_io: bool = False,
                  ranges=None, int32_bias: bool = False, uint8_io: bool = False, batch: int | None = 1) -> bytes:
    """build() -> keras.Model, called after seeding every RNG (weights are reproducible); the batch is pinned to 1,
    or left as build() made it with batch=None (the converter then keeps SHAPE/STRIDED_SLICE/PACK ops that
    compute reshape targets; tinyq.fold folds them).

    Calibration: uniform in [lo, hi) for every input, or ranges = one (lo, hi) per input. float_io keeps float32
    model inputs and outputs (the converter adds QUANTIZE / DEQUANTIZE); uint8_io makes them uint8. int32_bias:
    int32 biases in 16x8."""
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    model = build()
    shapes = [tuple(int(d) for d in i.shape[1:]) for i in model.inputs]
    # Pin the batch to 1: a dynamic batch makes the converter add SHAPE/GATHER/PACK ops around reshapes.
    import keras

    fixed = model
    if batch is not None:
        inputs = [keras.Input(shape=s, batch_size=batch) for s in shapes]
        fixed = keras.Model(inputs, model(inputs if len(inputs) > 1 else inputs[0]))
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    return _finish(converter, shapes, seed, int16, _calibration_ranges(shapes, lo, hi, ranges), float_io, int32_bias,
                   uint8_io=uint8_io)


@once_per_session
def convert_function(fn, shapes, seed: int, int16: bool = False, lo: float = -1.0, hi: float = 1.0,
                     float_io: bool = False, ranges=None, int32_bias: bool = False, batch: int | None = 1) -> bytes:
    """fn(*tensors) using tf ops; shapes: per-input shapes without the batch axis.

    batch: the inputs' batch size, or None for a dynamic batch (the converter then keeps ops such as EXPAND_DIMS
    that it folds away for a static one; calibration samples have batch 1). Other options as convert_keras."""
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    specs = [tf.TensorSpec((batch, *s), tf.float32) for s in shapes]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    return _finish(converter, shapes, seed, int16, _calibration_ranges(shapes, lo, hi, ranges), float_io, int32_bias,
                   batch=1 if batch is None else batch)


# ---------------------------------------------------------------- hand-built and edited models


@dataclass(frozen=True)
class OpSpec:
    """One op of a hand-built model: input tensor -> op -> output tensor of the same shape, each with its own
    dtype and quantization (scale and zero point None: a float32 tensor, not quantized)."""

    opcode: str
    shape: tuple[int, ...]
    in_dtype: str
    in_scale: float | None
    in_zp: int | None
    out_dtype: str
    out_scale: float | None
    out_zp: int | None
    beta: float | None = None  # SOFTMAX only
    options: object = None  # other builtin options: a schema *OptionsT object, e.g. LeakyReluOptionsT


def _builtin_options(spec: OpSpec, schema):
    if spec.beta is None:
        return spec.options
    if spec.options is not None:
        raise ValueError(f"{spec}: give beta or options, not both")
    options = schema.SoftmaxOptionsT()
    options.beta = float(spec.beta)
    return options


def ops_model(specs: list[OpSpec]) -> bytes:
    """A .tflite flatbuffer running independent ops side by side (op k reads input k, writes output k),
    built with TF's flatbuffer object API: one model, hence one host-C build, covers a whole grid."""
    from tensorflow.lite.python import schema_py_generated as s
    from tensorflow.lite.tools import flatbuffer_utils

    def tensor(name, shape, dtype, scale, zp):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), getattr(s.TensorType, dtype.upper()), 0
        if scale is not None:
            t.quantization = s.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [float(np.float32(scale))], [int(zp)]
        return t

    opcodes = sorted({spec.opcode for spec in specs})
    codes = []
    for name in opcodes:
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, name)
        code.deprecatedBuiltinCode, code.version = min(code.builtinCode, 127), 1
        codes.append(code)
    graph = s.SubGraphT()
    graph.name, graph.tensors, graph.operators = "main", [], []
    for k, spec in enumerate(specs):
        graph.tensors += [tensor(f"x{k}", spec.shape, spec.in_dtype, spec.in_scale, spec.in_zp),
                          tensor(f"y{k}", spec.shape, spec.out_dtype, spec.out_scale, spec.out_zp)]
        op = s.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = opcodes.index(spec.opcode), [2 * k], [2 * k + 1]
        options = _builtin_options(spec, s)
        if options is not None:
            op.builtinOptionsType = getattr(s.BuiltinOptions, type(options).__name__[:-1])  # FooOptionsT -> FooOptions
            op.builtinOptions = options
        graph.operators.append(op)
    graph.inputs = [2 * k for k in range(len(specs))]
    graph.outputs = [2 * k + 1 for k in range(len(specs))]
    model = s.ModelT()
    model.version, model.description = 3, "tinyq hand-built test model"
    model.operatorCodes, model.subgraphs, model.buffers = codes, [graph], [s.BufferT()]  # buffer 0: no data
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def edit_model(tflite_bytes: bytes, edit) -> bytes:
    """Apply edit(model_object, schema) to a model (TF's flatbuffer object API) and serialize it again."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
    edit(model, schema)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def with_quant(tflite_bytes: bytes, tensor: int, scale: float, zero_point: int) -> bytes:
    """The model with the first scale / zero point of tensor #`tensor` overwritten in place (same size)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tflite

    m = tflite.Model.GetRootAs(tflite_bytes, 0)
    q = m.Subgraphs(0).Tensors(tensor).Quantization()
    b = bytearray(tflite_bytes)
    scale_at = q._tab.Vector(q._tab.Offset(8))  # QuantizationParameters field 2: scale (float32[])
    zp_at = q._tab.Vector(q._tab.Offset(10))  # field 3: zero_point (int64[])
    b[scale_at : scale_at + 4] = np.float32(scale).tobytes()
    b[zp_at : zp_at + 8] = np.int64(zero_point).tobytes()
    return bytes(b)


# ---------------------------------------------------------------- exact checks


def random_inputs(program, n: int, seed: int) -> list[np.ndarray]:
    """Full-range seeded integer inputs (floats in [-2, 2) for float inputs), shape (N, *tensor.shape)."""
    from tinyq.verify import random_batches

    return random_batches(program, n, seed, float_range=(-2.0, 2.0))


def assert_same(got, want, what: str, inputs: np.ndarray | None = None) -> None:
    """got == want exactly, same shape; float32 bit for bit (-0.0 != 0.0, NaN payloads count).
    inputs: the batch `got` was computed from, when it has got's shape (a row-wise op): the message shows the
    input row of the first difference."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    if got.dtype == np.float32:
        got, want = got.view(np.uint32), want.astype(np.float32).view(np.uint32)
    if np.array_equal(got, want):
        return
    bad = np.argwhere(got != want)
    at = tuple(int(v) for v in bad[0])
    row = f"; input row {inputs[at[:-1]]}" if inputs is not None and inputs.shape == got.shape else ""
    raise AssertionError(f"{what}: {len(bad)} of {got.size} values differ; first at {at}{row}: "
                         f"{got[at]} vs {want[at]}")


def check_model(tflite_bytes: bytes, n: int = 20, seed: int = 0, expect_ops=None, *, inputs=None, kernels=None,
                tflm: bool = True, labels=None) -> list[np.ndarray]:
    """TFLM == simulator == host-compiled C (ASan + UBSan), exactly; returns the simulator's outputs.

    inputs: one (N, *shape) array per model input; by default n seeded random samples (random_inputs).
    expect_ops: the model's opcodes, any order; kernels: the lowered calls' kernels, in order.
    tflm=False skips TFLM (for inputs where its result is undefined); labels: one name per output for messages."""
    from tinyq.oracle import TflmReference
    from tinyq.sim.run import as_program, run_program
    from tinyq.tflite_reader import read_model

    graph = read_model(tflite_bytes)
    if expect_ops is not None:
        ops = sorted({op.opcode for op in graph.ops})
        assert ops == sorted(expect_ops), f"model has ops {ops}, expected {sorted(expect_ops)}"
    program = as_program(graph)
    if kernels is not None:
        lowered = [call.kernel for call in program.calls]
        assert lowered == list(kernels), f"lowered to {lowered}, expected {list(kernels)}"
    if inputs is None:
        inputs = random_inputs(program, n, seed)
    env = run_program(program, inputs)
    sim = [env[i] for i in program.outputs]
    if labels is None:
        labels = [f"output '{program.tensor(i).name}'" for i in program.outputs]
    row_inputs = inputs if len(inputs) == len(sim) else [None] * len(sim)
    if tflm:
        ref = TflmReference(tflite_bytes).run(inputs, len(sim))
        for k, got in enumerate(sim):
            assert_same(got, ref[k].reshape(got.shape), f"simulator != TFLM on {labels[k]}", row_inputs[k])
    for k, c in enumerate(host_c_outputs(tflite_bytes, inputs)):
        assert_same(c, sim[k], f"host C != simulator on {labels[k]}", row_inputs[k])
    return sim


def check_exact(specs: list[OpSpec], xs: list[np.ndarray], kernels: list[str]) -> list[np.ndarray]:
    """check_model on ops_model(specs), fed xs (one (N, *spec.shape) batch per spec); kernels: each op's kernel."""
    return check_model(ops_model(specs), inputs=xs, kernels=kernels, labels=[str(spec) for spec in specs])


def lowering_error(spec: OpSpec) -> str:
    """The message of the UnsupportedError tinyq raises lowering ops_model([spec]) (fails if it lowers)."""
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    with pytest.raises(UnsupportedError) as info:
        lower(read_model(ops_model([spec])))
    return str(info.value)
