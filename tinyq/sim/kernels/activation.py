"""Simulator kernels for tq_relu_*, tq_relu6_*, tq_leaky_relu_*, tq_hard_swish_s8
(mirror firmware/src/tq_activation.c; the 16-bit helpers mirror its static functions)."""
from __future__ import annotations

import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from tinyq.sim.kernels import sim_kernel

INT16_MIN, INT16_MAX = -32768, 32767


def _out_dtype(call):
    return np.int8 if call.kernel.endswith("s8") else np.int16


def _clamp_to(call, y):
    info = np.iinfo(_out_dtype(call))
    return np.clip(y, info.min, info.max).astype(_out_dtype(call))


@sim_kernel("tq_relu_s8", "tq_relu_s16")
def relu(call, x):
    y = multiply_by_quantized_multiplier(x.astype(np.int64) + call.input_offset, call.multiplier, call.shift)
    return np.clip(wrap_int32(y + call.output_offset), call.act_min, call.act_max).astype(_out_dtype(call))


@sim_kernel("tq_relu6_s8", "tq_relu6_s16")
def relu6(call, x):
    return np.clip(x, call.lower, call.upper).astype(x.dtype)


@sim_kernel("tq_leaky_relu_s8", "tq_leaky_relu_s16")
def leaky_relu(call, x):
    v = x.astype(np.int64) + call.input_offset
    identity = multiply_by_quantized_multiplier(v, call.multiplier_identity, call.shift_identity)
    # TFLM applies a negative alpha as -(v * |alpha|), not v * alpha: the ties round differently.
    scaled = multiply_by_quantized_multiplier(v, abs(call.multiplier_alpha), call.shift_alpha)
    alpha = wrap_int32(-scaled) if call.multiplier_alpha < 0 else scaled
    return _clamp_to(call, wrap_int32(np.where(v >= 0, identity, alpha) + call.output_offset))


# --- 16-bit fixed-point helpers of TFLM's HardSwish (gemmlowp int16 semantics) ---

def _wrap16(x):
    return ((np.asarray(x, dtype=np.int64) + 32768) & 0xFFFF) - 32768


def _trunc_div_pow2(x, bits: int):
    """C's integer division by 2**bits (truncates toward zero)."""
    return np.where(x >= 0, x >> bits, -((-x) >> bits))


def _srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul<int16>: high half of 2*a*b, ties toward +inf."""
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = _trunc_div_pow2(ab + nudge, 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def _sdhm16(a, b):
    """TFLM SaturatingDoublingHighMul (SQDMULH): like _srdhm16 but truncating toward zero."""
    high = _trunc_div_pow2(a * b, 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def _rdbp16(x, exponent: int):
    """gemmlowp RoundingDivideByPOT<int16>: ties away from zero. The mask is an int16, so it wraps
    for exponent >= 16, exactly as TFLM's int16 instantiation does."""
    mask = int(_wrap16((1 << exponent) - 1))
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return _wrap16((x >> exponent) + (remainder > threshold))


def _saturating_left_shift16(x, amount: int):
    return np.clip(x * (1 << amount), INT16_MIN, INT16_MAX)


@sim_kernel("tq_hard_swish_s8")
def hard_swish(call, x):
    v = _wrap16(x.astype(np.int64) + call.input_offset)
    hires = _wrap16(v * 128)
    preshift_out = _srdhm16(hires, call.output_multiplier_q15)
    reluish = hires
    if call.reluish_shift > 0:
        reluish = _saturating_left_shift16(reluish, call.reluish_shift - 1)
    reluish = _srdhm16(reluish, call.reluish_multiplier_q15)
    if call.reluish_shift > 0:
        reluish = _saturating_left_shift16(reluish, 1)
    if call.reluish_shift < 0:
        reluish = _rdbp16(reluish, -call.reluish_shift)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1] in Q0.15
    out = _rdbp16(_sdhm16(reluish, preshift_out), -call.output_shift)
    out = _wrap16(out + call.output_offset)  # TFLM adds the zero point in int16
    return np.clip(out, -128, 127).astype(np.int8)
