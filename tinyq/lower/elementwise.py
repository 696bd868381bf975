"""ADD, SUB, MUL, MAXIMUM, MINIMUM -> tq_<op>_s8 / tq_<op>_s16 records (TFLM reference kernels).

Consumes one binary op of the Graph; produces one record holding TFLM's Prepare-time parameters and
a broadcast loop nest. Broadcasting follows TFLM's BroadcastBinaryOpSimple: shapes are right-aligned,
a size-1 dimension repeats, size-1 output dimensions are dropped, and neighbouring dimensions that
walk both inputs contiguously (or keep both fixed) are merged. The C kernel therefore runs one flat
loop for equal shapes, and an odometer over at most TQ_ELEMENTWISE_MAX_RANK loops otherwise; the
innermost loop is always a contiguous output row along which each input advances by 1 or stays put.

A constant operand becomes a const array in the record (input1_const / input2_const) and the kernel
is the one-input variant tq_<op>_const_<dtype>(params, input, output); the activation operand takes
the other slot.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.lower.common import fused_activation_range
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32, quantize_multiplier

MAX_RANK = 6  # TQ_ELEMENTWISE_MAX_RANK in firmware/include/tinyq/tq_elementwise.h
SUFFIX = {"int8": "s8", "int16": "s16"}


@dataclass(frozen=True, eq=False)
class ElementwiseCall(KernelCall):
    """The broadcast loop nest and constant operands shared by every elementwise kernel (MAXIMUM, MINIMUM)."""

    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_elementwise_params"
    rank: int  # loops in the nest, 1..MAX_RANK; the last one is the contiguous output row
    shape: tuple[int, ...]  # [rank] output extents, outermost first
    input1_stride: tuple[int, ...]  # [rank] elements to step in input 1 per loop step; 0 = broadcast
    input2_stride: tuple[int, ...]
    input1_const: np.ndarray | None  # constant input 1 (flat, its own shape's row-major order), or None
    input2_const: np.ndarray | None


@dataclass(frozen=True, eq=False)
class MulCall(ElementwiseCall):
    """MUL: out = MBQM((x1 + input1_offset) * (x2 + input2_offset), output_multiplier, output_shift)."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int  # positive = left
    act_min: int
    act_max: int


