"""Give the weights of each CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED call an encoding.

The pass runs on a lowered Program. `--weights` sets the default (`auto`: the smallest exact encoding
fast enough, tinyq.encode.select; `smallest`: the smallest exact one whatever its speed; `int8`: none;
or one encoding name for every layer, refused where it cannot represent the tensor exactly), `--layer NAME=ENCODING` one layer, NAME being the output tensor's name or the call
index. An encoded call keeps every parameter of the int8 call, drops the int8 array and points to a
`PackedWeights` descriptor; its kernel is `tq_<op>_<act>_<w>` (tinyq/sim/kernels/packed.py decodes it back).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from tinyq.encode.codec import encode
from tinyq.encode.formats import EncodedWeights, rows_view
from tinyq.encode.select import call_isa, choose
from tinyq.encode.spec import EncodingError, parse, parse_encoding
from tinyq.errors import UnsupportedError
from tinyq.program import ParamStruct, Program

# kernel -> (TFLite op, the record field that holds the int8 weights)
ENCODABLE = {
    "tq_fully_connected_s8": ("FULLY_CONNECTED", "weights"), "tq_fully_connected_s16": ("FULLY_CONNECTED", "weights"),
    "tq_conv_s8": ("CONV_2D", "filter"), "tq_conv_s16": ("CONV_2D", "filter"),
    "tq_depthwise_conv_s8": ("DEPTHWISE_CONV_2D", "filter"), "tq_depthwise_conv_s16": ("DEPTHWISE_CONV_2D", "filter"),
}
# firmware/include/tinyq/tq_weights.h
VALUE_ENCODINGS = {"int": 1, "ternary": 2, "binary": 3, "codebook": 4, "top": 5}
SPARSE_FORMS = {"dense": 0, "sparse": 1, "nm": 2, "block": 3}


@dataclass(frozen=True, eq=False)
class PackedWeights(ParamStruct):
    """tq_packed_weights: the descriptor an encoded kernel reads instead of the int8 array."""

    params_type = "tq_packed_weights"
    value_encoding: int
    bits: int
    sparse_form: int
    rows: int
    length: int
    channel_axis: int
    row_bytes: int
    codes: np.ndarray
    table: np.ndarray | None
    table_per_channel: bool
    magnitude: np.ndarray | None
    index: np.ndarray | None
    index_row_bytes: int
    row_start: np.ndarray | None
    group_n: int
    group_m: int
    value_shift: int = 0  # topK: 8 - K (value = (int8)code >> value_shift); the C struct's last member
    _encoded: EncodedWeights = field(kw_only=True)  # Python only: the simulator decodes it

    @property
    def encoded(self) -> EncodedWeights:
        return self._encoded

    @classmethod
    def of(cls, w: EncodedWeights) -> "PackedWeights":
        enc = parse(w.encoding)
        n, m = w.group or (0, 0)
        return cls(
            value_encoding=0 if enc.value == "int8" else VALUE_ENCODINGS[enc.kind], bits=w.bits,
            sparse_form=SPARSE_FORMS[enc.form], rows=w.rows, length=w.length, channel_axis=w.channel_axis,
            row_bytes=w.row_bytes, codes=w.codes, table=w.table,
            table_per_channel=w.table is not None and w.table.ndim == 2, magnitude=w.magnitude, index=w.index,
            index_row_bytes=w.index_row_bytes, row_start=w.row_start, group_n=n, group_m=m,
            value_shift=enc.value_shift, _encoded=w,
        )


def weight_suffix(encoding: str) -> str:
    """The <w> of tq_<op>_<act>_<w>: w4, w2, wk (other k), wt, wb, wc, ws (every sparse form), wn (topK)."""
    enc = parse(encoding)
    if enc.kind == "top":
        return "wn"
    if enc.sparse:
        return "ws"
    if enc.kind == "int":
        return {4: "w4", 2: "w2"}.get(enc.bits, "wk")
    return {"ternary": "wt", "binary": "wb", "codebook": "wc"}[enc.kind]


def encodable_calls(program: Program) -> list[tuple[int, str]]:
    """(call index, layer name) of every call whose weights can be (or are) encoded."""
    return [(k, program.tensor(c.outputs[0]).name) for k, c in enumerate(program.calls)
            if c.kernel in ENCODABLE or getattr(c, "packed", None) is not None]


def resolve_layers(program: Program, layers: Mapping[str, str]) -> dict[int, str]:
    """--layer NAME=ENCODING entries -> call index -> encoding; unknown names are refused, listing valid ones."""
    names = {c: n for c, n in encodable_calls(program)}
    by_name = {n: c for c, n in names.items()}
    out = {}
    for key, spec in layers.items():
        if key in by_name:
            k = by_name[key]
        elif key.isdigit() and int(key) in names:
            k = int(key)
        else:
            valid = ", ".join(f"{c} ({n})" for c, n in list(names.items())[:12]) or "none"
            more = "" if len(names) <= 12 else f", ... ({len(names)} in all)"
            raise UnsupportedError(f"--layer {key}: no layer with weights has that output name or call index "
                                   f"(layers with weights: {valid}{more})")
        if spec == "auto":
            raise UnsupportedError(f"--layer {key}=auto: give an encoding (auto is --weights' default)")
        out[k] = parse_encoding(spec)
    return out


def apply_encodings(program: Program, weights: str = "auto", layers: Mapping[str, str] | None = None,
                    int4_layers: frozenset[int] = frozenset(), isa: str = "portable",
                    keep_int8: frozenset[int] = frozenset()) -> Program:
    """The program with each encodable call's weights encoded as asked (see the module docstring); `auto`
    weighs kernel speed for a CPU of kind `isa` ("dsp": the Arm DSP extension, else "portable").
    int4_layers: TFLite operator indices whose weights the file stores as INT4; `auto` keeps those at most
    as large as int4 (the user chose 4 bits for flash: widening them to int8 would double it).
    keep_int8: TFLite operator indices whose weights stay plain int8 whatever is asked (nested levels: one
    level's int8 array is the storage another level decodes, tinyq/levels)."""
    default = weights if weights in ("auto", "smallest") else parse_encoding(weights)
    forced = resolve_layers(program, layers or {})
    calls = list(program.calls)
    for k, name in encodable_calls(program):
        call = calls[k]
        if call.kernel not in ENCODABLE or call.layer in keep_int8:  # already encoded, or kept for nesting
            continue
        op, field = ENCODABLE[call.kernel]
        spec = forced.get(k, default)
        rows, axis = rows_view(_as_tflite_shape(getattr(call, field), op), op)
        try:
            if spec in ("auto", "smallest"):
                pixels = getattr(call, "output_height", 0) * getattr(call, "output_width", 0) * getattr(call, "batches", 1)
                packed = choose(rows, axis, None if spec == "auto" else float("inf"), op, call_isa(call, isa),
                                pixels or None)
                if spec == "auto" and call.layer in int4_layers:
                    as_file = encode(rows, axis, "int4")
                    packed = packed if packed.nbytes <= as_file.nbytes else as_file
            else:
                packed = encode(rows, axis, spec)
        except EncodingError as exc:  # never rounded: the user asked for what this tensor cannot be
            raise UnsupportedError(f"layer {k} ({op}, output '{name}'): {exc}") from None
        if packed.encoding == "int8":
            continue
        calls[k] = replace(call, kernel=f"{call.kernel}_{weight_suffix(packed.encoding)}",
                           **{field: None}, packed=PackedWeights.of(packed))
    return replace(program, calls=tuple(calls))


def _as_tflite_shape(arr: np.ndarray, op: str) -> np.ndarray:
    """Records keep depthwise filters as [KH, KW, C*M]; the rows view wants TFLite's [1, KH, KW, C*M]."""
    return arr[None] if op == "DEPTHWISE_CONV_2D" else arr


@dataclass(frozen=True)
class LayerWeights:
    """How one call's weights are stored, for reports (compile, inspect, tinyq.json)."""

    call: int
    name: str
    op: str
    encoding: str
    nbytes: int  # stored bytes of the weight tensor (tables, magnitudes and indices included)
    int8_bytes: int  # the same tensor as plain int8
    levels: int  # distinct values
    sparsity: float  # fraction of zeros


def weight_report(program: Program) -> list[LayerWeights]:
    from tinyq.encode.analyze import analyze

    out = []
    for k, name in encodable_calls(program):
        call = program.calls[k]
        packed = getattr(call, "packed", None)
        if packed is not None:
            w = packed.encoded
            rows, axis, encoding, nbytes = w.decode(), w.channel_axis, w.encoding, w.nbytes
            op = ENCODABLE[call.kernel.rsplit("_", 1)[0]][0]
        else:
            op, field = ENCODABLE[call.kernel]
            # a record that stores its weights widened (--weights-layout int16) keeps their int8 form for reports
            w = getattr(call, f"int8_{field}", None)
            rows, axis = rows_view(_as_tflite_shape(getattr(call, field) if w is None else w, op), op)
            encoding, nbytes = "int8", int(rows.nbytes)
        stats = analyze(rows, axis)
        out.append(LayerWeights(k, name, op, encoding, nbytes, int(rows.size), stats.levels, stats.sparsity))
    return out
