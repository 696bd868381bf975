"""Seeded input arrays for a mutant, written the way a user gives them to `tinyq simulate`.

Shapes and dtypes come from the mutant's declared graph inputs (read with the official schema).
Values are seeded by the campaign seed and those declarations only, so two mutants with the same
inputs get the same arrays (which lets the host stage dedupe identical C). When the declared inputs
cannot be written as arrays (negative or huge dims, no NumPy dtype, unreadable file), a dummy array
is written and `fits` is False: tinyq may then refuse the inputs, not the model.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.fuzz import schema

MAX_ELEMENTS = 1 << 22  # per input, all samples together
NUMPY_TYPES = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FLOAT32", "FLOAT16",
               "FLOAT64", "BOOL"}


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str  # lower-case TFLite type name ("int8", "int4", "type100", ...)


def tinyq_name(raw: bytes | None, index: int) -> str:
    """The name tinyq gives a tensor (tflite_reader: utf-8 with replacement, tensor_<i> when empty)."""
    return (raw or b"").decode("utf-8", "replace") or f"tensor_{index}"


def graph_io(data: bytes) -> tuple[list[InputSpec], list[InputSpec], list[str]] | None:
    """(input specs, output specs, output names as tinyq names them), or None if the file is unreadable.

    Reads only subgraph 0's I/O tensors (flatbuffer accessors, not the object API, which would
    unpack everything, metadata included, and fail where tinyq's reader need not look)."""
    try:
        sg = schema.schema.Model.GetRootAs(bytearray(data), 0).Subgraphs(0)
        n = sg.TensorsLength()

        def indices(vec):
            return [] if isinstance(vec, int) else [int(i) for i in vec]  # 0 when the vector is absent

        ins, outs = indices(sg.InputsAsNumpy()), indices(sg.OutputsAsNumpy())
        if any(not 0 <= i < n for i in ins + outs):
            return None

        def spec(i):
            t = sg.Tensors(i)
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            return InputSpec(shape, schema.TYPE_NAMES.get(t.Type(), f"TYPE{t.Type()}").lower())

        return [spec(i) for i in ins], [spec(i) for i in outs], [tinyq_name(sg.Tensors(i).Name(), i) for i in outs]
    except Exception:
        return None


def user_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[1:] if shape and shape[0] == 1 else shape


def make_arrays(specs: list[InputSpec] | None, seed: int, samples: int) -> tuple[list[np.ndarray], bool]:
    """One (samples, *user_shape) array per input, and whether they match the declared inputs."""
    if specs is None:
        return [np.zeros((samples, 1), np.int8)], False
    digest = hashlib.sha256(f"{seed}|{[(s.shape, s.dtype) for s in specs]}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    arrays, fits = [], True
    for s in specs:
        shape = (samples, *user_shape(s.shape))
        ok = all(d >= 0 for d in shape) and int(np.prod(shape, dtype=np.int64)) <= MAX_ELEMENTS \
            and s.dtype.upper() in NUMPY_TYPES
        if not ok:
            arrays.append(np.zeros((samples, 1), np.int8))
            fits = False
            continue
        dt = np.dtype(s.dtype if s.dtype != "bool" else np.bool_)
        if dt.kind == "f":
            arrays.append(rng.uniform(-1, 1, shape).astype(dt))
        elif dt.kind == "b":
            arrays.append(rng.integers(0, 2, shape).astype(bool))
        else:
            info = np.iinfo(dt)
            arrays.append(rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True))
    return arrays, fits


def write_arrays(arrays: list[np.ndarray], directory: Path) -> Path:
    """One input: an .npy; several (or none): an .npz keyed input_0, input_1, ..."""
    if len(arrays) == 1:
        path = directory / "inputs.npy"
        np.save(path, arrays[0])
    else:
        path = directory / "inputs.npz"
        np.savez(path, **{f"input_{k}": a for k, a in enumerate(arrays)})
    return path


def read_arrays(path: Path) -> list[np.ndarray]:
    path = Path(path)
    if path.suffix == ".npy":
        return [np.load(path, allow_pickle=False)]
    with np.load(path, allow_pickle=False) as z:
        return [z[f"input_{k}"] for k in range(len(z.files))]


def read_outputs(path: str | Path, names: list[str]) -> list[np.ndarray]:
    """The simulator's output .npz as one array per graph output, in order.

    By position when the file has one array per output (np.savez keeps the order; tinyq may rename
    duplicates, and a zip member name stops at a NUL byte), else by tensor name. KeyError if missing."""
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.files)
        if len(keys) != len(names):
            keys = names
        return [z[k] for k in keys]


def digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
