"""The search space: which Keras layers take which candidate specs, checked against the model.

Only layers whose class is in lowbit.layout.WEIGHT_LAYERS have one weight tensor the low-bit rewrite can change;
everything else (pooling, reshapes, activations) keeps int8 and is not a decision. Mixed int16 activations are
left out of the search: they change the activation arena and every neighbour's quantization, so they are not
additive the way weight specs are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from tinyq.errors import InputError
from tinyq.quantize.lowbit import LayerSpec, parse_spec
from tinyq.quantize.lowbit.layout import WEIGHT_LAYERS

DEFAULT_CANDIDATES = ("int8", "int4", "int2", "ternary")


@dataclass(frozen=True)
class Space:
    layer_names: tuple[str, ...]  # every Keras layer, in order (the rewrite matches ops against all of them)
    kinds: Mapping[str, str]  # layer -> Keras class
    choices: Mapping[str, tuple[LayerSpec, ...]]  # searched layer -> its candidates, int8 first

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.choices)


def parse_candidates(text: str | Iterable[str] | None, where: str = "--candidates") -> tuple[LayerSpec, ...]:
    """'int8,int4,ternary,int4+sparse0.5' -> specs; int8 is always added (it is the reference every drop is from)."""
    if text is None:
        items = list(DEFAULT_CANDIDATES)
    elif isinstance(text, str):
        items = [t for t in text.split(",") if t.strip()]
    else:
        items = list(text)
    specs = []
    for item in items:
        spec = item if isinstance(item, LayerSpec) else _one(str(item), where)
        if spec.activations != "int8":
            raise InputError(f"{where} '{item}': explore searches weight specs only (int8 activations); "
                             f"mixed int16 activations are not part of the search")
        if spec not in specs:
            specs.append(spec)
    int8 = parse_spec("int8")
    return (int8, *[s for s in specs if s != int8])


def _one(text: str, where: str) -> LayerSpec:
    return parse_spec(text, where)


def build_space(layers, candidates: Sequence[LayerSpec], only: Sequence[str] | None = None,
                per_layer: Mapping[str, Sequence[LayerSpec]] | None = None, where: str = "model") -> Space:
    """layers: FloatModel.layers; only: restrict the search to these layers; per_layer: a layer's own candidates.

    Whether a weighted layer can take a spec depends on its weights (a codebook larger than the tensor, an N:M
    group longer than its rows): sensitivity.measure finds out by rewriting, and names the layer and spec."""
    names = tuple(layer.name for layer in layers)
    kinds = {layer.name: layer.kind for layer in layers}
    weighted = [n for n in names if kinds[n] in WEIGHT_LAYERS]
    if not weighted:
        raise InputError(f"{where} has no layers with weights explore can change "
                         f"({', '.join(sorted(WEIGHT_LAYERS))})")
    per_layer = dict(per_layer or {})
    for name in [*(only or ()), *per_layer]:
        _check_layer(name, kinds, weighted, where)
    chosen = [n for n in weighted if only is None or n in only]
    choices = {}
    for n in chosen:
        specs = per_layer.get(n, candidates)
        choices[n] = tuple(dict.fromkeys([parse_spec("int8"), *specs]))
    return Space(names, kinds, choices)


def _check_layer(name: str, kinds: Mapping[str, str], weighted: Sequence[str], where: str) -> None:
    if name not in kinds:
        raise InputError(f"{where} has no layer '{name}'; layers with weights: {', '.join(weighted)}")
    if name not in weighted:
        raise InputError(f"layer '{name}' ({kinds[name]}) has no weights, so it cannot take a weight spec; "
                         f"layers with weights: {', '.join(weighted)}")


def parse_layer_candidates(items: Iterable[str]) -> dict[str, tuple[LayerSpec, ...]]:
    """['dense=int8,int4', ...] (--layer-candidates) -> {layer: specs}."""
    out = {}
    for item in items:
        name, eq, specs = item.partition("=")
        if not eq or not name.strip() or not specs.strip():
            raise InputError(f"--layer-candidates '{item}': expected NAME=SPEC[,SPEC...], e.g. logits=int8,int4")
        out[name.strip()] = parse_candidates(specs, f"--layer-candidates {name.strip()}")
    return out
