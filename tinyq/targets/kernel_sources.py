"""Which kernel library sources a generated project compiles: those defining a function that the generated
sources call, and what those call in turn.

A build compiled every kernel source (45 files, about 9 s of CPU a firmware build) although a model calls a
handful: KWS needs 6. The scan is by name: a non-static function `tq_...(` defined from the start of a line of
a library .c file, and any `tq_...(` in a calling source (inside #if blocks too) or in a header's #define (the
trace build's TQ_TRACE_TENSOR calls tq_trace_tensor). A name it misses fails the link (undefined reference), never
the arithmetic.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

_DEFINED = re.compile(r"^(?!static\b)(?:[A-Za-z_][\w \*]*?\b)?(tq_\w+)\(", re.MULTILINE)  # at column 0
_CALLED = re.compile(r"\b(tq_\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define\b.*(?:\\\n.*)*", re.MULTILINE)


def defines(text: str) -> list[str]:
    """The #define directives of a header (with their continuation lines): what a macro may call."""
    return _DEFINE.findall(_COMMENT.sub(" ", text))


def needed_sources(library: Mapping[Path, str], callers: Iterable[str]) -> set[Path]:
    """The .c files of `library` (path -> text) that `callers` (texts) need, transitively."""
    owner: dict[str, Path] = {}
    for path, text in library.items():
        if path.suffix == ".c":
            for m in _DEFINED.finditer(text):
                owner.setdefault(m.group(1), path)
    want: set[Path] = set()
    todo = list(callers)
    while todo:
        for name in _CALLED.findall(_COMMENT.sub(" ", todo.pop())):  # a name in a comment calls nothing
            path = owner.get(name)
            if path is not None and path not in want:
                want.add(path)
                todo.append(library[path])
    return want
