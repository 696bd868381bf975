"""Post-training quantization of the digits example (tinyq.quantize.quantize): int8, int16 (16x8), float I/O."""

import numpy as np
import pytest

from tinyq import read_model
from tinyq.quantize import evaluate, quantize

pytestmark = pytest.mark.slow  # trains the digits example once per session (about 15 s)

DIGITS_OPS = ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]


@pytest.fixture(scope="module")
def int8(digits):
    return quantize(digits / "digits.keras", digits / "calib.npy", digits / "int8.tflite", progress=False)


def test_int8_is_fully_integer_with_per_channel_weights(int8):
    assert (int8.activations, int8.io, int8.samples) == ("int8", "int8", 256)
    graph = read_model(int8.tflite)
    assert [op.opcode for op in graph.ops] == DIGITS_OPS  # batch fixed to 1: Flatten is one static RESHAPE
    for op in graph.ops:
        for i in op.inputs + op.outputs:
            t = graph.tensors[i]
            assert t.dtype in ("int8", "int32"), t.describe()
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            weights = graph.tensors[op.inputs[1]]
            channels = weights.shape[3] if op.opcode == "DEPTHWISE_CONV_2D" else weights.shape[0]
            assert weights.dtype == "int8" and len(weights.quant.scale) == channels


def test_int8_accuracy_within_one_point_of_float(int8, digits):
    report = evaluate(
        int8.tflite, digits / "test_x.npy", digits / "test_y.npy", float_model=digits / "digits.keras"
    )
    assert report.samples == 360
    assert report.float_score > 0.95
    assert abs(report.integer_score - report.float_score) <= 0.01


def test_conversion_is_deterministic(int8, digits):
    again = quantize(digits / "digits.keras", digits / "calib.npy", progress=False)
    assert again.tflite == int8.tflite == (digits / "int8.tflite").read_bytes()


def test_int16_activations(digits):
    result = quantize(digits / "digits.keras", digits / "calib.npy", activations="int16", progress=False)
    assert (result.activations, result.io) == ("int16", "int16")
    graph = read_model(result.tflite)
    assert [op.opcode for op in graph.ops] == DIGITS_OPS
    for op in graph.ops:
        assert graph.tensors[op.outputs[0]].dtype == "int16"
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert graph.tensors[op.inputs[1]].dtype == "int8"
            assert graph.tensors[op.inputs[2]].dtype == "int64"  # 16x8 bias
    report = evaluate(
        result.tflite, digits / "test_x.npy", digits / "test_y.npy", float_model=digits / "digits.keras"
    )
    assert abs(report.integer_score - report.float_score) <= 0.01
    assert min(r.sqnr_db for r in report.layers if r.sqnr_db is not None) > 40


def test_float_io_keeps_quantize_and_dequantize_at_the_edges(digits):
    result = quantize(digits / "digits.keras", digits / "calib.npy", io="float32", progress=False)
    graph = read_model(result.tflite)
    assert [op.opcode for op in graph.ops] == ["QUANTIZE", *DIGITS_OPS, "DEQUANTIZE"]
    assert [graph.tensors[i].dtype for i in graph.inputs + graph.outputs] == ["float32", "float32"]
    report = evaluate(
        result.tflite, digits / "test_x.npy", digits / "test_y.npy", float_model=digits / "digits.keras"
    )
    assert abs(report.integer_score - report.float_score) <= 0.01
    assert report.layers[0].dtype == "int8"  # the QUANTIZE output stands for the input layer


@pytest.mark.parametrize(
    "options", [{}, {"activations": "int16"}, {"io": "float32"}, {"io": "uint8"}],
    ids=["int8", "int16", "float_io", "uint8_io"]
)
def test_simulator_and_tflm_agree_on_every_tensor(digits, options):
    from tinyq.quantize.runner import run_integer

    result = quantize(digits / "digits.keras", digits / "calib.npy", progress=False, **options)
    graph = read_model(result.tflite)
    x = [np.load(digits / "test_x.npy")[:64]]
    sim, tflm = (run_integer(result.tflite, graph, x, backend, trace=True) for backend in ("sim", "tflm"))
    for a, b in zip(sim.outputs, tflm.outputs):
        np.testing.assert_array_equal(a, b)
    assert set(sim.tensors) >= {graph.tensors[op.outputs[0]].name for op in graph.ops}
    for name, values in tflm.tensors.items():
        np.testing.assert_array_equal(sim.tensors[name], values, err_msg=name)


def test_uint8_io_puts_uint8_quantize_at_the_edges(digits):
    from tests.ops.oplib import check_model
    from tinyq.errors import QuantizationError

    result = quantize(digits / "digits.keras", digits / "calib.npy", io="uint8", progress=False)
    graph = read_model(result.tflite)
    assert [op.opcode for op in graph.ops] == ["QUANTIZE", *DIGITS_OPS, "QUANTIZE"]
    assert [graph.tensors[i].dtype for i in graph.inputs + graph.outputs] == ["uint8", "uint8"]
    check_model(result.tflite, n=8, seed=1)  # TFLM == simulator == host C
    with pytest.raises(QuantizationError, match="uint8' goes with int8"):
        quantize(digits / "digits.keras", digits / "calib.npy", io="uint8", activations="int16", progress=False)


def test_calibration_from_an_image_directory(digits, tmp_path):
    from PIL import Image

    x = np.load(digits / "calib.npy")[:32]
    for k, image in enumerate(x):
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(tmp_path / f"{k:03d}.png")
    result = quantize(digits / "digits.keras", tmp_path, progress=False)
    assert result.samples == 32
    assert [op.opcode for op in read_model(result.tflite).ops] == DIGITS_OPS
