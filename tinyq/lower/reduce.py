"""MEAN -> tq_mean_s8 / tq_mean_s16, REDUCE_MAX -> tq_reduce_max_s8 (TFLM reduce.cc + reduce_common.cc,
reference reduce.h).

Consumes one MEAN or REDUCE_MAX op of the IR; produces one MeanCall / ReduceMaxCall whose fields are the members
of tq_mean_params / tq_reduce_max_params.

TFLM's integer MEAN (reference_ops::QuantizedMeanOrSum, for int8 and int16) sums the raw values in int32
(wrapping), subtracts zero_point * count, and requantizes once with multiplier/shift =
QuantizeMultiplier(input_scale / output_scale) into which 1/count has been folded (see _fold_count).
The tflite-micro runtime tinyq matches (0.dev20261023) takes this path for every axis set, keep_dims value and
quantization: older releases also had a truncating path for equal input/output quantization and a special
kernel for 4-D inputs reduced over axes [1, 2] with keep_dims, and reduced at most two axes (PR #3281, 2026-01,
moved the axis bookkeeping to scratch buffers). tests/ops/test_reduce.py pins each of those cases.

The reduced axes are described to the kernel by merging adjacent kept / reduced input dimensions into the
pattern [kept0, reduced0, kept1, reduced1, kept2, reduced2, kept3] (missing groups have size 1), which covers
every axis set of an input of rank <= 6.

REDUCE_MAX (TFLM PrepareMinMaxHelper / EvalMinMaxHelper) runs reference_ops::ReduceGeneric on the raw values,
which needs no arithmetic: TFLM refuses int8 unless the input and output scales (as float) and zero points are
equal, and refuses int16 altogether ("Only float32 and int8 types are supported").
"""
from __future__ import annotations

from dataclasses import dataclass

from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall
from tinyq.quant import f32, requant_multiplier

MAX_RANK = 6  # the largest rank whose every axis set fits the GROUPS slots
GROUPS = 7  # kept, reduced, kept, reduced, kept, reduced, kept


@dataclass(frozen=True, eq=False)
class MeanCall(KernelCall):
    params_type = "tq_mean_params"
    # 7 entries: input as [kept0, reduced0, kept1, reduced1, kept2, reduced2, kept3]; output as [kept0..3]
    dims: tuple[int, ...]
    count: int  # elements averaged per output: reduced0 * reduced1 * reduced2
    input_offset: int  # -input zero point
    output_offset: int  # +output zero point
    multiplier: int  # Q31, 1/count folded in
    shift: int  # positive = left


@dataclass(frozen=True, eq=False)
class ReduceMaxCall(KernelCall):
    params_type = "tq_reduce_max_params"
    dims: tuple[int, ...]  # as MeanCall.dims


def _fold_count(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """TFLM QuantizedMeanOrSum: fold 1/count into (multiplier, shift), keeping as many bits as fit.

    s = floor(log2(count)), limited to 32 and to 31 + shift; multiplier' = (multiplier << s) / count (C division
    of positive numbers, i.e. floor); shift' = shift - s.
    """
    s = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << s) // count, shift - s


def merge_axes(shape: tuple[int, ...], reduced: set[int]) -> tuple[int, ...] | None:
    """shape -> [kept0, reduced0, kept1, reduced1, kept2, reduced2, kept3] (products of adjacent dims), or None
    if that is not enough groups. Size-1 dimensions are dropped: they change neither values nor order."""
    groups: list[list] = []  # [is_reduced, size]
    for d, size in enumerate(shape):
        if size == 1:
            continue
        kind = d in reduced
        if groups and groups[-1][0] == kind:
            groups[-1][1] *= size
        else:
            groups.append([kind, size])
    if groups and groups[0][0]:
        groups.insert(0, [False, 1])
    sizes = [size for _, size in groups]
    if len(sizes) > GROUPS:
        return None
    return tuple(sizes + [1] * (GROUPS - len(sizes)))


