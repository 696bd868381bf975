"""Nested children: an int8 .tflite (the parent) -> a K-bit model whose weights are the parent's top K bits.

A firmware image that holds both models as precision levels stores one weight array: level 0 reads all 8 bits,
level 1 the top K. So the child's int8 weights are exactly parent >> (8 - K) (arithmetic shift = floor, not
rounding: rounding would give values that are not the parent's bits), for every CONV_2D / DEPTHWISE_CONV_2D /
FULLY_CONNECTED op with constant symmetric int8 weights; each such op gets
  * weight scales × 2^(8-K) (exact in float32), so child << s dequantizes on the parent's grid;
  * its bias requantized to float32(input scale × new weight scale) (rewrite.requantize_bias), optionally with
    a bias correction from calibration data (below);
  * a `tinyq_nested` metadata entry (tinyq/tflite_nested.py) naming the parent's SHA-256 and the nested ops, so
    the compiler can check the nesting.
Everything else is the parent's: the child is a standard int8 model that TFLM runs as it is.

Bias correction: flooring drops e = parent - (child << s), 0 <= e < 2^s parent LSBs, from every weight, and each op
after the first sees inputs the ops before it changed. With calibration data the ops are corrected in order: the
parent and the child corrected so far run in TFLM, and sum_i e_i mean(xp_i) + sum_i (child_i << s) mean(xp_i - xc_i)
(xp, xc: the op's input minus its zero point in the parent and the child) is added back to the bias, in the child's
bias units (divided by 2^s): the parent's mean pre-activation on the data.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np

from tinyq.errors import QuantizationError
from tinyq.ir import Graph, Tensor
from tinyq.quantize.lowbit.rewrite import requantize_bias, schema, set_tensor_data
from tinyq.tflite_nested import NAME, WEIGHT_OPS, encode


@dataclass(frozen=True)
class NestedOp:
    index: int  # operator index
    opcode: str
    output: str  # the op's output tensor name
    bits: int
    error: float  # relative RMS error of the child's dequantized weights against the parent's


@dataclass(frozen=True)
class SkippedOp:
    index: int
    opcode: str
    output: str
    reason: str  # why its weights stay the parent's


@dataclass(frozen=True)
class NestedResult:
    tflite: bytes  # the child model
    bits: int
    parent_sha256: str
    ops: tuple[NestedOp, ...]
    skipped: tuple[SkippedOp, ...]
    calibration_samples: int  # 0: no bias correction
    out: Path | None = None


def nest(parent: str | Path | bytes, out: str | Path | None = None, bits: int = 4, calibration=None,
         image_range: tuple[float, float] = (0.0, 1.0)) -> NestedResult:
    """parent: int8 .tflite path or bytes; calibration: None (no bias correction), or data for the parent's inputs
    (.npy/.npz path, array or mapping as tinyq.io.load_inputs reads, or a directory of images / .wav files)."""
    from tinyq.tflite_reader import read_model

    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 7:
        raise QuantizationError(f"nested child: {bits!r} bits; a nested child's weights have 1 to 7 bits")
    graph = read_model(parent)  # first, so an unreadable or corrupt parent gets the reader's error
    where = graph.source
    data = bytes(parent) if isinstance(parent, (bytes, bytearray, memoryview)) else Path(parent).read_bytes()
    if hashlib.sha256(data).hexdigest() != graph.sha256:
        raise QuantizationError(f"{where}: the file changed while it was being read")
    if graph.nested is not None:
        raise QuantizationError(f"{where} is itself a nested child (it has '{NAME}' metadata); nest from its "
                                f"int8 parent instead")
    todo, skipped = [], []
    for op in graph.ops:
        if op.opcode not in WEIGHT_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        reason = _skip_reason(graph.tensor(op.inputs[1]))
        if reason:
            skipped.append(SkippedOp(op.index, op.opcode, _output_name(graph, op), reason))
        else:
            todo.append(op)
    if not todo:
        why = "; ".join(f"op #{s.index} {s.opcode}: {s.reason}" for s in skipped) or "the model has no such op"
        raise QuantizationError(f"{where}: no {'/'.join(WEIGHT_OPS)} op with constant symmetric int8 weights to "
                                f"nest ({why})")
    batches = _calibration_batches(calibration, graph, image_range) if calibration is not None else None
    means = _input_means(data, graph, todo, batches) if batches is not None else {}
    n_samples = 0 if batches is None else int(batches[0].shape[0])

    shift = 8 - int(bits)
    model = schema().ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg = model.subgraphs[0]
    biases_done: dict = {}
    weights_done: set[int] = set()  # a weight tensor shared by two ops is shifted once
    report = []
    for op in todo:
        w = graph.tensor(op.inputs[1])
        parent_w = w.data
        child = (parent_w >> shift).astype(np.int8)  # floor: exactly the parent's top bits
        lost = parent_w.astype(np.int64) - (child.astype(np.int64) << shift)
        t = sg.tensors[op.inputs[1]]
        old_scale = np.asarray(t.quantization.scale, np.float32)
        new_scale = old_scale * np.float32(2**shift)  # a power of two: exact
        if op.inputs[0] in means:  # measured before this op changes: its input depends only on the ops before
            child_mean = _input_means(_pack(model), graph, [op], batches)[op.inputs[0]]
        if op.inputs[1] not in weights_done:
            set_tensor_data(model, t, child)
            t.quantization.scale = [float(v) for v in new_scale]
            weights_done.add(op.inputs[1])
        offset = None
        if op.inputs[0] in means:
            # the parent's sum over its own inputs, minus the child's over the inputs the corrected ops before
            # this one give it: the floor's loss and the drift upstream, both restored on average
            parent_mean = means[op.inputs[0]]
            offset = (_lost_sum(op.opcode, lost, parent_mean)
                      + _lost_sum(op.opcode, child.astype(np.int64) << shift, parent_mean - child_mean)) / 2**shift
        requantize_bias(model, sg, model.subgraphs[0].operators[op.index], new_scale.astype(np.float64),
                        old_scale.astype(np.float64), biases_done, where, offset)
        report.append(NestedOp(op.index, op.opcode, _output_name(graph, op), int(bits), _relative_error(w, lost)))

    buf = schema().BufferT()
    buf.data = np.frombuffer(encode(graph.sha256, [(op.index, int(bits)) for op in todo]), np.uint8).copy()
    model.buffers.append(buf)
    entry = schema().MetadataT()
    entry.name, entry.buffer = NAME, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    child_bytes = bytes(b.Output())
    read_model(child_bytes)  # the child must read back, metadata included: a failure here is a tinyq bug
    if out is not None:
        out = Path(out)
        out.write_bytes(child_bytes)
    return NestedResult(child_bytes, int(bits), graph.sha256, tuple(report), tuple(skipped), n_samples, out)


def _skip_reason(w: Tensor) -> str | None:
    if not w.is_constant:
        return "its weights are not constant"
    if w.dtype != "int8":
        return f"{w.dtype} weights (only int8 weights have top bits to nest)"
    if w.quant is None:
        return "its weights have no quantization scale"
    if any(z != 0 for z in w.quant.zero_point):
        return "asymmetric weights (zero point is not 0)"
    return None


def _output_name(graph: Graph, op) -> str:
    return graph.tensor(op.outputs[0]).name if op.outputs else "?"


def _relative_error(w: Tensor, lost: np.ndarray) -> float:
    """RMS of the dropped part over RMS of the parent, both dequantized (scales along the quantized axis)."""
    shape = [1] * w.data.ndim
    if w.quant.per_channel:
        shape[w.quant.axis] = -1
    scale = np.asarray(w.quant.scale, np.float64).reshape(shape)
    parent = w.data * scale
    return float(np.sqrt(((lost * scale) ** 2).sum() / max((parent**2).sum(), 1e-300)))


def _pack(model) -> bytes:
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _input_means(data: bytes, graph: Graph, ops, batches) -> dict[int, np.ndarray]:
    """Mean of (x - zp_in) of every nested op's input over the calibration samples, run through the parent in TFLM:
    tensor index -> per-channel means [C] (conv and depthwise inputs, over samples and positions) or per-feature
    means [I] (fully connected)."""
    from tinyq.oracle import run_isolated

    wanted = tuple(sorted({op.inputs[0] for op in ops}))
    _, seen = run_isolated(data, batches, len(graph.outputs), tensors=wanted, per_sample=True)
    by_tensor = {}
    for op in ops:
        x = graph.tensor(op.inputs[0])
        values = seen[op.inputs[0]].astype(np.float64) - x.zero_point
        depth = graph.tensor(op.inputs[1]).shape[-1] if op.opcode == "FULLY_CONNECTED" else x.shape[-1]
        by_tensor[op.inputs[0]] = values.reshape(-1, depth).mean(axis=0)
    return by_tensor


def _calibration_batches(source, graph: Graph, image_range) -> list[np.ndarray]:
    from tinyq.io import load_inputs, to_batch, user_shape

    inputs = [graph.tensor(i) for i in graph.inputs]
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        from tinyq.quantize.data import InputSpec, load_samples

        specs = [InputSpec(t.name, user_shape(t.shape)) for t in inputs]
        samples = load_samples(source, specs, "calibration data", image_range)
        return [to_batch(a, t, samples.where) for a, t in zip(samples.materialize(), inputs)]
    return load_inputs(source, inputs)


def _lost_sum(opcode: str, lost: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Per output channel: sum_i lost_i * mean(x_i - zp_in), in parent accumulator units.

    FULLY_CONNECTED [O, I] reads feature i. For the convolutions the mean of each input channel over all positions
    stands in for the mean under each kernel tap, so image borders (where TFLM skips padded taps) are not
    modelled: an approximation that is exact for 1x1 convolutions without padding."""
    if opcode == "FULLY_CONNECTED":
        return lost.reshape(lost.shape[0], -1) @ mean
    if opcode == "DEPTHWISE_CONV_2D":  # [1, KH, KW, C·M]: output channel o reads input channel o // M
        out_c = lost.shape[-1]
        return lost.reshape(-1, out_c).sum(axis=0) * mean[np.arange(out_c) // (out_c // mean.size)]
    # CONV_2D [O, KH, KW, I/groups]: output channel o belongs to group o // (O / groups)
    out_c, in_per_group = lost.shape[0], lost.shape[-1]
    groups = mean.size // in_per_group
    per_tap = lost.reshape(out_c, -1, in_per_group).sum(axis=1)
    return (per_tap * mean.reshape(groups, in_per_group)[np.arange(out_c) // (out_c // groups)]).sum(axis=1)
