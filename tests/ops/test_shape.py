"""Data-movement ops (RESHAPE, SQUEEZE, EXPAND_DIMS, CONCATENATION, PAD, PADV2, TRANSPOSE, STRIDED_SLICE,
SLICE): TFLM == simulator (== host C) on grids of shapes, axes, masks and dtypes, plus the refusals.

The converter never emits SQUEEZE for static shapes (it becomes RESHAPE) and emits EXPAND_DIMS only with a
dynamic batch, so those two models are made by converting with a dynamic batch / by swapping the
converted RESHAPE back to SQUEEZE in the flatbuffer; TFLM then runs the real op.
"""
import numpy as np
import pytest

from tests.ops.oplib import check_model, convert_function, edit_model


def _tf():
    import tensorflow as tf

    return tf


def convert_float(fn, shapes) -> bytes:
    """An unquantized float32 model of fn."""
    tf = _tf()
    specs = [tf.TensorSpec((1, *s), tf.float32) for s in shapes]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete]).convert()


def reshape_to_squeeze(tfl: bytes, dims) -> bytes:
    def edit(model, schema):
        (op,) = model.subgraphs[0].operators
        code = model.operatorCodes[op.opcodeIndex]
        assert code.builtinCode == schema.BuiltinOperator.RESHAPE
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SQUEEZE
        code.version = 1
        op.inputs = op.inputs[:1]
        op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
        op.builtinOptions = schema.SqueezeOptionsT()
        op.builtinOptions.squeezeDims = list(dims)

    return edit_model(tfl, edit)


def expect_refusal(tfl: bytes, *words: str) -> None:
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    graph = read_model(tfl)
    reasons = [r for r in (support_error(graph, op) for op in graph.ops) if r]
    assert reasons, "expected tinyq to refuse the model"
    for word in words:
        assert word in reasons[0], reasons[0]


# ----------------------------------------------------------------------------- RESHAPE, SQUEEZE, EXPAND_DIMS

# The kernels are byte-generic: int16 differs from int8 only in the element size, so each grid has
# a few 16x8 cases rather than all of them (keeps the file well under two minutes).
RESHAPES = [((4, 6), (6, 4), False), ((2, 3, 4), (24,), False), ((5, 1, 3), (3, 5, 1), False), ((2, 3, 4), (4, 6), True)]


@pytest.mark.slow
@pytest.mark.parametrize("case", RESHAPES, ids=str)
def test_reshape(case):
    src, dst, int16 = case
    tf = _tf()
    tfl = convert_function(lambda x: tf.reshape(x, (1, *dst)), [src], seed=1, int16=int16, lo=-3, hi=2)
    check_model(tfl, n=8, seed=2, expect_ops=["RESHAPE"])


@pytest.mark.slow
@pytest.mark.parametrize("int16", [False, True], ids=["s8", "s16"])
def test_squeeze(int16):
    tf = _tf()
    tfl = convert_function(lambda x: tf.squeeze(x, axis=2), [(4, 1, 6)], seed=2, int16=int16)
    check_model(reshape_to_squeeze(tfl, [2]), n=8, seed=3, expect_ops=["SQUEEZE"])


@pytest.mark.slow
@pytest.mark.parametrize("int16", [False, True], ids=["s8", "s16"])
def test_expand_dims(int16):
    tf = _tf()
    tfl = convert_function(lambda x: tf.expand_dims(x, 2), [(4, 6)], seed=3, int16=int16, batch=None)
    check_model(tfl, n=8, seed=4, expect_ops=["EXPAND_DIMS"])


# ----------------------------------------------------------------------------- CONCATENATION

