"""Simulator kernels for the data-movement records (mirror firmware/src/tq_shape.c): tq_copy,
tq_concatenation, tq_pad and tq_strided_copy. Like the C, they only read the record's resolved
integers; the batch axis N is carried along in front."""
from __future__ import annotations

import numpy as np

from tinyq.sim.kernels import sim_kernel


@sim_kernel("tq_copy")
def copy(call, x):
    assert x[0].nbytes == call.bytes
    return x.copy()


@sim_kernel("tq_concatenation")
def concatenation(call, *inputs):
    n = inputs[0].shape[0]
    dtype = inputs[0].dtype
    rows, next_input = [], 0
    for i in range(call.num_inputs):
        width = int(call.copy_bytes[i])
        if call.const_offset is not None and call.const_offset[i] >= 0:
            start = int(call.const_offset[i])
            raw = call.const_data.view(np.uint8)[start : start + call.outer_size * width]
            rows.append(np.broadcast_to(raw.reshape(1, call.outer_size, width), (n, call.outer_size, width)))
        else:
            x = np.ascontiguousarray(inputs[next_input])
            next_input += 1
            rows.append(x.reshape(n, -1).view(np.uint8).reshape(n, call.outer_size, width))
    return np.ascontiguousarray(np.concatenate(rows, axis=2)).reshape(n, -1).view(dtype)


@sim_kernel("tq_pad")
def pad(call, x):
    n = x.shape[0]
    out = np.full((n, *call.out_dims), call.pad_value[0], dtype=x.dtype)
    inner = tuple(slice(b, b + d) for b, d in zip(call.before, call.in_dims))
    out[(slice(None), *inner)] = x.reshape(n, *call.in_dims)
    return out


@sim_kernel("tq_strided_copy")
def strided_copy(call, x):
    n = x.shape[0]
    index = np.int64(call.offset)
    for k, (c, s) in enumerate(zip(call.count, call.step)):
        shape = [1] * len(call.count)
        shape[k] = c
        index = index + (np.arange(c, dtype=np.int64) * s).reshape(shape)
    return x.reshape(n, -1)[:, index.reshape(-1)]
