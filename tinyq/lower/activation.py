"""RELU, RELU6, LEAKY_RELU, HARD_SWISH -> tq_relu_*, tq_relu6_*, tq_leaky_relu_*, tq_hard_swish_s8.

Parameters are computed as TFLM's Prepare functions do (activations_common.cc, leaky_relu_common.cc,
hard_swish_common.cc), including their float32 intermediate arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.lower.common import checked_multiplier
from tinyq.program import KernelCall
from tinyq.quant import DTYPE_RANGE, f32, round_half_away

INT32_MAX = 2**31 - 1


@dataclass(frozen=True, eq=False)
class ReluCall(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_relu_params"
    size: int  # elements
    input_offset: int  # -input zero point
    output_offset: int  # +output zero point
    multiplier: int  # Q31: input_scale / output_scale
    shift: int  # positive = left
    act_min: int  # output zero point (real 0)
    act_max: int  # dtype maximum


@dataclass(frozen=True, eq=False)
class Relu6Call(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_relu6_params"
    size: int
    lower: int  # input zero point (real 0), in the INPUT's units
    upper: int  # real 6 in the INPUT's units


@dataclass(frozen=True, eq=False)
class LeakyReluCall(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_leaky_relu_params"
    size: int
    input_offset: int  # -input zero point
    output_offset: int  # +output zero point
    multiplier_identity: int  # Q31: input_scale / output_scale (inputs >= zero point)
    shift_identity: int
    multiplier_alpha: int  # Q31, negative when alpha < 0: alpha * input_scale / output_scale
    shift_alpha: int


@dataclass(frozen=True, eq=False)
class HardSwishCall(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_hard_swish_params"
    size: int
    input_offset: int  # -input zero point
    output_offset: int  # +output zero point
    output_multiplier_q15: int  # Q15: (input_scale / 128) / output_scale
    output_shift: int  # <= 0 (right shift)
    reluish_multiplier_q15: int  # Q15: (input_scale / 128) / (3 / 32768)
    reluish_shift: int  # positive = left (saturating), negative = rounding right shift


def _same_dtype_io(ctx: OpContext, *dtypes: str) -> tuple[Tensor, Tensor]:
    inp, out = ctx.input(0), ctx.output(0)
    if inp is None:
        raise ctx.fail("missing input")
    if inp.is_constant:
        raise ctx.fail("constant input is not supported")
    ctx.require_dtype(inp, *dtypes)
    ctx.require_dtype(out, inp.dtype)
    ctx.require_same_shape(inp, out)
    for t in (inp, out):
        ctx.require_quant(t)
        if not (math.isfinite(f32(t.scale)) and f32(t.scale) > 0):
            raise ctx.fail(f"{t.describe()} has scale {t.scale}; it must be positive and finite")
    return inp, out



def _suffix(dtype: str) -> str:
    return "s8" if dtype == "int8" else "s16"


@lowers("RELU", dtypes=("int8", "int16"))
def lower_relu(ctx: OpContext):
    """int8, or int16 with zero points 0 (TFLM requirement); input and output of the same dtype with
    per-tensor quantization. Requantizes input -> output scale, then clamps at the output's zero point."""
    inp, out = _same_dtype_io(ctx, "int8", "int16")
    if inp.dtype == "int16" and (inp.zero_point != 0 or out.zero_point != 0):
        raise ctx.fail("int16 RELU needs zero points 0 on input and output")
    qmin, qmax = DTYPE_RANGE[out.dtype]
    m, s = checked_multiplier(ctx, f32(inp.scale) / f32(out.scale), "input/output scale ratio")
    # TFLM: zero_point + (int)roundf(0.0f / scale); act_max is the dtype maximum (act_max = +inf).
    act_min = max(qmin, out.zero_point + round_half_away(float(np.float32(0.0) / np.float32(out.scale))))
    return ReluCall(
        **ctx.call_fields(f"tq_relu_{_suffix(inp.dtype)}", inputs=(inp.index,)),
        size=inp.size, input_offset=-inp.zero_point, output_offset=out.zero_point,
        multiplier=m, shift=s, act_min=act_min, act_max=qmax,
    )


