"""How much quantization cost: integer .tflite (+ float Keras model) + data (+ labels) -> Report.

Scores the integer model (run in the simulator, or TFLM) and the float model with the same metric: accuracy for
classifiers (class-index or one-hot labels), mean absolute error for regressors (float targets) and autoencoders
(no labels, output shaped like the input). With a Keras float model it also compares every integer tensor,
dequantized, with the float output of the Keras layer it stands for (see match.py):
  * SQNR dB = 10 log10(sum f^2 / sum (f - q)^2): how far the integer tensor is from float so far;
  * layer dB = the same ratio for the noise this layer adds: the integer output against the float layer run on the
    layer's own (dequantized integer) inputs, so the noise that reaches the layer is not counted again. It uses the
    median over channels (last axis) of each channel's noise-to-signal ratio, so that a few large channels cannot
    hide the others (they do in the SQNR). Where the float layer cannot be run on its inputs (an input tensor that
    was not matched), ratios are taken to add up along the graph: the layer's ratio minus its inputs'.
    Layers that keep their input's scale and zero point (reshape, max pooling, concatenation) only move values: "-".
  * An activation or batch normalization that the converter fused into the op before it (CONV_2D + RELU) has no
    tensor of its own: the fused op's tensor and its noise are the row of the layer that computes it (the conv),
    and the activation's row says "(fused into conv)".
The layer with the lowest layer dB is the one that loses the most precision. Report.table() renders the terminal
table and Report.plot() a PNG (matplotlib, Agg).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tinyq.errors import InputError
from tinyq.ir import Graph
from tinyq.quantize.data import InputSpec, load_labels, load_samples
from tinyq.quantize.match import LayerMatcher
from tinyq.quantize.provenance import method_of
from tinyq.quantize.runner import run_integer

_INTEGER = ("int8", "int16", "uint8")
_BRIDGES = ("QUANTIZE", "DEQUANTIZE")
# Keras layers the converter fuses into the op that computes their input (CONV_2D, FULLY_CONNECTED, ADD, ...)
_FUSABLE = ("ReLU", "Activation", "BatchNormalization")


@dataclass(frozen=True)
class LayerError:
    layer: str
    kind: str  # Keras class name
    tensor: str | None  # the TFLite tensor compared; None when the layer was fused into a later one
    dtype: str | None
    sqnr_db: float | None  # integer tensor vs float layer output (inf = identical)
    layer_db: float | None  # SQNR of the noise this layer adds (inf = adds none)
    fused_into: str | None = None  # the layer whose op computes this one (an activation fused into a conv)


@dataclass(frozen=True)
class Report:
    model: str
    backend: str
    samples: int
    task: str  # "classification", "regression", "reconstruction"
    metric: str  # "accuracy" or "mean absolute error"
    integer_score: float
    float_score: float | None
    layers: tuple[LayerError, ...] = ()
    note: str | None = None  # what the comparison means, where that is not the obvious (after QAT)

    @property
    def worst_layer(self) -> LayerError | None:
        """The layer that adds the most quantization noise (lowest layer dB)."""
        rated = [r for r in self.layers if r.layer_db is not None]
        return min(rated, key=lambda r: r.layer_db) if rated else None

    def summary(self) -> str:
        def fmt(v):
            return f"{100 * v:.2f}%" if self.metric == "accuracy" else f"{v:.6g}"

        line = f"{self.metric}: integer {fmt(self.integer_score)}"
        if self.float_score is not None:
            delta = self.integer_score - self.float_score
            change = f"{100 * delta:+.2f} points" if self.metric == "accuracy" else f"{delta:+.3g}"
            line += f", float {fmt(self.float_score)} ({change})"
        return f"{self.model}: {self.samples} samples, {self.task}, integer model run by {self.backend}; {line}"

    def table(self) -> str:
        """The per-layer table (empty when there is no float Keras model)."""
        if not self.layers:
            return ""
        rows = [("layer", "type", "dtype", "SQNR dB", "layer dB")]
        for r in self.layers:
            dtype = r.dtype or (f"(fused into {r.fused_into})" if r.fused_into else "(fused)")
            rows.append((r.layer, r.kind, dtype, _db(r.sqnr_db), _db(r.layer_db)))
        widths = [max(len(row[c]) for row in rows) for c in range(5)]
        lines = [
            "  ".join(cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
            for row in rows
        ]
        worst = self.worst_layer
        if worst is not None:
            lines.append(f"most precision lost at layer '{worst.layer}' ({worst.kind}): {_db(worst.layer_db)} dB")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Bar chart of SQNR per layer with each layer's own share; the worst layer in red."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in self.layers if r.sqnr_db is not None]
        if not rows:
            raise InputError("no per-layer results to plot (evaluate with a float Keras model)")
        cap = (
            max(
                [r.sqnr_db for r in rows if math.isfinite(r.sqnr_db)]
                + [r.layer_db for r in rows if r.layer_db is not None and math.isfinite(r.layer_db)]
                + [10.0]
            )
            + 10
        )
        worst = self.worst_layer
        x = np.arange(len(rows))
        fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(rows) + 2), 4.2))
        colors = ["tab:red" if worst is not None and r.layer == worst.layer else "tab:blue" for r in rows]
        ax.bar(x, [min(r.sqnr_db, cap) for r in rows], color=colors, alpha=0.75, label="SQNR vs float (dB)")
        own = [(i, min(r.layer_db, cap)) for i, r in enumerate(rows) if r.layer_db is not None]
        if own:
            ax.plot(*zip(*own), "k_", markersize=18, markeredgewidth=2, label="layer dB: SQNR of the noise it adds")
        ax.set_xticks(x, [r.layer for r in rows], rotation=40, ha="right")
        ax.set_ylabel("dB (higher is better)")
        ax.set_ylim(0, cap)
        ax.set_title(self.summary().split("; ")[1] + f"  [{Path(self.model).name}]", fontsize=9)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, never over one
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def evaluate(
    model,
    data,
    labels=None,
    *,
    float_model=None,
    backend: str = "sim",
    plot: str | Path | None = None,
    image_range: tuple[float, float] = (0.0, 1.0),
) -> Report:
    """Score an integer .tflite (path or bytes) on `data` and, with `float_model`, compare it layer by layer.

    data: as for calibration (.npy/.npz/directory/array/mapping), float values as the float model takes them.
    labels: class indices, one-hot rows or float targets (.npy or array); None for autoencoders.
    """
    from tinyq import read_model
    from tinyq.io import user_shape

    graph = read_model(model)  # names a missing or broken file
    if isinstance(model, (bytes, bytearray)):
        tflite, name = bytes(model), "model bytes"
    else:
        tflite, name = Path(model).read_bytes(), str(model)
    specs = [InputSpec(_input_name(graph.tensors[i].name), user_shape(graph.tensors[i].shape)) for i in graph.inputs]
    arrays = load_samples(data, specs, "evaluation data", image_range).materialize()
    target = None if labels is None else load_labels(labels, arrays[0].shape[0])

    fm = None
    if float_model is not None:
        from tinyq.quantize.float_model import load_float_model

        fm = load_float_model(float_model)
        if len(fm.specs) != len(specs):
            raise InputError(f"{fm.where} has {len(fm.specs)} inputs, but {name} has {len(specs)}")
    run = run_integer(tflite, graph, arrays, backend, trace=fm is not None and fm.keras is not None)
    outputs = [_dequantize(o, graph.tensors[i]) for o, i in zip(run.outputs, graph.outputs)]
    task, metric, integer_score = score(outputs[0], target, arrays, name)
    float_score = None
    layers: tuple[LayerError, ...] = ()
    if fm is not None:
        float_outputs = fm.predict(arrays)
        float_score = score(float_outputs[0], target, arrays, fm.where)[2]
        if fm.keras is not None:
            layers = layer_errors(graph, run.tensors, fm, fm.layer_outputs(arrays), fm.run_layers)
    note = None
    if fm is not None and method_of(tflite) == "qat":
        note = (f"note: {name} was fine-tuned by quantization-aware training, and the fine-tuned float weights are "
                f"not kept: the float score and the SQNR compare it with {fm.where} as given (the model before QAT, "
                f"if that is what you passed), so they include what QAT changed, not only quantization noise")
    report = Report(name, backend, arrays[0].shape[0], task, metric, integer_score, float_score, layers, note)
    if plot is not None and layers:
        report.plot(plot)
    return report


def score(output: np.ndarray, labels: np.ndarray | None, arrays: Sequence[np.ndarray], where: str):
    """(task, metric, value) of the first model output against the labels (or the input, for autoencoders)."""
    n = output.shape[0]
    flat = output.reshape(n, -1)
    if labels is None:
        if arrays[0].size != output.size:
            raise InputError(f"{where}: no labels given, and the output is not shaped like the input (give labels)")
        return "reconstruction", "mean absolute error", float(np.mean(np.abs(flat - arrays[0].reshape(n, -1))))
    onehot = labels.ndim == 2 and labels.shape[1] == flat.shape[1] > 1 and np.all((labels == 0) | (labels == 1))
    if labels.dtype.kind in "iub" or onehot:
        classes = labels.argmax(axis=1) if onehot else labels.reshape(n, -1)
        if classes.ndim == 2 and classes.shape[1] != 1:
            raise InputError(f"labels of shape {list(labels.shape)} are neither class indices nor one-hot rows")
        classes = classes.reshape(n)
        n_classes = flat.shape[1] if flat.shape[1] > 1 else 2
        if classes.min() < 0 or classes.max() >= n_classes:
            raise InputError(f"{where}: labels must be class indices in [0, {n_classes - 1}] for this model's "
                             f"output, got values from {int(classes.min())} to {int(classes.max())}")
        predicted = flat.argmax(axis=1) if flat.shape[1] > 1 else (flat[:, 0] > 0.5).astype(int)
        return "classification", "accuracy", float(np.mean(predicted == classes))
    if labels.size != output.size:
        raise InputError(
            f"{where}: float targets of shape {list(labels.shape)} do not match the output {list(output.shape)}"
        )
    return "regression", "mean absolute error", float(np.mean(np.abs(flat - labels.reshape(n, -1))))


def layer_errors(graph: Graph, traced: dict, fm, float_outputs: dict, run_layers) -> tuple[LayerError, ...]:
    """One row per Keras layer: its TFLite tensor (the last one the layer owns), SQNR and the noise it adds.
    run_layers(names, inputs) -> the float output of those chained layers on the given arrays, or None."""
    layers = fm.layers
    index = {layer.name: k for k, layer in enumerate(layers)}
    tensor_ids = list(graph.inputs) + [i for op in graph.ops for i in op.outputs]
    owners = dict(
        zip(
            tensor_ids,
            LayerMatcher([layer.name for layer in layers]).owners([graph.tensors[i].name for i in tensor_ids]),
        )
    )
    # graph inputs/outputs belong to the model's input/output layers, whatever their names say
    owners.update({i: k for i, k in zip(graph.inputs, range(len(fm.specs)))})
    owners.update({i: index[n] for i, n in zip(graph.outputs, fm.output_layers) if n in index})
    for op in graph.ops:  # a QUANTIZE/DEQUANTIZE at a float edge stands for the same layer as its partner
        if op.opcode in _BRIDGES and op.inputs and op.outputs:
            a, b = op.inputs[0], op.outputs[0]
            owner = owners.get(a) if owners.get(a) is not None else owners.get(b)
            owners[a] = owners[b] = owner

    chosen: dict[int, int] = {}
    for i in tensor_ids:
        t = graph.tensors[i]
        k = owners.get(i)
        if k is None or t.dtype not in _INTEGER or t.quant is None or t.name not in traced:
            continue
        want = float_outputs[layers[k].name]
        if traced[t.name][0].size == want[0].size:
            chosen[k] = i  # the last one wins: a layer's output comes after its intermediates
    chains = {k: _chain(layers, index, head, k) for k, head in _fused_heads(layers, index, chosen).items()}
    absorbed = {j for chain in chains.values() for j in chain[:-1]}  # written with their chain's tail

    def integer_value(k: int) -> np.ndarray:
        t = graph.tensors[chosen[k]]
        return _dequantize(traced[t.name], t).astype(np.float64).reshape(float_outputs[layers[k].name].shape)

    nsr: dict[str, float] = {}  # typical per-channel noise-to-signal ratio reaching each layer's output
    quant: dict[str, object] = {}
    rows = {}
    for k, layer in enumerate(layers):
        if k in absorbed:
            continue
        nsr_in = max((nsr.get(p, 0.0) for p in layer.inputs), default=0.0)
        if k not in chosen:
            nsr[layer.name] = nsr_in
            rows[k] = LayerError(layer.name, layer.kind, None, None, None, None)
            continue
        chain = chains.get(k, [k])  # the layers one op computes: the conv, then what it fused (BN, ReLU)
        head = chain[0]
        t = graph.tensors[chosen[k]]
        f = float_outputs[layer.name].astype(np.float64)
        q = integer_value(k)
        signal, noise = float(np.sum(f * f)), float(np.sum((f - q) ** 2))
        ratio = noise / signal if signal > 0 else (0.0 if noise == 0 else math.inf)
        sources = layers[head].inputs
        if sources and all(quant.get(p) == t.quant for p in sources):
            # same scale and zero point as its inputs: values are moved (reshape, pooling, concat), not requantized
            channel, own = nsr_in, None
        else:
            channel = _channel_nsr(f, q)
            isolated = None
            if sources and all(index.get(p) in chosen for p in sources):
                isolated = run_layers([layers[j].name for j in chain], [integer_value(index[p]) for p in sources])
            own = _to_db(_channel_nsr(isolated.reshape(q.shape), q) if isolated is not None else channel - nsr_in)
        for j in chain:
            nsr[layers[j].name], quant[layers[j].name] = channel, t.quant
        rows[head] = LayerError(layers[head].name, layers[head].kind, t.name, t.dtype, _to_db(ratio), own)
        for j in chain[1:]:
            rows[j] = LayerError(layers[j].name, layers[j].kind, None, None, None, None, fused_into=layers[head].name)
    return tuple(rows[k] for k in sorted(rows))


def _fused_heads(layers, index: dict[str, int], chosen: dict[int, int]) -> dict[int, int]:
    """Layer k (an activation or batch normalization holding a tensor) -> the first layer of the chain of
    tensor-less single-input layers before it that the converter fused into one op (Conv2D -> BN -> ReLU)."""
    heads = {}
    for k in list(chosen):
        head = k
        while layers[head].kind in _FUSABLE and len(layers[head].inputs) == 1:
            parent = index.get(layers[head].inputs[0])
            if parent is None or parent in chosen or layers[parent].kind == "InputLayer":
                break
            head = parent
        if head != k:
            heads[k] = head
    return heads


def _chain(layers, index: dict[str, int], head: int, tail: int) -> list[int]:
    """head, ..., tail along single-input links (tail back to head), in order."""
    out = [tail]
    while out[-1] != head:
        out.append(index[layers[out[-1]].inputs[0]])
    return out[::-1]


def _channel_nsr(f: np.ndarray, q: np.ndarray) -> float:
    """Median over channels (last axis) of noise / signal power: a few large channels cannot hide the rest."""
    f2 = f.reshape(-1, f.shape[-1] if f.ndim > 1 else 1)
    q2 = q.reshape(f2.shape)
    signal = np.sum(f2 * f2, axis=0)
    noise = np.sum((f2 - q2) ** 2, axis=0)
    live = signal > 0  # a channel that is always 0 in float carries nothing to lose
    if not live.any():
        return 0.0 if not noise.any() else math.inf
    return float(np.median(noise[live] / signal[live]))


def _input_name(tensor_name: str) -> str:
    """'serving_default_image:0' -> 'image': the name the float model's input has (keys of an .npz)."""
    return re.sub(r":\d+$", "", tensor_name).removeprefix("serving_default_")


def _to_db(noise_to_signal: float) -> float:
    if noise_to_signal <= 0:
        return math.inf
    return -10.0 * math.log10(noise_to_signal)


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if math.isinf(value) and value > 0 else f"{value:.1f}"


def _dequantize(values: np.ndarray, tensor) -> np.ndarray:
    if tensor.quant is None or tensor.dtype not in _INTEGER:
        return values.astype(np.float32)
    return ((values.astype(np.int64) - tensor.zero_point) * tensor.scale).astype(np.float32)
