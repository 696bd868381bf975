"""Post-training full-integer quantization: float Keras/SavedModel + calibration data -> integer .tflite bytes.

The calibration set is streamed to TensorFlow's calibrator one sample at a time (read from disk in chunks, with a
tqdm progress bar on stderr); the result is checked to be fully integer (see integer_check).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tinyq.quantize.convert import check_options, convert, quiet_stderr
from tinyq.quantize.data import SampleSet, load_samples
from tinyq.quantize.float_model import load_float_model
from tinyq.quantize.integer_check import check_integer_only

_READ_CHUNK = 64  # samples read from disk at a time


@dataclass(frozen=True)
class QuantizeResult:
    tflite: bytes
    seconds: float  # conversion time, calibration included
    activations: str  # "int8" or "int16"
    io: str  # "int8", "int16" or "float32"
    samples: int  # calibration (or training) samples used

    @property
    def size(self) -> int:
        return len(self.tflite)


def quantize(
    model,
    calibration,
    out: str | Path | None = None,
    *,
    activations: str = "int8",
    io: str | None = None,
    progress: bool = True,
    image_range: tuple[float, float] = (0.0, 1.0),
) -> QuantizeResult:
    """Quantize `model` (.keras/.h5 path, SavedModel dir or keras.Model) with `calibration` data.

    calibration: .npy/.npz path, a directory of images or .wav files, an array or a mapping input name -> array.
    activations: "int8" or "int16" (16x8 mode); io: None (integer, like the activations) or "float32".
    Writes the model to `out` when given.
    """
    io = check_options(activations, io)
    float_model = load_float_model(model)
    samples = load_samples(calibration, float_model.specs, "calibration data", image_range)
    start = time.perf_counter()
    with quiet_stderr() as terminal:
        tflite = convert(
            float_model.call,
            [(spec.name, shape) for spec, shape in zip(samples.specs, samples.shapes)],
            representative_dataset(samples, progress, terminal),
            activations=activations,
            io=io,
            where=float_model.where,
            trackable=float_model.trackable,
        )
    seconds = time.perf_counter() - start
    finish(tflite, [layer.name for layer in float_model.layers], activations, float_model.where, out)
    return QuantizeResult(tflite, seconds, activations, io, samples.count)


def representative_dataset(samples: SampleSet, progress: bool, stream=None):
    """A generator function for TFLiteConverter: yields one [x_input0, x_input1, ...] batch-1 list per sample."""

    def generate():
        from tqdm import tqdm

        with tqdm(
            total=samples.count,
            desc="calibrating",
            unit="sample",
            file=stream or sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            for batch in samples.batches(_READ_CHUNK):
                for i in range(batch[0].shape[0]):
                    yield [x[i : i + 1] for x in batch]
                bar.update(batch[0].shape[0])

    return generate


def finish(tflite: bytes, layer_names, activations: str, where: str, out) -> None:
    """Check that the converted model is fully integer, then write it to `out` (if given)."""
    from tinyq import read_model

    check_integer_only(read_model(tflite), layer_names, activations, where)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(tflite)
