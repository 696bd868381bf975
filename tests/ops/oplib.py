"""One-op test models: build a seeded Keras model (or tf.function), quantize it with TFLiteConverter,
and check TFLM == simulator (== host C, once tinyq can compile) on seeded inputs, exactly.

Usage in tests/ops/test_<family>.py:
    tfl = convert_keras(lambda: keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(...)]),
                        seed=1, int16=False)
    check_model(tfl, n=20, seed=1)
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tf():
    import tensorflow as tf

    return tf


def _representative(shapes, seed, lo, hi, n=64):
    rng = np.random.default_rng(seed)

    def gen():
        for _ in range(n):
            yield [rng.uniform(lo, hi, size=(1, *s)).astype(np.float32) for s in shapes]

    return gen


def _finish(converter, shapes, seed, int16, lo, hi, float_io=False):
    tf = _tf()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(shapes, seed, lo, hi)
    if int16:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        io = tf.int16
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io = tf.int8
    if not float_io:
        converter.inference_input_type = io
        converter.inference_output_type = io
    return converter.convert()


def convert_keras(build, seed: int, int16: bool = False, lo: float = -1.0, hi: float = 1.0, float_io=False) -> bytes:
    """build() -> keras.Model, called after seeding every RNG (weights are reproducible)."""
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    model = build()
    shapes = [tuple(int(d) for d in i.shape[1:]) for i in model.inputs]
    # Pin the batch to 1: a dynamic batch makes the converter add SHAPE/GATHER/PACK ops around reshapes.
    import keras

    inputs = [keras.Input(shape=s, batch_size=1) for s in shapes]
    fixed = keras.Model(inputs, model(inputs if len(inputs) > 1 else inputs[0]))
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    return _finish(converter, shapes, seed, int16, lo, hi, float_io)


def convert_function(fn, shapes, seed: int, int16: bool = False, lo: float = -1.0, hi: float = 1.0, float_io=False) -> bytes:
    """fn(*tensors) using tf ops; shapes: per-input shapes without the batch axis (batch is 1)."""
    tf = _tf()
    tf.keras.utils.set_random_seed(seed)
    specs = [tf.TensorSpec((1, *s), tf.float32) for s in shapes]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    return _finish(converter, shapes, seed, int16, lo, hi, float_io)


def random_inputs(program, n: int, seed: int) -> list[np.ndarray]:
    """Full-range seeded integer inputs (floats in [-2, 2) for float inputs), shape (N, *tensor.shape)."""
    from tinyq.verify import random_batches

    return random_batches(program, n, seed, float_range=(-2.0, 2.0))


def check_model(tflite_bytes: bytes, n: int = 20, seed: int = 0, expect_ops=None) -> None:
    """TFLM == simulator on n seeded random inputs (exact), and the same for host-compiled C when available."""
    from tinyq.oracle import TflmReference
    from tinyq.sim.run import as_program, run_program
    from tinyq.tflite_reader import read_model

    graph = read_model(tflite_bytes)
    if expect_ops is not None:
        ops = sorted({op.opcode for op in graph.ops})
        assert ops == sorted(expect_ops), f"converter produced {ops}, expected {sorted(expect_ops)}"
    program = as_program(graph)
    inputs = random_inputs(program, n, seed)
    ref = TflmReference(tflite_bytes).run(inputs, len(program.outputs))
    env = run_program(program, inputs)
    for k, i in enumerate(program.outputs):
        got = env[i]
        want = ref[k].reshape(got.shape)
        if got.dtype == np.float32:  # bit for bit: -0.0 != 0.0, NaN payloads count
            got, want = got.view(np.uint32), want.astype(np.float32).view(np.uint32)
        if not np.array_equal(got, want):
            bad = np.argwhere(got != want)
            raise AssertionError(
                f"simulator != TFLM on output '{program.tensor(i).name}': {len(bad)} of {got.size} values differ; "
                f"first at {tuple(bad[0])}: sim {got[tuple(bad[0])]} vs tflm {want[tuple(bad[0])]}"
            )
    _check_host_c(tflite_bytes, program, inputs, env)


def _check_host_c(tflite_bytes, program, inputs, env) -> None:
    """Compile the model for the host board and compare with the simulator (enabled once tinyq.emit exists)."""
    try:
        from tinyq.testing import host_c_outputs  # provided by the C emitter stage
    except ImportError:
        return
    outs = host_c_outputs(tflite_bytes, inputs)
    for k, i in enumerate(program.outputs):
        got, want = outs[k], env[i]
        if want.dtype == np.float32:
            got, want = got.view(np.uint32), want.view(np.uint32)
        np.testing.assert_array_equal(got, want, err_msg=f"host C != simulator on '{program.tensor(i).name}'")
