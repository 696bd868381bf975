"""Nested weights (topK, tinyq.encode.nested): a child level's weights read as the top K bits of its parent's int8
bytes. Storage, not arithmetic: the child's `_wn` call computes exactly what the int8 kernel computes on the
child's values, in the simulator and in host-compiled C (ASan/UBSan), and its codes are the parent's bytes."""
from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from tinyq.encode import EncodingError, choose, encode, parse_encoding
from tinyq.encode.apply import ENCODABLE, apply_encodings, weight_report
from tinyq.encode.nested import encode_top, nest_call
from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Op, QuantParams, Tensor
from tinyq.lower import lower
from tinyq.lower.common import conv_output_size
from tinyq.sim.run import run_program
from tinyq.verify import random_batches

KS = (1, 2, 4, 7)


def _top(parent: np.ndarray, k: int) -> np.ndarray:
    return (parent >> (8 - k)).astype(np.int8)


# ---- encode_top ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("axis", [0, 1])
def test_encode_top_decodes_to_the_child_and_stores_the_parent_bytes(k, axis):
    rng = np.random.default_rng(k * 10 + axis)
    parent = rng.integers(-128, 128, (5, 13)).astype(np.int8)
    parent[0, :2] = [-128, 127]  # both ends of int8
    w = encode_top(_top(parent, k), parent, axis, k)
    assert (w.encoding, w.bits, w.row_bytes, w.channel_axis) == (f"top{k}", 8, 13, axis)
    assert w.codes.tobytes() == parent.tobytes()
    assert np.array_equal(w.decode(), _top(parent, k))
    assert w.nbytes == parent.nbytes


def _refused_top(child, parent, bits, axis=0) -> str:
    with pytest.raises(EncodingError) as info:
        encode_top(np.asarray(child, np.int8), np.asarray(parent, np.int8), axis, bits)
    text = str(info.value)
    assert text and "\n" not in text
    return text


def test_encode_top_refuses_a_child_that_is_not_the_top_bits():
    parent = np.array([[16, -16, 17], [100, -1, 0]], np.int8)
    child = _top(parent, 4)
    child[0, 2] += 1  # 17 >> 4 = 1, so 2 is not it
    child[1, 1] = 0  # -1 >> 4 = -1
    msg = _refused_top(child, parent, 4)
    assert "2 of 6 child values are not the top 4 bits" in msg
    assert "row 0, element 2: child 2, parent 17, whose top 4 bits are 1" in msg


def test_encode_top_refuses_a_shape_mismatch_and_bad_widths():
    parent = np.zeros((2, 3), np.int8)
    assert "differ in shape" in _refused_top(np.zeros((3, 2)), parent, 4)
    for bits in (0, 8, -1, True):
        assert "K = 1…7" in _refused_top(parent, parent, bits)


def test_top_is_only_made_by_nesting():
    assert parse_encoding(" TOP3 ") == "top3"
    for bad in ("top0", "top8", "sparse+top4", "block4+top2"):
        with pytest.raises(EncodingError):
            parse_encoding(bad)
    rows = np.array([[1, -2, 3]], np.int8)
    with pytest.raises(EncodingError, match="top4 is made only by nesting"):
        encode(rows, 0, "top4")
    assert not choose(rows, 0, float("inf")).encoding.startswith("top")  # --weights auto / smallest never pick it


# ---- nest_call on lowered layers -------------------------------------------------------------------------

def _layer_tensors(base, spec, weights, rng):
    """x, w, b, y tensors (indices from `base`) of one layer: spec = (opcode, dtype, in_shape, kernel, out_c, stride,
    dilation, padding, multiplier); returns (tensors, op options, inputs, outputs)."""
    opcode, dtype, in_shape, k, out_c, stride, dilation, padding, mult = spec
    qin = QuantParams((0.02,), (0 if dtype == "int16" else -7,))
    qout = QuantParams((0.05 if dtype == "int8" else 0.002,), (0 if dtype == "int16" else 3,))
    bias_dtype = "int64" if dtype == "int16" and opcode != "FULLY_CONNECTED" else "int32"
    if opcode == "FULLY_CONNECTED":
        out_c, out_shape, options = weights.shape[0], (in_shape[0], weights.shape[0]), {"fused_activation_function": 0}
    else:
        if opcode == "DEPTHWISE_CONV_2D":
            out_c = in_shape[3] * mult
        oh = conv_output_size(padding, in_shape[1], k[0], stride[0], dilation[0])
        ow = conv_output_size(padding, in_shape[2], k[1], stride[1], dilation[1])
        out_shape = (in_shape[0], oh, ow, out_c)
        options = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1], "dilation_hfactor": dilation[0],
                   "dilation_wfactor": dilation[1], "fused_activation_function": 1}
        if opcode == "DEPTHWISE_CONV_2D":
            options["depth_multiplier"] = mult
    scales = tuple(float(s) for s in rng.uniform(0.004, 0.03, out_c))
    tensors = [
        Tensor(base, f"x{base}", in_shape, dtype, qin),
        Tensor(base + 1, f"w{base}", weights.shape, "int8", QuantParams(scales, (0,) * out_c), weights),
        Tensor(base + 2, f"b{base}", (out_c,), bias_dtype, QuantParams(tuple(float(np.float32(0.02) * np.float32(s))
                                                                             for s in scales), (0,) * out_c),
               rng.integers(-2000, 2000, out_c).astype(bias_dtype)),
        Tensor(base + 3, f"y{base}", out_shape, dtype, qout),
    ]
    return tensors, MappingProxyType(options)


