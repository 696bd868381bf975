"""Low-bit weights in a converted int8 .tflite: int8 model + per-layer specs -> int8 model whose weights take the
specs' levels.

For each Keras layer with a spec, the CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op it became (found from the
op's tensor names, tinyq.quantize.match.layer_ops) gets:
  * int8 values that are the spec's levels, one new float32 scale per output channel (the quantized dimension);
  * its bias requantized to float32(input scale × new weight scale), the bias scale TFLM checks;
so the file stays a standard int8 TFLite model: TFLM runs it as it is and is the reference for it.

The levels come from projecting the dequantized converted weights (PTQ), or are given (QAT / ADMM: the trained Keras
levels, in channel-matrix form); given levels get the least-squares scale of each channel, which absorbs anything
the converter folded in per channel (batch normalization). Every rewritten tensor gets a buffer of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import flatbuffers
import numpy as np

from tinyq.errors import QuantizationError
from tinyq.quantize.lowbit.layout import (
    TFLITE_OPS, channels_of_rows, rows_of_channels, tflite_channels, tflite_from_channels,
)
from tinyq.quantize.lowbit.project import fit_scale, project
from tinyq.quantize.lowbit.prune import keep_mask
from tinyq.quantize.lowbit.spec import LayerSpec
from tinyq.quantize.match import layer_ops

_BIAS_TYPES = {2: np.int32, 4: np.int64}  # schema TensorType INT32, INT64
_INT8 = 9  # schema TensorType INT8
_MAX_RESIDUAL = 0.02  # given levels must explain the converted weights this well (relative, per channel)


@dataclass(frozen=True)
class RewrittenLayer:
    layer: str
    op: str
    spec: str
    levels: int  # distinct values in the tensor
    zeros: float  # fraction of zeros
    error: float  # relative RMS error of the new weights against the converted int8 ones


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def weight_ops(tflite: bytes, layer_names: Sequence[str]) -> list[tuple[int, str, set[str]]]:
    """(op index, opcode name, the Keras layers it belongs to) for each weight op of the first subgraph."""
    from tinyq.tflite_reader import read_model

    graph = read_model(tflite)
    owners = layer_ops(graph, list(layer_names))
    return [(op.index, op.opcode, owners[op.index]) for op in graph.ops
            if op.opcode in TFLITE_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0]


def apply_specs(
    tflite: bytes,
    specs: Mapping[str, LayerSpec],
    layer_names: Sequence[str],
    levels: Mapping[str, np.ndarray] | None = None,
    where: str = "model",
) -> tuple[bytes, list[RewrittenLayer]]:
    """specs: Keras layer name -> spec (plain int8 specs are skipped); levels: layer -> trained levels [C, n]."""
    levels = levels or {}
    todo = {name: spec for name, spec in specs.items() if not spec.plain_int8 or name in levels}
    if not todo:
        return tflite, []
    s = schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    sg = model.subgraphs[0]
    by_layer: dict[str, list[tuple[int, str]]] = {}
    for i, op, layers in weight_ops(tflite, layer_names):
        for layer in layers & todo.keys():  # a fused op belongs to its activation and batch norm layers too
            by_layer.setdefault(layer, []).append((i, op))
    report = []
    bias_done: dict[int, np.ndarray] = {}
    for layer, spec in todo.items():
        targets = by_layer.get(layer, [])
        if len(targets) != 1:
            what = "no" if not targets else f"{len(targets)}"
            raise QuantizationError(
                f"{where}: layer '{layer}' became {what} CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED ops in the "
                f"converted model; its weights cannot take {spec.weights}")
        op_index, opname = targets[0]
        op = sg.operators[op_index]
        t = sg.tensors[op.inputs[1]]
        q = t.quantization
        w = tensor_data(model, t, np.int8) if t.type == _INT8 else None
        if w is None or q is None or q.scale is None or len(q.scale) == 0:
            raise QuantizationError(f"{where}: layer '{layer}' has no constant int8 weights in the converted model")
        old_scale = np.asarray(q.scale, np.float64)
        per_channel = len(old_scale) > 1
        old = tflite_channels(w, opname, per_channel).astype(np.int8)
        deq = old.astype(np.float64) * old_scale[:, None]
        if layer in levels:
            new, scale, residual = fit_scale(deq, _given(levels[layer], old.shape, layer, where))
            if residual.max(initial=0.0) > _MAX_RESIDUAL:
                raise QuantizationError(
                    f"{where}: the converted weights of layer '{layer}' do not follow its trained levels "
                    f"(relative error {residual.max():.3f}); the model cannot be rewritten exactly")
        else:
            keep = channels_of_rows(keep_mask(rows_of_channels(deq, opname), spec.sparsity), opname)
            if spec.weights.int8:
                new, scale = np.where(keep, old, 0).astype(np.int8), old_scale
            else:
                new, scale = project(deq, spec.weights, keep)
        scale = scale.astype(np.float32).astype(np.float64)
        set_tensor_data(model, t, tflite_from_channels(new, w.shape, opname, per_channel).astype(np.int8))
        q.scale = [float(v) for v in scale]
        q.zeroPoint = [0] * len(q.scale)
        requantize_bias(model, sg, op, scale, old_scale, bias_done, where)
        approx = scale[:, None] * new
        err = float(np.sqrt(((approx - deq) ** 2).sum() / max((deq**2).sum(), 1e-300)))
        report.append(RewrittenLayer(layer, opname, str(spec), len(np.unique(new)), float(np.mean(new == 0)), err))
    b = flatbuffers.Builder(len(tflite) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), report


def _given(levels: np.ndarray, shape, layer: str, where: str) -> np.ndarray:
    a = np.asarray(levels)
    if a.shape != shape:
        raise QuantizationError(f"{where}: trained levels of layer '{layer}' have shape {a.shape}, weights {shape}")
    return a


def tensor_data(model, tensor, dtype) -> np.ndarray | None:
    if tensor.buffer <= 0 or tensor.buffer >= len(model.buffers):
        return None
    raw = model.buffers[tensor.buffer].data
    if raw is None or len(raw) == 0:
        return None
    shape = [int(v) for v in tensor.shape] if tensor.shape is not None else []
    return np.frombuffer(bytes(bytearray(raw)), dtype).reshape(shape).copy()


def set_tensor_data(model, tensor, array: np.ndarray) -> None:
    """The tensor's buffer rewritten in place when no other tensor reads it, else a new buffer of its own."""
    data = np.ascontiguousarray(array).reshape(-1).view(np.uint8).copy()
    users = sum(t.buffer == tensor.buffer for sg in model.subgraphs for t in sg.tensors)
    if 0 < tensor.buffer < len(model.buffers) and users == 1:
        model.buffers[tensor.buffer].data = data
        return
    buf = schema().BufferT()
    buf.data = data
    model.buffers.append(buf)
    tensor.buffer = len(model.buffers) - 1


