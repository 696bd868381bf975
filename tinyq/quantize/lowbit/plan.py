"""Which spec each layer of a Keras model takes: --weights (every layer), --layer NAME=SPEC (one), --sparsity.

resolve() checks the names and the layer kinds against the model, so a typo or a spec on a layer without weights
is one clear error before any conversion or training starts.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from tinyq.errors import InputError
from tinyq.quantize.lowbit.layout import WEIGHT_LAYERS
from tinyq.quantize.lowbit.spec import LayerSpec, Sparsity, parse_sparsity, parse_spec, with_sparsity


def parse_options(
    weights: str | LayerSpec = "int8",
    per_layer: Mapping[str, str | LayerSpec] | Sequence[str] | None = None,
    sparsity: str | float | Sparsity | None = None,
) -> tuple[LayerSpec, dict[str, LayerSpec], Sparsity | None]:
    """The option strings parsed (before any model is loaded): (default spec, per-layer specs, sparsity)."""
    default = weights if isinstance(weights, LayerSpec) else parse_spec(str(weights), "--weights")
    return default, _overrides(per_layer), parse_sparsity(sparsity)


def resolve(
    layers,  # tinyq.quantize.float_model.Layer sequence (name, kind)
    weights: str | LayerSpec = "int8",
    per_layer: Mapping[str, str | LayerSpec] | Sequence[str] | None = None,
    sparsity: str | float | Sparsity | None = None,
    where: str = "model",
) -> dict[str, LayerSpec]:
    """Layer name -> spec for every layer with weights (Dense, Conv1D/2D, DepthwiseConv1D/2D)."""
    kinds = {layer.name: layer.kind for layer in layers}
    weighted = [layer.name for layer in layers if layer.kind in WEIGHT_LAYERS]
    default, overrides, sparse = parse_options(weights, per_layer, sparsity)
    for name, spec in overrides.items():
        if name not in kinds:
            raise InputError(
                f"--layer {name}: {where} has no layer '{name}'; layers with weights: {', '.join(weighted) or 'none'}")
        if kinds[name] not in WEIGHT_LAYERS:
            raise InputError(
                f"--layer {name}: layer '{name}' is a {kinds[name]}, which has no weights to take {spec.weights}; "
                f"specs apply to {', '.join(sorted(WEIGHT_LAYERS))} layers")
    plan = {}
    for name in weighted:
        spec = overrides.get(name, default)
        plan[name] = with_sparsity(spec, spec.sparsity if spec.sparsity is not None else sparse, f"layer '{name}'")
    if not weighted and (overrides or not default.plain_int8 or sparse):
        raise InputError(f"{where}: no Dense, Conv or DepthwiseConv layer to take the weight spec")
    return plan


def _overrides(per_layer) -> dict[str, LayerSpec]:
    if per_layer is None:
        return {}
    if isinstance(per_layer, Mapping):
        return {str(k): v if isinstance(v, LayerSpec) else parse_spec(str(v), f"--layer {k}")
                for k, v in per_layer.items()}
    from tinyq.quantize.lowbit.spec import parse_layer

    out = {}
    for text in per_layer:
        name, spec = parse_layer(text)
        out[name] = spec
    return out


def int16_layers(plan: Mapping[str, LayerSpec]) -> set[str]:
    return {name for name, spec in plan.items() if spec.activations == "int16"}


def describe(plan: Mapping[str, LayerSpec]) -> str:
    """'conv1=int4 dense=ternary+sparse0.5 ...' (only layers that are not plain int8), or 'int8'."""
    parts = [f"{name}={spec}" for name, spec in plan.items() if str(spec) != "int8"]
    return " ".join(parts) if parts else "int8"
