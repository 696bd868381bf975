"""Mixed int8/int16 activations (`--layer NAME=.../int16`): float Keras model + calibration data + layer names ->
an integer .tflite whose named layers run in 16x8 (int16 activations, int8 weights) and the rest in int8.

TensorFlow's converter has one activation type per model, so this goes through Google's ai-edge-quantizer
(AEQ): TensorFlow converts the model to a float .tflite (batch 1, as convert.py), AEQ calibrates it on the
samples and quantizes it with a static recipe: a8w8 (asymmetric int8 activations, symmetric per-channel int8
weights) for every op, a16w8 (symmetric int16 activations) for the ops of the named layers. AEQ itself puts a
QUANTIZE (TFLite's requantize, int8 <-> int16) on every edge between an int8 and an int16 tensor, so the result
is a standard .tflite that TFLite Micro runs. Model inputs and outputs: int8 or int16 (AEQ quantizes the edge
tensors, with a QUANTIZE where the first/last op has the other type), or float32 (QUANTIZE/DEQUANTIZE at the
edges).

Ops are given to layers through their tensor names (match.LayerMatcher): an op belongs to every layer whose
scope its output tensor's name holds (a convolution with its fused activation), or, for an output named after
no layer (the model output, `PartitionedCall:0`), to the Keras layer behind that model output (so the SOFTMAX of
`Dense(activation="softmax")` goes with its FULLY_CONNECTED), else to the layer of its constant inputs. AEQ selects
ops by a regex on the op's scope (its output names joined by ';' with a trailing ';'), so each selected op gets
an exact-match rule. An op AEQ cannot quantize at 16 bits silently keeps the a8w8 rule, so the result is
checked: every named layer's op must have int16 activations, and the model must be fully integer.
"""

from __future__ import annotations

import copy
import re
import sys
from typing import Iterator

from tinyq.errors import InputError, QuantizationError
from tinyq.quantize.convert import IO_TYPES, convert_float, error_summary, input_names, quiet_stderr
from tinyq.quantize.data import SampleSet
from tinyq.quantize.float_model import FloatModel
from tinyq.quantize.integer_check import check_integer_only
from tinyq.quantize.match import layer_ops

_ALGORITHM = "min_max_uniform_quantize"
_READ_CHUNK = 64  # samples read from disk at a time


def op_config(activation_bits: int) -> dict:
    """AEQ's op config: int8 activations asymmetric (TFLite's int8 scheme), int16 symmetric (zero point 0, as
    TFLite's 16x8 kernels require); weights int8 symmetric per channel."""
    return dict(
        activation_tensor_config=dict(
            num_bits=activation_bits, symmetric=activation_bits == 16, granularity="TENSORWISE", dtype="INT"
        ),
        weight_tensor_config=dict(num_bits=8, symmetric=True, granularity="CHANNELWISE", dtype="INT"),
        compute_precision="INTEGER",
        explicit_dequantize=False,
        skip_checks=False,
        min_weight_elements=0,
    )


def op_scope(output_names) -> str:
    """AEQ's scope of an op (ai_edge_quantizer.utils.tfl_flatbuffer_utils.get_op_scope)."""
    return ";".join(output_names) + ";"


def mixed_recipe(int16_ops, io: str) -> list[dict]:
    """a8w8 for every op, a16w8 for the ops listed as (scope, AEQ op name) (later rules win), and the model's
    edges: int8 (as the ops), int16 (a16 on AEQ's virtual INPUT/OUTPUT ops) or float32 (not quantized).
    The a16 rules name their op: with "*" the rule would also catch the virtual OUTPUT op, whose scope is the
    output tensor's name, and so override the edge rule (AEQ ranks rules by regex, then by order)."""
    rule = dict(regex=".*", operation="*", algorithm_key=_ALGORITHM, op_config=op_config(8))
    recipe = [rule]
    for scope, name in int16_ops:
        recipe.append(dict(copy.deepcopy(rule), regex="^" + re.escape(scope) + "$", operation=name,
                           op_config=op_config(16)))
    for edge in ("INPUT", "OUTPUT"):
        if io == "int16":
            recipe.append(dict(copy.deepcopy(rule), operation=edge, op_config=op_config(16)))
        elif io == "float32":
            recipe.append(dict(regex=".*", operation=edge, algorithm_key="no_quantize", op_config={}))
    return recipe


class _Calibration:
    """AEQ's calibration data for signature 'serving_default': an iterable of {input name: batch-1 array},
    read from the sample set as it goes. AEQ iterates it twice (first to count it), so it is no generator;
    the progress bar shows the second pass, the calibration."""

    def __init__(self, samples: SampleSet, names: list[str], progress: bool, stream):
        self.samples, self.names, self.progress, self.stream = samples, names, progress, stream
        self.passes = 0

    def __iter__(self) -> Iterator[dict]:
        from tqdm import tqdm

        self.passes += 1
        with tqdm(total=self.samples.count, desc="calibrating", unit="sample", file=self.stream or sys.stderr,
                  disable=not self.progress or self.passes == 1, leave=False) as bar:
            for batch in self.samples.batches(_READ_CHUNK):
                for i in range(batch[0].shape[0]):
                    yield {name: x[i : i + 1] for name, x in zip(self.names, batch)}
                bar.update(batch[0].shape[0])


