"""Low-bit PTQ on the digits example: every spec's levels land in the .tflite, TFLM runs it, and tinyq's simulator
computes the same integers; the encoder then packs them. Errors are one line with exit status 2."""
import subprocess
import sys

import numpy as np
import pytest

from tinyq import read_model
from tinyq.encode.analyze import analyze
from tinyq.encode.formats import rows_view
from tinyq.quantize import quantize
from tinyq.quantize.runner import run_integer

pytestmark = pytest.mark.slow
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
SPECS = ("int4", "int3", "int2", "ternary", "binary", "po2", "codebook:16", "int6")


def _weights(graph):
    for op in graph.ops:
        if op.opcode in WEIGHT_OPS:
            t = graph.tensors[op.inputs[1]]
            yield op, t, *rows_view(t.data, op.opcode)


def _check_levels(spec: str, stats):
    if spec.startswith("int"):
        assert stats.int_bits <= int(spec[3:]), stats.describe()
    elif spec == "ternary":
        assert stats.min >= -1 and stats.max <= 1
    elif spec == "binary":
        assert stats.min == -1 and stats.max == 1 and stats.zeros == 0
    elif spec == "po2":
        assert stats.levels <= 15
    elif spec.startswith("codebook"):
        assert stats.levels <= int(spec.split(":")[1])


def _same_in_tflm_and_sim(tflite: bytes, x: np.ndarray):
    graph = read_model(tflite)
    sim = run_integer(tflite, graph, [x], "sim", trace=False).outputs
    ref = run_integer(tflite, graph, [x], "tflm", trace=False).outputs
    for a, b in zip(sim, ref):
        np.testing.assert_array_equal(a, b)
    return graph


@pytest.fixture(scope="module")
def data(digits):
    return {k: np.load(digits / f"{k}.npy") for k in ("calib", "test_x", "test_y")}


@pytest.mark.parametrize("spec", SPECS)
def test_every_spec_is_exact_in_tflm_and_the_simulator(digits, data, spec):
    result = quantize(digits / "digits.keras", data["calib"], weights=spec, progress=False)
    assert [layer.spec for layer in result.layers] == [spec] * 4
    graph = _same_in_tflm_and_sim(result.tflite, data["test_x"][:40])
    for op, t, rows, axis in _weights(graph):
        _check_levels(spec, analyze(rows, axis))
        assert t.quant.per_channel and len(t.quant.scale) == t.data.shape[3 if op.opcode == "DEPTHWISE_CONV_2D" else 0]


def test_per_layer_specs_and_sparsity(digits, data):
    result = quantize(digits / "digits.keras", data["calib"], weights="ternary", layers={"logits": "int4"},
                      sparsity="0.5", progress=False)
    graph = _same_in_tflm_and_sim(result.tflite, data["test_x"][:40])
    found = {op.opcode: analyze(rows, axis) for op, _, rows, axis in _weights(graph)}
    assert found["FULLY_CONNECTED"].int_bits <= 4 and found["FULLY_CONNECTED"].levels > 3
    assert found["DEPTHWISE_CONV_2D"].levels <= 3
    for op, _, rows, _ in _weights(graph):
        assert ((rows == 0).sum(axis=1) >= int(np.floor(0.5 * rows.shape[1] + 0.5))).all(), op.opcode
    assert result.config == "conv1=ternary+sparse0.5 dwconv=ternary+sparse0.5 pointwise=ternary+sparse0.5 " \
                            "logits=int4+sparse0.5"


def test_structured_sparsity_is_what_the_encoder_reads(digits, data):
    from tinyq.encode.analyze import nm_compatible

    result = quantize(digits / "digits.keras", data["calib"], weights="int4", sparsity="2:4", progress=False)
    graph = _same_in_tflm_and_sim(result.tflite, data["test_x"][:20])
    for op, _, rows, _ in _weights(graph):
        full = rows.shape[1] // 4 * 4
        assert nm_compatible(rows[:, :full], 2, 4), op.opcode


