"""Calibration, training and evaluation data for the float model: files or arrays -> checked float32 sample sets.

Consumes .npy/.npz files, a directory of images (.png/.jpg/.bmp) or .wav files, a NumPy array or a mapping of
arrays; produces a SampleSet (one float32 array per model input, N samples on axis 0) after checking it against
the model's inputs (InputSpec). Labels (.npy or array) are checked against the sample count.
Every problem is an InputError that names the data and what does not fit.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from tinyq.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
AUDIO_SUFFIXES = (".wav",)
_CHUNK = 4096  # samples per chunk when scanning memory-mapped arrays


@dataclass(frozen=True)
class InputSpec:
    """One input of the float model; shape excludes the batch axis, None = any size."""

    name: str
    shape: tuple[int | None, ...]


@dataclass(frozen=True)
class SampleSet:
    """N samples for every model input, in model input order; arrays may be memory-mapped (read lazily)."""

    where: str
    specs: tuple[InputSpec, ...]
    arrays: tuple[np.ndarray, ...]

    @property
    def count(self) -> int:
        return int(self.arrays[0].shape[0])

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Concrete per-sample shapes (the data fills the model's None dimensions)."""
        return tuple(tuple(int(d) for d in a.shape[1:]) for a in self.arrays)

    def batches(self, size: int) -> Iterator[list[np.ndarray]]:
        """Yield lists of float32 arrays (one per input) of up to `size` samples, reading from disk as it goes."""
        for start in range(0, self.count, size):
            yield [np.asarray(a[start : start + size], dtype=np.float32) for a in self.arrays]

    def materialize(self) -> list[np.ndarray]:
        return [np.asarray(a, dtype=np.float32) for a in self.arrays]


def load_samples(source, specs: Sequence[InputSpec], what: str, image_range=(0.0, 1.0)) -> SampleSet:
    """source: path (.npy, .npz, directory of images or .wav files), array, or mapping name -> array.

    `what` names the data in messages ("calibration data"); image pixels are scaled to image_range.
    """
    specs = tuple(specs)
    if isinstance(source, (str, Path)):
        path = Path(source)
        where = f"{what} '{path}'"
        if path.is_dir():
            arrays = _load_directory(path, specs, where, image_range)
        elif path.is_file():
            arrays = _arrays_for_inputs(_load_file(path, where), specs, where)
        else:
            raise InputError(f"{where}: no such file or directory")
    else:
        where = what
        arrays = _arrays_for_inputs(source, specs, where)
    arrays = tuple(_check_array(a, spec, where) for a, spec in zip(arrays, specs))
    counts = {int(a.shape[0]) for a in arrays}
    if len(counts) > 1:
        raise InputError(f"{where}: the inputs have different sample counts {sorted(counts)}")
    if counts == {0}:
        raise InputError(f"{where} is empty (0 samples)")
    for a, spec in zip(arrays, specs):
        _check_finite(a, spec, where)
    return SampleSet(where, specs, arrays)