CONCATS = [
    # (input shapes without batch, axis, int16)
    ([(3, 4, 2), (3, 4, 5)], -1, False),
    ([(2, 3), (4, 3), (1, 3)], 1, False),
    ([(2, 2, 3), (2, 1, 3), (2, 4, 3), (2, 2, 3)], 2, False),
    ([(5,), (5,)], 0, False),  # along the batch axis: output batch 2
    ([(3, 4, 2), (3, 4, 5)], -1, True),
    ([(2, 3), (4, 3), (1, 3)], 1, True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CONCATS, ids=str)
def test_concatenation(case):
    shapes, axis, int16 = case
    tf = _tf()
    tfl = convert_function(lambda *xs: tf.concat(list(xs), axis=axis), shapes, seed=4, int16=int16, lo=-2, hi=2)
    # 16x8: the converter gives each input its own scale and requantizes them to the output's with QUANTIZE
    check_model(tfl, n=8, seed=5, expect_ops=["CONCATENATION", "QUANTIZE"] if int16 else ["CONCATENATION"])


@pytest.mark.slow
def test_concatenation_constant_input():
    tf = _tf()
    table = tf.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 3, 4))
    tfl = convert_function(lambda x: tf.concat([table, x, table], axis=1), [(5, 4)], seed=5)
    check_model(tfl, n=8, seed=6, expect_ops=["CONCATENATION"])


@pytest.mark.slow
def test_concatenation_refuses_mixed_quantization():
    tf = _tf()
    tfl = convert_function(lambda a, b: tf.concat([a, b], axis=-1), [(3, 2), (3, 4)], seed=6)

    def edit(model, schema):
        op = model.subgraphs[0].operators[0]
        model.subgraphs[0].tensors[op.inputs[1]].quantization.scale[0] *= 2.0

    expect_refusal(edit_model(tfl, edit), "CONCATENATION", "quantized differently")


# ----------------------------------------------------------------------------- PAD, PADV2

