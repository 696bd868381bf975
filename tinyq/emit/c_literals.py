"""Python values -> C text: literals, identifiers, sanitized model text and pre-chunked array initializers
(deterministic). Nothing here trusts the model: names become inert text, numbers are range-checked by the
emitter before they are rendered."""
from __future__ import annotations

import re

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
TEXT_LIMIT = 80  # characters of model text (a name, a file name) in a generated file

C_TYPES = {
    "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
    "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t", "float32": "float", "bool": "uint8_t",
}
C_RESERVED = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "main",
}


def c_type(dtype) -> str:
    return C_TYPES[np.dtype(dtype).name]


def is_c_identifier(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)) and name not in C_RESERVED


def c_text(text, limit: int = TEXT_LIMIT) -> str:
    """Model text (tensor names, file names, options) made inert anywhere in a C file: inside a /* */
    comment, a // comment or a "..." string literal. Printable ASCII only (anything else, newlines
    included, becomes '_'), no backslash (no escape, no line continuation), no '"', no comment opener or
    closer, no '??' (trigraphs: -std=c99 honours them), at most `limit` characters ("..." marks a cut)."""
    out = "".join(c if " " <= c <= "~" else "_" for c in str(text))
    out = out.replace("\\", "/").replace('"', "'")
    if len(out) > limit:
        out = out[: limit - 3] + "..."
    while "/*" in out or "*/" in out or "??" in out:  # each pass separates one pair; none is re-created
        out = out.replace("/*", "/ *").replace("*/", "* /").replace("??", "? ?")
    return out.strip()


def c_int(v: int, ctype: str = "int32_t") -> str:
    v = int(v)
    if ctype == "int64_t":
        return f"INT64_C({v})" if v != -(2**63) else "INT64_MIN"
    if v == -(2**31):
        return "INT32_MIN"
    return str(v)


def c_float(v: float) -> str:
    """An exact float32 literal (C99 hex float), so the C constant equals the simulator's bit for bit."""
    f = float(np.float32(v))
    if np.isinf(f):
        return "INFINITY" if f > 0 else "-INFINITY"
    return f"{f.hex()}f" if f != 0 else ("-0.0f" if np.signbit(f) else "0.0f")


def array_lines(arr: np.ndarray, per_line: int = 16) -> list[str]:
    """Initializer lines for a constant array, `per_line` values each, right-aligned."""
    flat = np.asarray(arr).reshape(-1)
    if flat.dtype == np.float32:
        items = [c_float(x) for x in flat.tolist()]
    elif flat.dtype == np.int64:
        items = [c_int(x, "int64_t") for x in flat.tolist()]
    elif flat.dtype == np.bool_:
        items = [str(int(x)) for x in flat.tolist()]
    else:
        items = [c_int(x) for x in flat.tolist()]
    if not items:
        return []
    width = max(len(s) for s in items)
    return [
        ", ".join(s.rjust(width) for s in items[i : i + per_line]) + ","
        for i in range(0, len(items), per_line)
    ]
