#!/usr/bin/env python3
"""Rewrite a model's int8 weights so they take few levels: test models for tinyq's weight encodings.

    python scripts/rewrite_weights.py IN.tflite OUT.tflite --form FORM [--seed S]
    python scripts/rewrite_weights.py IN.tflite --all OUTDIR [--seed S]

Every constant int8 weight tensor of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED is rewritten:

* int1…int7: q = clip(round(w / step_c)) with step_c = max|w_c| / (2^(k-1) - 1) per output channel (per tensor
  for per-tensor weights; int1: step_c = max|w_c| and q in {-1, 0}); the weight scale is multiplied by step_c
  and the bias requantized to scale float32(input scale × new weight scale), so outputs stay informative.
* ternary / binary: int8 values {-a_c, 0, +a_c} / {-a_c, +a_c} per output channel, scales kept (ternary: the
  weights above 0.7·mean|w_c| keep their sign, a_c = their mean magnitude; binary: a_c = mean|w_c|).
* codebook16: 16 levels per tensor (k-means on the int8 values: quantile start, Lloyd iterations), scales kept.
* sparse75: in every row (docs/weight_encodings.md, Rows) the 75 % smallest magnitudes become 0.
* sparse2:4: in every group of 4 consecutive elements of a row, the 2 smallest magnitudes become 0 (a short
  last group keeps at most 2).

`--seed` breaks ties between equal magnitudes. Each rewritten tensor (and requantized bias) gets a buffer of
its own when other tensors share its buffer, so those are left as they were. The output is a valid TFLite file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import flatbuffers
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema  # noqa: E402

from tinyq.encode import rows_view  # noqa: E402
from tinyq.errors import QuantizationError  # noqa: E402
from tinyq.quantize.lowbit.rewrite import (  # noqa: E402
    requantize_bias, set_tensor_data as _set_data, tensor_data as _data, tensor_name as _name,
)

FORMS = tuple(f"int{k}" for k in range(1, 8)) + ("ternary", "binary", "codebook16", "sparse75", "sparse2:4")
_OPS = {schema.BuiltinOperator.CONV_2D: ("CONV_2D", 0), schema.BuiltinOperator.DEPTHWISE_CONV_2D:
        ("DEPTHWISE_CONV_2D", 3), schema.BuiltinOperator.FULLY_CONNECTED: ("FULLY_CONNECTED", 0)}


class RewriteError(Exception):
    pass


# ---- the forms: int8 array (and its output-channel axis) -> int8 array, and the factor of each scale ----

def _per_channel(w: np.ndarray, axis: int) -> np.ndarray:
    """[C, n]: the weights of each output channel."""
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def _from_channels(c: np.ndarray, shape, axis: int) -> np.ndarray:
    moved = list(shape)
    moved.insert(0, moved.pop(axis))
    return np.moveaxis(c.reshape(moved), 0, axis)


def int_k(w: np.ndarray, axis: int, k: int, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    c = _per_channel(w, axis).astype(np.float64)
    peak = np.abs(c).max(axis=1) if per_channel else np.full(c.shape[0], np.abs(c).max())
    qmax = max(1, (1 << (k - 1)) - 1)
    step = np.where(peak > 0, peak / qmax, 1.0)
    lo, hi = (-1, 0) if k == 1 else (-qmax, qmax)
    q = np.clip(np.round(c / step[:, None]), lo, hi).astype(np.int8)
    return _from_channels(q, w.shape, axis), step if per_channel else step[:1]


def ternary(w: np.ndarray, axis: int) -> np.ndarray:
    c = np.abs(_per_channel(w, axis).astype(np.float64))
    kept = c > 0.7 * c.mean(axis=1, keepdims=True)
    total = (c * kept).sum(axis=1)
    a = np.clip(np.round(total / np.maximum(kept.sum(axis=1), 1)), 1, 127)
    q = (np.sign(_per_channel(w, axis)) * kept * a[:, None]).astype(np.int8)
    return _from_channels(q, w.shape, axis)


def binary(w: np.ndarray, axis: int) -> np.ndarray:
    c = _per_channel(w, axis)
    a = np.clip(np.round(np.abs(c.astype(np.float64)).mean(axis=1)), 1, 127)
    q = np.where(c >= 0, 1, -1) * a[:, None]
    return _from_channels(q.astype(np.int8), w.shape, axis)


def codebook(w: np.ndarray, levels: int = 16, iterations: int = 10) -> np.ndarray:
    """k-means on the int8 values (a weighted histogram of the 256 possible values)."""
    values = np.arange(-128, 128, dtype=np.float64)
    counts = np.bincount(w.reshape(-1).astype(np.int64) + 128, minlength=256).astype(np.float64)
    if np.count_nonzero(counts) <= levels:
        return w.copy()
    cdf = np.cumsum(counts) / counts.sum()
    centers = values[np.searchsorted(cdf, (np.arange(levels) + 0.5) / levels)]
    for _ in range(iterations):
        centers = np.unique(centers)
        nearest = _nearest(values, centers)
        mass = np.bincount(nearest, weights=counts, minlength=centers.size)
        moment = np.bincount(nearest, weights=counts * values, minlength=centers.size)
        centers = np.where(mass > 0, moment / np.maximum(mass, 1e-300), centers)
    centers = np.unique(np.clip(np.round(centers), -128, 127))
    table = centers[_nearest(values, centers)].astype(np.int8)
    return table[w.astype(np.int64) + 128]


def _nearest(x: np.ndarray, sorted_centers: np.ndarray) -> np.ndarray:
    """Index of the nearest center (ties to the lower one)."""
    if sorted_centers.size == 1:
        return np.zeros(x.size, np.int64)
    mids = (sorted_centers[1:] + sorted_centers[:-1]) / 2
    return np.searchsorted(mids, x, side="left")


def _order_key(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes with seeded tie-breaking (|w| are integers: a fraction < 1 keeps their order)."""
    return np.abs(rows.astype(np.float64)) + 0.5 * rng.random(rows.shape)


