"""A slow, pure-Python reference of docs/weight_encodings.md, written from the page (no NumPy, no tinyq code).

`reference(rows, channel_axis, name)` returns every stream of the record as plain Python lists, or None when
the encoding cannot hold the tensor. Small tensors only: it loops over every bit.
"""
from __future__ import annotations


def pack_row(codes: list[int], b: int) -> list[int]:
    """Code j = the b bits from bit (j·b) mod 8 of byte (j·b) div 8, LSB first; unused high bits 0."""
    out = [0] * ((len(codes) * b + 7) // 8)
    for j, code in enumerate(codes):
        assert 0 <= code < (1 << b)
        for t in range(b):
            if (code >> t) & 1:
                bit = j * b + t
                out[bit // 8] |= 1 << (bit % 8)
    return out


def _parse(name: str):
    """(form, n, m, block, value) from a normalized name."""
    if "+" not in name:
        return "dense", 0, 0, 0, name
    head, value = name.split("+")
    if head == "sparse":
        return "sparse", 0, 0, 0, value
    if head.startswith("sparse"):
        n, m = head[len("sparse"):].split(":")
        return "nm", int(n), int(m), 0, value
    return "block", 0, 0, int(head[len("block"):]), value


def _bits(value: str) -> int:
    if value.startswith("int"):
        return int(value[3:])
    if value.startswith("codebook:"):
        return int(value.split(":")[1])
    return {"ternary": 2, "binary": 1}[value]


def _value_codes(stored, value: str, channels: int):
    """stored: list of (value, channel). Returns (codes, table, magnitude) or None."""
    if value.startswith("int"):
        k = int(value[3:])
        if any(not -(2 ** (k - 1)) <= v <= 2 ** (k - 1) - 1 for v, _ in stored):
            return None
        return [v % (2 ** k) for v, _ in stored], None, None
    if value in ("ternary", "binary"):
        mags = [set() for _ in range(channels)]
        for v, c in stored:
            if v == 0 and value == "binary":
                return None
            if v != 0:
                mags[c].add(abs(v))
        if any(len(s) > 1 or (s and max(s) > 127) for s in mags):
            return None
        a = [max(s) if s else 1 for s in mags]
        if value == "ternary":
            codes = [0 if v == 0 else (1 if v > 0 else 3) for v, _ in stored]
        else:
            codes = [1 if v > 0 else 0 for v, _ in stored]
        return codes, None, a
    b = int(value.split(":")[1])
    size = 2 ** b
    distinct = sorted({v for v, _ in stored})
    if len(distinct) <= size:
        table = distinct + [0] * (size - len(distinct))
        return [distinct.index(v) for v, _ in stored], table, None
    per = [sorted({v for v, c2 in stored if c2 == c}) for c in range(channels)]
    if any(len(p) > size for p in per):
        return None
    table = [p + [0] * (size - len(p)) for p in per]
    return [per[c].index(v) for v, c in stored], table, None


def reference(rows: list[list[int]], axis: int, name: str) -> dict | None:
    r_count, length = len(rows), len(rows[0])
    channels = r_count if axis == 0 else length
    form, n, m, block, value = _parse(name)
    b = _bits(value)

    def ch(r, e):
        return r if axis == 0 else e

    index_rows: list[list[int]] = []
    stored_rows: list[list[tuple[int, int]]] = []  # per row: (value, channel) in storage order
    if form == "dense":
        stored_rows = [[(rows[r][e], ch(r, e)) for e in range(length)] for r in range(r_count)]
    elif form == "sparse":
        for r in range(r_count):
            index_rows.append(pack_row([1 if v else 0 for v in rows[r]], 1))
            stored_rows.append([(v, ch(r, e)) for e, v in enumerate(rows[r]) if v])
    elif form == "block":
        n_blocks = -(-length // block)
        for r in range(r_count):
            kept = [any(rows[r][k * block:(k + 1) * block]) for k in range(n_blocks)]
            index_rows.append(pack_row([1 if k else 0 for k in kept], 1))
            stored_rows.append([(rows[r][e], ch(r, e)) for e in range(length) if kept[e // block]])
    else:
        if length % m:
            return None
        pos_bits = m.bit_length() - 1
        for r in range(r_count):
            positions, stored = [], []
            for g in range(length // m):
                group = rows[r][g * m:(g + 1) * m]
                nz = [p for p in range(m) if group[p]]
                if len(nz) > n:
                    return None
                free = [p for p in range(m) if not group[p]]
                chosen = sorted(nz + free[: n - len(nz)])
                positions += chosen
                stored += [(group[p], ch(r, g * m + p)) for p in chosen]
            index_rows.append(pack_row(positions, pos_bits))
            stored_rows.append(stored)
    flat = [s for row in stored_rows for s in row]
    if value == "int8":
        codes, table, magnitude = [v % 256 for v, _ in flat], None, None
    else:
        got = _value_codes(flat, value, channels)
        if got is None:
            return None
        codes, table, magnitude = got
    stream, row_start, k = [], [0], 0
    for row in stored_rows:
        stream += pack_row(codes[k:k + len(row)], b)
        k += len(row)
        row_start.append(len(stream))
    variable = form in ("sparse", "block")
    return {
        "bits": b,
        "codes": stream,
        "row_bytes": 0 if variable else (len(stored_rows[0]) * b + 7) // 8,
        "table": table,
        "magnitude": magnitude,
        "index": [x for row in index_rows for x in row] if form != "dense" else None,
        "index_row_bytes": len(index_rows[0]) if index_rows else 0,
        "row_start": row_start if variable else None,
        "group": (n, m) if form == "nm" else ((block, block) if form == "block" else None),
    }
