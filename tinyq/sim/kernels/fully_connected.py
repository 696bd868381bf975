"""Simulator kernels for tq_fully_connected_s8 / _s16 (mirror firmware/src/tq_fully_connected.c)."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import (
    exact_matmul,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_int64,
    wrap_int32,
)
from tinyq.sim.kernels import sim_kernel


@sim_kernel("tq_fully_connected_s8", "tq_fully_connected_s16")
def fully_connected(call, x):
    n = x.shape[0]
    rows = x.reshape(n * call.batches, call.accum_depth).astype(np.int64) + call.input_offset
    w = call.weights.astype(np.int64) + call.filter_offset
    acc = exact_matmul(rows, w.T)
    if call.bias is not None:
        acc = acc + call.bias.astype(np.int64)
    out_dtype = np.int8 if call.kernel.endswith("s8") else np.int16
    if call.acc64:
        y = multiply_by_quantized_multiplier_int64(acc, call.multiplier, call.shift)
    else:  # an int32 accumulator wraps, as C's does
        y = multiply_by_quantized_multiplier(wrap_int32(acc), call.multiplier, call.shift)
    y = np.clip(y + call.output_offset, call.act_min, call.act_max)
    return y.astype(out_dtype).reshape(n, -1)