def convert_mixed(float_model: FloatModel, samples: SampleSet, int16_layers: set[str], io: str, progress: bool,
                  where: str) -> bytes:
    """The model with int16 activations in the layers named, int8 elsewhere; io: int8, int16 or float32.

    Raises InputError for a name that is no layer (or a layer with no op of its own), QuantizationError when
    AEQ fails, leaves a named layer at int8 or leaves any op in float."""
    from tinyq import read_model

    if io not in IO_TYPES:
        raise QuantizationError(f"io '{io}': expected one of {', '.join(IO_TYPES)}")
    layer_names = [layer.name for layer in float_model.layers]
    if not layer_names:
        raise InputError(f"{where}: per-layer int16 activations need a Keras model (layer names); this is a SavedModel")
    unknown = sorted(set(int16_layers) - set(layer_names))
    if unknown:
        shown = ", ".join(layer_names[:12]) + (", ..." if len(layer_names) > 12 else "")
        raise InputError(f"{where}: no layer named {', '.join(repr(n) for n in unknown)} for int16 activations "
                         f"(layers: {shown})")
    try:
        import ai_edge_quantizer  # noqa: F401
    except ImportError:
        raise QuantizationError(f"{where}: per-layer int16 activations need ai-edge-quantizer "
                                "(pip install ai-edge-quantizer)") from None
    inputs = [(spec.name, shape) for spec, shape in zip(samples.specs, samples.shapes)]
    with quiet_stderr() as terminal:
        float_tflite = convert_float(float_model.call, inputs, where, float_model.trackable)
        graph = read_model(float_tflite)
        owners = layer_ops(graph, layer_names, float_model.output_layers)
        selected = [op for op in graph.ops if owners.get(op.index, set()) & set(int16_layers)]
        empty = sorted(set(int16_layers) - {n for op in selected for n in owners[op.index]})
        if empty:
            raise InputError(f"{where}: layer {', '.join(repr(n) for n in empty)} has no TFLite op of its own "
                             "(folded into another op or removed by the converter); name the layer that computes it")
        int16_ops = [(op_scope(graph.tensors[i].name for i in op.outputs), _aeq_name(op, owners, where))
                     for op in selected]
        quantized = _quantize(float_tflite, mixed_recipe(int16_ops, io),
                              _Calibration(samples, input_names(inputs), progress, terminal), where)
    result = read_model(quantized)
    _check_int16(result, graph, selected, owners, where)
    check_integer_only(result, layer_names, "int8/int16", where)
    return quantized


def _aeq_name(op, owners, where: str) -> str:
    """AEQ's name for the op's kind (TFLite's builtin name, but for a few)."""
    from ai_edge_quantizer import qtyping
    from ai_edge_quantizer.utils.tfl_flatbuffer_utils import TFL_OP_CODE_TO_NAME

    name = TFL_OP_CODE_TO_NAME.get(getattr(qtyping.BuiltinOperator, op.opcode, -1))
    if name is None:
        names = ", ".join(repr(n) for n in sorted(owners[op.index]))
        raise QuantizationError(f"{where}: layer {names} ({op.opcode}) cannot get int16 activations: "
                                "ai-edge-quantizer does not quantize that op")
    return str(name.value if hasattr(name, "value") else name)


def _quantize(float_tflite: bytes, recipe: list[dict], calibration: _Calibration, where: str) -> bytes:
    from ai_edge_quantizer import quantizer

    try:
        q = quantizer.Quantizer(bytearray(float_tflite))
        q.load_quantization_recipe(recipe)
        qsvs = q.calibrate({"serving_default": calibration})
        return bytes(q.quantize(qsvs, enable_progress_bar=False, enable_progress_report=False).quantized_model)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise QuantizationError(f"{where}: ai-edge-quantizer failed: {error_summary(exc)}") from None


def _check_int16(result, float_graph, selected, owners, where: str) -> None:
    """Every selected op (found again by its output names) reads and writes int16 activations."""
    by_outputs = {tuple(result.tensors[i].name for i in op.outputs): op for op in result.ops}
    for op in selected:
        key = tuple(float_graph.tensors[i].name for i in op.outputs)
        got = by_outputs.get(key)
        tensors = [] if got is None else [result.tensors[i] for i in got.inputs + got.outputs
                                          if i >= 0 and not result.tensors[i].is_constant]
        if got is None or any(t.dtype != "int16" for t in tensors):
            names = ", ".join(repr(n) for n in sorted(owners[op.index]))
            raise QuantizationError(f"{where}: layer {names} ({op.opcode}) could not get int16 activations: "
                                    "ai-edge-quantizer has no 16x8 scheme for that op and kept it at int8")
