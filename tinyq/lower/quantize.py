"""QUANTIZE and DEQUANTIZE -> tq_quantize_f32_*, tq_requantize_*_*, tq_dequantize_*_f32
(TFLM quantize_common.cc / dequantize_common.cc and reference AffineQuantize, Requantize, Dequantize).

float32 <-> integer conversions are the only tinyq kernels that use float at run time; they evaluate
TFLM's exact float32 expressions. Integer -> integer QUANTIZE is TFLM's Requantize (int32 arithmetic).

uint8 is a tinyq dtype only here, as TFLM has it: QUANTIZE uint8 -> int8 and int8 -> uint8 (the edges the
converter adds for inference_input_type / inference_output_type=tf.uint8) and DEQUANTIZE uint8 -> float32.
TFLM's float32 -> uint8 QUANTIZE fails at Eval, so tinyq refuses it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall
from tinyq.quant import f32, quantize_multiplier

_SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}
# (input, output) integer pairs TFLM's QUANTIZE requantizes (quantize_common.cc EvalQuantizeReference)
REQUANTIZE_PAIRS = {
    ("int8", "int8"), ("int8", "int16"), ("int8", "int32"), ("int16", "int8"), ("int16", "int16"),
    ("int16", "int32"), ("int32", "int8"), ("int32", "int16"), ("uint8", "int8"), ("int8", "uint8"),
}


@dataclass(frozen=True, eq=False)
class QuantizeCall(KernelCall):
    """float32 -> int: clamp(round_half_away(x / scale) + output_offset), the division in float32."""

    params_type = "tq_quantize_params"
    size: int  # elements
    scale: float  # output scale (float32)
    output_offset: int  # +output zero point


@dataclass(frozen=True, eq=False)
class RequantizeCall(KernelCall):
    params_type = "tq_requantize_params"
    size: int
    input_offset: int  # -input zero point
    output_offset: int  # +output zero point
    multiplier: int  # Q31: input_scale / output_scale
    shift: int  # positive = left


@dataclass(frozen=True, eq=False)
class DequantizeCall(KernelCall):
    """int -> float32: scale * (float)(x + input_offset), one float32 multiply."""

    params_type = "tq_dequantize_params"
    size: int
    input_offset: int  # -input zero point
    scale: float  # input scale (float32)


def _require_scale(ctx: OpContext, t: Tensor) -> None:
    ctx.require_quant(t)
    if not (math.isfinite(f32(t.scale)) and f32(t.scale) > 0):
        raise ctx.fail(f"{t.describe()} has scale {t.scale}; it must be positive and finite")


def _activation_input(ctx: OpContext) -> Tensor:
    inp = ctx.input(0)
    if inp is None:
        raise ctx.fail("missing input")
    if inp.is_constant:
        raise ctx.fail("constant input is not supported (fold it before conversion)")
    ctx.require_same_shape(inp, ctx.output(0))
    return inp


@lowers("QUANTIZE", dtypes=("int8", "int16", "uint8"))
def lower_quantize(ctx: OpContext):
    """float32 -> int8/int16; or integer requantization int8 -> int8/int16/int32/uint8, int16 -> int8/int16/int32,
    int32 -> int8/int16, uint8 -> int8. Per-tensor quantization only. float32 inputs with |x / scale| >= 2**31
    (where TFLM's float->int32 cast is undefined) saturate, +-inf included; NaN gives the zero point (TFLM on a
    Cortex-M)."""
    inp, out = _activation_input(ctx), ctx.output(0)
    if inp.dtype == "float32":
        if out.dtype == "uint8":  # TFLM's Prepare lets it through, its Eval fails
            raise ctx.fail("QUANTIZE float32 -> uint8 is not supported (TFLM has no such kernel); quantize to int8")
        ctx.require_dtype(out, "int8", "int16")
        _require_scale(ctx, out)
        return QuantizeCall(
            **ctx.call_fields(f"tq_quantize_f32_{_SUFFIX[out.dtype]}", inputs=(inp.index,)),
            size=inp.size, scale=f32(out.scale), output_offset=out.zero_point,
        )
    ctx.require_dtype(inp, "int8", "int16", "int32", "uint8")
    ctx.require_dtype(out, "int8", "int16", "int32", "uint8")
    if (inp.dtype, out.dtype) not in REQUANTIZE_PAIRS:
        raise ctx.fail(f"requantizing {inp.dtype} to {out.dtype} is not supported (TFLM has no such kernel)")
    _require_scale(ctx, inp)
    _require_scale(ctx, out)
    multiplier, shift = quantize_multiplier(f32(inp.scale) / f32(out.scale))
    if shift > 30:
        raise ctx.fail(f"input/output scale ratio {inp.scale / out.scale:g} is too large (shift {shift} > 30)")
    return RequantizeCall(
        **ctx.call_fields(f"tq_requantize_{_SUFFIX[inp.dtype]}_{_SUFFIX[out.dtype]}", inputs=(inp.index,)),
        size=inp.size, input_offset=-inp.zero_point, output_offset=out.zero_point,
        multiplier=multiplier, shift=shift,
    )


@lowers("DEQUANTIZE", dtypes=("int8", "int16", "uint8"))
def lower_dequantize(ctx: OpContext):
    """int8/int16/uint8 activation -> float32, per-tensor quantization (constant inputs are refused)."""
    inp, out = _activation_input(ctx), ctx.output(0)
    ctx.require_dtype(inp, "int8", "int16", "uint8")
    ctx.require_dtype(out, "float32")
    _require_scale(ctx, inp)
    return DequantizeCall(
        **ctx.call_fields(f"tq_dequantize_{_SUFFIX[inp.dtype]}_f32", inputs=(inp.index,)),
        size=inp.size, input_offset=-inp.zero_point, scale=f32(inp.scale),
    )
