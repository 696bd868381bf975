"""Simulator kernels for tq_prelu[_const]_{s8,s16} (mirror firmware/src/tq_prelu.c).

Both operands are gathered through the record's loop nest, exactly as the C walk indexes them.
"""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from tinyq.sim.kernels import sim_kernel
from tinyq.sim.kernels.elementwise import _loop_offsets


@sim_kernel("tq_prelu_s8", "tq_prelu_s16", "tq_prelu_const_s8", "tq_prelu_const_s16")
def prelu(call, x, alpha=None):
    n = x.shape[0]
    v = x.reshape(n, -1).astype(np.int64)[:, _loop_offsets(call.shape, call.input_stride)] + call.input_offset
    a = call.alpha_const.reshape(1, -1) if alpha is None else alpha.reshape(n, -1)
    a = a.astype(np.int64)[:, _loop_offsets(call.shape, call.alpha_stride)] + call.alpha_offset
    positive = multiply_by_quantized_multiplier(v, call.multiplier_identity, call.shift_identity)
    negative = multiply_by_quantized_multiplier(v * a, call.multiplier_alpha, call.shift_alpha)
    y = wrap_int32(np.where(v >= 0, positive, negative) + call.output_offset)  # TFLM adds in int32
    dtype = np.int8 if call.kernel.endswith("_s8") else np.int16
    info = np.iinfo(dtype)
    return np.clip(y, info.min, info.max).astype(dtype)
