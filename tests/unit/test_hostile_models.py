"""Hostile model files, each a minimal model the test builds itself (tests/modelkit.py), one per failure
kind the robustness campaign found: every one is refused by the reader or by the op's lowering with one
located line, `simulate` and `compile` refuse it alike (exit 2), and where TFLM refuses it too, so does
tinyq. A file that sets only `builtin_code` reads correctly.
"""
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.modelkit import Net, fc_model, relu_chain, unpack, pack
from tinyq.cli import main
from tinyq.errors import TinyqError
from tinyq.lower import lower
from tinyq.sim.run import simulate
from tinyq.tflite_reader import read_model


def _edit(net: Net, fn) -> bytes:
    fn(net.model, net.sg)
    return net.bytes()


def _set(obj, **fields):
    for k, v in fields.items():
        setattr(obj, k, v)


def _quant(sg, tensor, **fields):
    _set(sg.tensors[tensor].quantization, **fields)


def _two_inputs(listed_twice: str) -> bytes:
    net = Net()
    x = net.add_tensor("x", [1, 4], scale=0.1, zero_point=0)
    y = net.add_tensor("y", [1, 4], scale=0.2, zero_point=0)
    net.add_op("ADD", [x, x], [y], schema.AddOptionsT())
    return net.io([x, x] if listed_twice == "input" else [x], [y, y] if listed_twice == "output" else [y]).bytes()


def _two_output_relu() -> bytes:
    net = relu_chain()
    extra = net.add_tensor("z", [1, 8], scale=0.05, zero_point=-10)
    net.sg.operators[1].outputs.append(extra)
    return net.bytes()


def _second_subgraph(model, sg):
    model.subgraphs.append(unpack(relu_chain().bytes()).subgraphs[0])


def _cycle(model, sg):
    sg.operators.reverse()  # RELU h -> y now runs before x -> h writes h


def _conv_options_on_fc(model, sg):
    sg.operators[0].builtinOptionsType = schema.BuiltinOptions.Conv2DOptions
    sg.operators[0].builtinOptions = schema.Conv2DOptionsT()


