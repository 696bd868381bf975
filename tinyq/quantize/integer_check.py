"""Is the converted model fully integer? A .tflite Graph + Keras layer names -> nothing, or a QuantizationError.

TFLite's converter does not fail on ops it has no integer kernel for: it keeps them in float32 between a
DEQUANTIZE and a QUANTIZE. Such a model cannot run on an integer-only microcontroller runtime, so this check names
the layers (found through their tensor names) and ops that stayed float. The QUANTIZE of a float model input and
the DEQUANTIZE of a float model output (`--io float32`) are allowed.
"""

from __future__ import annotations

from typing import Sequence

from tinyq.errors import QuantizationError
from tinyq.ir import Graph, Op
from tinyq.quantize.match import LayerMatcher, scopes

_FLOAT_KINDS = ("float", "complex")


def float_ops(graph: Graph) -> list[Op]:
    """Ops that compute on float data (excluding the QUANTIZE/DEQUANTIZE bridges around them)."""
    found = []
    bridges = []
    for op in graph.ops:
        tensors = [graph.tensors[i] for i in op.inputs + op.outputs if i >= 0]
        if not any(t.dtype.startswith(_FLOAT_KINDS) and not t.is_constant for t in tensors):
            continue
        if op.opcode == "QUANTIZE" and op.inputs[0] in graph.inputs:
            continue
        if op.opcode == "DEQUANTIZE" and op.outputs[0] in graph.outputs:
            continue
        (bridges if op.opcode in ("QUANTIZE", "DEQUANTIZE") else found).append(op)
    return found or bridges


def check_integer_only(graph: Graph, layer_names: Sequence[str], activations: str, where: str) -> None:
    """Raise a one-line QuantizationError naming the layers and ops left in float, if any."""
    ops = float_ops(graph)
    if not ops:
        return
    names = [graph.tensors[op.outputs[0]].name if op.outputs else "" for op in ops]
    owners = LayerMatcher(layer_names).owners(names) if layer_names else [None] * len(ops)
    groups: dict[str, list[str]] = {}
    for op, name, owner in zip(ops, names, owners):
        if owner is not None:
            label = f"layer '{layer_names[owner]}'"
        else:
            label = f"tensor '{(scopes(name) or [name])[0]}'"
        if op.opcode not in groups.setdefault(label, []):
            groups[label].append(op.opcode)
    listed = "; ".join(f"{label} ({', '.join(codes)})" for label, codes in groups.items())
    raise QuantizationError(
        f"{where}: not fully integer: {listed} stayed float32, because TFLite has no {activations} kernel "
        f"for {'that op' if len(ops) == 1 else 'those ops'}; replace or remove {'it' if len(groups) == 1 else 'them'}"
    )
