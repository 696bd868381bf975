"""PRELU -> tq_prelu_s8 / tq_prelu_s16 (alpha an activation) or tq_prelu_const_s8 / _s16 (alpha constant).

TFLM (prelu_common.cc CalculatePreluParams, reference_ops::BroadcastPrelu4DSlow): with v = x - input zero point,
    out = clamp(MBQM(v, m1, s1) + output zero point)                            when v >= 0
    out = clamp(MBQM(v * (alpha - alpha zero point), m2, s2) + output zero point)  when v < 0
where m1 = double(input_scale) / double(output_scale) and m2 = double(input_scale) * double(alpha_scale) /
double(output_scale), each through QuantizeMultiplier; the clamp is the output dtype's range (PRELU has no fused
activation). Alpha broadcasts against the input as TFLM's BroadcastBinaryOpSimple does (right-aligned, size-1
dimensions repeat, either operand may be the smaller); the loop nest is the one ADD uses
(tinyq.lower.elementwise.broadcast_loops), so the usual per-channel alpha [C] or [1, 1, C] against [1, H, W, C]
becomes two loops: H*W rows of C, alpha stepping 0 per row and 1 along it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.lower.common import checked_multiplier
from tinyq.lower.elementwise import MAX_RANK, broadcast_loops
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32

SUFFIX = {"int8": "s8", "int16": "s16"}


@dataclass(frozen=True, eq=False)
class PreluCall(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_prelu_params"
    rank: int  # loops in the nest, 1..MAX_RANK; the last one is the contiguous output row
    shape: tuple[int, ...]  # [rank] output extents, outermost first
    input_stride: tuple[int, ...]  # [rank] elements the input steps per loop step; 0 = broadcast
    alpha_stride: tuple[int, ...]
    alpha_const: np.ndarray | None  # int8, the constant alpha in its own shape's row-major order, or None
    input_offset: int  # -input zero point
    alpha_offset: int  # -alpha zero point
    output_offset: int  # +output zero point
    multiplier_identity: int  # Q31: input_scale / output_scale (inputs >= zero point)
    shift_identity: int  # positive = left
    multiplier_alpha: int  # Q31: input_scale * alpha_scale / output_scale (inputs below it)
    shift_alpha: int


def _alpha_quant(ctx: OpContext, alpha: Tensor) -> tuple[float, int]:
    """Alpha's (scale, zero point). TFLM reads only the first entry of a per-channel quantization and applies it
    to every channel; tinyq takes a per-channel alpha only when all its entries agree (then the two readings
    are the same) and refuses it otherwise, rather than silently misread the other channels."""
    ctx.require_quant(alpha, per_tensor=False)
    q = alpha.quant
    if len(set(q.scale)) > 1 or len(set(q.zero_point)) > 1:
        raise ctx.fail(f"{alpha.describe()} has per-channel quantization ({len(q.scale)} scales) whose scales or "
                       "zero points differ; TFLM would apply the first to every channel, so tinyq refuses it")
    return f32(q.scale[0]), int(q.zero_point[0])


@lowers("PRELU", dtypes=("int8", "int16"))
def lower_prelu(ctx: OpContext):
    """int8 input and output with an int8 alpha, or int16 input and output with an int8 alpha (as TFLM, which has
    no int16 alpha); input and output per-tensor quantized, any zero points. Alpha may be constant (the usual
    case, stored in flash as int8) or an activation tensor; a per-channel alpha quantization is taken only when
    every channel has the same scale and zero point (TFLM reads the first for all). Broadcasting as ADD (either
    operand may broadcast), at most 6 loops after merging dimensions; no fused activation."""
    inp, alpha, out = ctx.input(0), ctx.input(1), ctx.output(0)
    if inp is None or alpha is None:
        raise ctx.fail("needs an input and an alpha")
    if inp.is_constant:
        raise ctx.fail("constant input 0 is not supported (the converter folds such an op)")
    ctx.require_dtype(inp, "int8", "int16")
    ctx.require_dtype(out, inp.dtype)
    ctx.require_dtype(alpha, "int8")  # TFLM reads alpha as int8 for both input dtypes
    ctx.require_quant(inp)
    ctx.require_quant(out)
    alpha_scale, alpha_zp = _alpha_quant(ctx, alpha)
    if out.size == 0:
        raise ctx.fail(f"{out.describe()} is empty")
    loops = broadcast_loops(inp.shape, alpha.shape, out.shape)
    if isinstance(loops, str):
        raise ctx.fail(loops)
    extents, input_stride, alpha_stride = loops
    if len(extents) > MAX_RANK:
        raise ctx.fail(f"broadcast needs {len(extents)} loops after merging dimensions; "
                       f"at most {MAX_RANK} are supported")
    in_s, out_s = f32(inp.scale), f32(out.scale)
    m1, s1 = checked_multiplier(ctx, in_s / out_s, "input/output scale ratio")
    m2, s2 = checked_multiplier(ctx, in_s * alpha_scale / out_s, "alpha multiplier (input * alpha / output scale)")
    const = alpha.is_constant
    kernel = f"tq_prelu{'_const' if const else ''}_{SUFFIX[inp.dtype]}"
    return PreluCall(
        **ctx.call_fields(kernel, inputs=(inp.index,) if const else (inp.index, alpha.index)),
        rank=len(extents), shape=extents, input_stride=input_stride, alpha_stride=alpha_stride,
        alpha_const=const_array(alpha.data.reshape(-1), np.int8) if const else None,
        input_offset=-inp.zero_point, alpha_offset=-alpha_zp, output_offset=out.zero_point,
        multiplier_identity=m1, shift_identity=s1, multiplier_alpha=m2, shift_alpha=s2,
    )
