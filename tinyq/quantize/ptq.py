"""Pieces of post-training quantization shared by the pipeline and QAT: the result record, the calibration stream,
and the final check.

The calibration set is streamed to TensorFlow's calibrator one sample at a time (read from disk in chunks, with a
tqdm progress bar on stderr); the result is checked to be fully integer (see integer_check).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tinyq.quantize.data import SampleSet
from tinyq.quantize.integer_check import check_integer_only

_READ_CHUNK = 64  # samples read from disk at a time


@dataclass(frozen=True)
class QuantizeResult:
    tflite: bytes
    seconds: float  # conversion time, calibration included
    activations: str  # "int8" or "int16"
    io: str  # "int8", "int16" or "float32"
    samples: int  # calibration (or training) samples used
    method: str = "ptq"
    config: str = "int8"  # the layers that are not plain int8, as NAME=SPEC (plan.describe)
    layers: tuple = ()  # tinyq.quantize.lowbit.rewrite.RewrittenLayer per rewritten layer

    @property
    def size(self) -> int:
        return len(self.tflite)


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
