"""Simulator kernels for tq_resize_nearest_neighbor_s8/_s16 and tq_resize_bilinear_s8 (mirror
firmware/src/tq_resize.c). Like the C, they read only the record's tables (tinyq/lower/resize.py);
the simulator batch and the model batch are resized alike."""
from __future__ import annotations

import numpy as np

from tinyq.quant import c_div
from tinyq.sim.kernels import sim_kernel
from tinyq.sim.kernels.pool import images

ONE = 1 << 10


@sim_kernel("tq_resize_nearest_neighbor_s8", "tq_resize_nearest_neighbor_s16")
def resize_nearest(call, x):
    n = x.shape[0]
    rows = images(call, x)[:, call.src_y]
    return rows[:, :, call.src_x].reshape(n, -1)


@sim_kernel("tq_resize_bilinear_s8")
def resize_bilinear(call, x):
    n = x.shape[0]
    img = images(call, x).astype(np.int64)
    fy = call.y_frac.astype(np.int64)[None, :, None, None]
    fx = call.x_frac.astype(np.int64)[None, None, :, None]
    lo_rows, hi_rows = img[:, call.y_lo], img[:, call.y_hi]
    acc = (lo_rows[:, :, call.x_lo] * (ONE - fy) * (ONE - fx) + hi_rows[:, :, call.x_lo] * fy * (ONE - fx)
           + lo_rows[:, :, call.x_hi] * (ONE - fy) * fx + hi_rows[:, :, call.x_hi] * fy * fx)
    # TFLM (without TFLITE_SINGLE_ROUNDING): (acc +- 2^19) / 2^20, C division: half away from zero
    out = c_div(acc + np.where(acc > 0, 1 << 19, -(1 << 19)), 1 << 20)
    return out.astype(np.int8).reshape(n, -1)
