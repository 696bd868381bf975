"""Shared by the model-level encode tests: the rewrite script as a module, weight tensors, form checks."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tinyq.encode import encode, rows_view
from tinyq.ir import Graph

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "rewrite_weights.py"
MODELS = ("mlperf_ad_fc_autoencoder_int8", "mlperf_ic_resnet8_int8", "mlperf_kws_dscnn_int8",
          "mlperf_vww_mobilenetv1_025_int8", "tflm_hello_world_int8", "tflm_micro_speech_int8",
          "tflm_person_detect_int8")
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def load_script():
    spec = importlib.util.spec_from_file_location("rewrite_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rewrite = load_script()
FORMS = rewrite.FORMS


def weights(graph: Graph):
    """(op, weight tensor, rows, channel_axis) for each distinct constant int8 weight tensor."""
    seen = set()
    for op in graph.ops:
        if op.opcode in WEIGHT_OPS and len(op.inputs) > 1 and op.inputs[1] not in seen:
            t = graph.tensor(op.inputs[1])
            if t.dtype == "int8" and t.data is not None:
                seen.add(t.index)
                yield (op, t, *rows_view(t.data, op.opcode))


def form_encoding(form: str) -> str:
    """The encoding a form's levels are made for."""
    return {"codebook16": "codebook:4", "sparse75": "sparse+int8", "sparse2:4": "sparse2:4+int8"}.get(form, form)


def check_form(rows: np.ndarray, axis: int, form: str) -> None:
    """The rewritten tensor takes the form's levels (asserts)."""
    by_channel = rows if axis == 0 else rows.T
    if form.startswith("int"):
        k = int(form[3:])
        lo, hi = (-1, 0) if k == 1 else (-(2 ** (k - 1) - 1), 2 ** (k - 1) - 1)
        assert lo <= rows.min() and rows.max() <= hi, (form, rows.min(), rows.max())
    elif form in ("ternary", "binary"):
        for c in by_channel:
            mags = set(np.abs(c[c != 0]).tolist())
            assert len(mags) <= 1, (form, mags)
        assert form == "ternary" or not (rows == 0).any()
    elif form == "codebook16":
        assert len(np.unique(rows)) <= 16
    elif form == "sparse75":
        zeros = (rows == 0).sum(axis=1)
        assert (zeros >= np.floor(0.75 * rows.shape[1] + 0.5)).all()
    elif form == "sparse2:4":
        r, length = rows.shape
        full = length // 4 * 4
        assert ((rows[:, :full] != 0).reshape(r, -1, 4).sum(axis=2) <= 2).all()
        assert (rows[:, full:] != 0).sum(axis=1).max(initial=0) <= 2
    if form != "sparse2:4" or rows.shape[1] % 4 == 0:
        w = encode(rows, axis, form_encoding(form))  # exact, else EncodingError
        assert np.array_equal(w.decode(), rows)


_CACHE: dict = {}


def rewritten(models_dir: Path, model: str, form: str) -> tuple[bytes, list[str]]:
    """rewrite_weights' output for one shared model and form (cached for the session)."""
    key = (model, form)
    if key not in _CACHE:
        _CACHE[key] = rewrite.rewrite_model((models_dir / f"{model}.tflite").read_bytes(), form, seed=0)
    return _CACHE[key]