@dataclass(frozen=True, eq=False)
class AddSubCall(ElementwiseCall):
    """ADD/SUB: both inputs rescaled to a common scale with `left_shift` headroom, summed, rescaled."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int  # 20 for int8, 15 for int16 (TFLM)
    input1_multiplier: int
    input1_shift: int  # <= 0
    input2_multiplier: int
    input2_shift: int  # <= 0
    output_multiplier: int
    output_shift: int  # <= 0
    act_min: int
    act_max: int


def broadcast_loops(shape1, shape2, out_shape) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | str:
    """(extents, input1 strides, input2 strides), outermost loop first, or the reason the shapes do not broadcast.

    The same loops TFLM's BroadcastBinaryOpSimple fuses, so the innermost loop's strides are 0 or 1 and
    never both 0.
    """
    rank = max(len(shape1), len(shape2), len(out_shape))
    s1 = (1,) * (rank - len(shape1)) + tuple(shape1)
    s2 = (1,) * (rank - len(shape2)) + tuple(shape2)
    so = (1,) * (rank - len(out_shape)) + tuple(out_shape)
    loops: list[list[int]] = []  # innermost first: [extent, stride1, stride2]
    acc1 = acc2 = 1
    for d1, d2, do in zip(reversed(s1), reversed(s2), reversed(so)):
        if d1 not in (1, do) or d2 not in (1, do) or do != max(d1, d2):
            return f"shapes {list(shape1)} and {list(shape2)} do not broadcast to the output shape {list(out_shape)}"
        if do != 1:
            st1 = 0 if d1 == 1 else acc1
            st2 = 0 if d2 == 1 else acc2
            if loops and st1 == loops[-1][1] * loops[-1][0] and st2 == loops[-1][2] * loops[-1][0]:
                loops[-1][0] *= do  # walks both inputs exactly like the loop inside it: merge
            else:
                loops.append([do, st1, st2])
        acc1 *= d1
        acc2 *= d2
    if not loops:  # a single element
        loops = [[1, 1, 1]]
    loops.reverse()
    return tuple(loop[0] for loop in loops), tuple(loop[1] for loop in loops), tuple(loop[2] for loop in loops)


def _operands(ctx: OpContext, quantized: bool):
    """Checks shared by every elementwise op; returns (in1, in2, out, record fields for the loop nest)."""
    in1, in2, out = ctx.input(0), ctx.input(1), ctx.output(0)
    if in1 is None or in2 is None:
        raise ctx.fail("needs two inputs")
    for t in (in1, in2, out):
        ctx.require_dtype(t, "int8", "int16")
    if not in1.dtype == in2.dtype == out.dtype:
        raise ctx.fail(f"inputs and output must share one dtype, got {in1.dtype}, {in2.dtype} -> {out.dtype}")
    if quantized:
        for t in (in1, in2, out):
            ctx.require_quant(t)
    if in1.is_constant and in2.is_constant:
        raise ctx.fail("both inputs are constant (the converter should have folded this op)")
    if out.size == 0:
        raise ctx.fail(f"{out.describe()} is empty")
    loops = broadcast_loops(in1.shape, in2.shape, out.shape)
    if isinstance(loops, str):
        raise ctx.fail(loops)
    extents, stride1, stride2 = loops
    if len(extents) > MAX_RANK:
        raise ctx.fail(f"broadcast needs {len(extents)} loops after merging dimensions; at most {MAX_RANK} are supported")
    activation = [t.index for t in (in1, in2) if not t.is_constant]
    const_variant = "_const" if len(activation) == 1 else ""
    np_dtype = np.dtype(out.dtype)

    def const(t: Tensor):
        return const_array(t.data.reshape(-1), np_dtype) if t.is_constant else None

    kernel = f"tq_{ctx.op.opcode.lower()}{const_variant}_{SUFFIX[out.dtype]}"
    fields = dict(
        **ctx.call_fields(kernel, inputs=activation),
        rank=len(extents),
        shape=extents,
        input1_stride=stride1,
        input2_stride=stride2,
        input1_const=const(in1),
        input2_const=const(in2),
    )
    return in1, in2, out, fields


def _smaller_than_one(ctx: OpContext, real: float, what: str) -> tuple[int, int]:
    """TFLM QuantizeMultiplierSmallerThanOneExp, whose CHECKs become a located error."""
    if 0.0 < real < 1.0:
        multiplier, shift = quantize_multiplier(real)
        if shift <= 0:  # a value just below 1 can round up to 1.0
            return multiplier, shift
    raise ctx.fail(f"{what} rescale multiplier {real!r} is outside (0, 1) (check the tensors' scales)")


def _activation(ctx: OpContext, out: Tensor) -> tuple[int, int]:
    return fused_activation_range(ctx.op.option("fused_activation_function", 0), out)


@lowers("ADD", "SUB", dtypes=("int8", "int16"))
def lower_add_sub(ctx: OpContext):
    """int8 or int16 inputs and output (one dtype), per-tensor quantization, any zero points.
    Broadcasting as TFLite (right-aligned, size-1 dimensions repeat), at most 6 loops after merging
    dimensions that need no index arithmetic. One input may be constant. Fused NONE/RELU/RELU6/RELU_N1_TO_1.
    Arithmetic is TFLM's general rescaling path (left shift 20 for int8, 15 for int16); TFLM ignores
    pot_scale_int16, and so does tinyq."""
    in1, in2, out, fields = _operands(ctx, quantized=True)
    left_shift = 15 if out.dtype == "int16" else 20
    s1, s2, so = f32(in1.scale), f32(in2.scale), f32(out.scale)
    # TFLM add_common.cc / sub_common.cc: the ratios in double (SUB doubles the larger scale in float
    # first, which is exact; older TFLM releases took SUB's ratios in float32 and differ by 1 LSB at times)
    twice_max = 2 * max(s1, s2)
    real1, real2 = s1 / twice_max, s2 / twice_max
    real_out = twice_max / ((1 << left_shift) * so)
    m1, sh1 = _smaller_than_one(ctx, real1, "input 1")
    m2, sh2 = _smaller_than_one(ctx, real2, "input 2")
    mo, sho = _smaller_than_one(ctx, real_out, "output")
    act_min, act_max = _activation(ctx, out)
    return AddSubCall(
        **fields,
        input1_offset=-in1.zero_point,
        input2_offset=-in2.zero_point,
        output_offset=out.zero_point,
        left_shift=left_shift,
        input1_multiplier=m1,
        input1_shift=sh1,
        input2_multiplier=m2,
        input2_shift=sh2,
        output_multiplier=mo,
        output_shift=sho,
        act_min=act_min,
        act_max=act_max,
    )


@lowers("MUL", dtypes=("int8", "int16"))
def lower_mul(ctx: OpContext):
    """int8 or int16 inputs and output (one dtype), per-tensor quantization; int16 needs zero points 0
    (as TFLM). Broadcasting as ADD. One input may be constant. Fused NONE/RELU/RELU6/RELU_N1_TO_1."""
    in1, in2, out, fields = _operands(ctx, quantized=True)
    if out.dtype == "int16" and (in1.zero_point or in2.zero_point or out.zero_point):
        raise ctx.fail("int16 MUL needs zero points 0 on both inputs and the output")
    # TFLM mul_common.cc: double(s1) * double(s2) / double(so)
    multiplier, shift = quantize_multiplier(f32(in1.scale) * f32(in2.scale) / f32(out.scale))
    if shift > 30:
        raise ctx.fail(f"output rescale shift {shift} is out of range (scales give a multiplier above 2^30)")
    act_min, act_max = _activation(ctx, out)
    return MulCall(
        **fields,
        input1_offset=-in1.zero_point,
        input2_offset=-in2.zero_point,
        output_offset=out.zero_point,
        output_multiplier=multiplier,
        output_shift=shift,
        act_min=act_min,
        act_max=act_max,
    )


@lowers("MAXIMUM", "MINIMUM", dtypes=("int8", "int16"))
def lower_maximum_minimum(ctx: OpContext):
    """int8 or int16 inputs and output (one dtype). Broadcasting as ADD; one input may be constant.
    Compares the stored integers without rescaling, exactly as TFLM (the converter gives inputs and
    output one quantization)."""
    _, _, _, fields = _operands(ctx, quantized=False)
    return ElementwiseCall(**fields)
