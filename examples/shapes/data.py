"""Synthetic 16x16 grayscale images of ten geometric shapes: the shapes example's data, generated, never downloaded.

Each image is one shape with a random centre, size, rotation, stroke width, contrast and brightness gradient,
plus Gaussian pixel noise and, sometimes, a small distractor blob. Shapes are rendered from exact geometry at 4x4
supersampling (so edges are anti-aliased like a real sensor's), then box-filtered down to 16x16.

The classes are chosen to stay distinct under any rotation (a plus and an X would not be) yet to be confusable
at this resolution when a shape is small, thin or noisy (disk vs. square, ring vs. square outline, triangle vs.
half disk), so a small CNN scores in the mid-90s rather than 100 %.

    images, labels = generate(n, seed)   # float32 n x 16 x 16 x 1 in [0, 1], int64 labels 0..9
"""
from __future__ import annotations

import numpy as np

SIZE = 16
SUPERSAMPLE = 4
CLASSES = ("disk", "ring", "square", "square outline", "triangle", "triangle outline", "plus", "bar",
           "half disk", "L")

# Subpixel centres in pixel units, shared by every image.
_AXIS = (np.arange(SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
_GX, _GY = np.meshgrid(_AXIS, _AXIS)


def _triangle(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Inside an equilateral triangle with circumradius r centred on the origin, one vertex up."""
    inside = np.ones_like(x, dtype=bool)
    for k in range(3):  # three half-planes, their normals 120 degrees apart
        a = np.pi / 2 + np.pi + 2 * np.pi * k / 3  # normal pointing away from a vertex
        inside &= x * np.cos(a) + y * np.sin(a) <= r / 2
    return inside


def _shape(kind: int, x: np.ndarray, y: np.ndarray, r: float, t: float) -> np.ndarray:
    """Boolean mask of shape `kind` in local coordinates (x, y), size r, stroke width t."""
    d = np.hypot(x, y)
    s = 0.85 * r  # half side of the squares: corners stick out past the disk's edge
    if kind == 0:
        return d <= r
    if kind == 1:
        return (d <= r) & (d >= r - t)
    if kind == 2:
        return np.maximum(abs(x), abs(y)) <= s
    if kind == 3:
        m = np.maximum(abs(x), abs(y))
        return (m <= s) & (m >= s - t)
    if kind == 4:
        return _triangle(x, y, 1.2 * r)
    if kind == 5:
        return _triangle(x, y, 1.2 * r) & ~_triangle(x, y, 1.2 * r - 2 * t)
    if kind == 6:
        return ((abs(x) <= t / 2) & (abs(y) <= r)) | ((abs(y) <= t / 2) & (abs(x) <= r))
    if kind == 7:
        return (abs(x) <= r) & (abs(y) <= t / 2 + 0.3)
    if kind == 8:
        return (np.hypot(x, y + 0.42 * r) <= r) & (y >= -0.42 * r)  # a semicircle, centred on its centroid
    if kind == 9:  # two strokes meeting at a corner
        return ((abs(x + r / 2) <= t / 2) & (abs(y) <= r)) | ((abs(y - r + t / 2) <= t / 2) & (x >= -r / 2 - t / 2) & (x <= r))
    raise ValueError(kind)


def render(kind: int, rng: np.random.Generator) -> np.ndarray:
    """One 16x16 float32 image of shape `kind` with random pose, contrast and noise."""
    r = rng.uniform(3.5, 6.5)
    t = rng.uniform(1.0, 2.2)
    cx, cy = rng.uniform(r * 0.8 + 0.5, SIZE - r * 0.8 - 0.5, size=2)
    theta = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(theta), np.sin(theta)
    x, y = _GX - cx, _GY - cy
    mask = _shape(kind, c * x + s * y, -s * x + c * y, r, t).astype(np.float32)
    if rng.random() < 0.3:  # a distractor: a small blob somewhere else
        bx, by = rng.uniform(1, SIZE - 1, size=2)
        mask = np.maximum(mask, (np.hypot(_GX - bx, _GY - by) <= rng.uniform(0.6, 1.2)).astype(np.float32))
    cover = mask.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))  # anti-aliased coverage
    background = rng.uniform(0.0, 0.3)
    gradient = rng.uniform(-0.15, 0.15, size=2)
    ramp = background + gradient[0] * (np.arange(SIZE)[None, :] / SIZE - 0.5) + gradient[1] * (np.arange(SIZE)[:, None] / SIZE - 0.5)
    foreground = rng.uniform(0.55, 1.0)
    image = ramp + (foreground - ramp) * cover + rng.normal(0, rng.uniform(0.03, 0.12), size=(SIZE, SIZE))
    return np.clip(image, 0, 1).astype(np.float32)


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images with balanced labels (0..9 cycled, then shuffled), fully determined by seed."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    images = np.stack([render(int(k), rng) for k in labels])[..., None]
    return images, labels


if __name__ == "__main__":  # a contact sheet, to look at the task: python examples/shapes/data.py out.png
    import sys

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, labels = generate(80, seed=1)
    fig, axes = plt.subplots(8, 10, figsize=(10, 8.6))
    for ax, k in zip(axes.T.ravel(), np.argsort(labels, kind="stable")):
        ax.imshow(images[k, ..., 0], cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
    for ax, name in zip(axes[0], CLASSES):
        ax.set_title(name, fontsize=8)
    fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "shapes.png", dpi=80)
