"""FULLY_CONNECTED -> tq_fully_connected_s8 / tq_fully_connected_s16 (TFLM reference_integer_ops)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower import OpContext, lowers
from tinyq.lower.common import check_acc64_range, fused_activation_range, per_channel_requant
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32

_TENSOR_TYPE_INT32 = 2  # TFLite TensorType, as FullyConnectedOptions.quantized_bias_type stores it


@dataclass(frozen=True, eq=False)
class FullyConnectedCall(KernelCall):
    params_type = "tq_fully_connected_params"
    batches: int  # rows: input size / accum_depth
    accum_depth: int
    output_depth: int
    input_offset: int
    filter_offset: int
    output_offset: int
    act_min: int
    act_max: int
    per_channel: bool  # multiplier/shift have output_depth entries (else one)
    acc64: bool  # 16x8 only: int64 sum + int64 requant (int64 bias); 0: int32 sum + int32 requant
    weights: np.ndarray | None  # int8 (None when packed) [output_depth, accum_depth]
    bias: np.ndarray | None  # int32 (s8) or int64 (s16) [output_depth], or None
    multiplier: np.ndarray  # int32
    shift: np.ndarray  # int32
    packed: object | None = None  # tinyq.encode.apply.PackedWeights when encoded (then weights is None)


@lowers("FULLY_CONNECTED", dtypes=("int8", "int16"))
def lower_fully_connected(ctx: OpContext):
    """int8 or int16 input/output with int8 weights (per-tensor or per-channel, zero point 0), optional bias (int32 for int8;
    int32 or int64 for 16x8, which picks TFLM's 32- or 64-bit accumulator).
    Weights must be constant; keep_num_dims and any input rank are accepted (input is flattened to rows)."""
    inp, out = ctx.quantized_io("int8", "int16")
    weights = ctx.int8_weights(1, "weights")
    bias = ctx.input(2)
    if len(weights.shape) != 2:
        raise ctx.fail(f"weights must be 2-D, got {list(weights.shape)}")
    if ctx.op.option("weights_format", 0) != 0:
        raise ctx.fail("shuffled weights format is not supported")
    output_depth, accum_depth = weights.shape
    if inp.size % accum_depth:
        raise ctx.fail(f"input size {inp.size} is not a multiple of the weights' depth {accum_depth}")
    if inp.dtype == "int16" and inp.zero_point != 0:
        raise ctx.fail("int16 input must have zero point 0")
    # TFLite's int8 spec fixes weight zero points at 0 and TFLM's result with another one is not the
    # textbook (w - zp) sum (measured: they differ): refuse rather than guess, as conv does.
    if any(zp != 0 for zp in weights.quant.zero_point):
        raise ctx.fail(f"weights {weights.describe()} have a non-zero zero point (TFLite's int8 spec fixes it at 0)")
    bias_data = None
    # TFLM's 16x8 kernel accumulates in the bias's type (int64 -> int64 sum and the int64 requantize;
    # int32 -> int32 sum and the int32 one); with no bias, the op's quantized_bias_type decides.
    acc64 = inp.dtype == "int16" and ctx.op.option("quantized_bias_type", 0) != _TENSOR_TYPE_INT32
    if bias is not None:
        if bias.data is None:
            raise ctx.fail("bias (input 2) must be a constant tensor")
        if bias.size != output_depth:
            raise ctx.fail(f"bias {bias.describe()} must have {output_depth} values")
        ctx.require_dtype(bias, *(("int32",) if inp.dtype == "int8" else ("int32", "int64")))
        # TFLM's GetQuantizedConvolutionMultipler: the bias scale (0 when it has none) must be close to
        # input scale x weight scale, relative to the output scale, or Prepare fails.
        product = f32(inp.scale) * f32(weights.quant.scale[0])
        if not abs(product - f32(bias.scale)) / f32(out.scale) <= 0.02:
            raise ctx.fail(f"bias {bias.describe()} has scale {bias.scale:g}, but input scale x weight scale is "
                           f"{product:g} (TFLM requires |difference| / output scale <= 0.02)")
        acc64 = bias.dtype == "int64"
        bias_data = const_array(bias.data.reshape(-1), np.int64 if acc64 else np.int32)
    # TFLM takes the rows from the output shape: it must hold output_depth values per input row.
    batches = inp.size // accum_depth
    if not out.shape or out.shape[-1] != output_depth or out.size != batches * output_depth:
        raise ctx.fail(f"output shape {list(out.shape)} does not hold {batches} rows of {output_depth} values")
    multiplier, shift = per_channel_requant(inp, weights, out, output_depth if weights.quant.per_channel else 1)
    if acc64 and int(shift.max()) > 7:  # the int64 requantize's contract (tq_fixedpoint.h)
        raise ctx.fail(f"requantization shift {int(shift.max())} is too large for the 16x8 kernel (> 7)")
    if acc64:
        check_acc64_range(ctx, bias_data, accum_depth)
    act_min, act_max = fused_activation_range(ctx.op.option("fused_activation_function", 0), out)
    suffix = "s8" if inp.dtype == "int8" else "s16"
    return FullyConnectedCall(
        **ctx.call_fields(f"tq_fully_connected_{suffix}", inputs=(inp.index,)),
        batches=batches,
        accum_depth=accum_depth,
        output_depth=output_depth,
        input_offset=-inp.zero_point,
        filter_offset=-weights.zero_point,
        output_offset=out.zero_point,
        act_min=act_min,
        act_max=act_max,
        per_channel=weights.quant.per_channel,
        acc64=acc64,
        weights=const_array(weights.data, np.int8),
        bias=bias_data,
        multiplier=multiplier,
        shift=shift,
    )
