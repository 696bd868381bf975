"""Converter-made models with a dynamic batch, which tinyq refused before tinyq.fold: the converter keeps the
SHAPE -> STRIDED_SLICE -> PACK / CONCATENATION (-> ADD, SUB, MUL, GATHER, CAST) chains that compute reshape
targets, and tinyq folds them. TFLM == simulator == host C exactly; where TFLM has no kernel for a chain's op
(GATHER of int32, SHAPE of int64), the reference is LiteRT's reference kernels (bit-exact with TFLM elsewhere).

Each test converts one model that carries several chains (TensorFlow conversions cost seconds each). The semantics
of every folded op and the hostile files are tested on hand-built graphs in tests/unit/test_fold.py.
"""
import numpy as np
import pytest

from tests.ops.oplib import assert_same, check_model, convert_function, convert_keras, random_inputs


def _tf():
    import tensorflow as tf

    return tf


def _folded_ops(tfl: bytes) -> list[str]:
    from tinyq.lower import prepare
    from tinyq.tflite_reader import read_model

    graph = read_model(tfl)
    kept = {op.index for op in prepare(graph).ops}
    return sorted({op.opcode for op in graph.ops if op.index not in kept})


def _refused_before(tfl: bytes) -> None:
    """What tinyq said before folding: the chain's ops are not lowered."""
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    graph = read_model(tfl)
    assert any(support_error(graph, op) for op in graph.ops if op.opcode in ("SHAPE", "PACK", "GATHER", "CAST"))


@pytest.mark.slow
def test_tf_shape_reshapes():
    """tf.reshape(x, [tf.shape(x)[0], 24]), tf.shape(x)[:1] concatenated with constants, and integer ADD, SUB and
    MUL on the batch (b * (b + b) - b is the batch again, so the converter's declared shape, batch 1, holds)."""
    tf = _tf()

    def fn(x, y):
        b = tf.shape(x)[0]
        return (tf.reshape(x, [b, 24]),
                tf.reshape(x, tf.concat([tf.shape(x)[:1], [3, 8]], 0)),
                tf.reshape(y, tf.stack([b * (b + b) - b, 12])),
                tf.reshape(tf.nn.relu(y), tf.concat([tf.shape(y)[:1], [2, 6]], 0)))

    tfl = convert_function(fn, [(4, 6), (3, 4)], seed=4, batch=None)
    _refused_before(tfl)
    assert _folded_ops(tfl) == ["ADD", "CONCATENATION", "MUL", "PACK", "SHAPE", "STRIDED_SLICE", "SUB"]
    check_model(tfl, n=8, seed=5)


@pytest.mark.slow
def test_keras_flatten_and_reshape_with_a_dynamic_batch():
    import keras

    def build():
        inp = keras.Input((6, 6, 2))
        h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
        flat = keras.layers.Dense(5)(keras.layers.Flatten()(h))
        grid = keras.layers.Reshape((-1, 8))(h)
        return keras.Model(inp, [flat, keras.layers.Reshape((2, 4, 8))(grid)])

    tfl = convert_keras(build, seed=6, batch=None)
    _refused_before(tfl)
    assert "SHAPE" in _folded_ops(tfl)
    check_model(tfl, n=8, seed=7)


@pytest.mark.slow
def test_gather_and_int64_chains_match_litert():
    """tf.gather(tf.shape(x), 0) and an int64 chain cast to int32: TFLM has no GATHER of int32 and no SHAPE of
    int64, so LiteRT's reference kernels are the reference; simulator == host C as everywhere."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    tf = _tf()

    def fn(x):
        b64 = tf.shape(x, out_type=tf.int64)[0]
        return (tf.reshape(x, tf.stack([tf.gather(tf.shape(x), 0), 24])),
                tf.reshape(x, tf.cast(tf.stack([b64, 6, 4]), tf.int32)))

    tfl = convert_function(fn, [(4, 6)], seed=8, batch=None)
    _refused_before(tfl)
    assert {"CAST", "GATHER", "SHAPE"} <= set(_folded_ops(tfl))
    from tinyq.sim.run import as_program

    inputs = random_inputs(as_program(tfl), 6, seed=9)
    sim = check_model(tfl, inputs=inputs, tflm=False)
    interp = Interpreter(model_content=tfl, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    (inp,), outs = interp.get_input_details(), interp.get_output_details()
    for s in range(len(inputs[0])):
        interp.set_tensor(inp["index"], inputs[0][s])
        interp.invoke()
        for k, got in enumerate(sim):
            want = interp.get_tensor(outs[k]["index"])
            assert_same(got[s], want.reshape(got[s].shape), f"simulator != LiteRT on output {k}, sample {s}")


@pytest.mark.slow
def test_declared_shape_that_the_chain_contradicts_is_refused():
    """tf.reshape(x, [tf.shape(x)[0], -1]): the converter declares int8[1, 1] (the -1 unknown to it); the chain
    computes [1, 24]. TFLM refuses the model at allocation, tinyq names the RESHAPE."""
    from tinyq.errors import UnsupportedError
    from tinyq.lower import lower
    from tinyq.oracle import TflmReference
    from tinyq.tflite_reader import read_model

    tf = _tf()
    tfl = convert_function(lambda x: tf.reshape(x, [tf.shape(x)[0], -1]), [(4, 6)], seed=1, batch=None)
    with pytest.raises(UnsupportedError, match=r"op #\d+ RESHAPE .*computes \[1, 24\], but the op declares .*int8\[1, 1\]"):
        lower(read_model(tfl))
    with pytest.raises(RuntimeError):
        TflmReference(tfl).run([np.zeros((1, 1, 4, 6), np.int8)], 1)