# (id, model bytes, the refusal's distinctive words)
CASES = [
    # memory-unsafe firmware
    ("reads-own-output", _edit(relu_chain(), lambda m, sg: _set(sg.operators[1], inputs=[2])), "reads its own output"),
    ("fc-weights-transposed", fc_model(n_out=1, weight_shape=[16, 1]).bytes(), "bias tensor 'b' (#2, int32[1]) must have 16 values"),
    ("fc-weights-transposed-no-bias", _edit(fc_model(n_out=1, weight_shape=[16, 1]), lambda m, sg: _set(sg.operators[0], inputs=[0, 1])),
     "does not hold 16 rows of 16 values"),
    ("activation-shape-off-by-one", relu_chain(out_shape=(1, 9)).bytes(), "output shape [1, 9] differs from the input shape [1, 8]"),
    ("empty-output", fc_model(out_shape=[0, 4]).bytes(), "is empty (a zero dimension)"),
    # silently wrong integers on models TFLM runs
    ("zero-point-65535", fc_model(out_zp=65535).bytes(), "zero point 65535, outside the int8 range"),
    ("zero-point-int64-high-bits", fc_model(in_zp=5 + (1 << 40)).bytes(), "outside the int8 range"),
    ("zero-point-int64-min", fc_model(in_zp=-(2**63)).bytes(), "zero point -9223372036854775808"),
    ("scale-4.9e34", fc_model(in_scale=4.9e34).bytes(), "has scale"),
    ("scale-3.4e38", fc_model(w_scale=3.4e38).bytes(), "has scale"),
    ("declared-output-shape", fc_model(out_shape=[1, 5]).bytes(), "does not hold 1 rows of 4 values"),
    ("options-of-wrong-type", _edit(fc_model(), _conv_options_on_fc), "has a Conv2DOptions table; the op takes FullyConnectedOptions"),
    ("input-listed-twice", _two_inputs("input"), "is listed 2 times"),
    ("output-listed-twice", _two_inputs("output"), "is listed 2 times"),
    # accepted what TFLM refuses
    ("scale-nan", _edit(fc_model(), lambda m, sg: _quant(sg, 0, scale=[float("nan")])), "scales must be finite, positive and normal"),
    ("scale-inf", _edit(fc_model(), lambda m, sg: _quant(sg, 3, scale=[float("inf")])), "scales must be finite, positive and normal"),
    ("scale-zero", _edit(fc_model(), lambda m, sg: _quant(sg, 3, scale=[0.0])), "scales must be finite, positive and normal"),
    ("weight-scale-zero", _edit(fc_model(), lambda m, sg: _quant(sg, 1, scale=[0.0])), "scales must be finite, positive and normal"),
    ("bias-scale-mismatch", _edit(fc_model(), lambda m, sg: _quant(sg, 2, scale=[0.01])), "(TFLM requires |difference| / output scale <= 0.02)"),
    ("quantized-dimension-2^31-1", _edit(fc_model(), lambda m, sg: _quant(sg, 1, quantizedDimension=2**31 - 1)), "quantized_dimension 2147483647"),
    ("scales-without-zero-points", _edit(fc_model(), lambda m, sg: _quant(sg, 0, zeroPoint=[])), "has 1 scales but 0 zero points"),
    ("per-channel-count", _edit(fc_model(), lambda m, sg: _quant(sg, 1, scale=[0.01] * 3, zeroPoint=[0] * 3)), "3 per-channel scales"),
    # what used to be internal errors
    ("op-without-outputs", _edit(relu_chain(), lambda m, sg: _set(sg.operators[1], outputs=[])), "has no outputs"),
    ("no-graph-outputs", _edit(relu_chain(), lambda m, sg: _set(sg, outputs=[])), "the graph has no outputs"),
    ("ops-out-of-order", _edit(relu_chain(), _cycle), "before operator #1 (RELU) writes it"),
    ("tensor-nothing-writes", _edit(relu_chain(), lambda m, sg: _set(sg.operators[0], outputs=[1]) or sg.tensors.append(sg.tensors[1]) or _set(sg.operators[1], inputs=[3])), "not a constant, a graph input or any operator's output"),
    # C that gcc rejected
    ("huge-shape", _edit(relu_chain(), lambda m, sg: [_set(t, shape=[1, 2**16, 2**15, 1]) for t in sg.tensors]), "larger than 2 GiB"),
    ("empty-subgraph", _edit(relu_chain(), lambda m, sg: _set(sg, operators=[])), "the graph has no operators"),
    ("op-writes-graph-input", _edit(relu_chain(), lambda m, sg: sg.operators[1].outputs.append(0)), "writes graph input"),
    ("op-with-two-outputs", _two_output_relu(), "has 2 outputs; RELU writes one"),
    ("two-subgraphs", _edit(relu_chain(), _second_subgraph), "model has 2 subgraphs"),
    ("unknown-dtype", _edit(relu_chain(), lambda m, sg: _set(sg.tensors[1], type=99)), "unknown dtype (TensorType 99)"),
    ("extra-input", _edit(relu_chain(), lambda m, sg: sg.operators[1].inputs.append(0)), "has 2 inputs; RELU takes 1"),
]


