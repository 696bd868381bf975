"""Simulator kernels for tq_softmax_s8 / tq_softmax_s8_s16 / tq_softmax_s16 (mirror firmware/src/tq_softmax.c)."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import (
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from tinyq.sim.gemmlowp import count_leading_zeros, exp_on_negative_values, get_reciprocal
from tinyq.sim.kernels import sim_kernel

SCALED_DIFF_INTEGER_BITS = 5  # exp() input is Q5.26
ACCUMULATION_INTEGER_BITS = 12  # sum of exps is Q12.19


def lut_lookup_s16(value, lut: np.ndarray) -> np.ndarray:
    """TFLM LUTLookup(int16, lut[513]): 9-bit index + 7-bit linear interpolation, int16 wrap-around."""
    value = np.asarray(value, dtype=np.int64)
    index = 256 + (value >> 7)
    offset = value & 0x7F
    table = lut.astype(np.int64)
    base = table[index]
    slope = ((table[index + 1] - base + 32768) & 0xFFFF) - 32768  # stored in an int16_t
    delta = (slope * offset + 64) >> 7
    return ((base + delta + 32768) & 0xFFFF) - 32768


def _rows(call, x) -> np.ndarray:
    return x.reshape(x.shape[0], call.outer_size, call.depth).astype(np.int64)


@sim_kernel("tq_softmax_s8", "tq_softmax_s8_s16")
def softmax_s8(call, x):
    out_dtype = np.int8 if call.kernel == "tq_softmax_s8" else np.int16
    info = np.iinfo(out_dtype)
    rows = _rows(call, x)
    diff = rows - rows.max(axis=-1, keepdims=True)
    valid = diff >= call.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne (left shift, then the doubling high multiply);
    # values below diff_min may wrap here but are masked out
    rescaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << call.input_shift), call.input_multiplier)
    exp = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    terms = np.where(valid, rounding_divide_by_pot(exp, ACCUMULATION_INTEGER_BITS), 0)  # Rescale<12>(exp)
    sum_of_exps = wrap_int32(terms.sum(axis=-1, keepdims=True))  # int32 accumulation wraps
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    # TFLM TFLITE_CHECKs exponent <= 31 (only reachable for rows of 512+ values); tinyq saturates it
    exponent = np.minimum(num_bits_over_unit + 31 - 8 * np.dtype(out_dtype).itemsize, 31)
    unsat = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exp), exponent)
    y = np.where(valid, np.clip(unsat + info.min, info.min, info.max), info.min)
    return y.astype(out_dtype).reshape(x.shape[0], -1)


@sim_kernel("tq_softmax_s16")
def softmax_s16(call, x):
    rows = _rows(call, x)
    diff = rows - rows.max(axis=-1, keepdims=True)
    scaled = multiply_by_quantized_multiplier(diff, call.input_multiplier, call.input_shift)
    exp = lut_lookup_s16(np.clip(scaled + 32767, -32768, 32767), call.exp_lut)  # Q0.15
    sum_of_exps = exp.sum(axis=-1, keepdims=True)  # Q16.15, < 2^31 for depth <= 65536
    headroom_plus_one = count_leading_zeros(sum_of_exps)
    shifted_sum = ((sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14
    # 1/(1+x) LUT on x = sum - 1, recentred from [0, 65535] to [-32768, 32767]
    sym_shifted_sum = np.clip(shifted_sum - ((1 << 15) + (1 << 16)), -32768, 32767)
    reciprocal = lut_lookup_s16(sym_shifted_sum, call.one_over_one_plus_x_lut)
    right_shift = 31 - headroom_plus_one
    result = (exp * reciprocal + (np.int64(1) << (right_shift - 1))) >> right_shift
    return np.clip(result, 0, 32767).astype(np.int16).reshape(x.shape[0], -1)
