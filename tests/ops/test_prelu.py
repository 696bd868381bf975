"""PRELU: TFLM == simulator == host C, exactly, and the refusals.

Converter-made models from keras.layers.PReLU (alpha per element, per channel, per row or one scalar, seeded
alphas of both signs; 2D to 4D inputs) — the converter quantizes PRELU to int8 only (it refuses 16x8), so int16,
alpha zero points, a non-constant alpha, an input that broadcasts and the multiplier corners are hand-built.
CASES is also the firmware grid (tests/firmware/test_op_grids_on_boards.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.modelkit import Net
from tests.ops.oplib import check_model, convert_function, convert_keras

# ---------------------------------------------------------------- hand-built models (no TensorFlow)


def _prelu(net: Net, k: int, in_shape, alpha_shape, dtype="int8", inq=(0.05, 3), aq=(0.02, -10), outq=(0.04, -5),
           alpha_const=True, out_shape=None, alpha_dtype="int8", axis=0, seed=0):
    """Adds input k -> PRELU (alpha constant or a graph input) -> output k; returns (graph inputs, output)."""
    x = net.add_tensor(f"x{k}", in_shape, dtype, *inq)
    data = np.random.default_rng(seed + k).integers(-128, 128, size=alpha_shape) if alpha_const else None
    a = net.add_tensor(f"alpha{k}", alpha_shape, alpha_dtype, *aq, data=data, axis=axis)
    y = net.add_tensor(f"y{k}", out_shape or np.broadcast_shapes(tuple(in_shape), tuple(alpha_shape)), dtype, *outq)
    net.add_op("PRELU", [x, a], [y])
    return ([x] if alpha_const else [x, a]), y


def hand_model(specs) -> bytes:
    """One model running each spec (keyword arguments of _prelu) as its own PRELU, side by side."""
    net = Net()
    ins, outs = [], []
    for k, spec in enumerate(specs):
        i, o = _prelu(net, k, **spec)
        ins += i
        outs.append(o)
    return net.io(ins, outs).bytes()


S8_HAND = [
    dict(in_shape=[1, 4, 5, 3], alpha_shape=[3]),  # per channel, alpha zero point -10
    dict(in_shape=[1, 4, 5, 3], alpha_shape=[1, 4, 5, 3], alpha_const=False),  # alpha an activation
    dict(in_shape=[1, 1, 3], alpha_shape=[4, 5, 3], inq=(0.02, -128), aq=(0.1, 127)),  # the input broadcasts
    dict(in_shape=[2, 6], alpha_shape=[1, 6], inq=(0.08, 0), outq=(0.01, 0), aq=(0.3, 50)),  # both shifts left
    dict(in_shape=[1, 3, 4], alpha_shape=[3, 1], inq=(1e-6, 0), outq=(1e4, 0)),  # multipliers flush to 0
    dict(in_shape=[1, 2, 2, 4], alpha_shape=[1, 1, 4], aq=([0.02] * 4, [7] * 4), axis=2),  # per-channel, all equal
]
S16_HAND = [
    dict(in_shape=[1, 4, 5, 3], alpha_shape=[3], dtype="int16", inq=(1e-3, 0), outq=(2e-3, 0), aq=(0.02, 5)),
    dict(in_shape=[1, 4, 5, 3], alpha_shape=[1, 1, 3], dtype="int16", inq=(3e-4, 100), outq=(1e-4, -50),
         alpha_const=False),
    dict(in_shape=[1, 6], alpha_shape=[5, 1], dtype="int16", inq=(2e-4, -7), outq=(5e-4, 9), aq=(0.5, -128)),
    dict(in_shape=[16], alpha_shape=[1], dtype="int16", inq=(0.01, 0), outq=(1e-4, 0), aq=(0.02, 0)),  # saturates
]


def test_loop_nest_and_parameters():
    """Per-channel alpha is two loops (rows of C, alpha repeating per row); the multipliers are TFLM's double
    ratios; a constant alpha is stored as int8 in its own shape, an activation alpha is the kernel's second input;
    the hand-built corners are reached."""
    from tinyq.quant import quantize_multiplier
    from tinyq.sim.run import as_program

    calls = as_program(hand_model(S8_HAND)).calls
    assert [c.kernel for c in calls[:2]] == ["tq_prelu_const_s8", "tq_prelu_s8"]
    per_channel, activation, input_broadcast, left, flushed, _ = calls
    assert (per_channel.shape, per_channel.input_stride, per_channel.alpha_stride) == ((20, 3), (3, 1), (0, 1))
    assert per_channel.alpha_const.dtype == np.int8 and per_channel.alpha_const.shape == (3,)
    assert (activation.rank, activation.alpha_const, len(activation.inputs)) == (1, None, 2)
    assert (input_broadcast.shape, input_broadcast.input_stride, input_broadcast.alpha_stride) == (
        (20, 3), (0, 1), (3, 1))
    assert (per_channel.input_offset, per_channel.alpha_offset, per_channel.output_offset) == (-3, 10, -5)
    f32 = np.float32
    assert (per_channel.multiplier_identity, per_channel.shift_identity) == quantize_multiplier(
        float(f32(0.05)) / float(f32(0.04)))
    assert (per_channel.multiplier_alpha, per_channel.shift_alpha) == quantize_multiplier(
        float(f32(0.05)) * float(f32(0.02)) / float(f32(0.04)))
    assert left.shift_identity == 4 and left.shift_alpha == 2
    assert (flushed.multiplier_identity, flushed.shift_identity, flushed.multiplier_alpha) == (0, 0, 0)


def _refusal(spec, edit=None) -> str:
    """Why tinyq refuses the one-PRELU model of `spec` (keyword arguments of _prelu), after edit(net)."""
    from tinyq.errors import TinyqError
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    net = Net()
    ins, out = _prelu(net, 0, **spec)
    net.io(ins, [out])
    if edit:
        edit(net)
    with pytest.raises(TinyqError) as info:
        lower(read_model(net.bytes()))
    return str(info.value)


def _drop_alpha(net):
    net.sg.operators[0].inputs = net.sg.operators[0].inputs[:1]


def _input_constant(net):
    """Input 0 holds data (and is no graph input); alpha is the graph's input."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    buf = schema.BufferT()
    buf.data = [1] * 60
    net.model.buffers.append(buf)
    net.sg.tensors[0].buffer = len(net.model.buffers) - 1
    net.sg.inputs = [1]


