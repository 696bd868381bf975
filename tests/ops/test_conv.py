"""CONV_2D and DEPTHWISE_CONV_2D: TFLM == simulator (== host C) on a grid of shapes, strides, paddings,
dilations, depth multipliers, groups, activations, biases, batches and dtypes (int8 and 16x8); every conv
layer of the shared real models against TFLM layer by layer; and the refusals.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pytest

from tests.session_cache import once_per_session
from tests.ops.oplib import check_model, convert_function


@dataclass(frozen=True)
class Case:
    op: str  # "conv" | "dw"
    shape: tuple  # input (H, W, C)
    k: tuple | int
    filters: int = 4  # conv output channels; depthwise: depth multiplier
    strides: tuple | int = 1
    padding: str = "same"
    dilation: tuple | int = 1
    act: str | None = None  # None | "relu" | "relu6"
    bias: str = "yes"  # "yes" | "none" (bias input removed) | "int32" (16x8 int32 bias) | "int32-none" (removed,
    #                    leaving quantized_bias_type = INT32, which picks TFLM's int32 16x8 path)
    groups: int = 1
    batch: int = 1
    int16: bool = False
    lo: float = -1.0
    hi: float = 1.0


CASES = [
    Case("conv", (8, 8, 3), 3),
    Case("conv", (9, 7, 5), (3, 2), filters=6, strides=(2, 1), padding="valid", act="relu", lo=0.0, hi=6.0),
    Case("conv", (10, 10, 4), 3, filters=8, dilation=2, act="relu6", lo=-3.0, hi=1.0),
    Case("conv", (11, 9, 2), 5, filters=3, strides=2, bias="none"),
    Case("conv", (6, 6, 16), 1, filters=8, padding="valid", lo=-0.5, hi=4.0),
    Case("conv", (7, 8, 3), 4, filters=5, strides=3, padding="valid", act="relu"),
    Case("conv", (9, 9, 4), 3, filters=6, strides=2, groups=2, act="relu6"),
    Case("conv", (12, 5, 1), (4, 3), filters=4, strides=2, act="relu", lo=-2.0, hi=5.0),
    Case("conv", (10, 11, 3), 3, filters=4, padding="valid", dilation=(2, 3)),
    Case("conv", (1, 1, 16), 1, filters=4),
    Case("conv", (6, 7, 3), 3, filters=4, strides=2, batch=3, act="relu"),
    Case("conv", (9, 8, 3), 3, filters=5, dilation=(2, 1), act="relu6"),  # a 3x3x3 patch's rows 2 image rows apart
    Case("dw", (8, 8, 3), 3),
    Case("dw", (9, 7, 4), 3, filters=2, strides=2, padding="valid", act="relu", lo=0.0, hi=6.0),
    Case("dw", (10, 10, 2), 3, filters=3, dilation=2, act="relu6", lo=-3.0, hi=1.0),
    Case("dw", (12, 9, 1), (4, 3), filters=8, strides=2, act="relu"),
    Case("dw", (11, 10, 1), 3, filters=5, dilation=2, padding="valid", bias="none"),  # lowered as a CONV_2D too
    Case("dw", (7, 7, 6), 5, padding="valid", bias="none"),
    Case("dw", (6, 5, 4), 3, filters=2, strides=(1, 2), batch=2),
    # depth multiplier 1 (the common case; filters=1), depths around multiples of 4
    Case("dw", (7, 7, 6), 3, filters=1),
    Case("dw", (9, 8, 8), (3, 2), filters=1, strides=2, act="relu", lo=-2.0, hi=3.0),
    Case("dw", (10, 10, 5), 3, filters=1, dilation=2, padding="same", bias="none"),
    # 16x8
    Case("conv", (8, 8, 3), 3, int16=True),
    Case("conv", (9, 9, 4), 3, filters=6, strides=2, padding="valid", act="relu", int16=True, lo=0.0, hi=6.0),
    Case("conv", (8, 7, 4), 3, filters=6, dilation=2, groups=2, int16=True),
    Case("conv", (8, 8, 3), 3, filters=5, strides=2, bias="int32", act="relu6", int16=True),
    Case("conv", (7, 9, 3), (2, 3), filters=4, bias="none", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (7, 9, 3), (2, 3), filters=4, bias="int32-none", int16=True, lo=-3.0, hi=1.0),
    Case("conv", (5, 6, 2), 3, filters=3, batch=2, int16=True),
    Case("dw", (8, 8, 3), 3, filters=2, int16=True),
    Case("dw", (9, 9, 4), 3, strides=2, padding="valid", dilation=1, act="relu6", int16=True, lo=0.0, hi=6.0),
    Case("dw", (10, 8, 2), 3, filters=3, dilation=2, bias="none", int16=True),
    Case("dw", (9, 8, 1), 3, filters=4, int16=True),  # 1 channel, 16x8: stays a depthwise call (int64 sums)
]


def _build(case: Case):
    import keras

    if case.op == "conv":
        layer = keras.layers.Conv2D(case.filters, case.k, strides=case.strides, padding=case.padding,
                                    dilation_rate=case.dilation, groups=case.groups)
    else:
        layer = keras.layers.DepthwiseConv2D(case.k, strides=case.strides, padding=case.padding,
                                             depth_multiplier=case.filters, dilation_rate=case.dilation)
    layers = [keras.Input(case.shape, batch_size=case.batch), layer]
    if case.act == "relu":
        layers.append(keras.layers.ReLU())
    elif case.act == "relu6":
        layers.append(keras.layers.ReLU(6.0))
    model = keras.Sequential(layers)
    # random biases (Keras initialises them to zero), so the bias path is exercised
    rng = np.random.default_rng(len(str(case)))
    layer.set_weights([w if w.ndim > 1 else rng.normal(0, 0.3, w.shape).astype(np.float32)
                       for w in layer.get_weights()])
    return model


@once_per_session
def convert_case(case: Case) -> bytes:
    """A one-op model with the case's batch (oplib pins batch 1) and bias type."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(len(str(case)))
    model = _build(case)
    rng = np.random.default_rng(1)

    def representative():
        for _ in range(64):
            yield [rng.uniform(case.lo, case.hi, size=(case.batch, *case.shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    ops = tf.lite.OpsSet
    converter.target_spec.supported_ops = [
        ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if case.int16 else ops.TFLITE_BUILTINS_INT8
    ]
    converter.inference_input_type = converter.inference_output_type = tf.int16 if case.int16 else tf.int8
    if case.bias.startswith("int32"):
        converter._experimental_full_integer_quantization_bias_type = tf.int32
    tfl = converter.convert()
    return _drop_bias(tfl) if case.bias.endswith("none") else tfl


def _drop_bias(tfl: bytes) -> bytes:
    """Drop every op's third input (the bias) by shortening its inputs vector to 2 in place in the flatbuffer:
    the converter always writes a bias, but TFLite models may omit it. (A -1 bias index is not used: TFLM's
    DepthwiseConvPrepare crashes on it and TFLite's rejects it.)"""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as tflite

    data = bytearray(tfl)
    graph = tflite.Model.GetRootAs(data, 0).Subgraphs(0)
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        assert op.InputsLength() == 3
        start = op._tab.Vector(op._tab.Offset(6))  # Operator.inputs (vtable slot 6): int32 vector
        struct.pack_into("<i", data, start - 4, 2)  # the vector's length field precedes its first element
    return bytes(data)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.op}{'-16x8' if c.int16 else ''}" for i, c in enumerate(CASES)])
def test_conv(case):
    tfl = convert_case(case)
    check_model(tfl, n=12, seed=3, expect_ops=["CONV_2D" if case.op == "conv" else "DEPTHWISE_CONV_2D"])


@pytest.mark.slow
@pytest.mark.parametrize("opcode", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_relu_n1_to_1(opcode):
    """A clip to [-1, 1] after the conv fuses into RELU_N1_TO_1 (Keras has no layer for it)."""
    import tensorflow as tf

    rng = np.random.default_rng(5)
    if opcode == "CONV_2D":
        w = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
        conv = lambda x: tf.nn.conv2d(x, w, 1, "SAME")  # noqa: E731
    else:
        w = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
        conv = lambda x: tf.nn.depthwise_conv2d(x, w, (1, 1, 1, 1), "VALID")  # noqa: E731
    tfl = convert_function(lambda x: tf.clip_by_value(conv(x), -1.0, 1.0), [(8, 8, 3)], seed=5, lo=-2.0, hi=2.0)
    check_model(tfl, n=12, seed=3, expect_ops=[opcode])


def test_one_channel_depthwise_lowers_as_a_conv():
    """A depthwise conv of a 1-channel int8 input with depth multiplier M is lowered as a CONV_2D of M filters
    [M, H, W, 1] (tinyq/lower/conv.py); exactness is test_conv's (TFLM == simulator == host C on its cases)."""
    from tinyq.lower.conv import ConvCall, DepthwiseConvCall
    from tinyq.sim.run import as_program
    from tinyq.tflite_reader import read_model

    case = Case("dw", (12, 9, 1), (4, 3), filters=8, strides=2, act="relu")
    tfl = convert_case(case)
    (call,) = [c for c in as_program(tfl).calls if c.opcode == "DEPTHWISE_CONV_2D"]
    assert isinstance(call, ConvCall) and call.kernel == "tq_conv_s8" and call.filter_input_depth == 1
    graph = read_model(tfl)
    (op,) = [o for o in graph.ops if o.opcode == "DEPTHWISE_CONV_2D"]
    tflite_filter = graph.tensors[op.inputs[1]].data  # [1, H, W, M]
    assert np.array_equal(call.filter[..., 0], tflite_filter[0].transpose(2, 0, 1))
    (call16,) = [c for c in as_program(convert_case(Case("dw", (9, 8, 1), 3, filters=4, int16=True))).calls
                 if c.opcode == "DEPTHWISE_CONV_2D"]
    assert isinstance(call16, DepthwiseConvCall) and call16.depth_multiplier == 4


def _lower_one(graph, op):
    """The record of one op of a graph (through the public lower(), on a one-op view of the graph)."""
    from dataclasses import replace

    from tinyq.lower import lower

    (call,) = lower(replace(graph, ops=(op,), inputs=(op.inputs[0],), outputs=(op.outputs[0],))).calls
    return call


# --- every conv layer of the shared real models, layer by layer against TFLM -------------------------------

REAL = ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8",
        "tflm_micro_speech_int8", "tflm_person_detect_int8"]


@pytest.mark.slow
@pytest.mark.parametrize("stem", REAL)
def test_real_model_conv_layers(stem, shared_models):
    """Feed each conv layer TFLM's own input tensor and compare the simulator with TFLM's output tensor."""
    from tests.ops.oplib import random_inputs
    from tinyq.oracle import TflmReference
    from tinyq.sim.kernels import get_kernel
    from tinyq.tflite_reader import read_model

    path = shared_models / f"{stem}.tflite"
    graph = read_model(path)
    ref = TflmReference(path, preserve_all_tensors=True)
    convs = [op for op in graph.ops if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert convs
    (x_in,) = random_inputs(_InputsOnly(graph), 3, seed=7)
    acts = {i: [] for op in convs for i in (op.inputs[0], op.outputs[0])}
    for s in range(len(x_in)):
        ref.run([x_in[s : s + 1]], len(graph.outputs))
        for i, values in acts.items():
            values.append(ref.tensor(i))
    for op in convs:
        call = _lower_one(graph, op)
        x = np.stack(acts[op.inputs[0]])
        want = np.stack(acts[op.outputs[0]])
        got = get_kernel(call.kernel)(call, x).reshape(want.shape)
        np.testing.assert_array_equal(got, want, err_msg=graph.op_location(op))


class _InputsOnly:
    """The two Program members random_inputs reads, straight from a Graph (other ops may not lower yet)."""

    def __init__(self, graph):
        self.inputs = graph.inputs
        self._graph = graph

    def tensor(self, i):
        return self._graph.tensors[i]


# --- refusals, on hand-built graphs ------------------------------------------------------------------------


def _graph(opcode="CONV_2D", activation=0, depth_multiplier=1, dtype="int8", bias_dtype="int32", filter_zp=0,
           filter_shape=(4, 3, 3, 2)):
    from tinyq.ir import Graph, Op, QuantParams, Tensor

    q = QuantParams((0.05,), (0,))
    out_c = filter_shape[0] if opcode == "CONV_2D" else filter_shape[3]
    tensors = (
        Tensor(0, "x", (1, 6, 6, 2), dtype, q),
        Tensor(1, "w", filter_shape, "int8", QuantParams((0.01,) * out_c, (filter_zp,) * out_c),
               np.ones(filter_shape, np.int8)),
        Tensor(2, "b", (out_c,), bias_dtype, None, np.zeros(out_c, bias_dtype)),
        Tensor(3, "y", (1, 6, 6, out_c), dtype, q),
    )
    options = {"padding": 0, "stride_h": 1, "stride_w": 1, "dilation_hfactor": 1, "dilation_wfactor": 1,
               "fused_activation_function": activation}
    if opcode == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = depth_multiplier
    op = Op(0, opcode, 1, (0, 1, 2), (3,), MappingProxyType(options))
    return Graph(tensors, (op,), (0,), (3,))


@pytest.mark.parametrize("kwargs, message", [
    (dict(), None),
    (dict(activation=4), "fused activation type 4"),
    (dict(filter_zp=3), "non-zero zero point"),
    (dict(filter_shape=(4, 3, 3, 3)), "not a multiple of the filter depth"),
    (dict(filter_shape=(3, 3, 3, 1)), "do not split into 2 groups"),
    (dict(dtype="int16", bias_dtype="int64"), None),
    (dict(dtype="int16", bias_dtype="int32"), None),
    (dict(dtype="int8", bias_dtype="int64"), "has dtype int64"),
    (dict(opcode="DEPTHWISE_CONV_2D", filter_shape=(1, 3, 3, 4), depth_multiplier=2), None),
    (dict(opcode="DEPTHWISE_CONV_2D", filter_shape=(1, 3, 3, 4), depth_multiplier=1), "depth_multiplier 1"),
    (dict(opcode="DEPTHWISE_CONV_2D", filter_shape=(1, 3, 3, 4), depth_multiplier=2, dtype="int16",
          bias_dtype="int32"), "has dtype int32"),
])
def test_lowering_refusals(kwargs, message):
    from tinyq.lower import support_error

    graph = _graph(**kwargs)
    err = support_error(graph, graph.ops[0])
    if message is None:
        assert err is None
    else:
        assert err is not None and message in err and "op #0" in err, err


# --- the vectorised simulator against plain loops (TFLM's loop nest), on hand-built random layers ----------


def _random_layer(rng, opcode, dtype, in_shape, k, out_c, stride, dilation, padding, groups=1, multiplier=1, bias=True):
    """A one-op Graph with random per-channel quantization and weights; returns (graph, op)."""
    from tinyq.ir import Graph, Op, QuantParams, Tensor
    from tinyq.lower.common import conv_output_size

    b, h, w, c = in_shape
    if opcode == "CONV_2D":
        f_shape, out_c = (out_c, k[0], k[1], c // groups), out_c
    else:
        f_shape, out_c = (1, k[0], k[1], c * multiplier), c * multiplier
    oh = conv_output_size(padding, h, k[0], stride[0], dilation[0])
    ow = conv_output_size(padding, w, k[1], stride[1], dilation[1])
    zp = (0, 0) if dtype == "int16" else (int(rng.integers(-20, 20)), int(rng.integers(-128, 0)))
    bias_dtype = "int64" if dtype == "int16" else "int32"
    tensors = [
        Tensor(0, "x", in_shape, dtype, QuantParams((0.02,), (zp[0],))),
        Tensor(1, "w", f_shape, "int8", QuantParams(tuple(rng.uniform(0.002, 0.02, out_c)), (0,) * out_c),
               rng.integers(-127, 128, f_shape).astype(np.int8)),
        Tensor(2, "b", (out_c,), bias_dtype, None, rng.integers(-3000, 3000, out_c).astype(bias_dtype)),
        Tensor(3, "y", (b, oh, ow, out_c), dtype, QuantParams((0.05,), (zp[1],))),
    ]
    options = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1], "dilation_hfactor": dilation[0],
               "dilation_wfactor": dilation[1], "fused_activation_function": 1}
    if opcode == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = multiplier
    op = Op(0, opcode, 1, (0, 1, 2) if bias else (0, 1), (3,), MappingProxyType(options))
    return Graph(tuple(tensors), (op,), (0,), (3,)), op


def _loops(call, x):
    """TFLM's ConvPerChannel / DepthwiseConvPerChannel loop nest in Python, on one image [H, W, C]."""
    from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_int64

    depthwise = hasattr(call, "depth_multiplier")
    out = np.zeros((call.output_height, call.output_width, call.output_depth), np.int64)
    for oy in range(call.output_height):
        for ox in range(call.output_width):
            for oc in range(call.output_depth):
                acc = 0
                for fy in range(call.filter_height):
                    for fx in range(call.filter_width):
                        iy = oy * call.stride_height - call.pad_height + call.dilation_height * fy
                        ix = ox * call.stride_width - call.pad_width + call.dilation_width * fx
                        if not (0 <= iy < call.input_height and 0 <= ix < call.input_width):
                            continue
                        if depthwise:
                            xv = int(x[iy, ix, oc // call.depth_multiplier]) + call.input_offset
                            acc += int(call.filter[fy, fx, oc]) * xv
                        else:
                            d = call.filter_input_depth
                            g = oc // (call.output_depth // (call.input_depth // d))
                            xs = x[iy, ix, g * d : (g + 1) * d].astype(np.int64) + call.input_offset
                            acc += int(np.dot(call.filter[oc, fy, fx].astype(np.int64), xs))
                if call.bias is not None:
                    acc += int(call.bias[oc])
                if call.acc64:
                    y = multiply_by_quantized_multiplier_int64(acc, call.multiplier[oc], call.shift[oc])
                else:
                    y = multiply_by_quantized_multiplier(acc, call.multiplier[oc], call.shift[oc])
                out[oy, ox, oc] = min(max(int(y) + call.output_offset, call.act_min), call.act_max)
    return out


LAYERS = [
    ("CONV_2D", "int8", (2, 7, 6, 4), (3, 3), 6, (1, 1), (1, 1), 0, 1, 1, True),
    ("CONV_2D", "int8", (1, 9, 8, 4), (3, 2), 6, (2, 3), (1, 1), 0, 2, 1, False),
    ("CONV_2D", "int8", (1, 9, 9, 3), (3, 3), 5, (1, 1), (2, 2), 1, 1, 1, True),
    ("CONV_2D", "int16", (2, 6, 7, 3), (2, 3), 4, (2, 1), (1, 2), 0, 1, 1, True),
    ("DEPTHWISE_CONV_2D", "int8", (2, 7, 7, 6), (3, 3), 0, (2, 2), (1, 1), 0, 1, 1, True),
    ("DEPTHWISE_CONV_2D", "int8", (1, 9, 8, 2), (4, 3), 0, (1, 2), (2, 1), 0, 1, 3, False),
    ("DEPTHWISE_CONV_2D", "int8", (1, 8, 8, 1), (5, 4), 0, (2, 2), (1, 1), 1, 1, 8, True),
    ("DEPTHWISE_CONV_2D", "int16", (2, 7, 6, 3), (3, 3), 0, (1, 1), (2, 2), 0, 1, 2, True),
]


@pytest.mark.parametrize("layer", LAYERS, ids=[f"{i}-{l[0]}-{l[1]}" for i, l in enumerate(LAYERS)])
@pytest.mark.parametrize("work", ["float64", "int64"])
def test_sim_matches_loops(layer, work, monkeypatch):
    """Padding, strides, dilations, groups and depth multipliers against the plain loop nest, in both of the
    simulator's summation dtypes (float64 normally; int64 when 2**53 could be reached)."""
    from tinyq.sim.kernels import conv as sim_conv
    from tinyq.sim.kernels import get_kernel

    opcode, dtype, in_shape, k, out_c, stride, dilation, padding, groups, multiplier, bias = layer
    rng = np.random.default_rng(sum(map(ord, str(layer))))
    graph, op = _random_layer(rng, opcode, dtype, in_shape, k, out_c, stride, dilation, padding, groups, multiplier,
                              bias)
    call = _lower_one(graph, op)
    if work == "int64":
        monkeypatch.setattr(sim_conv, "_work_dtype", lambda call, terms: np.int64)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (3, *in_shape), endpoint=True).astype(dtype)
    got = get_kernel(call.kernel)(call, x).reshape(3, in_shape[0], call.output_height, call.output_width, -1)
    for s in range(3):
        for b in range(in_shape[0]):
            np.testing.assert_array_equal(got[s, b], _loops(call, x[s, b]), err_msg=f"sample {s} image {b}")


def test_right_shift_requant_matches_primitive():
    """The simulator's sign-magnitude requantization == fixedpoint.multiply_by_quantized_multiplier (shift <= 0)."""
    from types import SimpleNamespace

    from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
    from tinyq.sim.kernels.conv import _Requant

    rng = np.random.default_rng(11)
    channels, rows = 64, 4096
    multiplier = rng.integers(0, 2**31, channels)
    multiplier[:4] = (0, 1, 2**30, 2**31 - 1)
    shift = rng.integers(-31, 1, channels)
    shift[4:8] = (0, -1, -31, -30)
    acc = rng.integers(-(2**40), 2**40, (rows, channels))  # includes values the int32 accumulator wraps
    acc[:rows // 2] >>= rng.integers(0, 40, (rows // 2, channels))  # and many small ones
    acc[0, :] = -(2**31)
    acc[1, :] = 2**31 - 1
    acc[2, :] = -1
    call = SimpleNamespace(output_depth=channels, bias=None, acc64=False, output_offset=0, act_min=-(2**40),
                           act_max=2**40, multiplier=multiplier.astype(np.int32), shift=shift.astype(np.int32))
    requant = _Requant(call, rows * channels)
    assert requant.right_only
    want = multiply_by_quantized_multiplier(acc, multiplier, shift)
    np.testing.assert_array_equal(requant(acc).reshape(rows, channels), want)