@pytest.mark.parametrize("model, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_one_located_line(tmp_path, capsys, model, words):
    with pytest.raises(TinyqError) as exc:
        lower(read_model(model))
    assert words in str(exc.value) and "\n" not in str(exc.value)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    np.save(tmp_path / "x.npy", np.zeros((1, 1), np.int8))
    messages = []
    for argv in (["simulate", str(path), "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy")],
                 ["compile", str(path), "--out", str(tmp_path / "fw")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("tinyq: error: ") and err.count("\n") == 1, err
        messages.append(err)
    assert messages[0] == messages[1]  # compile refuses exactly what simulate refuses, for the same reason
    assert not (tmp_path / "fw" / "src" / "model.c").exists()


# TFLM also refuses these. It runs some that tinyq refuses: zero input, weight or bias scales and an infinite
# output scale (every output is then the zero point). TFLite's spec requires scale > 0, and such a scale
# only hides a broken model, so tinyq refuses them all.
TFLM_REFUSES = ["scale-4.9e34", "scale-3.4e38", "scale-nan", "scale-zero", "bias-scale-mismatch"]


@pytest.mark.parametrize("case", TFLM_REFUSES)
def test_tflm_refuses_these_too(case):
    from tflite_micro import runtime

    model = dict((c[0], c[1]) for c in CASES)[case]
    with pytest.raises(Exception):
        interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
        interp.set_input(np.zeros((1, 16), np.int8), 0)
        interp.invoke()


def _quantize_dequantize(deprecated_code: bool) -> bytes:
    net = Net()
    x = net.add_tensor("x", [1, 6], "float32")
    q = net.add_tensor("q", [1, 6], "int8", scale=0.05, zero_point=3)
    y = net.add_tensor("y", [1, 6], "float32")
    net.add_op("QUANTIZE", [x], [q], deprecated_code=deprecated_code)
    net.add_op("DEQUANTIZE", [q], [y], deprecated_code=deprecated_code)
    return net.io([x], [y]).bytes()


def test_builtin_code_only_reads_correctly():
    """Current Google tools (ai-edge-quantizer) leave deprecated_builtin_code at 0 and set builtin_code:
    QUANTIZE (114) and DEQUANTIZE (6) must not read as ADD (0)."""
    from tflite_micro import runtime

    model = _quantize_dequantize(deprecated_code=False)
    codes = unpack(model).operatorCodes
    assert [oc.deprecatedBuiltinCode for oc in codes] == [0, 0] and [oc.builtinCode for oc in codes] == [114, 6]
    assert [op.opcode for op in read_model(model).ops] == ["QUANTIZE", "DEQUANTIZE"]
    x = np.array([[-1.0, 0.0, 0.02, 0.025, 3.3, -9.0]], np.float32)
    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    interp.set_input(x, 0)
    interp.invoke()
    got = simulate(model, x).output_list()[0]
    assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), interp.get_output(0).view(np.uint32))


def test_duplicate_intermediate_names_are_made_unique():
    """Names key traces and .npz files: a repeated name gets its tensor index."""
    model = _edit(relu_chain(), lambda m, sg: _set(sg.tensors[1], name=b"x"))
    assert [t.name for t in read_model(model).tensors] == ["x", "x#1", "y"]


def test_modelkit_models_run_in_tflm_and_match():
    """The builder's valid models are exact against TFLM, so the refusals above are about the edits. A bias
    without quantization is accepted, as TFLM does: the arithmetic never reads the bias scale."""
    from tflite_micro import runtime

    rng = np.random.default_rng(0)
    no_bias_quant = _edit(fc_model(), lambda m, sg: _set(sg.tensors[2], quantization=None))
    for model, shape in ((fc_model().bytes(), (1, 16)), (relu_chain().bytes(), (1, 8)), (no_bias_quant, (1, 16))):
        x = rng.integers(-128, 128, shape, dtype=np.int8)
        interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
        interp.set_input(x, 0)
        interp.invoke()
        assert np.array_equal(simulate(model, x).output_list()[0], interp.get_output(0))
        assert pack(unpack(model)) == model


def test_names_with_control_characters_stay_on_one_line(tmp_path, capsys):
    """A refusal quotes tensor names; the CLI escapes what is not printable, so it is still one line."""
    model = tmp_path / "m.tflite"
    model.write_bytes(_edit(relu_chain(out_shape=(1, 9)), lambda m, sg: _set(sg.tensors[2], name=b"y\n#error x\r\x1b[2J")))
    assert main(["compile", str(model), "--out", str(tmp_path / "fw")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output 'y\\n#error x\\r\\x1b[2J'" in err
