"""Run an integer .tflite model on float data: Graph + float32 arrays -> integer outputs and (optionally) every tensor.

Backends: "sim", tinyq's bit-exact NumPy simulator (the default), or "tflm", TFLite Micro's reference interpreter
(tinyq.oracle), for models with ops the simulator does not know. Float inputs are quantized the way TFLite's
QUANTIZE does (tinyq.io). Arrays come back as (N, *shape without the batch-1 axis), keyed by tensor name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinyq.errors import InputError, UnsupportedError
from tinyq.ir import Graph

BACKENDS = ("sim", "tflm")


@dataclass(frozen=True)
class IntegerRun:
    outputs: tuple[np.ndarray, ...]  # in graph output order
    tensors: dict[str, np.ndarray]  # tensor name -> values (all activations when traced, else empty)


def run_integer(tflite: bytes, graph: Graph, arrays: Sequence[np.ndarray], backend: str, trace: bool) -> IntegerRun:
    """arrays: one float32 (N, *shape) array per graph input."""
    if backend not in BACKENDS:
        raise InputError(f"backend '{backend}': expected one of {', '.join(BACKENDS)}")
    if backend == "sim":
        return _run_sim(graph, arrays, trace)
    return _run_tflm(tflite, graph, arrays, trace)


def _run_sim(graph: Graph, arrays, trace: bool) -> IntegerRun:
    from tinyq import simulate

    inputs = {graph.tensors[i].name: a for i, a in zip(graph.inputs, arrays)}
    try:
        result = simulate(graph, inputs, trace=trace)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{exc} in the simulator (backend 'tflm' runs TFLite Micro instead)") from None
    outputs = tuple(result.outputs[graph.tensors[i].name] for i in graph.outputs)
    return IntegerRun(outputs, dict(result.trace or {}))


def _run_tflm(tflite: bytes, graph: Graph, arrays, trace: bool) -> IntegerRun:
    from tinyq.io import from_batch, load_inputs
    from tinyq.oracle import TflmReference

    in_tensors = [graph.tensors[i] for i in graph.inputs]
    batches = load_inputs({t.name: a for t, a in zip(in_tensors, arrays)}, in_tensors)
    reference = TflmReference(tflite, preserve_all_tensors=trace)
    traced = [i for op in graph.ops for i in op.outputs] if trace else []
    outputs: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    tensors: dict[int, list[np.ndarray]] = {i: [] for i in traced}
    for s in range(batches[0].shape[0]):
        # one sample at a time: TFLM keeps only the last invoke's intermediates
        outs = reference.run([b[s : s + 1] for b in batches], len(graph.outputs))
        for k, out in enumerate(outs):
            outputs[k].append(out[0])
        for i in traced:
            tensors[i].append(reference.tensor(i).reshape(graph.tensors[i].shape))
    out_arrays = tuple(from_batch(np.stack(o), graph.tensors[i]) for o, i in zip(outputs, graph.outputs))
    named = {graph.tensors[i].name: from_batch(np.stack(v), graph.tensors[i]) for i, v in tensors.items()}
    for t, b in zip(in_tensors, batches):
        named.setdefault(t.name, from_batch(b, t))
    return IntegerRun(out_arrays, named if trace else {})
