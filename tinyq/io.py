"""Model input/output arrays: .npy/.npz files <-> per-tensor integer batches.

Conventions shared by `tinyq simulate`, `tinyq run` and `tinyq verify`:
  * batch on the leading axis: a tensor of shape [1, *rest] is given as (N, *rest); any other shape S as (N, *S);
  * several inputs or outputs: an .npz keyed by tensor name; inputs also by position as input_0, input_1, ...;
  * float32 data for an integer input is quantized with the tensor's scale and zero point
    (float32 divide, round half away from zero, clamp: what TFLite's QUANTIZE kernel does); +-inf and
    values out of range saturate, NaN is refused with its position;
  * output paths are checked before any work (output_file, output_dir) and written exactly as given.
Internally every batch has shape (N, *tensor.shape).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tinyq.errors import InputError
from tinyq.quant import DTYPE_RANGE


def user_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Per-sample shape as users see it (without the leading batch-1 axis)."""
    shape = tuple(shape)
    return shape[1:] if shape and shape[0] == 1 else shape


def to_batch(x: np.ndarray, tensor, where: str) -> np.ndarray:
    """User array -> (N, *tensor.shape) array of the tensor's dtype."""
    x = np.asarray(x)
    per_sample = user_shape(tensor.shape)
    if x.shape == per_sample and x.shape != tuple(tensor.shape):
        x = x[None]  # a single sample given without the batch axis
    if x.ndim == 0 or tuple(x.shape[1:]) != per_sample:
        raise InputError(
            f"{where}: array of shape {list(x.shape)} does not fit input '{tensor.name}' "
            f"(expected (N, {', '.join(map(str, per_sample))}))"
        )
    dtype = np.dtype(tensor.dtype)
    if x.dtype.kind not in "iubf":
        raise InputError(f"{where}: dtype {x.dtype} cannot feed input '{tensor.name}' ({tensor.dtype})")
    if x.dtype.kind == "f":
        _refuse_nan(x, tensor, where)
        if dtype.kind in "iu":
            x = quantize_float(x, tensor.scale, tensor.zero_point, tensor.dtype, where=f"{where}: input '{tensor.name}'")
        else:
            with np.errstate(over="ignore"):  # float64 beyond float32's range becomes +-inf, as a C cast would
                x = x.astype(dtype)
    elif x.dtype != dtype:
        lo, hi = DTYPE_RANGE.get(tensor.dtype, (None, None))
        if lo is not None:
            bad = np.argwhere((x < lo) | (x > hi))
            if bad.size:
                raise InputError(f"{where}: input '{tensor.name}' {_position(bad[0])} is {x[tuple(bad[0])]}, "
                                 f"outside the {tensor.dtype} range [{lo}, {hi}]")
        x = x.astype(dtype)
    return np.ascontiguousarray(x.reshape((x.shape[0], *tensor.shape)))


def _position(index) -> str:
    """'sample 3 index [0, 5, 2]' for an index into a (N, *sample shape) array."""
    return f"sample {int(index[0])} index {[int(i) for i in index[1:]]}"


def _refuse_nan(x: np.ndarray, tensor, where: str) -> None:
    # NaN has no integer value: refusing it beats quietly feeding the model a zero point
    bad = np.argwhere(np.isnan(x))
    if bad.size:
        raise InputError(f"{where}: input '{tensor.name}' {_position(bad[0])} is NaN")


def quantize_float(x: np.ndarray, scale: float, zero_point: int, dtype: str, where: str = "float data") -> np.ndarray:
    """float -> int as TFLite's QUANTIZE: round(x / scale) + zero_point, saturated; +-inf saturate too.

    The same float32 arithmetic as the simulator's QUANTIZE kernel (and the C kernel): one rule everywhere.
    NaN is not allowed here (it has no value); to_batch refuses it with its position.
    """
    from tinyq.sim.kernels.quantize import quantize_f32

    if not scale:
        raise InputError(f"{where}: cannot quantize float data: the input tensor has no quantization scale")
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes +-inf, and saturates
        x32 = np.asarray(x, np.float32)
    return quantize_f32(x32, scale, zero_point, dtype)


