"""The float model: a Keras .keras/.h5 file, a SavedModel directory or a keras.Model -> FloatModel.

FloatModel knows the model's inputs (InputSpec), runs it on NumPy batches, and, for Keras models, returns every
layer's output (the float side of the per-layer quantization report). TensorFlow is imported on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tinyq.errors import InputError
from tinyq.quantize.convert import error_summary
from tinyq.quantize.data import InputSpec

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class Layer:
    """A Keras layer whose output the report can compare: name, class, output shape without batch, input layers."""

    name: str
    kind: str
    shape: tuple[int | None, ...]
    inputs: tuple[str, ...] = ()


@dataclass
class FloatModel:
    where: str
    specs: tuple[InputSpec, ...]
    call: Callable  # (*tf tensors) -> list of tf tensors; traceable by tf.function
    trackable: object  # what owns the variables: the keras.Model or the loaded SavedModel
    keras: object | None = None  # the keras.Model, None for a SavedModel

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Layers in topological order (inputs first) whose output is one tensor; empty for a SavedModel."""
        if self.keras is None:
            return ()
        parents = _parents(self.keras)
        return tuple(
            Layer(layer.name, type(layer).__name__, _shape(t), parents[layer.name])
            for layer, t in _layer_outputs(self.keras)
        )

    @property
    def output_layers(self) -> tuple[str, ...]:
        """Name of the layer behind each model output, in output order; empty for a SavedModel."""
        if self.keras is None:
            return ()
        return tuple(t._keras_history[0].name for t in self.keras.outputs)

    def predict(self, arrays: Sequence[np.ndarray], batch_size: int = 256) -> list[np.ndarray]:
        """Run on float32 arrays (N samples each); returns one array per model output."""
        return _run_batched(self.call, arrays, batch_size)

    def run_layers(self, names: Sequence[str], inputs: Sequence[np.ndarray]) -> np.ndarray | None:
        """The float output of the named layers called in turn (a conv, then what the converter fused into it) on
        `inputs`, one array per input of the first; None where Keras cannot call them on their own."""
        import tensorflow as tf

        try:
            xs = [tf.convert_to_tensor(np.asarray(a, np.float32)) for a in inputs]
            out = xs if len(xs) > 1 else xs[0]
            for name in names:
                out = self.keras.get_layer(name)(out, training=False)
            return np.asarray(out, np.float64)
        except Exception:  # noqa: BLE001 - Keras raises many types; the report then falls back to differences
            return None

    def layer_outputs(self, arrays: Sequence[np.ndarray], batch_size: int = 256) -> dict[str, np.ndarray]:
        """Every layer's float output (see `layers`), keyed by layer name."""
        import keras

        pairs = _layer_outputs(self.keras)
        probe = keras.Model(self.keras.inputs, [t for _, t in pairs])

        def call(*xs):
            out = probe(list(xs) if len(xs) > 1 else xs[0], training=False)
            return out if isinstance(out, (list, tuple)) else [out]

        outs = _run_batched(call, arrays, batch_size)
        return {layer.name: out for (layer, _), out in zip(pairs, outs)}


def load_float_model(source) -> FloatModel:
    """source: path to .keras/.h5 or a SavedModel directory, or a keras.Model."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not isinstance(source, (str, Path)):
        if not hasattr(source, "inputs") or not hasattr(source, "layers"):
            raise InputError(f"model: expected a path or a keras.Model, got {type(source).__name__}")
        return _from_keras(source, f"model '{getattr(source, 'name', 'keras')}'")
    path = Path(source)
    where = f"model '{path}'"
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise InputError(f"{where}: a directory, but not a SavedModel (no saved_model.pb)")
        return _from_saved_model(path, where)
    if not path.is_file():
        raise InputError(f"{where}: no such file or directory")
    if path.suffix.lower() not in KERAS_SUFFIXES:
        raise InputError(f"{where}: expected a .keras or .h5 file or a SavedModel directory")
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for bad files, unknown layers, version skew
        raise InputError(f"{where}: Keras cannot load it ({type(exc).__name__}: {error_summary(exc)})") from None
    return _from_keras(model, where)


def _from_keras(model, where: str) -> FloatModel:
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError):
        inputs = []
    if not inputs:
        raise InputError(f"{where}: the model has no defined inputs (build it with keras.Input)")
    specs = tuple(InputSpec(_tensor_name(t, k), _shape(t)) for k, t in enumerate(inputs))

    def call(*xs):
        out = model(list(xs) if len(xs) > 1 else xs[0], training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    return FloatModel(where, specs, call, model, model)


def _from_saved_model(path: Path, where: str) -> FloatModel:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
    except Exception as exc:
        raise InputError(
            f"{where}: TensorFlow cannot load a 'serving_default' signature ({error_summary(exc)})"
        ) from None
    _, kwargs = signature.structured_input_signature
    names = sorted(kwargs)
    specs = tuple(InputSpec(n, tuple(kwargs[n].shape)[1:]) for n in names)
    outputs = sorted(signature.structured_outputs, key=_natural_key)

    def call(*xs):
        result = signature(**dict(zip(names, xs)))
        return [result[k] for k in outputs]

    return FloatModel(where, specs, call, loaded)


def graph_calls(model) -> list[tuple[object, object]]:
    """(layer, node) for each layer called exactly once in the model's graph, inputs first, then model.layers order.

    The graph is walked back from the outputs through each tensor's _keras_history, because a layer's
    _inbound_nodes also hold calls outside this graph (Sequential rebuilds a graph each time a layer is added).
    """
    nodes: dict[str, list] = {}
    seen: set[int] = set()
    stack = list(model.outputs)
    while stack:
        layer, node_index, _ = stack.pop()._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) not in seen:
            seen.add(id(node))
            nodes.setdefault(layer.name, []).append(node)
            stack.extend(node.input_tensors)
    inputs = [t._keras_history[0] for t in model.inputs]
    order = inputs + [layer for layer in model.layers if all(layer is not i for i in inputs)]
    return [(layer, nodes[layer.name][0]) for layer in order if len(nodes.get(layer.name, ())) == 1]


def _layer_outputs(model) -> list[tuple[object, object]]:
    """(layer, symbolic output) for each layer of graph_calls with a single output tensor."""
    return [(layer, node.output_tensors[0]) for layer, node in graph_calls(model) if len(node.output_tensors) == 1]


def _parents(model) -> dict[str, tuple[str, ...]]:
    """Layer name -> names of the layers whose outputs feed it in the model's graph."""
    return {
        layer.name: tuple(dict.fromkeys(t._keras_history[0].name for t in node.input_tensors))
        for layer, node in graph_calls(model)
    }


def _tensor_name(t, k: int) -> str:
    name = getattr(t, "name", None) or f"input_{k}"
    return name.split(":")[0]


def _shape(t) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tuple(t.shape)[1:])


def _natural_key(name: str):
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _run_batched(call: Callable, arrays: Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
    import tensorflow as tf

    n = int(arrays[0].shape[0])
    chunks: list[list[np.ndarray]] = []
    for start in range(0, n, batch_size):
        xs = [tf.convert_to_tensor(np.asarray(a[start : start + batch_size], np.float32)) for a in arrays]
        chunks.append([np.asarray(o) for o in call(*xs)])
    return [np.concatenate(parts) for parts in zip(*chunks)]