def _input_per_channel(net):
    q = net.sg.tensors[0].quantization
    q.scale, q.zeroPoint, q.quantizedDimension = [0.1, 0.2, 0.1], [0, 0, 0], 3


def _add_options(net):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    op = net.sg.operators[0]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.AddOptions, schema.AddOptionsT()


def _output_int16(net):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    net.sg.tensors[2].type = schema.TensorType.INT16


BASE = dict(in_shape=[1, 4, 5, 3], alpha_shape=[3])


@pytest.mark.parametrize("spec, edit, message", [
    (dict(BASE, alpha_shape=[4], out_shape=[1, 4, 5, 3]), None, "do not broadcast"),
    (dict(BASE, out_shape=[1, 4, 5, 6]), None, "do not broadcast"),
    (dict(BASE, alpha_dtype="int16"), None, "dtype int16; supported: int8"),
    (dict(BASE, dtype="int16", alpha_dtype="int16", inq=(1e-3, 0), outq=(1e-3, 0)), None, "supported: int8"),
    (dict(BASE, alpha_dtype="float32", aq=(None, None)), None, "dtype float32; supported: int8"),
    (dict(BASE, dtype="float32", inq=(None, None), outq=(None, None), alpha_dtype="float32", aq=(None, None)),
     None, "dtype float32; supported: int8, int16"),
    (dict(BASE, aq=(None, None)), None, "is not quantized"),
    (dict(BASE, inq=(None, None)), None, "is not quantized"),
    (dict(BASE, outq=(None, None)), None, "is not quantized"),
    (dict(BASE, aq=([0.02, 0.03, 0.02], [0, 0, 0])), None, "TFLM would apply the first to every channel"),
    (dict(BASE, aq=([0.02] * 3, [0, 1, 0])), None, "whose scales or zero points differ"),
    (BASE, _input_per_channel, "must have per-tensor quantization"),
    (dict(BASE, inq=(1e20, 0), outq=(1e-20, 0)), None, "input/output scale ratio"),
    (dict(BASE, inq=(1.0, 0), outq=(1.0, 0), aq=(1e10, 0)), None, "alpha multiplier"),
    (dict(BASE, inq=(float("inf"), 0)), None, "scales must be finite"),
    (dict(BASE, aq=(float("nan"), 0)), None, "scales must be finite"),
    (BASE, _output_int16, "dtype int16; supported: int8"),
    (dict(in_shape=[2, 1, 2, 1, 2, 1, 2], alpha_shape=[1, 2, 1, 2, 1, 2, 1]), None, "at most 6"),
    (dict(in_shape=[1, 0, 3], alpha_shape=[3]), None, "is empty"),
    (BASE, _drop_alpha, "has 1 inputs; PRELU takes 2"),
    (BASE, lambda n: n.sg.operators[0].inputs.append(1), "has 3 inputs; PRELU takes 2"),
    (dict(BASE, alpha_const=False), _input_constant, "constant input 0"),
    (BASE, _add_options, "the op takes NONE"),
])
def test_refused(spec, edit, message):
    err = _refusal(spec, edit)
    assert message in err, err


