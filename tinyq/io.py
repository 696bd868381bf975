"""Model input/output arrays: .npy/.npz files <-> per-tensor integer batches.

Conventions shared by `tinyq simulate`, `tinyq run` and `tinyq verify`:
  * batch on the leading axis: a tensor of shape [1, *rest] is given as (N, *rest); any other shape S as (N, *S);
  * several inputs or outputs: an .npz keyed by tensor name; inputs also by position as input_0, input_1, ...;
  * float32 data for an integer input is quantized with the tensor's scale and zero point
    (float32 divide, round half away from zero, clamp: what TFLite's QUANTIZE kernel does).
Internally every batch has shape (N, *tensor.shape).
"""
from __future__ import annotations

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
    if x.dtype.kind == "f" and dtype.kind in "iu":
        x = quantize_float(x, tensor.scale, tensor.zero_point, tensor.dtype)
    elif x.dtype != dtype:
        if x.dtype.kind not in "iub" and not (x.dtype.kind == "f" and dtype.kind == "f"):
            raise InputError(f"{where}: dtype {x.dtype} cannot feed input '{tensor.name}' ({tensor.dtype})")
        lo, hi = DTYPE_RANGE.get(tensor.dtype, (None, None))
        if lo is not None and (x.min(initial=0) < lo or x.max(initial=0) > hi):
            raise InputError(f"{where}: values outside the {tensor.dtype} range for input '{tensor.name}'")
        x = x.astype(dtype)
    return np.ascontiguousarray(x.reshape((x.shape[0], *tensor.shape)))


def quantize_float(x: np.ndarray, scale: float, zero_point: int, dtype: str) -> np.ndarray:
    if scale == 0.0:
        raise InputError("cannot quantize float data: the input tensor has no quantization scale")
    q = np.asarray(x, np.float32) / np.float32(scale)
    q = np.trunc(q + np.copysign(np.float32(0.5), q))  # round half away from zero
    lo, hi = DTYPE_RANGE[dtype]
    return np.clip(q.astype(np.int64) + zero_point, lo, hi).astype(dtype)


def load_inputs(source, tensors: Sequence) -> list[np.ndarray]:
    """source: path to .npy/.npz, one array, or a mapping; tensors: the model's input tensors (in order).

    Returns one (N, *shape) array per input, all with the same N.
    """
    where = str(source) if isinstance(source, (str, Path)) else "input"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        try:
            loaded = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"{path}: not a readable .npy/.npz file ({exc})") from None
        source = dict(loaded) if hasattr(loaded, "files") else loaded
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
        raise InputError(f"{where}: empty batch")
    return batches


def from_batch(x: np.ndarray, tensor) -> np.ndarray:
    """(N, *tensor.shape) -> (N, *user_shape)."""
    return x.reshape((x.shape[0], *user_shape(tensor.shape)))


def save_outputs(path, arrays: Sequence[np.ndarray], tensors: Sequence) -> None:
    path = Path(path)
    outs = {t.name: from_batch(a, t) for a, t in zip(arrays, tensors)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(outs) == 1 and path.suffix != ".npz":
        np.save(path, next(iter(outs.values())))
    else:
        np.savez(path, **outs)