def _weight_shape(spec):
    opcode, _, in_shape, k, out_c, _, _, _, mult = spec
    if opcode == "FULLY_CONNECTED":
        return (out_c, in_shape[1])
    if opcode == "CONV_2D":
        return (out_c, k[0], k[1], in_shape[3])
    return (1, k[0], k[1], in_shape[3] * mult)


def _graph(spec, weight_list, seed) -> Graph:
    """One layer of `spec` per weight tensor, side by side (op j reads input j, writes output j)."""
    rng = np.random.default_rng(seed)  # the same quantization and biases for parent and child
    tensors, ops = [], []
    for j, w in enumerate(weight_list):
        t, options = _layer_tensors(4 * j, spec, w, rng)
        tensors += t
        ops.append(Op(j, spec[0], 1, (4 * j, 4 * j + 1, 4 * j + 2), (4 * j + 3,), options))
    return Graph(tuple(tensors), tuple(ops), tuple(4 * j for j in range(len(ops))),
                 tuple(4 * j + 3 for j in range(len(ops))))


def _levels(spec, seed):
    """(parent program, child program, nested child program): one layer per K in KS, random int8 parents."""
    rng = np.random.default_rng(seed)
    parents = [rng.integers(-128, 128, _weight_shape(spec)).astype(np.int8) for _ in KS]
    parent = lower(_graph(spec, parents, seed), "int8")
    child = lower(_graph(spec, [_top(p, k) for p, k in zip(parents, KS)], seed), "int8")
    calls = tuple(nest_call(c, p, k, f"level 1, call {j}")
                  for j, (c, p, k) in enumerate(zip(child.calls, parent.calls, KS)))
    return parent, child, replace(child, calls=calls)


def _host_c(program, batches, out):
    """Emit `program` for the host, build it with ASan/UBSan and run it (as compile_model does for a .tflite)."""
    from tinyq.compiler import MANIFEST, manifest
    from tinyq.emit.emitter import emit_sources
    from tinyq.kernel_select import select_kernels
    from tinyq.planner import plan_memory
    from tinyq.targets.project import write_project
    from tinyq.testing import build_host_runner, run_host_runner

    plan = plan_memory(program)
    variants = select_kernels(program, frozenset())
    emit_sources(program, plan, out / "src", variants=variants)
    info = manifest(program, plan, "host", "model", "model.tflite", variants)
    (out / MANIFEST).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_project(out, "host", info)
    return run_host_runner(out, build_host_runner(out), batches)


SAME, VALID = 0, 1
# (opcode, dtype, input shape, filter (KH, KW), output channels, stride, dilation, padding, depth multiplier)
LAYERS = [
    ("FULLY_CONNECTED", "int8", (3, 37), None, 5, None, None, None, 1),
    ("FULLY_CONNECTED", "int16", (2, 20), None, 4, None, None, None, 1),
    ("CONV_2D", "int8", (1, 6, 5, 3), (3, 3), 4, (1, 1), (1, 1), VALID, 1),
    ("CONV_2D", "int8", (2, 7, 6, 5), (3, 2), 3, (2, 2), (1, 1), SAME, 1),
    ("CONV_2D", "int16", (1, 5, 5, 2), (2, 2), 3, (1, 2), (1, 1), SAME, 1),
    ("DEPTHWISE_CONV_2D", "int8", (1, 6, 6, 4), (3, 3), None, (1, 1), (1, 1), SAME, 2),
    ("DEPTHWISE_CONV_2D", "int8", (2, 7, 5, 3), (3, 2), None, (2, 2), (1, 1), VALID, 1),
    ("DEPTHWISE_CONV_2D", "int16", (1, 5, 6, 3), (3, 3), None, (1, 1), (1, 1), SAME, 1),
]