def load_labels(source, count: int, what: str = "labels") -> np.ndarray:
    """Labels or targets: .npy path or array with `count` rows (class indices, one-hot rows or float targets)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        where = f"{what} '{path}'"
        if not path.is_file():
            raise InputError(f"{where}: no such file")
        loaded = _load_file(path, where)
        if isinstance(loaded, Mapping):
            if len(loaded) != 1:
                raise InputError(f"{where}: expected one array, found {len(loaded)} ({', '.join(loaded)})")
            loaded = next(iter(loaded.values()))
        labels = np.asarray(loaded)
    else:
        where = what
        labels = np.asarray(source)
    if labels.ndim == 0 or labels.dtype.kind not in "iubf":
        raise InputError(
            f"{where}: expected a numeric array with one row per sample, got {labels.dtype}{list(labels.shape)}"
        )
    if labels.shape[0] != count:
        raise InputError(f"{where} has {labels.shape[0]} rows, but the data has {count} samples")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise InputError(f"{where} contains NaN or infinite values")
    return labels


def _load_file(path: Path, where: str):
    """An .npy file (memory-mapped) or an .npz file (dict of arrays)."""
    if path.suffix not in (".npy", ".npz"):
        raise InputError(
            f"{where}: unsupported file type '{path.suffix}' (use .npy, .npz or a directory of images/.wav files)"
        )
    try:
        if path.suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as exc:  # numpy raises ValueError/OSError/EOFError on damaged files
        raise InputError(f"{where}: not a readable {path.suffix} file ({exc})") from None


def _arrays_for_inputs(source, specs: tuple[InputSpec, ...], where: str) -> list[np.ndarray]:
    """Pick one array per model input: by input name, by position (input_0, arr_0) or the only array."""
    if isinstance(source, Mapping):
        arrays = []
        for k, spec in enumerate(specs):
            for key in (spec.name, f"input_{k}", f"arr_{k}"):
                if key in source:
                    arrays.append(source[key])
                    break
            else:
                if len(specs) == 1 and len(source) == 1:
                    arrays.append(next(iter(source.values())))
                else:
                    raise InputError(
                        f"{where}: no array for model input '{spec.name}' (keys: {', '.join(source) or 'none'})"
                    )
        return arrays
    if isinstance(source, (list, tuple)) and len(specs) > 1:
        if len(source) != len(specs):
            raise InputError(f"{where}: {len(source)} arrays for a model with {len(specs)} inputs")
        return list(source)
    if len(specs) != 1:
        names = ", ".join(s.name for s in specs)
        raise InputError(f"{where}: the model has {len(specs)} inputs ({names}); give an .npz keyed by input name")
    return [source]


def _check_array(a, spec: InputSpec, where: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind != "f":
        raise InputError(
            f"{where}: dtype {a.dtype} for model input '{spec.name}', which takes float values "
            f"(convert the data to float32 as the float model sees it, e.g. x.astype('float32') / 255)"
        )
    sample = tuple(a.shape[1:])
    fits = a.ndim == len(spec.shape) + 1 and all(d is None or d == s for d, s in zip(spec.shape, sample))
    if not fits:
        want = "(N, " + ", ".join("?" if d is None else str(d) for d in spec.shape) + ")"
        hint = ""
        if a.ndim >= 1 and sample + (1,) == tuple(spec.shape):
            hint = " (add a trailing channel axis: x[..., None])"
        raise InputError(f"{where}: array of shape {list(a.shape)} does not fit model input '{spec.name}' {want}{hint}")
    return a


def _check_finite(a: np.ndarray, spec: InputSpec, where: str) -> None:
    for start in range(0, a.shape[0], _CHUNK):
        bad = ~np.isfinite(np.asarray(a[start : start + _CHUNK]))
        if bad.any():
            sample = start + int(np.argwhere(bad)[0][0])
            raise InputError(f"{where}: sample {sample} of model input '{spec.name}' contains NaN or infinity")


def _load_directory(path: Path, specs: tuple[InputSpec, ...], where: str, image_range) -> list[np.ndarray]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + AUDIO_SUFFIXES)
    if not files:
        raise InputError(f"{where} is empty (no {', '.join(IMAGE_SUFFIXES + AUDIO_SUFFIXES)} files)")
    if len(specs) != 1:
        raise InputError(f"{where}: a directory can feed only a single-input model (this one has {len(specs)})")
    kinds = {p.suffix.lower() in AUDIO_SUFFIXES for p in files}
    if len(kinds) > 1:
        raise InputError(f"{where}: mixes images and .wav files")
    spec = specs[0]
    if kinds == {True}:
        return [np.stack([_load_wav(p, spec) for p in files])]
    return [np.stack([_load_image(p, spec, image_range) for p in files])]


def _load_image(path: Path, spec: InputSpec, image_range) -> np.ndarray:
    """Decode, convert to the input's channel count, resize to its height x width, scale pixels to image_range."""
    from PIL import Image

    if len(spec.shape) not in (2, 3) or None in spec.shape:
        raise InputError(f"image '{path}': model input '{spec.name}' has shape {spec.shape}, not (H, W[, C])")
    height, width = spec.shape[0], spec.shape[1]
    channels = spec.shape[2] if len(spec.shape) == 3 else 1
    if channels not in (1, 3):
        raise InputError(f"image '{path}': model input '{spec.name}' has {channels} channels (images give 1 or 3)")
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32) / 255.0
    except OSError as exc:
        raise InputError(f"image '{path}': cannot decode ({exc})") from None
    lo, hi = image_range
    return (lo + pixels * (hi - lo)).reshape(spec.shape).astype(np.float32)


def _load_wav(path: Path, spec: InputSpec) -> np.ndarray:
    """16-bit PCM mono -> float32 in [-1, 1), cut or zero-padded to the input's size."""
    if None in spec.shape:
        raise InputError(f"audio '{path}': model input '{spec.name}' has a variable shape {spec.shape}")
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise InputError(
                    f"audio '{path}': {w.getnchannels()} channel(s) of {8 * w.getsampwidth()}-bit samples; "
                    "tinyq reads 16-bit PCM mono"
                )
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise InputError(f"audio '{path}': not a readable .wav file ({exc})") from None
    size = int(np.prod(spec.shape))
    samples = np.zeros(size, np.float32)
    samples[: min(size, pcm.size)] = pcm[:size] / np.float32(32768.0)
    return samples.reshape(spec.shape)
