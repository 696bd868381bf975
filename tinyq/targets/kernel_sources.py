"""Which kernel library sources a generated project compiles: those defining a function that the generated
sources call, and what those call in turn, through the headers they include.

A build compiled every kernel source (45 files, about 9 s of CPU a firmware build) although a model calls a
handful: KWS needs 7. The scan is by name. A library .c file defines the non-static functions `tq_...(` that
start at the beginning of a line, the first argument of a macro used at the beginning of a line
(WIDTH_BODIES(tq_conv_s8_wk_dsp, ...)), the names its macros paste together (tq_##op##_s16_w4_dsp, taken as
the pattern tq_\\w+_s16_w4_dsp) and the `.global tq_...` of its assembly. A file uses every other `tq_...` it
names (inside #if blocks too; a call or a function passed by name; a pasted name, every match), and what the
library headers it includes use: their macros and static inline bodies (TQ_TRACE_TENSOR calls tq_trace_tensor;
the packed-weight decoders call tq_w_dot_*), not their prototypes. A name the scan misses fails the link
(undefined reference), never the arithmetic; tests/firmware/test_kernel_sources_link.py holds the scan to
the compiler's symbol tables.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

_DECLARED = re.compile(r"^(?!static\b)(?:[A-Za-z_][\w \*]*?\b)?(tq_\w+)\(", re.MULTILINE)  # at column 0
_MACRO_DEFINES = re.compile(r"^[A-Z][A-Z0-9_]*\([ \t]*(tq_\w+)[ \t]*,", re.MULTILINE)  # WIDTH_BODIES(tq_x, ...)
_ASM_GLOBAL = re.compile(r"\.global[ \t]+(tq_\w+)")  # a function written in a top-level asm statement
_PASTED = re.compile(r"\btq_\w*(?:##\w+)+")  # tq_##op##_s16_w4_dsp in a macro body
_FUNCTION_MACRO = re.compile(r"^[ \t]*#[ \t]*define[ \t]+\w+\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)", re.MULTILINE)
_MENTIONED = re.compile(r"\b(tq_\w+)\b(?!\s*##)")
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def _calls(text: str) -> set[str]:
    """The tq_ names a text uses (a call, or a function passed by name): outside comments and #include lines
    (tinyq/tq_add_s8_table_dsp.h names a header), and not its own column-0 definitions and prototypes."""
    return set(_MENTIONED.findall(_DECLARED.sub(" ", _INCLUDE.sub(" ", _COMMENT.sub(" ", text)))))


def _pasted(text: str) -> list[re.Pattern]:
    """The tq_ names macros build by token pasting, as patterns over their parameters: in
    `#define OPS(op, ptype) ... tq_##op##_s16_w4_dsp(...)`, the name tq_\\w+_s16_w4_dsp."""
    patterns = []
    for params, body in _FUNCTION_MACRO.findall(_COMMENT.sub(" ", text)):
        names = {p.strip() for p in params.split(",")}
        for token in _PASTED.findall(body):
            parts = (r"\w+" if part in names else re.escape(part) for part in token.split("##"))
            patterns.append(re.compile("".join(parts)))
    return patterns


class KernelLibrary:
    """The kernel library's .c and .h texts (path -> text), scanned once: who defines each name, what a text
    needs."""

    def __init__(self, library: Mapping[Path, str]):
        self.library = library
        self.owner: dict[str, Path] = {}
        self._built: list[tuple[re.Pattern, Path]] = []  # names pasted together in a .c file's macros
        for path, text in library.items():
            if path.suffix == ".c":
                bare = _COMMENT.sub(" ", text)
                for name in _DECLARED.findall(bare) + _MACRO_DEFINES.findall(bare) + _ASM_GLOBAL.findall(bare):
                    self.owner.setdefault(name, path)
                self._built += [(pattern, path) for pattern in _pasted(text)]
        self._headers = {path.as_posix(): path for path in library if path.suffix == ".h"}

    def owner_of(self, name: str) -> Path | None:
        """The .c file that defines function `name`, or None (a static or library-external name)."""
        return self.owner.get(name) or next((path for pattern, path in self._built if pattern.fullmatch(name)), None)

    def _header(self, name: str) -> Path | None:
        return next((p for key, p in self._headers.items() if key == name or key.endswith("/" + name)), None)

    def needed(self, callers: Iterable[str]) -> set[Path]:
        """The .c files that `callers` (texts) need, transitively; a header is found by the end of its path
        ("tinyq/tq_trace.h", "tq_weights_decode.h")."""
        want: set[Path] = set()
        seen: set[Path] = set()
        todo = list(callers)
        while todo:
            text = todo.pop()
            for name in _INCLUDE.findall(text):
                h = self._header(name)
                if h is not None and h not in seen:
                    seen.add(h)
                    todo.append(self.library[h])
            used = [self.owner_of(name) for name in _calls(text)]
            used += [path for pattern in _pasted(text) for name, path in self.owner.items() if pattern.fullmatch(name)]
            for path in used:
                if path is not None and path not in want:
                    want.add(path)
                    todo.append(self.library[path])
        return want


def library_texts(firmware: Path) -> dict[Path, str]:
    """The kernel library's .c and .h files under firmware/include and firmware/src (paths relative to
    firmware/), with their texts: what KernelLibrary and needed_sources read."""
    return {p.relative_to(firmware): p.read_text(encoding="utf-8") for part in ("include", "src")
            for p in sorted((firmware / part).rglob("*")) if p.is_file() and p.suffix in (".c", ".h")}


def needed_sources(library: Mapping[Path, str], callers: Iterable[str]) -> set[Path]:
    """The .c files of `library` (path -> text of its .c and .h files) that `callers` (texts) need."""
    return KernelLibrary(library).needed(callers)