PADS = [
    ((4, 5, 3), [[0, 0], [1, 2], [0, 3], [0, 0]], False),  # image style
    ((4, 5, 3), [[0, 0], [2, 0], [1, 1], [3, 1]], False),  # channels padded too
    ((7,), [[0, 0], [3, 4]], False),
    ((2, 3, 2, 2), [[0, 0], [1, 0], [0, 2], [1, 1], [0, 1]], False),  # rank 5
    ((4, 5, 3), [[0, 0], [2, 0], [1, 1], [3, 1]], True),
    ((2, 3, 2, 2), [[0, 0], [1, 0], [0, 2], [1, 1], [0, 1]], True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", PADS, ids=str)
def test_pad(case):
    shape, paddings, int16 = case
    tf = _tf()
    tfl = convert_function(lambda x: tf.pad(x, paddings), [shape], seed=7, int16=int16, lo=0.5, hi=3)  # zero point far from 0
    check_model(tfl, n=8, seed=8, expect_ops=["PAD"])


@pytest.mark.slow
@pytest.mark.parametrize("value", [0.75, -1.5])
def test_padv2(value):
    tf = _tf()
    tfl = convert_function(lambda x: tf.pad(x, [[0, 0], [1, 2], [2, 0]], constant_values=value), [(3, 4)], seed=9, lo=-2, hi=1)
    check_model(tfl, n=8, seed=9, expect_ops=["PADV2"])


@pytest.mark.slow
def test_padv2_s16_refuses_float_value():
    # the 16x8 converter leaves PADV2's value in float32, which TFLM rejects too
    tf = _tf()
    tfl = convert_function(lambda x: tf.pad(x, [[0, 0], [1, 2], [2, 0]], constant_values=0.5), [(3, 4)], seed=9, int16=True)
    expect_refusal(tfl, "PADV2", "padding value")


# ----------------------------------------------------------------------------- TRANSPOSE

TRANSPOSES = [
    ((4, 5, 3), [0, 3, 1, 2], False),
    ((4, 5, 3), [2, 1, 3, 0], False),
    ((6, 7), [0, 2, 1], False),
    ((3, 4), [2, 1, 0], False),  # the batch axis moves last
    ((2, 3, 4, 2), [0, 4, 2, 3, 1], False),  # rank 5
    ((3, 4, 5), [0, 1, 3, 2], False),  # leading axes merge into one loop
    ((4, 5, 3), [0, 3, 1, 2], True),
    ((2, 3, 4, 2), [0, 4, 2, 3, 1], True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", TRANSPOSES, ids=str)
def test_transpose(case):
    shape, perm, int16 = case
    tf = _tf()
    tfl = convert_function(lambda x: tf.transpose(x, perm), [shape], seed=10, int16=int16)
    check_model(tfl, n=8, seed=11, expect_ops=["TRANSPOSE"])


# ----------------------------------------------------------------------------- STRIDED_SLICE, SLICE

STRIDED_SLICES = {
    "masks": ((6, 5, 3), lambda x: x[:, 1:5:2, ::-1, 1:]),
    "shrink": ((6, 5, 3), lambda x: x[:, 2, :, 1:]),
    "negative_index": ((8, 4), lambda x: x[:, -3:, -1::-2]),
    "clamped": ((5, 6), lambda x: x[:, -10:100:3, 2:]),
    "reverse_end": ((7,), lambda x: x[:, 5:1:-2]),
    "newaxis": ((6, 5), lambda x: x[:, 1:3, tf_newaxis(), 2:]),
}


def tf_newaxis():
    return _tf().newaxis


@pytest.mark.slow
@pytest.mark.parametrize("name,int16", [(n, False) for n in STRIDED_SLICES] + [("masks", True), ("shrink", True)])
def test_strided_slice(name, int16):
    shape, fn = STRIDED_SLICES[name]
    tfl = convert_function(fn, [shape], seed=12, int16=int16)
    expect = ["RESHAPE", "STRIDED_SLICE"] if name == "newaxis" else ["STRIDED_SLICE"]  # the converter resolves new axes
    check_model(tfl, n=8, seed=13, expect_ops=expect)


@pytest.mark.slow
def test_strided_slice_explicit_masks():
    tf = _tf()

    def fn(x):
        return tf.strided_slice(x, [0, 4, 1, 0], [1, 0, 3, 2], [1, -1, 1, 1], begin_mask=0b0001, end_mask=0b1010, shrink_axis_mask=0b0100)

    tfl = convert_function(fn, [(6, 4, 3)], seed=14)
    check_model(tfl, n=8, seed=15, expect_ops=["STRIDED_SLICE"])


@pytest.mark.slow
def test_strided_slice_refuses_ellipsis_mask():
    tfl = convert_function(lambda x: x[:, 1:3], [(6, 5)], seed=16)

    def edit(model, schema):
        model.subgraphs[0].operators[0].builtinOptions.ellipsisMask = 1

    expect_refusal(edit_model(tfl, edit), "STRIDED_SLICE", "ellipsis_mask")


SLICES = [
    ((4, 5, 3), [0, 1, 2, 0], [1, 3, -1, 2], False),
    ((9,), [0, 4], [1, -1], False),
    ((3, 4), [0, 0, 1], [1, 3, 3], False),
    ((4, 5, 3), [0, 1, 2, 0], [1, 3, -1, 2], True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", SLICES, ids=str)
def test_slice(case):
    shape, begin, size, int16 = case
    tf = _tf()
    tfl = convert_function(lambda x: tf.slice(x, begin, size), [shape], seed=17, int16=int16)
    check_model(tfl, n=8, seed=18, expect_ops=["SLICE"])


# ----------------------------------------------------------------------------- float32


@pytest.mark.slow
def test_float32_ops():
    tf = _tf()
    models = [
        (lambda x: tf.transpose(tf.pad(x, [[0, 0], [1, 0], [0, 2], [1, 1]], constant_values=0.5), [0, 2, 3, 1]), [(3, 4, 2)],
         ["PADV2", "TRANSPOSE"]),
        (lambda a, b: tf.reshape(tf.concat([a[:, ::2], b], axis=1), (1, -1)), [(6, 3), (2, 3)],
         ["CONCATENATION", "RESHAPE", "STRIDED_SLICE"]),
        (lambda x: tf.slice(x, [0, 1, 0], [1, 2, -1]), [(4, 3)], ["SLICE"]),
    ]
    for fn, shapes, ops in models:
        check_model(convert_float(fn, shapes), n=4, seed=19, expect_ops=ops)


# ----------------------------------------------------------------------------- real models


@pytest.mark.parametrize("name", ["tflm_micro_speech_int8", "mlperf_kws_dscnn_int8", "mlperf_ic_resnet8_int8",
                                  "mlperf_vww_mobilenetv1_025_int8", "tflm_person_detect_int8", "tflm_mnist_lstm_int8"])
def test_real_model_reshapes_lower(shared_models, name):
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    graph = read_model((shared_models / f"{name}.tflite").read_bytes())
    reshapes = [op for op in graph.ops if op.opcode == "RESHAPE"]
    assert reshapes
    for op in reshapes:
        assert support_error(graph, op) is None
