"""Quantization-aware training front end: float Keras model + training data -> integer .tflite bytes.

Writes a job file (and any in-memory arrays or model) to a temporary directory and runs qat_worker in a child
process with TF_USE_LEGACY_KERAS=1 (tfmot needs tf_keras; this process may already hold TensorFlow with Keras 3).
The child's progress goes to stderr; its one-line errors come back as QuantizationError/InputError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinyq.errors import InputError, QuantizationError
from tinyq.quantize.convert import check_options
from tinyq.quantize.provenance import with_method
from tinyq.quantize.tf_quiet import require
from tinyq.quantize.ptq import QuantizeResult


def qat(
    model,
    train_x,
    train_y,
    out: str | Path | None = None,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
    calibration=None,
    io: str | None = None,
    seed: int = 0,
    progress: bool = True,
    image_range: tuple[float, float] = (0.0, 1.0),
) -> QuantizeResult:
    """Fine-tune `model` (.keras/.h5 path or keras.Model) with fake quantization, then convert to int8.

    train_x: as calibration data (path, array or mapping); train_y: labels (class indices, one-hot or float
    targets). calibration: optional data for tensors QAT leaves without ranges (default: the training data).
    io: None (int8) or "float32". Only int8 activations: tfmot has no 16x8 scheme.
    """
    io = check_options("int8", io)
    require("tf_keras", "tensorflow_model_optimization")  # the worker needs them: say so here, in one line
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise QuantizationError("QAT needs epochs >= 1, batch size >= 1 and a positive learning rate")
    with tempfile.TemporaryDirectory(prefix="tinyq-qat-") as tmp:
        tmp = Path(tmp)
        job = {
            "model": _as_file(model, tmp / "model.keras"),
            "train_x": _as_file(train_x, tmp / "train_x"),
            "train_y": _as_file(train_y, tmp / "train_y"),
            "calibration": None if calibration is None else _as_file(calibration, tmp / "calibration"),
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "learning_rate": float(learning_rate),
            "io": io,
            "seed": int(seed),
            "progress": bool(progress),
            "image_range": list(image_range),
            "out": str(tmp / "model.tflite"),
            "result": str(tmp / "result.json"),
        }
        (tmp / "job.json").write_text(json.dumps(job))
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        proc = subprocess.run(
            [sys.executable, "-m", "tinyq.quantize.qat_worker", str(tmp / "job.json")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=None if progress else subprocess.PIPE,
            text=True,
        )
        result_file = tmp / "result.json"
        if not result_file.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            raise RuntimeError(f"the QAT worker process died: {tail[0]}")
        result = json.loads(result_file.read_text())
        if "error" in result:
            raise QuantizationError(result["error"])
        if "internal" in result:
            raise RuntimeError(f"QAT worker: {result['internal']}")
        tflite = with_method(Path(job["out"]).read_bytes(), "qat")  # evaluate says what its float comparison means
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(tflite)
    return QuantizeResult(tflite, result["train_seconds"] + result["convert_seconds"], "int8", io, result["samples"])


def _as_file(value, stem: Path) -> str:
    """Paths pass through; a keras.Model is saved as .keras; arrays as .npy (mappings as .npz)."""
    if isinstance(value, (str, Path)):
        if not Path(value).exists():
            raise InputError(f"'{value}': no such file or directory")
        return str(value)
    if hasattr(value, "save") and hasattr(value, "layers"):
        value.save(stem.with_suffix(".keras"))
        return str(stem.with_suffix(".keras"))
    if isinstance(value, dict):
        np.savez(stem.with_suffix(".npz"), **{k: np.asarray(v) for k, v in value.items()})
        return str(stem.with_suffix(".npz"))
    np.save(stem.with_suffix(".npy"), np.asarray(value))
    return str(stem.with_suffix(".npy"))
