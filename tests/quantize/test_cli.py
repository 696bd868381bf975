"""`tinyq quantize` / `tinyq evaluate` through tinyq.cli.main: one-line errors with exit status 2, no traceback."""

import numpy as np
import pytest

from tests.quantize.conftest import dense_model
from tinyq.cli import main


def _fails(argv, capsys, *fragments):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.startswith("tinyq: ")]
    assert len(lines) == 1 and lines[0].startswith("tinyq: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "array, fragments",
    [
        (np.zeros((8, 4, 4), np.float32), ["array of shape [8, 4, 4] does not fit model input 'x' (N, 16)"]),
        (np.zeros((8, 16), np.int32), ["dtype int32 for model input 'x', which takes float values"]),
        (np.zeros((0, 16), np.float32), ["is empty (0 samples)"]),
        (np.full((8, 16), np.inf, np.float32), ["sample 0 of model input 'x' contains NaN or infinity"]),
    ],
    ids=["shape", "dtype", "empty", "inf"],
)
def test_bad_calibration_data(small_model, tmp_path, capsys, array, fragments):
    np.save(tmp_path / "calib.npy", array)
    line = _fails(
        [
            "quantize",
            str(small_model),
            "--calibration",
            str(tmp_path / "calib.npy"),
            "--out",
            str(tmp_path / "m.tflite"),
        ],
        capsys,
        "calibration data",
        *fragments,
    )
    assert "calib.npy" in line
    assert not (tmp_path / "m.tflite").exists()


def test_layer_without_integer_kernel(tmp_path, capsys):
    from keras import layers

    dense_model(tmp_path / "norm.keras", layers.LayerNormalization(name="norm"))
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32))
    _fails(
        [
            "quantize",
            str(tmp_path / "norm.keras"),
            "--calibration",
            str(tmp_path / "calib.npy"),
            "--out",
            str(tmp_path / "m.tflite"),
        ],
        capsys,
        "not fully integer: layer 'norm' (NEG) stayed float32",
        "no int8 kernel",
    )
    assert not (tmp_path / "m.tflite").exists()


def test_usage_errors(small_model, normal_data, tmp_path, capsys):
    np.save(tmp_path / "calib.npy", normal_data)
    _fails(
        ["quantize", str(tmp_path / "nope.keras"), "--calibration", str(tmp_path / "calib.npy")], capsys, "no such file"
    )
    _fails(["quantize", str(small_model)], capsys, "needs --calibration")
    _fails(
        ["quantize", str(small_model), "--qat", "--train", str(tmp_path / "calib.npy")],
        capsys,
        "--qat needs --train X.npy and --labels Y.npy",
    )
    _fails(
        [
            "quantize",
            str(small_model),
            "--calibration",
            str(tmp_path / "calib.npy"),
            "--activations",
            "int16",
            "--io",
            "int8",
        ],
        capsys,
        "io 'int8' does not go with int16 activations",
    )
    (tmp_path / "junk.keras").write_bytes(b"junk")
    _fails(
        ["quantize", str(tmp_path / "junk.keras"), "--calibration", str(tmp_path / "calib.npy")],
        capsys,
        "Keras cannot load it",
    )


def test_quantize_then_evaluate(small_model, normal_data, tmp_path, capsys):
    np.save(tmp_path / "calib.npy", normal_data)
    np.save(tmp_path / "labels.npy", np.arange(64) % 4)
    out = tmp_path / "small_int8.tflite"
    assert (
        main(
            [
                "quantize",
                str(small_model),
                "--calibration",
                str(tmp_path / "calib.npy"),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert f"wrote {out} (" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                str(out),
                "--data",
                str(tmp_path / "calib.npy"),
                "--labels",
                str(tmp_path / "labels.npy"),
                "--float",
                str(small_model),
                "--no-plot",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "classification" in printed and "accuracy: integer" in printed and "head" in printed
    _fails(
        [
            "evaluate",
            str(out),
            "--data",
            str(tmp_path / "calib.npy"),
            "--labels",
            str(tmp_path / "labels.npy"),
            "--backend",
            "sim",
            "--float",
            str(tmp_path / "missing.keras"),
        ],
        capsys,
        "no such file",
    )
    np.save(tmp_path / "few.npy", np.arange(3))
    _fails(
        ["evaluate", str(out), "--data", str(tmp_path / "calib.npy"), "--labels", str(tmp_path / "few.npy")],
        capsys,
        "has 3 rows, but the data has 64 samples",
    )


def test_a_fresh_quantize_says_it_loads_tensorflow_and_prints_none_of_its_log_lines(small_model, normal_data, tmp_path):
    """In a new process (TensorFlow not yet imported): one progress line for the import, none of the C++ runtime's
    absl lines ("oneDNN custom operations are on", the CPU-feature hint), which TF_CPP_MIN_LOG_LEVEL cannot stop."""
    import os
    import subprocess
    import sys

    np.save(tmp_path / "calib.npy", normal_data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "quantize", str(small_model), "--calibration",
                        str(tmp_path / "calib.npy"), "--out", str(tmp_path / "m.tflite")],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    assert "tinyq: loading TensorFlow" in p.stderr
    noise = [line for line in p.stderr.splitlines()
             if line.startswith(("I0000", "W0000", "WARNING: All log messages", "To enable the following"))]
    assert not noise, noise