@pytest.mark.parametrize("seed,spec", list(enumerate(LAYERS)), ids=[f"{s[0]}-{s[1]}-{k}" for k, s in enumerate(LAYERS)])
def test_nested_call_equals_int8_kernel_on_child(seed, spec, tmp_path):
    """For K in KS: simulator on the _wn call == host C on it == the int8 kernel on the child's values."""
    parent, child, nested = _levels(spec, seed)
    field = ENCODABLE[child.calls[0].kernel][1]
    for c, p, k in zip(nested.calls, parent.calls, KS):
        assert c.kernel == f"{p.kernel}_wn" and getattr(c, field) is None
        assert c.packed.value_shift == 8 - k and c.packed.value_encoding == 5 and c.packed.bits == 8
        # one array in the image: the child's codes are the parent's int8 weights, byte for byte
        assert c.packed.codes.tobytes() == getattr(p, field).tobytes()
    report = weight_report(nested)
    assert [w.encoding for w in report] == [f"top{k}" for k in KS]
    assert [w.nbytes for w in report] == [getattr(p, field).nbytes for p in parent.calls]
    inputs = random_batches(child, 5, seed)
    want = run_program(child, inputs)
    got = run_program(nested, inputs)
    c_out = _host_c(nested, inputs, tmp_path / "host")
    for j, (i, k) in enumerate(zip(nested.outputs, KS)):
        np.testing.assert_array_equal(got[i], want[i], err_msg=f"simulator, top{k}")
        np.testing.assert_array_equal(c_out[j], want[i], err_msg=f"host C, top{k}")
        assert len(np.unique(want[i])) > 3, f"top{k}: outputs saturated"  # not vacuous


def test_nested_call_runs_where_the_child_model_is_read_from_tflite():
    """FULLY_CONNECTED read from a .tflite: TFLM on the child's file == the nested call in the simulator."""
    from tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from tests import modelkit
    from tinyq.tflite_reader import read_model

    def model(weights):
        net = modelkit.Net()
        x = net.add_tensor("x", [1, 24], scale=0.05, zero_point=-3)
        w = net.add_tensor("w", list(weights.shape), scale=0.01, data=weights)
        b = net.add_tensor("b", [6], "int32", scale=float(np.float32(0.05) * np.float32(0.01)),
                           data=np.arange(-300, 300, 100))
        y = net.add_tensor("y", [1, 6], scale=0.05, zero_point=1)
        net.add_op("FULLY_CONNECTED", [x, w, b], [y], schema.FullyConnectedOptionsT())
        return net.io([x], [y]).bytes()

    rng = np.random.default_rng(3)
    parent_w = rng.integers(-128, 128, (6, 24)).astype(np.int8)
    child_file = model(_top(parent_w, 4))
    parent = lower(read_model(model(parent_w)), "int8")
    child = lower(read_model(child_file), "int8")
    nested = replace(child, calls=(nest_call(child.calls[0], parent.calls[0], 4, "level 1"),))
    xs = rng.integers(-128, 128, (8, 1, 24)).astype(np.int8)
    it = runtime.Interpreter.from_bytes(child_file, arena_size=1 << 20)
    tflm = []
    for x in xs:
        it.set_input(x, 0)
        it.invoke()
        tflm.append(it.get_output(0).copy())
    got = run_program(nested, [xs])[nested.outputs[0]]
    np.testing.assert_array_equal(got, np.stack(tflm))


# ---- nest_call refusals ------------------------------------------------------------------------------------

def _refused_nest(call, parent_call, bits=4) -> str:
    with pytest.raises(UnsupportedError) as info:
        nest_call(call, parent_call, bits, "level 1, layer 'y0'")
    text = str(info.value)
    assert text.startswith("level 1, layer 'y0': ") and "\n" not in text
    return text


def test_nest_call_refuses_a_packed_parent():
    _, child, _ = _levels(LAYERS[0], 0)
    signs = np.tile(np.where(np.arange(37) % 2, 3, -3).astype(np.int8), (5, 1))
    ternary = lower(_graph(LAYERS[0], [signs] * len(KS), 0), "ternary")
    assert "parent's weights are already encoded (ternary)" in _refused_nest(child.calls[0], ternary.calls[0])


def test_nest_call_refuses_other_kernels_shapes_and_values():
    fc_parent, fc_child, _ = _levels(LAYERS[0], 0)
    conv_parent, _, _ = _levels(LAYERS[2], 2)
    assert "the child runs tq_fully_connected_s8, the parent tq_conv_s8" in _refused_nest(fc_child.calls[0],
                                                                                          conv_parent.calls[0])
    wide = lower(_graph(("FULLY_CONNECTED", "int8", (3, 38), None, 5, None, None, None, 1),
                        [np.zeros((5, 38), np.int8)] * 4, 0), "int8")
    assert "differ in shape" in _refused_nest(fc_child.calls[0], wide.calls[0])
    # call 1 holds top2 of its parent, not top4: most values differ
    assert "child values are not the top 4 bits" in _refused_nest(fc_child.calls[1], fc_parent.calls[1], 4)
    assert "K = 1…7" in _refused_nest(fc_child.calls[0], fc_parent.calls[0], 8)
