"""Quantization-aware training (tinyq.quantize.qat): tf_keras rebuild, tfmot, conversion; each run is a subprocess."""

import numpy as np
import pytest

from tests.quantize.conftest import dense_model
from tinyq import read_model
from tinyq.cli import main
from tinyq.quantize import evaluate, qat, quantize

pytestmark = pytest.mark.slow  # each QAT run starts TensorFlow + tfmot in a child process (5-15 s)


def test_digits_qat_is_at_least_as_accurate_as_ptq(digits, capsys):
    out = digits / "qat.tflite"
    assert (
        main(
            [
                "quantize",
                str(digits / "digits.keras"),
                "--qat",
                "--train",
                str(digits / "train_x.npy"),
                "--labels",
                str(digits / "train_y.npy"),
                "--calibration",
                str(digits / "calib.npy"),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "QAT, 5 epochs on 1437 samples" in capsys.readouterr().out
    ptq = quantize(digits / "digits.keras", digits / "calib.npy", progress=False)
    scores = {}
    for name, model in (("qat", out.read_bytes()), ("ptq", ptq.tflite)):
        scores[name] = evaluate(model, digits / "test_x.npy", digits / "test_y.npy").integer_score
    assert scores["qat"] >= scores["ptq"] > 0.95
    assert [op.opcode for op in read_model(out).ops] == [op.opcode for op in read_model(ptq.tflite).ops]


def test_every_supported_layer_type(tmp_path):
    """One branchy functional model with each of rebuild.SUPPORTED_LAYERS: rebuilt, fine-tuned, fully integer."""
    import keras
    from keras import layers

    from tinyq.quantize.rebuild import SUPPORTED_LAYERS

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 2), name="image")
    x = layers.ZeroPadding2D(1, name="pad")(inp)
    x = layers.Conv2D(8, 3, name="conv")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw")(x)
    x = layers.Add(name="add")([x, y])
    s = layers.SeparableConv2D(8, 3, padding="same", activation="relu", name="sep")(x)
    c = layers.Concatenate(name="concat")(
        [layers.AveragePooling2D(2, name="avg")(s), layers.MaxPooling2D(2, name="max")(x)]
    )
    u = layers.UpSampling2D(2, name="up")(c)
    fc = layers.Dense(16, name="fc")(layers.Flatten(name="flat")(c))
    h = layers.Concatenate(name="heads")(
        [layers.GlobalAveragePooling2D(name="gap")(u), layers.GlobalMaxPooling2D(name="gmax")(u), fc]
    )
    r = layers.Reshape((6, 8), name="reshape")(h)
    h = layers.Concatenate(name="tails")([layers.Flatten(name="flat2")(r), layers.GlobalMaxPooling1D(name="gmax1d")(r)])
    h = layers.Dropout(0.1, name="drop")(layers.Activation("relu", name="act")(h))
    out = layers.Softmax(name="probs")(layers.Dense(3, name="logits")(h))
    model = keras.Model(inp, out, name="branchy")
    assert {type(layer).__name__ for layer in model.layers} | set(ONE_D_LAYERS) == set(SUPPORTED_LAYERS)
    model.save(tmp_path / "branchy.keras")
    rng = np.random.default_rng(5)
    x_train = rng.random((64, 8, 8, 2), dtype=np.float32)
    y_train = rng.integers(0, 3, 64)
    result = qat(tmp_path / "branchy.keras", x_train, y_train, tmp_path / "branchy.tflite", epochs=1, progress=False)
    graph = read_model(result.tflite)
    assert {op.opcode for op in graph.ops} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "CONCATENATION", "SOFTMAX"}
    assert all(graph.tensors[op.outputs[0]].dtype in ("int8", "int32") for op in graph.ops)
    report = evaluate(result.tflite, x_train, y_train, float_model=tmp_path / "branchy.keras", backend="tflm")
    matched = {r.layer for r in report.layers if r.tensor is not None}
    assert {"image", "add", "concat", "heads", "probs"} <= matched  # tfmot's quant_<layer> scopes are matched
    assert "quantization-aware training" in report.note  # compared with the pre-QAT model: the report says so
    assert evaluate(tmp_path / "branchy.tflite", x_train, y_train, backend="tflm").note is None  # no float model


ONE_D_LAYERS = ("Conv1D", "MaxPooling1D", "UpSampling1D", "AveragePooling1D", "GlobalAveragePooling1D",
                "ZeroPadding1D")  # and GlobalMaxPooling1D, in the branchy model


def test_one_d_layers(tmp_path):
    """Conv1D (same, causal + dilated, strided), 1-D pooling, upsampling and padding: fine-tuned, fully integer,
    and TFLM == simulator == host C on the result; the report matches the Conv1D layers by name."""
    import keras
    from keras import layers

    from tests.ops.oplib import check_model
    from tinyq.sim.run import as_program

    keras.utils.set_random_seed(1)
    inp = keras.Input((16, 3), name="signal")
    x = layers.Conv1D(8, 3, padding="same", activation="relu", name="conv_a")(inp)
    x = layers.MaxPooling1D(2, name="pool")(x)
    x = layers.Conv1D(8, 3, padding="causal", dilation_rate=2, name="conv_causal")(x)
    x = layers.UpSampling1D(2, name="up")(x)
    x = layers.ZeroPadding1D(1, name="pad")(x)
    x = layers.AveragePooling1D(2, name="avg")(x)
    x = layers.Conv1D(6, 3, strides=2, name="conv_strided")(x)
    out = layers.Dense(3, name="logits")(layers.GlobalAveragePooling1D(name="gap")(x))
    model = keras.Model(inp, out)
    assert {type(layer).__name__ for layer in model.layers} >= set(ONE_D_LAYERS)
    model.save(tmp_path / "oned.keras")
    rng = np.random.default_rng(6)
    x_train = rng.standard_normal((64, 16, 3)).astype(np.float32)
    y_train = rng.integers(0, 3, 64)
    result = qat(tmp_path / "oned.keras", x_train, y_train, tmp_path / "oned.tflite", epochs=1, progress=False)
    program = as_program(result.tflite)
    assert sum(call.opcode == "CONV_2D" for call in program.calls) == 3
    check_model(result.tflite, n=8, seed=2)
    report = evaluate(result.tflite, x_train, y_train, float_model=tmp_path / "oned.keras", backend="sim")
    matched = {r.layer for r in report.layers if r.tensor is not None}
    assert {"conv_a", "conv_strided", "logits"} <= matched


def test_unsupported_layer_is_named(tmp_path, normal_data, capsys):
    from keras import layers

    dense_model(tmp_path / "norm.keras", layers.LayerNormalization(name="norm"))
    np.save(tmp_path / "x.npy", normal_data)
    np.save(tmp_path / "y.npy", np.arange(len(normal_data)) % 4)
    status = main(
        [
            "quantize",
            str(tmp_path / "norm.keras"),
            "--qat",
            "--train",
            str(tmp_path / "x.npy"),
            "--labels",
            str(tmp_path / "y.npy"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "QAT cannot rebuild layer 'norm' (LayerNormalization); supported layer types: InputLayer, Conv2D" in err
