"""Projection onto a weight spec's levels: float weights [C, n] (one row per output channel) -> int8 levels and one
scale per channel, with w ≈ scale[:, None] * levels.

Used by PTQ (on the converted model's dequantized weights), and by QAT and ADMM (on the Keras kernels at every step).
`keep` (bool [C, n]) marks the weights that pruning left; the others become level 0.

* int<k>: symmetric uniform levels; the clipping threshold of each channel is the one, among a grid of fractions of
  max|w|, that gives the least squared error, then the scale is refit by least squares to the rounded levels.
* ternary: the exact least-squares ternary fit of each channel (the n largest magnitudes keep their sign, for the
  n that maximizes (sum of the n largest |w|)^2 / n; scale = their mean magnitude).
* binary: sign(w), scale = mean |w| (the least-squares binary fit).
* po2: levels {0, ±1, ±2, … ±64}; clipping grid as for int<k>, nearest level on the linear scale.
* codebook:K: K levels shared by the tensor: k-means (quantile start, Lloyd iterations) on each channel's weights
  divided by its max |w|, rounded to int8 container values; a 0 level is kept when pruning made zeros.
"""
from __future__ import annotations

import numpy as np

from tinyq.quantize.lowbit.spec import WeightSpec

_CLIP_GRID = np.linspace(0.3, 1.0, 36)  # fractions of max |w| tried as clipping thresholds
_REFITS = 3
_LLOYD_ITERATIONS = 25
_PO2 = np.array([0, 1, 2, 4, 8, 16, 32, 64], np.float64)


