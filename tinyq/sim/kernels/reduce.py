"""Simulator kernels for tq_mean_s8 / tq_mean_s16 and tq_reduce_max_s8 (mirror firmware/src/tq_reduce.c)."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from tinyq.sim.kernels import sim_kernel


@sim_kernel("tq_mean_s8", "tq_mean_s16")
def mean(call, x):
    n = x.shape[0]
    # TFLM sums in int32 with wrap-around (AddTensorValuesWithExpectedOverflow); the int64 sum wrapped once is equal
    acc = wrap_int32(x.astype(np.int64).reshape(n, *call.dims).sum(axis=(2, 4, 6)))
    # QuantizedMeanOrSum: (int32)(sum - zero_point * count), then one requantization with 1/count folded in
    shifted = wrap_int32(acc + np.int64(call.input_offset) * call.count)
    y = wrap_int32(multiply_by_quantized_multiplier(shifted, call.multiplier, call.shift) + call.output_offset)
    dtype = np.int8 if call.kernel.endswith("s8") else np.int16
    info = np.iinfo(dtype)
    return np.clip(y, info.min, info.max).astype(dtype).reshape(n, -1)


@sim_kernel("tq_reduce_max_s8")
def reduce_max(call, x):
    # TFLM ReduceGeneric starts at -128 and keeps the larger value; every group has >= 1 element, so it is the max
    n = x.shape[0]
    return x.reshape(n, *call.dims).max(axis=(2, 4, 6)).reshape(n, -1)
