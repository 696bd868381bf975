"""Which kernel library sources a generated project compiles: those defining a function that the generated
sources call, and what those call in turn, through the headers they include.

A build compiled every kernel source (45 files, about 9 s of CPU a firmware build) although a model calls a
handful: KWS needs 6. The scan is by name. A library .c file defines the non-static functions `tq_...(` that
start at the beginning of a line. A file calls every other `tq_...(` in it (inside #if blocks too), and what the
library headers it includes call: their macros and static inline bodies (TQ_TRACE_TENSOR calls
tq_trace_tensor; the packed-weight decoders call tq_w_dot_*), not their prototypes. A name the scan misses fails
the link (undefined reference), never the arithmetic.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

_DECLARED = re.compile(r"^(?!static\b)(?:[A-Za-z_][\w \*]*?\b)?(tq_\w+)\(", re.MULTILINE)  # at column 0
_CALLED = re.compile(r"\b(tq_\w+)\s*\(")
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def _calls(text: str) -> set[str]:
    """The tq_ names a text calls: outside comments, and not its own column-0 definitions and prototypes."""
    return set(_CALLED.findall(_DECLARED.sub(" ", _COMMENT.sub(" ", text))))


def needed_sources(library: Mapping[Path, str], callers: Iterable[str]) -> set[Path]:
    """The .c files of `library` (path -> text of its .c and .h files) that `callers` (texts) need,
    transitively; a header is found by the end of its path ("tinyq/tq_trace.h", "tq_weights_decode.h")."""
    owner: dict[str, Path] = {}
    for path, text in library.items():
        if path.suffix == ".c":
            for name in _DECLARED.findall(_COMMENT.sub(" ", text)):
                owner.setdefault(name, path)
    headers = {path.as_posix(): path for path in library if path.suffix == ".h"}

    def header(name: str) -> Path | None:
        return next((p for key, p in headers.items() if key == name or key.endswith("/" + name)), None)

    want: set[Path] = set()
    seen: set[Path] = set()
    todo = list(callers)
    while todo:
        text = todo.pop()
        for name in _INCLUDE.findall(text):
            h = header(name)
            if h is not None and h not in seen:
                seen.add(h)
                todo.append(library[h])
        for name in _calls(text):
            path = owner.get(name)
            if path is not None and path not in want:
                want.add(path)
                todo.append(library[path])
    return want
