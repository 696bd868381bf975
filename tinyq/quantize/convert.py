"""TensorFlow's TFLite converter, set up for microcontrollers: a float call + input shapes -> integer .tflite bytes.

The call is traced with a fixed batch of 1 (static shapes: Flatten becomes one RESHAPE, no SHAPE/PACK ops) and its
variables are frozen into constants. Weights are int8 (per-channel for convolutions); activations are int8 or int16
("16x8" mode); model inputs and outputs are integer, or float32 with QUANTIZE/DEQUANTIZE at the edges.
Used by PTQ (with a representative dataset) and by QAT (fake-quant ranges, no dataset needed).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from typing import Callable, Iterator, Sequence

import numpy as np

from tinyq.errors import QuantizationError, TinyqError

ACTIVATIONS = ("int8", "int16")
IO_TYPES = ("int8", "int16", "float32", "uint8")  # uint8: image models; QUANTIZE uint8 <-> int8 at the edges


def check_options(activations: str, io: str | None) -> str:
    """Validate the activation and I/O types; returns the I/O type (None = integer, of the activation type)."""
    if activations not in ACTIVATIONS:
        raise QuantizationError(f"activations '{activations}': expected one of {', '.join(ACTIVATIONS)}")
    if io is None:
        return activations
    if io not in IO_TYPES:
        raise QuantizationError(f"io '{io}': expected one of {', '.join(IO_TYPES)}")
    if io == "uint8" and activations != "int8":
        raise QuantizationError(f"io 'uint8' goes with int8 activations, not {activations}")
    if io not in ("float32", "uint8") and io != activations:
        # TFLite has no mode with int8 edges around int16 activations, or the reverse
        raise QuantizationError(f"io '{io}' does not go with {activations} activations (use {activations} or float32)")
    return io


def convert(
    call: Callable,
    inputs: Sequence[tuple[str, tuple[int, ...]]],
    representative: Callable[[], Iterator[list[np.ndarray]]] | None,
    activations: str = "int8",
    io: str | None = None,
    where: str = "model",
    trackable=None,
) -> bytes:
    """call(*tensors) -> list of tensors; inputs: (name, per-sample shape) pairs; representative yields batch-1 lists.

    trackable: the object owning the call's variables (keras.Model or loaded SavedModel), which selects the
    converter's current (signature-based) path.
    """
    import tensorflow as tf

    io = check_options(activations, io)
    converter = _converter(call, inputs, where, trackable)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if representative is not None:
        converter.representative_dataset = representative
    if activations == "int16":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io_type = {"int8": tf.int8, "int16": tf.int16, "float32": tf.float32, "uint8": tf.uint8}[io]
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type
    with warnings.catch_warnings():
        # "Statistics for quantized inputs were expected, but not specified" is about QAT input ranges: harmless
        warnings.simplefilter("ignore", UserWarning)
        try:
            return bytes(converter.convert())
        except TinyqError:  # raised by the representative dataset
            raise
        except Exception as exc:  # ConverterError and friends
            raise QuantizationError(f"{where}: the TFLite converter failed: {error_summary(exc)}") from None


def convert_float(call: Callable, inputs: Sequence[tuple[str, tuple[int, ...]]], where: str = "model",
                  trackable=None) -> bytes:
    """The float32 .tflite of the call (batch 1, frozen), for quantizers that start from one (ai-edge-quantizer).
    Input tensors are named input_names(inputs)."""
    converter = _converter(call, inputs, where, trackable)
    try:
        return bytes(converter.convert())
    except Exception as exc:
        raise QuantizationError(f"{where}: the TFLite converter failed: {error_summary(exc)}") from None


def input_names(inputs: Sequence[tuple[str, tuple[int, ...]]]) -> list[str]:
    """The names the converted model's input placeholders (and serving signature inputs) get."""
    return [_op_name(name, k) for k, (name, _) in enumerate(inputs)]


def _converter(call: Callable, inputs: Sequence[tuple[str, tuple[int, ...]]], where: str, trackable):
    """A TFLiteConverter for the call traced at batch 1 with its variables frozen into constants."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [tf.TensorSpec((1, *shape), tf.float32, name=n) for n, (_, shape) in zip(input_names(inputs), inputs)]
    try:
        concrete = tf.function(call).get_concrete_function(*specs)
        frozen = convert_variables_to_constants_v2(concrete)
    except Exception as exc:
        raise QuantizationError(f"{where}: TensorFlow cannot trace the model ({error_summary(exc)})") from None
    return tf.lite.TFLiteConverter.from_concrete_functions([frozen], trackable)


@contextlib.contextmanager
def quiet_stderr():
    """Silence the converter's C++ chatter on file descriptor 2; yields a stream to the real stderr for progress bars.

    When stderr is not a real file (e.g. captured by a test runner) nothing is redirected.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        with os.fdopen(os.dup(saved), "w") as terminal:
            yield terminal
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)


def _op_name(name: str, k: int) -> str:
    """A TensorFlow-legal op name for an input placeholder (it becomes the TFLite input tensor name)."""
    clean = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name)
    return clean if re.match(r"[A-Za-z0-9.]", clean) else f"input_{k}"


def error_summary(exc: Exception) -> str:
    """One line from a TensorFlow exception (the converter's hold pages of MLIR diagnostics): the first line that
    says 'error:', else the first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "error:" in line:
            return line[line.index("error:") + len("error:") :].strip()
    return lines[0] if lines else type(exc).__name__
