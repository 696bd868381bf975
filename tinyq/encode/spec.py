"""Encoding names (docs/weight_encodings.md, "Names"): parse, validate and normalize them.

`parse_encoding` is the public check; `parse` returns the structured form the packers use.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tinyq.errors import UnsupportedError


class EncodingError(UnsupportedError):
    """An encoding cannot represent a tensor exactly, or an encoding name is malformed (one line)."""


VALID_FORMS = ("int8, int1…int7, ternary, binary, codebook:B (B = 1…7), sparse+E, sparseN:M+E "
               "(M a power of two 2…256, 1 <= N < M), blockB+E (B = 2…256), with E a dense encoding "
               "(bare sparse forms mean +int8), topK (K = 1…7, made only by nesting levels), or auto")

_DENSE = re.compile(r"int([1-8])|ternary|binary|codebook:([1-7])")
_TOP = re.compile(r"top([1-7])")
_WRAPPER = re.compile(r"sparse|sparse([1-9][0-9]*):([1-9][0-9]*)|block([1-9][0-9]*)")


@dataclass(frozen=True)
class Encoding:
    """A parsed encoding name. form: dense | sparse | nm | block; value: the dense (value) encoding."""

    name: str  # normalized
    form: str
    value: str  # int8, int<k>, ternary, binary, codebook:<b>, top<k>
    kind: str  # int, ternary, binary, codebook, top (of the value encoding)
    bits: int  # code width of the value stream
    n: int = 0  # sparseN:M
    m: int = 0
    block: int = 0  # blockB
    value_bits: int = 0  # topK: K, the width of the value (the top K bits of each 8-bit code)

    @property
    def value_shift(self) -> int:
        """topK: value = (int8)code >> (8 - K); 0 for every other encoding."""
        return 8 - self.value_bits if self.kind == "top" else 0

    @property
    def sparse(self) -> bool:
        return self.form != "dense"


def _bad(text: str, why: str = "") -> EncodingError:
    return EncodingError(f"bad weight encoding {text!r}{': ' + why if why else ''}; valid forms: {VALID_FORMS}")


def _dense(text: str, whole: str) -> tuple[str, int]:
    m = _DENSE.fullmatch(text)
    if not m:
        raise _bad(whole)
    if text.startswith("int"):
        return "int", int(m.group(1))
    if text.startswith("codebook"):
        return "codebook", int(m.group(2))
    return text, 2 if text == "ternary" else 1


def parse(text: str) -> Encoding:
    """The structured form of a name (not `auto`)."""
    if not isinstance(text, str):
        raise _bad(str(text))
    return _parse(text)


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> Encoding:
    s = text.strip().lower()
    top = _TOP.fullmatch(s)
    if top:  # another level's int8 bytes, read as their top K bits (tinyq.encode.nested); never wrapped
        return Encoding(s, "dense", s, "top", 8, value_bits=int(top.group(1)))
    head, plus, tail = s.partition("+")
    wrapper = _WRAPPER.fullmatch(head)
    if wrapper is None:
        kind, bits = _dense(s, text)
        return Encoding(s, "dense", s, kind, bits)
    value = tail if plus else "int8"
    kind, bits = _dense(value, text)
    if head == "sparse":
        return Encoding(f"sparse+{value}", "sparse", value, kind, bits)
    if wrapper.group(1):
        n, m = int(wrapper.group(1)), int(wrapper.group(2))
        if not (2 <= m <= 256 and m & (m - 1) == 0):
            raise _bad(text, f"M = {m} is not a power of two in 2…256")
        if not 1 <= n < m:
            raise _bad(text, f"N = {n} must be 1…{m - 1}")
        return Encoding(f"sparse{n}:{m}+{value}", "nm", value, kind, bits, n=n, m=m)
    b = int(wrapper.group(3))
    if not 2 <= b <= 256:
        raise _bad(text, f"block size {b} is not in 2…256")
    return Encoding(f"block{b}+{value}", "block", value, kind, bits, block=b)


def parse_encoding(text: str) -> str:
    """Validate an encoding name and return its normalized form (`auto` included)."""
    if isinstance(text, str) and text.strip().lower() == "auto":
        return "auto"
    return parse(text).name
