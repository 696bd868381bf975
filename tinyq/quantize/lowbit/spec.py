"""Quantization specs (`--weights SPEC`, `--layer NAME=SPEC`, `--sparsity S`): parse, validate, name.

    SPEC      = WEIGHTS ["/" ACTIVATIONS] ["+sparse" SPARSITY]
    WEIGHTS   = int8 | int7 … int2 | ternary | binary | codebook:K (K = 2…256) | po2
    ACTIVATIONS = int8 | int16
    SPARSITY  = a fraction 0 <= S < 1 of zeros (magnitude pruning), or N:M (at most N nonzeros in every M)

Every weight spec is a set of integer levels per output channel, symmetric around 0, times one float scale per
channel: int<k> takes -(2^(k-1)-1) … 2^(k-1)-1, ternary {-1, 0, 1}, binary {-1, 1}, po2 {0, ±1, ±2, … ±64};
codebook:K takes K int8 values shared by the tensor (found by k-means). The levels are stored in int8 containers,
so the result is a standard int8 TFLite model that TFLM runs; tinyq's encoder then packs them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tinyq.errors import InputError

WEIGHT_SPECS = "int8, int7 … int2, ternary, binary, codebook:K (K = 2…256) or po2"
ACTIVATION_TYPES = ("int8", "int16")


@dataclass(frozen=True)
class WeightSpec:
    kind: str  # int | ternary | binary | codebook | po2
    bits: int = 8  # int<k>: k
    levels: int = 0  # codebook:K: K

    def __str__(self) -> str:
        if self.kind == "int":
            return f"int{self.bits}"
        if self.kind == "codebook":
            return f"codebook:{self.levels}"
        return self.kind

    @property
    def int8(self) -> bool:
        return self.kind == "int" and self.bits == 8

    @property
    def has_zero(self) -> bool:
        return self.kind != "binary"

    @property
    def qmax(self) -> int:
        """The largest level magnitude (int8 container units)."""
        return {"ternary": 1, "binary": 1, "po2": 64, "codebook": 127}.get(self.kind, (1 << (self.bits - 1)) - 1)

    @property
    def bits_per_weight(self) -> float:
        """Storage bits per weight of the densest dense encoding of these levels (for cost estimates)."""
        if self.kind == "int":
            return float(self.bits)
        if self.kind == "codebook":
            return float(max(1, (self.levels - 1).bit_length()))
        return {"ternary": 2.0, "binary": 1.0, "po2": 4.0}[self.kind]


@dataclass(frozen=True)
class Sparsity:
    fraction: float = 0.0  # magnitude pruning: this fraction of each row becomes 0
    n: int = 0  # N:M structured: at most n nonzeros in every group of m (0: not structured)
    m: int = 0

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.m else f"{self.fraction:g}"

    @property
    def structured(self) -> bool:
        return self.m > 0

    @property
    def zeros(self) -> float:
        """The fraction of zeros it makes (at least)."""
        return 1 - self.n / self.m if self.m else self.fraction


@dataclass(frozen=True)
class LayerSpec:
    weights: WeightSpec
    activations: str = "int8"
    sparsity: Sparsity | None = None

    def __str__(self) -> str:
        text = str(self.weights) + ("" if self.activations == "int8" else f"/{self.activations}")
        return text + (f"+sparse{self.sparsity}" if self.sparsity and self.sparsity.zeros > 0 else "")

    @property
    def plain_int8(self) -> bool:
        """Nothing for the low-bit rewrite to do."""
        return self.weights.int8 and not (self.sparsity and self.sparsity.zeros > 0)


INT8 = LayerSpec(WeightSpec("int", 8))
_WEIGHTS = re.compile(r"int([2-8])|ternary|binary|po2|codebook:([0-9]+)")


def parse_weights(text: str, where: str = "--weights") -> WeightSpec:
    t = text.strip().lower()
    m = _WEIGHTS.fullmatch(t)
    if not m:
        raise InputError(f"{where}: bad weight spec '{text}'; expected {WEIGHT_SPECS}")
    if t.startswith("int"):
        return WeightSpec("int", int(m.group(1)))
    if t.startswith("codebook"):
        k = int(m.group(2))
        if not 2 <= k <= 256:
            raise InputError(f"{where}: codebook:{k} needs 2 to 256 levels")
        return WeightSpec("codebook", levels=k)
    return WeightSpec(t)


def parse_spec(text: str, where: str = "--weights") -> LayerSpec:
    """'int4', 'ternary/int16', 'codebook:16', 'int4+sparse0.5', 'int8+sparse2:4' ... -> LayerSpec (str() inverts it)."""
    body, plus, sparsity = text.strip().partition("+sparse")
    weights, _, acts = body.partition("/")
    if "/" in body and acts.strip().lower() not in ACTIVATION_TYPES:
        raise InputError(f"{where}: bad activation type '{acts}' in '{text}'; expected {' or '.join(ACTIVATION_TYPES)}")
    spec = LayerSpec(parse_weights(weights, where), acts.strip().lower() or "int8")
    if not plus:
        return spec
    # an explicit +sparse0 is kept: it exempts the layer from a model-wide --sparsity
    return with_sparsity(spec, parse_sparsity(sparsity) or Sparsity(), f"{where} '{text.strip()}'")


def parse_layer(text: str) -> tuple[str, LayerSpec]:
    """'NAME=SPEC' (a --layer argument) -> (NAME, spec)."""
    name, eq, spec = text.partition("=")
    if not eq or not name.strip() or not spec.strip():
        raise InputError(f"--layer '{text}': expected NAME=SPEC, e.g. dense_1=int4/int16")
    return name.strip(), parse_spec(spec, f"--layer {name.strip()}")


def parse_sparsity(text) -> Sparsity | None:
    """'0.75' or '75%' -> fraction; '2:4' -> structured; None/'' -> None."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, Sparsity):
        return text
    if isinstance(text, (int, float)):
        text = repr(float(text))
    t = text.strip()
    m = re.fullmatch(r"([0-9]+):([0-9]+)", t)
    if m:
        n, mm = int(m.group(1)), int(m.group(2))
        if not (1 <= n < mm <= 256):
            raise InputError(f"--sparsity {t}: N:M needs 1 <= N < M <= 256")
        return Sparsity(n=n, m=mm)
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise InputError(f"--sparsity '{t}': expected a fraction such as 0.75, a percentage such as 75%, or N:M") from None
    if not 0.0 <= value < 1.0:
        raise InputError(f"--sparsity {t}: the fraction of zeros must be at least 0 and below 1")
    return Sparsity(fraction=value) if value > 0 else None


def with_sparsity(spec: LayerSpec, sparsity: Sparsity | None, where: str) -> LayerSpec:
    if sparsity is None:
        return spec
    if not spec.weights.has_zero and sparsity.zeros > 0:
        raise InputError(f"{where}: {spec.weights} weights have no zero level, so they cannot be sparse (use ternary)")
    return LayerSpec(spec.weights, spec.activations, sparsity)
