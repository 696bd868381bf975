"""Per-layer quantization report (tinyq.quantize.evaluate): metrics, layer matching, the worst layer, table, plot."""

import numpy as np
import pytest

from tests.quantize.conftest import dense_model
from tinyq.cli import main
from tinyq.quantize import evaluate, quantize


def _bad_model(path):
    """Dense 'bad' has one output unit 1000x larger than the rest, which nothing downstream reads: with one
    per-tensor activation scale, the other 15 units collapse to a few levels. Its tensor SQNR looks fine (the big
    unit dominates the power); its layer dB does not."""
    from keras import layers

    def middle(h):
        h = layers.Dense(16, name="bad")(h)
        return layers.Dense(16, activation="relu", name="mix")(h)

    model = dense_model(path, middle)
    w, b = model.get_layer("bad").get_weights()
    w[:, 0] *= 1000.0
    model.get_layer("bad").set_weights([w, b])
    w, b = model.get_layer("mix").get_weights()
    w[0, :] = 0.0
    model.get_layer("mix").set_weights([w, b])
    model.save(path)
    return model


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    model = _bad_model(d / "bad.keras")
    x = np.random.default_rng(2).standard_normal((200, 16)).astype(np.float32)
    np.save(d / "calib.npy", x[:100])
    np.save(d / "x.npy", x[100:])
    np.save(d / "y.npy", model.predict(x[100:], verbose=0))
    quantize(d / "bad.keras", d / "calib.npy", d / "bad.tflite", progress=False)
    return d


@pytest.mark.parametrize("backend", ["sim", "tflm"])
def test_report_names_the_bad_layer(bad, backend):
    report = evaluate(bad / "bad.tflite", bad / "x.npy", bad / "y.npy", float_model=bad / "bad.keras", backend=backend)
    assert (report.task, report.metric) == ("regression", "mean absolute error")
    assert [r.layer for r in report.layers] == ["x", "features", "bad", "mix", "head"]
    assert report.worst_layer.layer == "bad"
    rows = {r.layer: r for r in report.layers}
    assert rows["bad"].layer_db < 6 and rows["features"].layer_db > 30  # the crushed units vs a normal layer
    assert rows["bad"].sqnr_db > 30  # what a whole-tensor SQNR alone would (mis)report
    assert rows["head"].sqnr_db < 6  # the damage shows downstream
    assert report.integer_score > 10 * report.float_score


def test_simulator_and_tflm_reports_are_identical(bad):
    reports = [
        evaluate(bad / "bad.tflite", bad / "x.npy", bad / "y.npy", float_model=bad / "bad.keras", backend=b)
        for b in ("sim", "tflm")
    ]
    assert reports[0].layers == reports[1].layers
    assert reports[0].integer_score == reports[1].integer_score


def test_cli_prints_table_and_writes_plot(bad, capsys):
    plot = bad / "layers.png"
    status = main(
        [
            "evaluate",
            str(bad / "bad.tflite"),
            "--data",
            str(bad / "x.npy"),
            "--labels",
            str(bad / "y.npy"),
            "--float",
            str(bad / "bad.keras"),
            "--plot",
            str(plot),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "most precision lost at layer 'bad' (Dense)" in out
    assert "SQNR dB" in out and f"wrote {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_float_model_only_the_integer_score(bad):
    report = evaluate(bad / "bad.tflite", bad / "x.npy", bad / "y.npy", backend="tflm")
    assert report.float_score is None and report.layers == () and report.table() == ""


def test_autoencoder_is_scored_by_reconstruction_error(tmp_path):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((16,), name="x")
    out = layers.Dense(16, name="decode")(layers.Dense(4, activation="relu", name="encode")(inp))
    keras.Model(inp, out).save(tmp_path / "ae.keras")
    x = np.random.default_rng(3).standard_normal((50, 16)).astype(np.float32)
    quantize(tmp_path / "ae.keras", x, tmp_path / "ae.tflite", progress=False)
    report = evaluate(tmp_path / "ae.tflite", x, float_model=tmp_path / "ae.keras", backend="sim")
    assert (report.task, report.metric) == ("reconstruction", "mean absolute error")
    assert abs(report.integer_score - report.float_score) < 0.05 * report.float_score


def test_functional_model_layers_match_real_tensor_names(tmp_path):
    """Auto-named layers (conv2d/conv2d_1, dense/dense_1) where Keras 3's doubled scopes make names ambiguous."""
    import keras
    from keras import layers

    keras.backend.clear_session()  # restart Keras's auto-name counters: other tests in this worker made layers
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    x = layers.Conv2D(4, 3)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    y = layers.Conv2D(4, 1)(x)
    x = layers.Add()([x, y])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(5)(x)
    out = layers.Dense(3)(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(4)
    bn = model.get_layer("batch_normalization")  # non-trivial statistics, so folding it matters
    bn.set_weights([rng.uniform(0.5, 2, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4), rng.uniform(0.5, 2, 4)])
    data = rng.random((40, 8, 8, 1), dtype=np.float32)
    model.save(tmp_path / "f.keras")
    quantize(tmp_path / "f.keras", data[:20], tmp_path / "f.tflite", progress=False)
    report = evaluate(
        tmp_path / "f.tflite",
        data[20:],
        np.zeros((20, 3), np.float32),
        float_model=tmp_path / "f.keras",
        backend="tflm",
    )
    rows = {r.layer: r for r in report.layers}
    fused = {name: r.fused_into for name, r in rows.items() if r.tensor is None}
    # BN and ReLU are folded into the CONV_2D (whose tensor re_lu's name names): the conv's row holds its noise
    assert fused == {"batch_normalization": "conv2d", "re_lu": "conv2d"}
    assert "re_lu" in rows["conv2d"].tensor and "conv2d_1_2" in rows["conv2d_1"].tensor
    assert "(fused into conv2d)" in report.table()
    assert rows["dense"].tensor.startswith("functional") and "dense_1/" in rows["dense"].tensor
    for name, r in rows.items():
        if r.sqnr_db is not None:
            assert r.sqnr_db > 25, (name, r)  # a mismatched tensor would be ~0 dB or fail on shape
        if r.tensor is not None:
            # each requantizing layer adds some noise of its own, measured on its own integer inputs: never "inf"
            assert r.layer_db is not None and 20 < r.layer_db < float("inf"), (name, r)


def test_savedmodel_directory_quantizes_and_scores_without_layers(tmp_path, normal_data):
    import contextlib
    import io

    model = dense_model(tmp_path / "m.keras")
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints an export summary
        model.export(tmp_path / "saved")
    result = quantize(tmp_path / "saved", normal_data, progress=False)
    report = evaluate(
        result.tflite, normal_data, model.predict(normal_data, verbose=0), float_model=tmp_path / "saved", backend="sim"
    )
    assert report.task == "regression" and report.layers == ()
    assert report.float_score < 1e-5 and report.integer_score < 0.05
