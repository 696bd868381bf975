"""Simulator kernels for tq_svdf_s8 / tq_svdf_s8_state16 (mirror firmware/src/tq_svdf.c, TFLM's
EvalIntegerSvdfReference). Stateful: the samples of a batch are consecutive invokes."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import exact_matmul, multiply_by_quantized_multiplier, wrap_int32
from tinyq.sim.kernels import sim_kernel


def _wrap(x: np.ndarray, dtype) -> np.ndarray:
    """Two's-complement wrap into `dtype` (C's conversion of an out-of-range int on every target)."""
    info = np.iinfo(dtype)
    span = int(info.max) - int(info.min) + 1
    return ((x - int(info.min)) % span + int(info.min)).astype(dtype)


@sim_kernel("tq_svdf_s8", "tq_svdf_s8_state16")
def svdf(call, x, *, initial: int, reset: bool = False):
    """x: (N, batches, input_size). Returns (outputs (N, batches, units), the state after each sample)."""
    dtype = np.dtype(call.state_dtype)
    lo, hi = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    n, b, f, m = x.shape[0], call.batches, call.num_filters, call.memory_size
    rows = x.reshape(n, b, call.input_size).astype(np.int64) + call.input_offset
    # the feature matmul does not depend on the state: all samples at once
    feat = wrap_int32(exact_matmul(rows.reshape(n * b, -1), call.weights_feature.astype(np.int64).T))
    feat = np.clip(multiply_by_quantized_multiplier(feat, call.feature_multiplier, call.feature_shift), lo, hi)
    newest = _wrap(feat + call.state_zero_point, dtype).reshape(n, b, f)
    wt = call.weights_time.astype(np.int64)
    state = np.full((b, f, m), initial, dtype)
    outs = np.empty((n, b, call.num_units), np.int8)
    history = np.empty((n, b, f * m), dtype)
    for s in range(n):
        if reset:
            state[...] = initial
        state[:, :, :-1] = state[:, :, 1:]  # the oldest time step drops out
        state[:, :, -1] = newest[s]
        # wrapping int32 sums, as TFLM's
        time = wrap_int32(np.einsum("bfm,fm->bf", state.astype(np.int64) - call.state_zero_point, wt))
        acc = wrap_int32(call.bias.astype(np.int64) + time.reshape(b, call.num_units, call.rank).sum(axis=2))
        y = multiply_by_quantized_multiplier(acc, call.output_multiplier, call.output_shift) + call.output_offset
        outs[s] = np.clip(y, -128, 127)
        history[s] = state.reshape(b, f * m)
    return outs, history