def _reduced_dims(ctx: OpContext, *dtypes: str):
    """The checks MEAN and REDUCE_MAX share: input/output of `dtypes`, rank <= 6, no empty tensor, constant int32
    axes (negatives wrap and duplicates drop, as TFLM's ResolveAxis; out of range is refused as there), and an
    output of the kept elements' count. -> (input, output, merged dims)."""
    inp, out = ctx.quantized_io(*dtypes)
    axis = ctx.const_input(1, "axes")
    ctx.require_dtype(axis, "int32")
    rank = len(inp.shape)
    if rank > MAX_RANK:
        raise ctx.fail(f"input rank {rank} exceeds {MAX_RANK}")
    if inp.size == 0 or out.size == 0:
        raise ctx.fail("empty tensors are not supported")
    resolved: list[int] = []
    for given in axis.data.reshape(-1).tolist():
        a = given + rank if given < 0 else given
        if not 0 <= a < rank:
            raise ctx.fail(f"axis {given} is out of range for a rank-{rank} input")
        if a not in resolved:
            resolved.append(a)
    dims = merge_axes(tuple(inp.shape), set(resolved))
    assert dims is not None  # rank <= 6 makes at most 6 groups, plus a leading kept group of 1
    # TFLM takes the output's shape as given and writes each result at its kept-index offset: only the count matters
    if out.size != dims[0] * dims[2] * dims[4] * dims[6]:
        raise ctx.fail(f"output shape {list(out.shape)} does not match input {list(inp.shape)} reduced over {resolved}")
    return inp, out, dims


@lowers("MEAN", dtypes=("int8", "int16"))
def lower_mean(ctx: OpContext):
    """int8 or int16 input and output (per-tensor quantization), input rank <= 6, constant int32 axes (any set;
    negative and repeated axes are resolved as TFLM does), keep_dims true or false.
    The mean is requantized with 1/count folded into the multiplier, as TFLM's reference kernel."""
    inp, out, dims = _reduced_dims(ctx, "int8", "int16")
    count = dims[1] * dims[3] * dims[5]
    # TFLM PrepareMeanOrSumHelper: double(input scale) / double(output scale)
    multiplier, shift = _fold_count(*requant_multiplier(f32(inp.scale) / f32(out.scale)), count)
    return MeanCall(
        **ctx.call_fields(f"tq_mean_{'s8' if inp.dtype == 'int8' else 's16'}", inputs=(inp.index,)),
        dims=dims,
        count=count,
        input_offset=-inp.zero_point,
        output_offset=out.zero_point,
        multiplier=multiplier,
        shift=shift,
    )


@lowers("REDUCE_MAX", dtypes=("int8",))
def lower_reduce_max(ctx: OpContext):
    """int8 input and output with equal scale and zero point (per-tensor quantization), input rank <= 6, constant
    int32 axes (any set; negative and repeated axes are resolved as TFLM does), keep_dims true or
    false. int16 is refused, as TFLM refuses it."""
    inp = ctx.input(0)
    if inp is not None and inp.dtype == "int16":  # 16x8 converters emit it; TFLM refuses it
        raise ctx.fail(f"{inp.describe()} has dtype int16; TFLM's REDUCE_MAX supports int8 only")
    inp, out, dims = _reduced_dims(ctx, "int8")
    # TFLM EvalMinMaxHelper compares the float scales (widened to double) and the zero points
    if f32(inp.scale) != f32(out.scale) or inp.zero_point != out.zero_point:
        raise ctx.fail(f"input quantization (scale {inp.scale!r}, zero point {inp.zero_point}) differs from the "
                       f"output's (scale {out.scale!r}, zero point {out.zero_point}); TFLM requires them equal")
    return ReduceMaxCall(**ctx.call_fields("tq_reduce_max_s8", inputs=(inp.index,)), dims=dims)