@lowers("RELU6", dtypes=("int8", "int16"))
def lower_relu6(ctx: OpContext):
    """int8 or int16, same dtype in and out. TFLM clamps in the INPUT's units to [zero point, 6.0] and
    does not requantize (the output tensor's scale and zero point are ignored, as in TFLM)."""
    inp, _ = _same_dtype_io(ctx, "int8", "int16")
    qmin, qmax = DTYPE_RANGE[inp.dtype]
    # FloatToQuantizedType<T>(6.0f, scale, zero_point): round(6.0f / scale) in float32, clamped to T.
    with np.errstate(over="ignore"):  # a float32 overflow gives inf, refused below
        six_real = float(np.float32(6.0) / np.float32(inp.scale))
    if six_real > 2**31:  # TFLM's float -> int32 conversion would be undefined
        raise ctx.fail(f"{inp.describe()} has scale {inp.scale}: 6.0 is out of the int32 range")
    six = round_half_away(six_real) + inp.zero_point
    return Relu6Call(
        **ctx.call_fields(f"tq_relu6_{_suffix(inp.dtype)}", inputs=(inp.index,)),
        size=inp.size, lower=inp.zero_point, upper=min(max(six, qmin), qmax),
    )


@lowers("LEAKY_RELU", dtypes=("int8", "int16"))
def lower_leaky_relu(ctx: OpContext):
    """int8 or int16, same dtype in and out, per-tensor quantization; any alpha (negative alpha is
    applied as TFLM does: the magnitude's multiplier, then the sign)."""
    inp, out = _same_dtype_io(ctx, "int8", "int16")
    alpha = np.float32(ctx.op.option("alpha", 0.2))
    in_s, out_s = np.float32(inp.scale), np.float32(out.scale)
    # TFLM: static_cast<double>(input_scale * alpha / output_scale), all float32 operations.
    with np.errstate(over="ignore", invalid="ignore"):  # overflow gives inf/NaN, which _multiplier refuses
        alpha_real = float(np.float32(np.float32(in_s * alpha) / out_s))
        identity_real = float(np.float32(in_s / out_s))
    m_alpha, s_alpha = checked_multiplier(ctx, alpha_real, "alpha multiplier")
    m_id, s_id = checked_multiplier(ctx, identity_real, "input/output scale ratio")
    return LeakyReluCall(
        **ctx.call_fields(f"tq_leaky_relu_{_suffix(inp.dtype)}", inputs=(inp.index,)),
        size=inp.size, input_offset=-inp.zero_point, output_offset=out.zero_point,
        multiplier_identity=m_id, shift_identity=s_id, multiplier_alpha=m_alpha, shift_alpha=s_alpha,
    )


def _downscale_to_q15(m32: int) -> int:
    """TFLM DownScaleInt32ToInt16Multiplier: round a Q31 multiplier to Q15, saturating."""
    if m32 >= INT32_MAX - (1 << 15):
        return 32767
    return (m32 + (1 << 15)) >> 16


@lowers("HARD_SWISH", dtypes=("int8",))
def lower_hard_swish(ctx: OpContext):
    """int8 only (TFLM has no int16 HARD_SWISH); per-tensor quantization. TFLM's 16-bit fixed-point
    procedure; the output multiplier must not need a left shift (input_scale / output_scale < 128)."""
    inp, out = _same_dtype_io(ctx, "int8")
    f = np.float32
    hires_input_scale = f(f(1.0 / 128.0) * f(inp.scale))
    reluish_scale = f(f(3.0) / f(32768.0))
    with np.errstate(over="ignore"):  # overflow gives inf, which _multiplier refuses
        output_real = float(f(hires_input_scale / f(out.scale)))
        reluish_real = float(f(hires_input_scale / reluish_scale))
    out_m, out_shift = checked_multiplier(ctx, output_real, "output multiplier")
    if out_shift > 0:
        raise ctx.fail(f"output multiplier needs a left shift ({out_shift}): input scale >= 128 x output scale")
    rel_m, rel_shift = checked_multiplier(ctx, reluish_real, "reluish multiplier")
    return HardSwishCall(
        **ctx.call_fields("tq_hard_swish_s8", inputs=(inp.index,)),
        size=inp.size, input_offset=-inp.zero_point, output_offset=out.zero_point,
        output_multiplier_q15=_downscale_to_q15(out_m), output_shift=out_shift,
        reluish_multiplier_q15=_downscale_to_q15(rel_m), reluish_shift=rel_shift,
    )