def sparse_fraction(rows: np.ndarray, rng: np.random.Generator, fraction: float = 0.75) -> np.ndarray:
    r, length = rows.shape
    n_zero = int(np.floor(fraction * length + 0.5))
    order = np.argsort(_order_key(rows, rng), axis=1)
    out = rows.copy()
    np.put_along_axis(out, order[:, :n_zero], 0, axis=1)
    return out


def sparse_n_m(rows: np.ndarray, rng: np.random.Generator, n: int = 2, m: int = 4) -> np.ndarray:
    r, length = rows.shape
    groups = -(-length // m)
    key = np.full((r, groups * m), -np.inf)  # padding sorts first, so a short group keeps its n largest
    key[:, :length] = _order_key(rows, rng)
    order = np.argsort(key.reshape(r, groups, m), axis=2)[:, :, : m - n]
    mask = np.ones((r, groups, m), bool)
    np.put_along_axis(mask, order, False, axis=2)
    return np.where(mask.reshape(r, groups * m)[:, :length], rows, 0).astype(np.int8)


# ---- the model ----

def _opcode(model, op) -> int:
    oc = model.operatorCodes[op.opcodeIndex]
    return max(oc.builtinCode, oc.deprecatedBuiltinCode)


def _rewrite_values(w: np.ndarray, op_name: str, axis: int, form: str, per_channel: bool,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """The new int8 weights, and the factor of each weight scale (None: scales kept)."""
    if form.startswith("int"):
        return int_k(w, axis, int(form[3:]), per_channel)
    if form == "ternary":
        return ternary(w, axis), None
    if form == "binary":
        return binary(w, axis), None
    if form == "codebook16":
        return codebook(w), None
    rows, _ = rows_view(w, op_name)
    new = sparse_fraction(rows, rng) if form == "sparse75" else sparse_n_m(rows, rng)
    return new.reshape(w.shape), None


def _requantize_bias(model, sg, op, new_w_scale, old_w_scale, done: dict) -> None:
    try:
        requantize_bias(model, sg, op, new_w_scale, old_w_scale, done, "model")
    except QuantizationError as exc:
        raise RewriteError(str(exc).removeprefix("model: ")) from None


def rewrite_model(data: bytes, form: str, seed: int = 0) -> tuple[bytes, list[str]]:
    """The rewritten .tflite and one report line per rewritten tensor."""
    if form not in FORMS:
        raise RewriteError(f"unknown form {form!r} (forms: {', '.join(FORMS)})")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise RewriteError("not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:
        raise RewriteError(f"corrupt TFLite flatbuffer ({type(exc).__name__})") from None
    rng = np.random.default_rng(seed)
    lines: list[str] = []
    for sg in model.subgraphs or []:
        weights_done: dict[int, tuple] = {}  # tensor index -> (new scale, old scale)
        bias_done: dict[int, np.ndarray] = {}
        for op in sg.operators or []:
            kind = _OPS.get(_opcode(model, op))
            if kind is None or op.inputs is None or len(op.inputs) < 2 or op.inputs[1] < 0:
                continue
            op_name, axis = kind
            ti = int(op.inputs[1])
            t = sg.tensors[ti]
            if ti not in weights_done:
                w = _data(model, t, np.int8) if t.type == schema.TensorType.INT8 else None
                q = t.quantization
                if w is None or q is None or q.scale is None or len(q.scale) == 0:
                    continue  # not constant int8 weights
                old = np.asarray(q.scale, np.float64)
                new_w, factor = _rewrite_values(w, op_name, axis, form, len(old) > 1, rng)
                new_scale = old if factor is None else (old * factor).astype(np.float32).astype(np.float64)
                _set_data(model, t, new_w)
                if factor is not None:
                    q.scale = [float(s) for s in new_scale]
                weights_done[ti] = (new_scale, old)
                per_ch = _per_channel(new_w, axis)
                ch_levels = max(len(np.unique(c)) for c in per_ch)
                lines.append(f"{_name(t)}: {form}, {len(np.unique(new_w))} levels ({ch_levels} per channel at most), "
                             f"{np.mean(new_w == 0):.1%} zeros")
            new_scale, old = weights_done[ti]
            if not np.array_equal(new_scale, old):
                _requantize_bias(model, sg, op, new_scale, old, bias_done)
    if not lines:
        raise RewriteError("no constant int8 CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED weights to rewrite")
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), lines


def form_file_name(stem: str, form: str) -> str:
    return f"{stem}_{form.replace(':', 'of')}.tflite"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"rewrite_weights: error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="rewrite_weights", description=__doc__.split("\n\n")[0])
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path, nargs="?")
    p.add_argument("--form", choices=FORMS)
    p.add_argument("--all", type=Path, metavar="OUTDIR", help="write every form into OUTDIR")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if (a.all is None) == (a.form is None) or (a.all is None) != (a.output is not None):
        p.error("give OUT.tflite with --form FORM, or --all OUTDIR (without OUT)")
    try:
        if not a.input.is_file():
            raise RewriteError(f"{a.input}: no such file")
        data = a.input.read_bytes()
        jobs = [(a.form, a.output)] if a.form else [(f, a.all / form_file_name(a.input.stem, f)) for f in FORMS]
        if a.all is not None:
            if a.all.exists() and not a.all.is_dir():
                raise RewriteError(f"{a.all}: not a directory")
            a.all.mkdir(parents=True, exist_ok=True)
        for form, out in jobs:
            try:
                result, lines = rewrite_model(data, form, a.seed)
            except RewriteError as exc:
                raise RewriteError(f"{a.input}: {exc}") from None
            out.write_bytes(result)
            for line in lines:
                print(line)
            print(f"wrote {out} ({form})")
    except (RewriteError, OSError) as exc:
        msg = exc.strerror + f": {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"rewrite_weights: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
