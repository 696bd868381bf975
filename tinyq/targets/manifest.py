"""Reads DIR/tinyq.json, the manifest `tinyq compile` writes next to the generated sources.

Produces a frozen Manifest (prefix, board, model hash, I/O tensor specs, memory plan) that project
generation, build, run and instruction counting read; it never writes the file.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.errors import TinyqError

MANIFEST_NAME = "tinyq.json"
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ManifestError(TinyqError):
    """tinyq.json is missing or does not describe a compiled model."""


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the harness sees it: raw bytes of `dtype`, row-major `shape`.

    Has the attributes tinyq.io reads (name, shape, dtype, scale, zero_point); scale 0.0 = not quantized.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int
    bytes: int


@dataclass(frozen=True)
class LevelSpec:
    """One precision level of a multi-level image (tinyq/levels): its model and its I/O quantization."""

    level: int
    model: str
    model_sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class Manifest:
    prefix: str
    board: str
    model_sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    arena_bytes: int
    scratch_bytes: int
    weight_bytes: int
    levels: tuple[LevelSpec, ...] = ()  # a multi-level image's levels (empty: one model)

    def level(self, k: int | None) -> "LevelSpec":
        """Level k's spec (k None: the image's only model, or level 0)."""
        if not self.levels:
            if k not in (None, 0):
                raise ManifestError(f"level {k}: this project holds one model (no levels); omit --level")
            return LevelSpec(0, "", self.model_sha256, self.inputs, self.outputs)
        if k is None:
            k = 0
        if not 0 <= k < len(self.levels):
            raise ManifestError(f"level {k} is out of range: this project has {len(self.levels)} levels "
                                f"(0 to {len(self.levels) - 1})")
        return self.levels[k]

    @property
    def sample_in_bytes(self) -> int:
        return sum(t.bytes for t in self.inputs)

    @property
    def sample_out_bytes(self) -> int:
        return sum(t.bytes for t in self.outputs)


def _tensor(raw: Mapping, where: str) -> TensorSpec:
    try:
        scale = raw.get("scale")
        if isinstance(scale, (list, tuple)):
            scale = scale[0] if len(scale) == 1 else None
        zero_point = raw.get("zero_point")
        if isinstance(zero_point, (list, tuple)):
            zero_point = zero_point[0] if len(zero_point) == 1 else None
        spec = TensorSpec(
            name=str(raw["name"]),
            shape=tuple(int(d) for d in raw["shape"]),
            dtype=np.dtype(raw["dtype"]).name,
            scale=0.0 if scale is None else float(scale),
            zero_point=0 if zero_point is None else int(zero_point),
            bytes=int(raw["bytes"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{where}: malformed tensor entry ({exc})") from None
    if spec.bytes != math.prod(spec.shape) * np.dtype(spec.dtype).itemsize:
        raise ManifestError(
            f"{where}: tensor '{spec.name}' has {spec.bytes} bytes, which its shape and dtype contradict"
        )
    return spec


def parse_manifest(raw: Mapping, where: str = MANIFEST_NAME) -> Manifest:
    """Validate the manifest dictionary `raw` (as written to tinyq.json)."""
    try:
        plan = raw.get("plan", {})
        levels = tuple(
            LevelSpec(int(lv["level"]), str(lv["model"]), str(lv.get("model_sha256", "")),
                      tuple(_tensor(t, where) for t in lv["inputs"]), tuple(_tensor(t, where) for t in lv["outputs"]))
            for lv in raw.get("levels", ()))
        manifest = Manifest(
            prefix=str(raw["prefix"]),
            board=str(raw.get("board", "")),
            model_sha256=str(raw.get("model_sha256", "")),
            inputs=tuple(_tensor(t, where) for t in raw["inputs"]),
            outputs=tuple(_tensor(t, where) for t in raw["outputs"]),
            arena_bytes=int(plan.get("arena_bytes", 0)),
            scratch_bytes=int(plan.get("scratch_bytes", 0)),
            weight_bytes=int(plan.get("weight_bytes", 0)),
            levels=levels,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"{where}: not a tinyq manifest ({type(exc).__name__}: {exc})") from None
    if not _C_IDENT.match(manifest.prefix):
        raise ManifestError(f"{where}: prefix '{manifest.prefix}' is not a C identifier")
    if not manifest.inputs or not manifest.outputs:
        raise ManifestError(f"{where}: a model needs at least one input and one output")
    for k, lv in enumerate(manifest.levels):
        same = [(t.shape, t.dtype) for t in lv.inputs + lv.outputs] == \
            [(t.shape, t.dtype) for t in manifest.inputs + manifest.outputs]
        if lv.level != k or not same:
            raise ManifestError(f"{where}: level entry {k} does not match the image's inputs and outputs")
    return manifest


def read_manifest(project_dir: Path | str) -> Manifest:
    """Read PROJECT_DIR/tinyq.json."""
    path = Path(project_dir) / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path} not found: is {project_dir} a directory made by `tinyq compile`?") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read ({exc})") from None
    return parse_manifest(raw, str(path))
