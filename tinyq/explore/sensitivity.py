"""Sensitivity: the accuracy of the model when only one layer takes a candidate spec, the others int8.

The model is converted to int8 once (TensorFlow, seconds); every candidate is then the low-bit rewrite of those
bytes (NumPy, milliseconds) scored by tinyq's integer simulator, which is bit-exact with TFLite Micro, so a
table of L layers x S specs costs L*S simulator runs and no conversion.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from tinyq.errors import InputError, QuantizationError
from tinyq.explore.space import Space
from tinyq.quantize.lowbit import LayerSpec
from tinyq.quantize.lowbit.rewrite import apply_specs


@dataclass(frozen=True)
class Scorer:
    """Scores integer .tflite bytes on one evaluation set (loaded once, as evaluate() would load it)."""

    data: object  # one array (single-input models) or what the user gave (evaluate() reads it per input)
    labels: np.ndarray

    def __call__(self, tflite: bytes) -> float:
        from tinyq.quantize.report import evaluate

        return float(evaluate(tflite, self.data, self.labels, backend="sim").integer_score)


def config_model(int8_tflite: bytes, space: Space, config: Mapping[str, LayerSpec], where: str = "model") -> bytes:
    """The int8 model with `config`'s layers rewritten (a layer not in config stays int8)."""
    try:
        tflite, _ = apply_specs(int8_tflite, dict(config), list(space.layer_names), where=where)
    except QuantizationError as exc:
        raise InputError(str(exc)) from None
    return tflite


@dataclass(frozen=True)
class Sensitivity:
    int8_accuracy: float
    accuracy: Mapping[tuple[str, str], float]  # (layer, str(spec)) -> accuracy with only that layer changed

    def drop(self, layer: str, spec: LayerSpec) -> float:
        """Accuracy lost against int8 (negative when the spec happens to help: kept, the sum stays honest)."""
        return self.int8_accuracy - self.accuracy[(layer, str(spec))]

    def to_dict(self) -> dict:
        table: dict[str, dict[str, float]] = {}
        for (layer, spec), acc in self.accuracy.items():
            table.setdefault(layer, {})[spec] = acc
        return {"int8_accuracy": self.int8_accuracy, "layers": table}


def measure(int8_tflite: bytes, space: Space, score: Callable[[bytes], float],
            progress: Callable[[Sequence], Sequence] = lambda it: it) -> tuple[Sensitivity, dict]:
    """One simulator run per (layer, non-int8 spec); a spec a layer's weights cannot take is an InputError.

    Also returns the one-layer models, (layer, spec string) -> bytes (None for int8): costs.py lowers them."""
    base = score(int8_tflite)
    accuracy, models = {}, {}
    jobs = [(layer, spec) for layer, specs in space.choices.items() for spec in specs]
    for layer, spec in progress(jobs):
        if spec.plain_int8:
            accuracy[(layer, str(spec))] = base
            models[(layer, str(spec))] = None
            continue
        try:
            tflite, _ = apply_specs(int8_tflite, {layer: spec}, list(space.layer_names))
        except QuantizationError as exc:
            raise InputError(f"layer '{layer}' ({space.kinds[layer]}) cannot take {spec}: {exc}") from None
        accuracy[(layer, str(spec))] = score(tflite)
        models[(layer, str(spec))] = tflite
    return Sensitivity(base, accuracy), models
