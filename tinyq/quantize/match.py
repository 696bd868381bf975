"""Which Keras layer produced each TFLite tensor: TFLite tensor names + Keras layer names -> layer per tensor.

A converted tensor name lists the TensorFlow ops fused into it, ';'-separated, each a '/'-path of name scopes:
`digits_1/conv1_1/Relu;digits_1/conv1_1/BiasAdd;...`. Keras opens a name scope per layer call and TensorFlow
makes scope names unique by appending `_1`, `_2`... Keras 3 opens each layer's scope twice (the ops land in the
second), so layer `conv2d` runs in scope `conv2d_1` and layer `conv2d_1` in `conv2d_1_2`; tf_keras opens it once;
tfmot's QAT wrappers are named `quant_<layer>`. So the matcher predicts each layer's scope under each of these
naming conventions (replaying TensorFlow's uniquifier over the layers in call order), keeps the convention that
explains most of the scopes seen, and gives any scope left over to the earliest free layer it can stand for.
A fused tensor belongs to the latest layer among its scopes (the activation after a convolution). Only the scope
right under the model's root scope names a layer: deeper ones are the layer's own sub-scopes.
"""

from __future__ import annotations

import re
from typing import Sequence

_CONVENTIONS = tuple((prefix, opens) for prefix in ("", "quant_") for opens in (2, 1))


def scopes(tensor_name: str) -> list[str]:
    """The scopes of a tensor name that can be layer scopes, without ':0' endings: in each fused part, the one under
    the model's root scope (the second), then the first (names without a root scope). Deeper ones are a layer's
    own sub-scopes (`bn_1/batchnorm/add_1` is not layer `add`)."""
    out = []
    for part in tensor_name.split(";"):
        components = [re.sub(r":\d+$", "", c) for c in part.split("/") if c]
        for component in components[1:2] + components[:1]:
            if component not in out:
                out.append(component)
    return out


def predicted_scopes(layer_names: Sequence[str], prefix: str, opens: int) -> list[str]:
    """The scope each layer's ops get when `opens` scopes named prefix+name are opened per layer, in order.

    Mirrors tf.Graph.unique_name: case-insensitive keys, `name_<i>` for the i-th reuse, skipping taken names.
    """
    in_use: dict[str, int] = {}
    out = []
    for name in layer_names:
        scope = ""
        for _ in range(opens):
            base = prefix + name
            key = base.lower()
            i = in_use.get(key, 0)
            in_use[key] = i + 1
            scope = base
            if i > 0:
                while key in in_use:
                    key = f"{base.lower()}_{i}"
                    i += 1
                in_use[key] = 1
                scope = f"{base}_{i - 1}"
        out.append(scope)
    return out


class LayerMatcher:
    """layer_names: Keras layer names in call (topological) order, inputs first."""

    def __init__(self, layer_names: Sequence[str]):
        self.layer_names = list(layer_names)
        self._patterns = [
            re.compile(r"(?:quant_)?" + re.escape(n) + r"(?:_\d+)*", re.IGNORECASE) for n in self.layer_names
        ]

    def candidates(self, scope: str) -> list[int]:
        """Indices of the layers that a scope name can stand for under any convention."""
        return [i for i, pattern in enumerate(self._patterns) if pattern.fullmatch(scope)]

    def owners(self, tensor_names: Sequence[str]) -> list[int | None]:
        """Layer index owning each tensor (tensor_names in op execution order), None when no scope names a layer."""
        seen = [s for name in tensor_names for s in scopes(name)]
        scope_layer: dict[str, int] = {}
        best_hits = -1
        for prefix, opens in _CONVENTIONS:
            predicted = {s: i for i, s in enumerate(predicted_scopes(self.layer_names, prefix, opens))}
            hits = len({s for s in seen if s in predicted})
            if hits > best_hits:
                best_hits, scope_layer = hits, {s: predicted[s] for s in seen if s in predicted}
        taken = set(scope_layer.values())
        for scope in seen:  # scopes no convention explained: earliest free layer whose name fits
            if scope not in scope_layer:
                free = [i for i in self.candidates(scope) if i not in taken]
                if free:
                    scope_layer[scope] = free[0]
                    taken.add(free[0])
        owners = []
        for name in tensor_names:
            layers = [scope_layer[s] for s in scopes(name) if s in scope_layer]
            owners.append(max(layers) if layers else None)
        return owners


def layer_ops(graph, layer_names, output_layers=()) -> dict[int, set[str]]:
    """op index -> names of the Keras layers an op of `graph` (a tinyq Graph) belongs to: every layer named in its
    output tensor names (a convolution with a fused batch norm and ReLU belongs to all three), else the layer
    behind the model output it writes when its name is no layer's (`PartitionedCall:0`; output_layers: the layer
    behind each model output), else the layers named by its constant inputs."""
    matcher = LayerMatcher(layer_names)
    parts, where = [], []  # every ';'-fused part of every output name, then of constant input names
    for op in graph.ops:
        for i in op.outputs:
            for part in graph.tensors[i].name.split(";"):
                parts.append(part)
                where.append((op.index, "out"))
        for i in op.inputs:
            if i >= 0 and graph.tensors[i].is_constant:
                parts.append(graph.tensors[i].name)
                where.append((op.index, "const"))
    owners: dict[int, dict[str, set[str]]] = {}
    for (index, kind), owner in zip(where, matcher.owners(parts)):
        found = owners.setdefault(index, {"out": set(), "const": set()})
        if owner is not None:
            found[kind].add(layer_names[owner])
    behind = {t: {name} for t, name in zip(graph.outputs, output_layers) if name in layer_names}
    result = {}
    for op in graph.ops:
        found = owners.get(op.index, {"out": set(), "const": set()})
        from_output = set().union(*(behind.get(i, set()) for i in op.outputs))
        result[op.index] = found["out"] or from_output or found["const"]
    return result
