"""Simulator kernels for tq_logistic_s8/_s16 and tq_tanh_s8/_s16 (mirror firmware/src/tq_logistic.c)."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, rounding_divide_by_pot
from tinyq.sim.gemmlowp import gemmlowp_logistic, gemmlowp_tanh
from tinyq.sim.kernels import sim_kernel

INPUT_INTEGER_BITS_S8 = 4  # Q4.27


def _s8(call, x, fn, output_bits: int, output_offset: int) -> np.ndarray:
    """Shared int8 path: saturate beyond the input radius, else fn on Q4.27, then round to output_bits."""
    inp = x.reshape(x.shape[0], -1).astype(np.int64) + call.input_offset
    # inputs outside the radius never reach the multiply (their shifted value could overflow)
    inside = (inp > -call.input_range_radius) & (inp < call.input_range_radius)
    q4 = multiply_by_quantized_multiplier(np.where(inside, inp, 0), call.input_multiplier, call.input_shift)
    q0 = fn(q4, INPUT_INTEGER_BITS_S8)
    y = np.clip(rounding_divide_by_pot(q0, 31 - output_bits) + output_offset, -128, 127)
    y = np.where(inp <= -call.input_range_radius, -128, np.where(inp >= call.input_range_radius, 127, y))
    return y.astype(np.int8)


@sim_kernel("tq_logistic_s8")
def logistic_s8(call, x):
    return _s8(call, x, gemmlowp_logistic, 8, -128)


@sim_kernel("tq_tanh_s8")
def tanh_s8(call, x):
    return _s8(call, x, gemmlowp_tanh, 7, 0)


def _rescale_s16(call, x) -> np.ndarray:
    """Input to units of 1/(3*4096) (the table's step is 1/24 = 512 of them after the /4 of the scale)."""
    right_shift = call.input_right_shift
    rounding = (1 << (right_shift - 1)) if right_shift > 0 else 0
    return (x.reshape(x.shape[0], -1).astype(np.int64) * call.input_multiplier + rounding) >> right_shift


def _interpolate(table: np.ndarray, abs_input, fraction_bits: int) -> np.ndarray:
    """table[uh] + fraction * (table[uh + 1] - table[uh]) in Q0.(16 + fraction_bits); uh < 255 only."""
    t = table.astype(np.int64)
    uh = np.minimum(abs_input >> fraction_bits, 254)
    ua, ub = t[uh], t[uh + 1]
    return (ua << fraction_bits) + (abs_input & ((1 << fraction_bits) - 1)) * (ub - ua)


@sim_kernel("tq_logistic_s16")
def logistic_s16(call, x):
    v = _rescale_s16(call, x)
    a = np.abs(v)
    result = np.where((a >> 9) >= 255, 0x7FFF << 10, _interpolate(call.sigmoid_table, a, 9))
    # the table is sigmoid on |x|; the negative half is 1 - sigmoid (unsigned 32-bit arithmetic, no wrap)
    result = np.where(v >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1)
    return (result >> 10).astype(np.int16)


@sim_kernel("tq_tanh_s16")
def tanh_s16(call, x):
    v = _rescale_s16(call, x)
    a = np.abs(v)
    result = np.where((a >> 8) >= 255, 0xFFFF << 8, _interpolate(call.sigmoid_table, a, 8))
    # tanh(x) = 2 sigmoid(2x) - 1: the table read at twice the rate, minus one half, doubled
    result = np.where(v >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1)
    return (result >> 8).astype(np.int16)