def project(w: np.ndarray, spec: WeightSpec, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(levels int8 [C, n], scale float64 [C] > 0)."""
    w = np.asarray(w, np.float64)
    if w.ndim != 2:
        raise ValueError(f"project: expected [channels, n] weights, got shape {w.shape}")
    if keep is not None:
        w = np.where(keep, w, 0.0)
    if spec.kind == "int":
        levels, scale = _uniform(w, spec.qmax)
    elif spec.kind == "ternary":
        levels, scale = _ternary(w, keep)
    elif spec.kind == "binary":
        levels, scale = _binary(w)
    elif spec.kind == "po2":
        levels, scale = _grid_search(w, lambda v: _nearest_po2(v), 64.0)
    elif spec.kind == "codebook":
        levels, scale = _codebook(w, spec.levels, keep is not None and not keep.all())
    else:
        raise ValueError(f"project: unknown spec kind {spec.kind!r}")
    if keep is not None:
        levels = np.where(keep, levels, 0)
    return levels.astype(np.int8), _positive(scale, w)


def fake_quantize(w: np.ndarray, spec: WeightSpec, keep: np.ndarray | None = None) -> np.ndarray:
    """The projected float weights scale * levels (same shape as w)."""
    levels, scale = project(w, spec, keep)
    return scale[:, None] * levels


def fit_scale(w: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares scale per channel for given levels: (levels with each channel's sign made so its scale is
    positive, scale [C], relative residual [C])."""
    w = np.asarray(w, np.float64)
    q = np.asarray(levels, np.float64)
    qq = (q * q).sum(axis=1)
    s = np.where(qq > 0, (w * q).sum(axis=1) / np.maximum(qq, 1e-300), 0.0)
    sign = np.where(s < 0, -1.0, 1.0)
    q = q * sign[:, None]
    s = np.abs(s)
    ww = (w * w).sum(axis=1)
    residual = np.sqrt(np.maximum(((w - s[:, None] * q) ** 2).sum(axis=1), 0) / np.maximum(ww, 1e-300))
    return q.astype(np.int8), _positive(s, w), np.where(ww > 0, residual, 0.0)


def _positive(scale: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A channel of zeros gets scale max|w|-free 1e-8·(largest magnitude of the tensor, or 1): TFLite needs > 0."""
    fallback = max(float(np.abs(w).max(initial=0.0)), 1.0) * 1e-8
    return np.where(scale > 0, scale, fallback).astype(np.float64)


def _uniform(w: np.ndarray, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    return _grid_search(w, lambda v: np.clip(np.round(v), -qmax, qmax), float(qmax))


def _grid_search(w: np.ndarray, to_levels, qmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the clip fraction with the least squared error, then least-squares refits of the scale."""
    peak = np.abs(w).max(axis=1)
    best_err = np.full(w.shape[0], np.inf)
    best_s = np.where(peak > 0, peak / qmax, 1.0)
    for frac in _CLIP_GRID:
        s = np.where(peak > 0, frac * peak / qmax, 1.0)
        q = to_levels(w / s[:, None])
        err = ((w - s[:, None] * q) ** 2).sum(axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_s = np.where(better, s, best_s)
    s = best_s
    q = to_levels(w / s[:, None])
    for _ in range(_REFITS):
        qq = (q * q).sum(axis=1)
        s_new = np.where(qq > 0, (w * q).sum(axis=1) / np.maximum(qq, 1e-300), s)
        s_new = np.where(s_new > 0, s_new, s)
        q_new = to_levels(w / s_new[:, None])
        err = ((w - s_new[:, None] * q_new) ** 2).sum(axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        s = np.where(better, s_new, s)
        q = np.where(better[:, None], q_new, q)
    return q, s


def _nearest_po2(v: np.ndarray) -> np.ndarray:
    mags = np.abs(v)
    mids = (_PO2[1:] + _PO2[:-1]) / 2
    return np.sign(v) * _PO2[np.searchsorted(mids, mags, side="left")]


def _ternary(w: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    mags = np.abs(w)
    order = np.argsort(-mags, axis=1, kind="stable")
    sorted_mags = np.take_along_axis(mags, order, axis=1)
    csum = np.cumsum(sorted_mags, axis=1)
    n = np.arange(1, w.shape[1] + 1)
    gain = csum**2 / n  # error = sum w^2 - gain
    best = np.argmax(gain, axis=1)  # index of the last kept weight
    scale = csum[np.arange(w.shape[0]), best] / (best + 1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(n - 1, order.shape), axis=1)
    levels = np.where((ranks <= best[:, None]) & (mags > 0), np.sign(w), 0.0)
    return levels, scale


def _binary(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.where(w >= 0, 1.0, -1.0), np.abs(w).mean(axis=1)


def _codebook(w: np.ndarray, k: int, zero_level: bool) -> tuple[np.ndarray, np.ndarray]:
    peak = np.abs(w).max(axis=1)
    norm = np.where(peak[:, None] > 0, w / np.maximum(peak[:, None], 1e-300), 0.0)
    values = np.unique(np.round(norm * 127.0))  # the int8 container values the weights would take at 8 bits
    x = np.round(norm * 127.0).reshape(-1)
    if values.size <= k:
        centers = values
    else:
        centers = _lloyd(x, k - int(zero_level), zero_level)
    table = np.unique(np.clip(np.round(centers), -127, 127))
    levels = table[_nearest(np.round(norm * 127.0), table)]
    qq = (levels * levels).sum(axis=1)
    s = np.where(qq > 0, (w * levels).sum(axis=1) / np.maximum(qq, 1e-300), peak / 127.0)
    return levels, np.abs(s)


def _lloyd(x: np.ndarray, k: int, zero_level: bool) -> np.ndarray:
    data = x[x != 0] if zero_level else x
    if data.size == 0:
        return np.zeros(1)
    centers = np.unique(np.quantile(data, (np.arange(k) + 0.5) / k))
    for _ in range(_LLOYD_ITERATIONS):
        idx = _nearest(data, centers)
        mass = np.bincount(idx, minlength=centers.size)
        total = np.bincount(idx, weights=data, minlength=centers.size)
        new = np.where(mass > 0, total / np.maximum(mass, 1), centers)
        if np.allclose(new, centers):
            break
        centers = np.unique(new)
    return np.unique(np.concatenate([centers, [0.0]])) if zero_level else centers


def _nearest(x: np.ndarray, sorted_centers: np.ndarray) -> np.ndarray:
    if sorted_centers.size == 1:
        return np.zeros(x.shape, np.int64)
    mids = (sorted_centers[1:] + sorted_centers[:-1]) / 2
    return np.searchsorted(mids, x, side="left")