def tensor_name(tensor) -> str:
    n = tensor.name
    return n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n or "")


def requantize_bias(model, sg, op, new_w_scale, old_w_scale, done: dict, where: str,
                    offset: np.ndarray | None = None) -> None:
    """The op's bias in units of float32(input scale × new weight scale); `offset` (one value per bias element,
    in the new units) is added before rounding: a bias correction (tinyq/quantize/nested.py)."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return
    bias = sg.tensors[op.inputs[2]]
    dtype = _BIAS_TYPES.get(bias.type)
    data = tensor_data(model, bias, dtype) if dtype else None
    if data is None:
        return
    inp = sg.tensors[op.inputs[0]]
    if inp.quantization is None or inp.quantization.scale is None or len(inp.quantization.scale) == 0:
        raise QuantizationError(f"{where}: the input of the op using bias '{tensor_name(bias)}' has no scale")
    s_in = np.float32(inp.quantization.scale[0])
    n = data.size
    new_scale = (s_in * np.broadcast_to(new_w_scale.astype(np.float32), (n,))).astype(np.float32)
    shift = np.zeros(n) if offset is None else np.broadcast_to(np.asarray(offset, np.float64), (n,))
    if op.inputs[2] in done:
        scale_done, shift_done = done[op.inputs[2]]
        if not (np.array_equal(scale_done, new_scale) and np.array_equal(shift_done, shift)):
            raise QuantizationError(f"{where}: bias '{tensor_name(bias)}' is shared by ops that need different "
                                    f"scales or corrections")
        return
    q = bias.quantization
    if q is not None and q.scale is not None and len(q.scale):
        old_scale = np.broadcast_to(np.asarray(q.scale, np.float64), (n,))
    else:
        old_scale = np.broadcast_to(np.float64(s_in) * old_w_scale, (n,))
    info = np.iinfo(dtype)
    values = np.round(data.reshape(-1).astype(np.float64) * old_scale / new_scale.astype(np.float64) + shift)
    set_tensor_data(model, bias, np.clip(values, info.min, info.max).astype(dtype))
    if q is None:
        q = bias.quantization = schema().QuantizationParametersT()
    q.scale = [float(v) for v in new_scale] if len(new_w_scale) > 1 else [float(new_scale[0])]  # per-tensor stays
    q.zeroPoint = [0] * len(q.scale)
    q.quantizedDimension = 0
    done[op.inputs[2]] = (new_scale, shift)