# ---------------------------------------------------------------- converter-made models vs TFLM


def _keras_prelus(layers, seed: int):
    """fn(*inputs) for convert_function: each input (shape, shared_axes, alpha range, calibration range) through
    its own keras.layers.PReLU with seeded uniform alphas, every PReLU an output. (A multi-input Keras model
    would do too, but the converter orders its inputs by name, keras_tensor_10 before keras_tensor_9.)"""
    import keras

    prelus = []
    for k, (shape, shared, alphas, _) in enumerate(layers):
        prelu = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(*alphas, seed=seed + k),
                                   shared_axes=shared)
        prelu.build((1, *shape))
        prelus.append(prelu)
    return lambda *xs: [prelu(x) for prelu, x in zip(prelus, xs)]


KERAS_MIXED = [  # (shape without batch, shared_axes, alpha range, calibration range)
    ((4, 5, 3), [1, 2], (-1.5, 1.5), (-1.0, 3.0)),  # per channel [1, 1, 3]
    ((3, 4, 6), None, (-0.5, 2.5), (-2.0, 2.0)),  # per element
    ((6, 4), [1], (-3.0, 0.5), (-4.0, 1.0)),  # 3D, per channel [1, 4]
    ((4, 5, 3), [2], (0.1, 0.9), (-1.0, 1.0)),  # per row and channel [4, 1, 3]
    ((2, 3, 5), [1, 2, 3], (-0.4, -0.2), (-3.0, 0.5)),  # one scalar alpha
    ((10,), None, (-2.0, 6.0), (0.0, 2.0)),  # 2D
]


def _conv_prelu(seed: int):
    import keras

    return lambda: keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(16, 3, padding="same"),
                                     keras.layers.PReLU(keras.initializers.RandomUniform(-2.0, 4.0, seed=seed),
                                                        shared_axes=[1, 2])])


CASES = ["keras_mixed", "conv_prelu", "s8_hand", "s16_hand"]


def convert_case(case: str) -> bytes:
    if case == "keras_mixed":
        return convert_function(_keras_prelus(KERAS_MIXED, seed=11), [shape for shape, *_ in KERAS_MIXED], seed=11,
                                ranges=[r for *_, r in KERAS_MIXED])
    if case == "conv_prelu":
        return convert_keras(_conv_prelu(seed=5), seed=5, lo=-1.0, hi=1.0)
    return hand_model(S8_HAND if case == "s8_hand" else S16_HAND)


EXPECT = {"keras_mixed": (["PRELU"], ["tq_prelu_const_s8"] * len(KERAS_MIXED)),
          "conv_prelu": (["CONV_2D", "PRELU"], None),
          "s8_hand": (["PRELU"], ["tq_prelu_s8" if not s.get("alpha_const", True) else "tq_prelu_const_s8"
                                  for s in S8_HAND]),
          "s16_hand": (["PRELU"], ["tq_prelu_s16" if not s.get("alpha_const", True) else "tq_prelu_const_s16"
                                   for s in S16_HAND])}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_matches_tflm(case):
    ops, kernels = EXPECT[case]
    check_model(convert_case(case), n=20, seed=3, expect_ops=ops, kernels=kernels)