def load_inputs(source, tensors: Sequence) -> list[np.ndarray]:
    """source: path to .npy/.npz, one array, or a mapping; tensors: the model's input tensors (in order).

    Returns one (N, *shape) array per input, all with the same N.
    """
    where = str(source) if isinstance(source, (str, Path)) else "input"
    if isinstance(source, (str, Path)):
        source = load_arrays(source)
    if isinstance(source, Mapping):
        arrays = []
        for k, t in enumerate(tensors):
            if t.name in source:
                arrays.append(source[t.name])
            elif f"input_{k}" in source:
                arrays.append(source[f"input_{k}"])
            elif len(tensors) == 1 and len(source) == 1:
                arrays.append(next(iter(source.values())))
            else:
                raise InputError(f"{where}: no array for input '{t.name}' (keys: {', '.join(source) or 'none'})")
    else:
        if len(tensors) != 1:
            raise InputError(f"{where}: the model has {len(tensors)} inputs; give an .npz keyed by tensor name")
        arrays = [source]
    batches = [to_batch(a, t, where) for a, t in zip(arrays, tensors)]
    if len({b.shape[0] for b in batches}) > 1:
        raise InputError(f"{where}: inputs have different batch sizes {[b.shape[0] for b in batches]}")
    if batches and batches[0].shape[0] == 0:
        raise InputError(f"{where}: no samples (the batch axis has length 0)")
    return batches


def load_arrays(path) -> np.ndarray | dict[str, np.ndarray]:
    """An .npy file's array, or an .npz file's arrays by key (never pickled objects)."""
    path = input_file(path)
    with open(path, "rb") as f:  # our own handle: np.load leaks its file when a zip turns out broken
        magic = f.read(6)
        if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):  # np.load would try to unpickle anything else
            raise InputError(f"{path}: not an .npy or .npz file")
        f.seek(0)
        try:
            loaded = np.load(f, allow_pickle=False)
            if not hasattr(loaded, "files"):
                return loaded
            with loaded:  # an .npz: read every array now, so a broken member fails here, with the file's name
                return {k: loaded[k] for k in loaded.files}
        except Exception as exc:
            raise InputError(f"{path}: cannot read this .npy/.npz file ({_one_line(exc)})") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def input_file(path) -> Path:
    """A file the user gave to be read: it exists, is a regular file, is readable and is not empty."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: no permission to read it")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return path


def output_file(path, option: str) -> Path:
    """Refuse, before any work, an output file that cannot be written as a regular file at exactly PATH.

    Devices (/dev/null, /dev/full), directories, a path inside a non-directory and unwritable places are
    refused: tinyq reports the file it wrote, so it must write a real one.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if path.is_dir():
            raise InputError(f"{option} {path}: is a directory, not a file")
        if not path.is_file():
            raise InputError(f"{option} {path}: not a regular file (a device or a pipe?); give a file path")
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} {path}: no permission to write it")
    else:
        _check_parent(path, option)
    return path


def output_dir(path, option: str) -> Path:
    """Refuse, before any work, an output directory that cannot be created or written."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise InputError(f"{option} {path}: exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} {path}: no permission to write in it")
    else:
        _check_parent(path, option)
    return path


def _check_parent(path: Path, option: str) -> None:
    # missing directories are created when writing; the deepest existing one must be a writable directory
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: no permission to write in {parent}")


def output_arrays(path, tensors: Sequence, option: str) -> Path:
    """output_file, and several outputs need an .npz (an .npy holds one array)."""
    path = output_file(path, option)
    if len(tensors) > 1 and path.suffix.lower() != ".npz":
        raise InputError(f"{option} {path}: the model has {len(tensors)} outputs; write an .npz")
    return path


def from_batch(x: np.ndarray, tensor) -> np.ndarray:
    """(N, *tensor.shape) -> (N, *user_shape)."""
    return x.reshape((x.shape[0], *user_shape(tensor.shape)))


def save_outputs(path, arrays: Sequence[np.ndarray], tensors: Sequence) -> None:
    """One output: an .npy (or an .npz if PATH ends in .npz); several: an .npz keyed by tensor name."""
    path = output_arrays(path, tensors, "output")
    outs = {t.name: from_batch(a, t) for a, t in zip(arrays, tensors)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # a file handle: given a name, np.save/np.savez would append .npy/.npz to it
        if len(outs) == 1 and path.suffix.lower() != ".npz":
            np.save(f, next(iter(outs.values())))
        else:
            np.savez(f, **outs)
