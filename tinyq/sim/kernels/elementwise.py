"""Simulator kernels for tq_{add,sub,mul,maximum,minimum}[_const]_{s8,s16} (mirror firmware/src/tq_elementwise.c).

Operands are gathered through the record's loop nest (extents and per-input strides), exactly as the
C walk indexes them, so a wrong broadcast parameter shows up here as it would in C.
"""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_smaller_than_one_exp
from tinyq.sim.kernels import sim_kernel


def _kernel_names(*ops: str) -> list[str]:
    return [f"tq_{op}{variant}_{dtype}" for op in ops for variant in ("", "_const") for dtype in ("s8", "s16")]


def _loop_offsets(shape, strides) -> np.ndarray:
    """Input element offset of every output element, in output order (the C odometer, vectorised)."""
    axes = np.ix_(*[np.arange(extent, dtype=np.int64) * stride for extent, stride in zip(shape, strides)])
    return sum(axes, np.zeros((), np.int64)).reshape(-1)


def _operands(call, inputs) -> tuple[np.ndarray, np.ndarray]:
    """Both operands as int64 (N or 1, output size); a constant slot reads the record's array."""
    activations = inputs * 2 if len(inputs) == 1 else inputs  # _const variant: C passes the one input for both slots
    out = []
    for const, strides, x in zip((call.input1_const, call.input2_const), (call.input1_stride, call.input2_stride), activations):
        flat = const.reshape(1, -1) if const is not None else x.reshape(x.shape[0], -1)
        out.append(flat.astype(np.int64)[:, _loop_offsets(call.shape, strides)])
    return out[0], out[1]


def _rescale_input(x, offset, left_shift, multiplier, shift):
    return multiply_by_quantized_multiplier_smaller_than_one_exp((x + offset) * (1 << left_shift), multiplier, shift)


def _clamp(call, y):
    return np.clip(y + call.output_offset, call.act_min, call.act_max)


def _finish(call, y):
    return y.astype(np.int8 if call.kernel.endswith("_s8") else np.int16)


@sim_kernel(*_kernel_names("add", "sub"))
def add_sub(call, *inputs):
    a, b = _operands(call, inputs)
    x1 = _rescale_input(a, call.input1_offset, call.left_shift, call.input1_multiplier, call.input1_shift)
    x2 = _rescale_input(b, call.input2_offset, call.left_shift, call.input2_multiplier, call.input2_shift)
    raw = x1 + x2 if call.kernel.startswith("tq_add") else x1 - x2
    y = multiply_by_quantized_multiplier_smaller_than_one_exp(raw, call.output_multiplier, call.output_shift)
    return _finish(call, _clamp(call, y))


@sim_kernel(*_kernel_names("mul"))
def mul(call, *inputs):
    a, b = _operands(call, inputs)
    product = (a + call.input1_offset) * (b + call.input2_offset)
    y = multiply_by_quantized_multiplier(product, call.output_multiplier, call.output_shift)
    return _finish(call, _clamp(call, y))


@sim_kernel(*_kernel_names("maximum"))
def maximum(call, *inputs):
    a, b = _operands(call, inputs)
    return _finish(call, np.maximum(a, b))


@sim_kernel(*_kernel_names("minimum"))
def minimum(call, *inputs):
    a, b = _operands(call, inputs)
    return _finish(call, np.minimum(a, b))
