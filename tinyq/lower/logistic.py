"""LOGISTIC, TANH -> tq_logistic_s8 / tq_logistic_s16 / tq_tanh_s8 / tq_tanh_s16 (TFLM logistic_common.cc, tanh.cc).

int8: gemmlowp fixed-point logistic/tanh on the input rescaled to Q4.27 (input_multiplier/input_shift
from frexp, input_range_radius from CalculateInputRadius). int16: TFLM's interpolated 256-entry
sigmoid table (tanh(x) = 2 sigmoid(2x) - 1), after an integer rescale of the input to 1/(3*4096) units; the
table is read out of the installed TFLM runtime (tinyq.lower.tflm_tables), not kept in tinyq.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.lower.tflm_tables import sigmoid_table_uint16
from tinyq.program import KernelCall
from tinyq.quant import f32, round_half_away

INPUT_INTEGER_BITS_S8 = 4  # the int8 kernels evaluate on Q4.27
INPUT_INTEGER_BITS_S16 = 3
OUTPUT_FRACTIONAL_BITS_S16 = 15


@dataclass(frozen=True, eq=False)
class LogisticCall(KernelCall):
    """tq_logistic_s8 / tq_tanh_s8."""

    params_type = "tq_logistic_params"
    size: int  # elements
    input_offset: int  # -input zero point
    input_range_radius: int  # |input + offset| >= radius saturates the output
    input_multiplier: int  # Q31, to Q4.27
    input_shift: int  # positive = left (TFLite sign)


@dataclass(frozen=True, eq=False)
class LogisticS16Call(KernelCall):
    """tq_logistic_s16 / tq_tanh_s16."""

    params_type = "tq_logistic_s16_params"
    size: int  # elements
    input_multiplier: int  # integer multiplier, <= 32767 (not Q31)
    input_right_shift: int  # rounding right shift after the multiply, [0, 31]
    sigmoid_table: np.ndarray  # uint16[256]: sigmoid(i/24) in Q0.16


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite CheckedLog2 (float arithmetic): (x is a power of two within 1e-3 in log2, rounded log2)."""
    x_log2 = np.float32(np.float32(math.log(np.float32(x))) * np.float32(np.float32(1.0) / np.float32(math.log(2.0))))
    rounded = np.float32(round_half_away(float(x_log2)))
    return bool(abs(np.float32(x_log2 - rounded)) < np.float32(1e-3)), int(rounded)


def _s8_params(ctx: OpContext, inp: Tensor) -> dict:
    """TFLM int8 Prepare: input_real_multiplier = scale * 2^27, split by frexp, plus the input radius."""
    real = f32(inp.scale) * float(1 << (31 - INPUT_INTEGER_BITS_S8))
    q, shift = math.frexp(real)
    if shift < 0:
        raise ctx.fail(f"input scale {f32(inp.scale):.8g} is too small for the int8 kernel")
    multiplier = round_half_away(q * (1 << 31))
    # CalculateInputRadius(4, shift, 31)
    radius = math.floor(1.0 * ((1 << INPUT_INTEGER_BITS_S8) - 1) * (1 << (31 - INPUT_INTEGER_BITS_S8)) / (1 << shift))
    return dict(size=inp.size, input_offset=-inp.zero_point, input_range_radius=radius,
                input_multiplier=multiplier, input_shift=shift)


def _s16_params(ctx: OpContext, inp: Tensor, out: Tensor, pot_shifts: tuple[int, ...]) -> dict:
    """TFLM int16 Prepare, with Eval's power-of-two special case folded in (multiplier 3 << shift)."""
    if inp.zero_point != 0 or out.zero_point != 0:
        raise ctx.fail("int16 input and output must have zero point 0")
    pot, log2 = checked_log2(f32(inp.scale))
    left_shift = (15 - INPUT_INTEGER_BITS_S16) + log2
    if pot and left_shift in pot_shifts:
        multiplier, right_shift = 3 << left_shift, 0
    else:
        # rescale the input to units of 1/(3*4096): the table's +-2^17 spans +-10.7
        m = f32(inp.scale) * 4096.0 * 3.0
        right_shift = 0
        while m <= 32767.0 / 2.0 and right_shift <= 30:
            right_shift += 1
            m *= 2.0
        multiplier = int(m)
    if multiplier > 32767:
        raise ctx.fail(f"int16 input scale {f32(inp.scale):.8g} is too large (TFLM needs scale * 12288 <= 32767)")
    out_pot, out_log2 = checked_log2(f32(out.scale))
    if not out_pot or out_log2 != -OUTPUT_FRACTIONAL_BITS_S16:
        raise ctx.fail(f"int16 output scale must be 2^-15 (got {f32(out.scale):.8g})")
    return dict(size=inp.size, input_multiplier=multiplier, input_right_shift=right_shift,
                sigmoid_table=sigmoid_table_uint16())


def _lower(ctx: OpContext, op: str, s8_zero_point: int, s8_scale: float, pot_shifts: tuple[int, ...]):
    inp, out = ctx.input(0), ctx.output(0)
    if inp is None:
        raise ctx.fail("input 0 is missing")
    ctx.require_dtype(inp, "int8", "int16")
    ctx.require_dtype(out, inp.dtype)
    ctx.require_same_shape(inp, out)
    ctx.require_quant(inp)
    ctx.require_quant(out)
    if inp.dtype == "int16":
        return LogisticS16Call(**ctx.call_fields(f"tq_{op}_s16", inputs=(inp.index,)),
                               **_s16_params(ctx, inp, out, pot_shifts))
    # the int8 kernels write a fixed output quantization (TFLM checks only the zero point)
    if out.zero_point != s8_zero_point or f32(out.scale) != s8_scale:
        raise ctx.fail(f"{out.describe()} must have scale {s8_scale} and zero point {s8_zero_point} "
                       f"(got {f32(out.scale):.8g}, {out.zero_point})")
    return LogisticCall(**ctx.call_fields(f"tq_{op}_s8", inputs=(inp.index,)), **_s8_params(ctx, inp))


@lowers("LOGISTIC", dtypes=("int8", "int16"))
def lower_logistic(ctx: OpContext):
    """int8 (output scale 1/256, zero point -128) or int16 (input and output zero point 0, output scale
    2^-15, input scale <= 32767/12288). Any shape (elementwise)."""
    return _lower(ctx, "logistic", -128, 1.0 / 256, pot_shifts=(0,))


@lowers("TANH", dtypes=("int8", "int16"))
def lower_tanh(ctx: OpContext):
    """int8 (output scale 1/128, zero point 0) or int16 (input and output zero point 0, output scale
    2^-15, input scale <= 32767/12288). Any shape (elementwise)."""
    return _lower(ctx, "tanh", 0, 1.0 / 128, pot_shifts=(0, 1))