def test_int4_is_accurate_and_packed_by_the_encoder(digits, data):
    from tinyq.encode.apply import weight_report
    from tinyq.lower import lower

    int8 = quantize(digits / "digits.keras", data["calib"], progress=False)
    int4 = quantize(digits / "digits.keras", data["calib"], weights="int4", progress=False)

    def accuracy(tflite):
        out = run_integer(tflite, read_model(tflite), [data["test_x"]], "sim", trace=False).outputs[0]
        return float(np.mean(out.argmax(axis=1) == data["test_y"]))

    assert accuracy(int4.tflite) >= accuracy(int8.tflite) - 0.02
    layers = weight_report(lower(read_model(int4.tflite), "auto", None, "dsp"))
    assert all(w.nbytes < 0.7 * w.int8_bytes for w in layers if w.int8_bytes > 200), [
        (w.encoding, w.nbytes, w.int8_bytes) for w in layers]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinyq.cli", "quantize", *map(str, args), "--no-progress"],
                          capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["--layer", "nope=int4"], "has no layer 'nope'; layers with weights: conv1, dwconv, pointwise, logits"),
    (["--layer", "pool=int4"], "layer 'pool' is a MaxPooling2D, which has no weights"),
    (["--weights", "int12"], "bad weight spec 'int12'"),
    (["--sparsity", "3:2"], "N:M needs 1 <= N < M"),
    (["--weights", "binary", "--sparsity", "0.5"], "no zero level"),
    (["--method", "admm"], "--method admm needs --train X.npy and --labels Y.npy"),
])
def test_bad_options_are_one_line_errors(digits, tmp_path, args, message):
    proc = _cli(digits / "digits.keras", "--calibration", digits / "calib.npy", "--out", tmp_path / "o.tflite", *args)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tinyq: error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o.tflite").exists()


def test_low_bit_weights_with_one_int16_layer(digits, data):
    result = quantize(digits / "digits.keras", data["calib"], weights="int4", layers={"logits": "int4/int16"},
                      progress=False)
    assert result.activations == "mixed"
    graph = _same_in_tflm_and_sim(result.tflite, data["test_x"][:40])
    fc = next(op for op in graph.ops if op.opcode == "FULLY_CONNECTED")
    assert graph.tensors[fc.inputs[0]].dtype == "int16" and graph.tensors[fc.outputs[0]].dtype == "int16"
    assert graph.tensors[fc.inputs[2]].dtype == "int64"  # 16x8 bias, requantized to the int4 scales
    assert any(op.opcode == "QUANTIZE" for op in graph.ops)
    for op, _, rows, axis in _weights(graph):
        assert analyze(rows, axis).int_bits <= 4, op.opcode


@pytest.mark.parametrize("spec, sparsity, method", [("ternary", None, "qat"), ("int4", "2:4", "qat"),
                                                    ("int8", "0.75", "qat"), ("int3", None, "admm")])
def test_trained_levels_survive_the_conversion(digits, data, spec, sparsity, method):
    train_x, train_y = np.load(digits / "train_x.npy"), np.load(digits / "train_y.npy")
    result = quantize(digits / "digits.keras", data["calib"], weights=spec, sparsity=sparsity, method=method,
                      train=train_x[:512], labels=train_y[:512], epochs=2, progress=False)
    assert result.method == method and len(result.layers) == 4
    assert all(layer.error < 0.02 for layer in result.layers), result.layers  # the converter kept the levels
    graph = _same_in_tflm_and_sim(result.tflite, data["test_x"][:40])
    for op, _, rows, axis in _weights(graph):
        if spec != "int8":
            _check_levels(spec, analyze(rows, axis))
        if sparsity == "0.75":
            assert ((rows == 0).sum(axis=1) >= int(np.floor(0.75 * rows.shape[1] + 0.5))).all(), op.opcode


def test_layers_fused_with_batch_norm_and_activation_layers(tmp_path):
    """Conv2D -> BatchNormalization -> ReLU and Dense -> Activation become one op each, named after the activation:
    the spec still reaches the convolution's and the dense layer's weights (BN folded per channel, scales refit)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    h = layers.ReLU(name="relu")(layers.BatchNormalization(name="bn")(layers.Conv2D(8, 3, name="conv")(inp)))
    h = layers.Activation("relu", name="act")(layers.Dense(16, name="fc")(layers.Flatten(name="flat")(h)))
    model = keras.Model(inp, layers.Dense(4, name="head")(h))
    x = np.random.default_rng(0).random((96, 8, 8, 1)).astype(np.float32)
    y = np.arange(96) % 4
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)  # moving statistics away from 0/1, so folding changes the weights
    model.save(tmp_path / "bn.keras")
    for result in (quantize(tmp_path / "bn.keras", x, weights="int4", progress=False),
                   quantize(tmp_path / "bn.keras", x, weights="ternary", method="qat", train=x, labels=y, epochs=1,
                            progress=False)):
        assert [(layer.layer, layer.op) for layer in result.layers] == [
            ("conv", "CONV_2D"), ("fc", "FULLY_CONNECTED"), ("head", "FULLY_CONNECTED")]
        graph = _same_in_tflm_and_sim(result.tflite, x[:20])
        spec = result.layers[0].spec
        for op, _, rows, axis in _weights(graph):
            _check_levels(spec, analyze(rows, axis))
