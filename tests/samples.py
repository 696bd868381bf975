"""The real sample inputs in ../shared/models/testdata with TFLM's expected outputs (expected_outputs.json)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import SHARED_MODELS

# Models whose ops tinyq supports (the list), by file stem
MODELS = [
    "mlperf_kws_dscnn_int8",
    "mlperf_vww_mobilenetv1_025_int8",
    "mlperf_ic_resnet8_int8",
    "mlperf_ad_fc_autoencoder_int8",
    "tflm_hello_world_int8",
    "tflm_micro_speech_int8",
    "tflm_person_detect_int8",
    "tflm_simple_add_int8",
    "tflm_keyword_scrambled_8bit",  # SVDF, int8 state: stateful, the samples are consecutive invokes
    "tflm_keyword_scrambled",  # SVDF, int16 state
    "tflm_mnist_lstm_int8",  # UNIDIRECTIONAL_SEQUENCE_LSTM (28 steps): stateful, hidden and cell state
    "tflm_dtln_noise_suppression_int8",  # two stacked LSTMs
]


@dataclass(frozen=True)
class Sample:
    case: str
    model: str  # file name
    input: np.ndarray  # (1, *input_shape[1:]) int8
    expected: np.ndarray | None  # TFLM's output, (1, ...) or None when only computed live


def _cases() -> dict:
    return json.loads((SHARED_MODELS / "testdata" / "expected_outputs.json").read_text())["cases"]


def ad_windows() -> np.ndarray:
    """The 196 MLPerf AD windows (5 frames x 128 mel) quantized as MLPerf does: round half away, clamp."""
    from tinyq.io import quantize_float

    frames = np.fromfile(SHARED_MODELS / "testdata" / "mlperf_ad_normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    windows = np.stack([frames[i : i + 5].reshape(640) for i in range(196)])
    return quantize_float(windows, 0.39101505279541016, 89, "int8")


def samples() -> list[Sample]:
    td = SHARED_MODELS / "testdata"
    out = []
    for case, c in _cases().items():
        model = c["model"]
        if case == "mlperf_kws_sample":
            x = np.fromfile(td / "mlperf_kws_sample_input_int8_1x49x10x1.bin", np.int8).reshape(1, 49, 10, 1)
            y = np.array(c["tflm_output"], np.int8)
        elif case == "mlperf_ad_sample":
            x = np.array(c["input_window0_int8"], np.int8).reshape(1, 640)
            y = np.array(c["tflm_output_window0"], np.int8).reshape(1, 640)
        elif case.startswith("tflm_person_detect"):
            name = "tflm_person_uint8_96x96.npy" if case.endswith("_person") and "no_person" not in case else "tflm_no_person_uint8_96x96.npy"
            x = np.load(td / name).view(np.int8).reshape(1, 96, 96, 1)
            y = np.array(c["tflm_output"], np.int8)
        elif case.startswith("tflm_micro_speech"):
            word = case.removeprefix("tflm_micro_speech_").removesuffix("_1000ms")
            x = np.load(td / f"tflm_micro_speech_features_{word}_1000ms_int8_49x40.npy").reshape(1, 1960)
            y = np.array(c["tflm_output"], np.int8)
        else:
            continue
        out.append(Sample(case, model, x, y))
    return out


def model_path(stem: str) -> Path:
    return SHARED_MODELS / f"{stem}.tflite"
