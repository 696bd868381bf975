"""Simulator kernels for tq_resize_nearest_neighbor_s8/_s16 and tq_resize_bilinear_s8 (mirror
firmware/src/tq_resize.c). Like the C, they read only the record's tables (tinyq/lower/resize.py);
the simulator batch and the model batch are resized alike."""
from __future__ import annotations

import numpy as np

from tinyq.sim.kernels import sim_kernel

ONE = 1 << 10


def _images(call, x):
    """(N, batches, H, W, C) -> (N * batches, H, W, C)."""
    return x.reshape(-1, call.input_h, call.input_w, call.depth)


@sim_kernel("tq_resize_nearest_neighbor_s8", "tq_resize_nearest_neighbor_s16")
def resize_nearest(call, x):
    n = x.shape[0]
    rows = _images(call, x)[:, call.src_y]
    return rows[:, :, call.src_x].reshape(n, -1)


def _c_div(a, b: int):
    """C integer division (truncation toward zero) by a positive int."""
    return np.where(a >= 0, a // b, -((-a) // b))


@sim_kernel("tq_resize_bilinear_s8")
def resize_bilinear(call, x):
    n = x.shape[0]
    img = _images(call, x).astype(np.int64)
    fy = call.y_frac.astype(np.int64)[None, :, None, None]
    fx = call.x_frac.astype(np.int64)[None, None, :, None]
    lo_rows, hi_rows = img[:, call.y_lo], img[:, call.y_hi]
    acc = (lo_rows[:, :, call.x_lo] * (ONE - fy) * (ONE - fx) + hi_rows[:, :, call.x_lo] * fy * (ONE - fx)
           + lo_rows[:, :, call.x_hi] * (ONE - fy) * fx + hi_rows[:, :, call.x_hi] * fy * fx)
    # TFLM (without TFLITE_SINGLE_ROUNDING): (acc +- 2^19) / 2^20, C division: half away from zero
    out = _c_div(acc + np.where(acc > 0, 1 << 19, -(1 << 19)), 1 << 20)
    return out.astype(np.int8).reshape(n, -1)
