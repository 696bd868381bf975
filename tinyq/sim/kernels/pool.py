"""Simulator kernels for tq_avgpool_s8/_s16 and tq_maxpool_s8/_s16 (mirror firmware/src/tq_pool.c).

One Python loop over output positions; each window is reduced over the whole batch and all channels at once.
"""
from __future__ import annotations

import numpy as np

from tinyq.quant import c_div
from tinyq.sim.kernels import sim_kernel


def _windows(call):
    """Yield (out_y, out_x, y0, y1, x0, x1): the input rows/columns of each window, clipped to the input."""
    for out_y in range(call.output_h):
        y_origin = out_y * call.stride_h - call.pad_h
        y0, y1 = max(0, y_origin), min(call.input_h, y_origin + call.filter_h)
        for out_x in range(call.output_w):
            x_origin = out_x * call.stride_w - call.pad_w
            x0, x1 = max(0, x_origin), min(call.input_w, x_origin + call.filter_w)
            yield out_y, out_x, y0, y1, x0, x1


def images(call, x):
    """(N, batches, H, W, C) -> (N * batches, H, W, C): simulator batch and model batch pool alike.
    The kernels return (N, output size); the driver restores the output tensor's shape."""
    return x.reshape(-1, call.input_h, call.input_w, call.depth)


@sim_kernel("tq_avgpool_s8", "tq_avgpool_s16")
def avgpool(call, x):
    n = x.shape[0]
    x = images(call, x).astype(np.int64)
    out = np.empty((x.shape[0], call.output_h, call.output_w, call.depth), dtype=np.int64)
    for out_y, out_x, y0, y1, x0, x1 in _windows(call):
        count = (y1 - y0) * (x1 - x0)  # only elements inside the input count (TFLM)
        acc = x[:, y0:y1, x0:x1, :].sum(axis=(1, 2))
        # TFLM: acc > 0 ? (acc + count/2) / count : (acc - count/2) / count, C division (half away from zero)
        half = count // 2
        out[:, out_y, out_x, :] = np.where(acc > 0, c_div(acc + half, count), c_div(acc - half, count))
    out = np.clip(out, call.act_min, call.act_max).astype(np.int8 if call.kernel.endswith("s8") else np.int16)
    return out.reshape(n, -1)


@sim_kernel("tq_maxpool_s8", "tq_maxpool_s16")
def maxpool(call, x):
    n = x.shape[0]
    x = images(call, x)
    out = np.empty((x.shape[0], call.output_h, call.output_w, call.depth), dtype=x.dtype)
    for out_y, out_x, y0, y1, x0, x1 in _windows(call):
        out[:, out_y, out_x, :] = x[:, y0:y1, x0:x1, :].max(axis=(1, 2))
    return np.clip(out, call.act_min, call.act_max).astype(x.dtype).reshape(n, -1)
