"""The `tinyq_nested` metadata entry of a nested child model (tinyq quantize --nested-from): format and validation.

The entry (Model.metadata, name "tinyq_nested") points to a buffer holding UTF-8 JSON:
    {"version": 1, "parent_sha256": "<64 hex digits>", "ops": [{"op": <operator index>, "bits": K}, ...]}
saying that each listed weight op's int8 weights are the top K bits of the parent's (child = parent >> (8 - K)).
The writer (tinyq/quantize/nested.py) encodes it here and the reader decodes it here, so both follow one format.
The compiler trusts only what decode() returns; the file is untrusted input.
"""
from __future__ import annotations

import json
import re
from typing import Sequence

from tinyq.errors import ModelFormatError
from tinyq.ir import NestedInfo, Op, Tensor

NAME = "tinyq_nested"
VERSION = 1
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_KEYS = {"version", "parent_sha256", "ops"}
_OP_KEYS = {"op", "bits"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def encode(parent_sha256: str, ops: Sequence[tuple[int, int]]) -> bytes:
    entry = {"version": VERSION, "parent_sha256": parent_sha256,
             "ops": [{"op": int(i), "bits": int(k)} for i, k in ops]}
    return json.dumps(entry, separators=(",", ":")).encode("utf-8")


def nestable(op: Op, tensors: Sequence[Tensor]) -> bool:
    """A CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op with constant int8 weights: what a nested op must be."""
    if op.opcode not in WEIGHT_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
        return False
    w = tensors[op.inputs[1]]
    return w.dtype == "int8" and w.is_constant


def decode(raw: bytes, ops: Sequence[Op], tensors: Sequence[Tensor], where: str) -> NestedInfo:
    """The entry's buffer bytes -> NestedInfo, or ModelFormatError naming the entry and what is wrong."""
    label = f"{where}: metadata '{NAME}'"

    def fail(what: str) -> ModelFormatError:
        return ModelFormatError(f"{label} {what}")

    try:
        entry = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise fail("is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        raise fail(f"is not valid JSON ({' '.join(str(exc).split())[:80]})") from None
    if not isinstance(entry, dict):
        raise fail(f"is a JSON {type(entry).__name__}, not an object")
    _check_keys(entry, _KEYS, fail, "")
    if not _is_int(entry["version"]) or entry["version"] != VERSION:
        raise fail(f"has version {entry['version']!r}; tinyq reads version {VERSION}")
    sha = entry["parent_sha256"]
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise fail(f"has parent_sha256 {_short(sha)}, not 64 lower-case hex digits")
    listed = entry["ops"]
    if not isinstance(listed, list) or not listed:
        raise fail("has no list of ops" if not isinstance(listed, list) else "lists no ops")
    out: list[tuple[int, int]] = []
    for k, item in enumerate(listed):
        if not isinstance(item, dict):
            raise fail(f"ops[{k}] is not an object")
        _check_keys(item, _OP_KEYS, fail, f"ops[{k}] ")
        index, bits = item["op"], item["bits"]
        if not _is_int(index) or not 0 <= index < len(ops):
            raise fail(f"ops[{k}] names operator {_short(index)}, but the model has {len(ops)} operators")
        if not nestable(ops[index], tensors):
            raise fail(f"ops[{k}] names operator #{index} ({ops[index].opcode}), which is not a "
                       f"{'/'.join(WEIGHT_OPS)} op with constant int8 weights")
        if not _is_int(bits) or not 1 <= bits <= 7:
            raise fail(f"ops[{k}] gives operator #{index} {_short(bits)} bits; a nested op has 1 to 7")
        if any(index == i for i, _ in out):
            raise fail(f"lists operator #{index} twice")
        out.append((index, bits))
    return NestedInfo(sha, tuple(out))


def _check_keys(obj: dict, keys: set[str], fail, what: str) -> None:
    missing, extra = sorted(keys - obj.keys()), sorted(obj.keys() - keys)
    if missing:
        raise fail(f"{what}has no key {', '.join(repr(k) for k in missing)}")
    if extra:
        raise fail(f"{what}has unknown key {', '.join(_short(k) for k in extra)}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # JSON true is not 1 here


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
