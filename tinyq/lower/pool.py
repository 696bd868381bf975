"""AVERAGE_POOL_2D / MAX_POOL_2D -> tq_avgpool_s8/_s16, tq_maxpool_s8/_s16 (TFLM pooling_common.cc).

Consumes one pooling op of the IR; produces one PoolCall whose fields are the members of tq_pool_params.
TFLM pools raw quantized values (input and output share scale and zero point, which Prepare checks), so the
record holds only geometry, the leading padding and the clamp of the fused activation.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinyq.lower import OpContext, lowers
from tinyq.lower.common import PADDING_SAME, PADDING_VALID, conv_output_size, conv_padding, fused_activation_range
from tinyq.program import KernelCall
from tinyq.quant import f32

MAX_AVG_WINDOW_S8 = 1 << 24  # int8 sums of larger windows could overflow the int32 accumulator
MAX_AVG_WINDOW_S16 = 65536  # int16 sums of larger windows could overflow TFLM's int32 accumulator


@dataclass(frozen=True, eq=False)
class PoolCall(KernelCall):
    params_type = "tq_pool_params"
    batches: int
    input_h: int
    input_w: int
    depth: int  # channels (same in input and output)
    output_h: int
    output_w: int
    stride_h: int
    stride_w: int
    filter_h: int
    filter_w: int
    pad_h: int  # rows of implicit padding before the first input row (SAME); 0 for VALID
    pad_w: int
    act_min: int  # fused activation clamp, in the output's (= input's) quantized units
    act_max: int


@lowers("AVERAGE_POOL_2D", "MAX_POOL_2D", dtypes=("int8", "int16"))
def lower_pool(ctx: OpContext):
    """int8 or int16 NHWC input and output with the same scale (within 1e-6, as TFLM checks) and zero point.
    Any filter size and stride, SAME or VALID padding, fused NONE/RELU/RELU_N1_TO_1/RELU6.
    Average pooling divides by the number of window elements inside the input (padding is not counted) and
    rounds half away from zero, as TFLM. int16 average windows are limited to 65536 elements."""
    inp, out = ctx.quantized_io("int8", "int16")
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ctx.fail(f"input and output must be 4-D (NHWC), got {list(inp.shape)} and {list(out.shape)}")
    # TFLM PoolingPrepare: the pooled values are not rescaled, so the quantization must match
    if abs(f32(inp.scale) - f32(out.scale)) > 1.0e-6 or inp.zero_point != out.zero_point:
        raise ctx.fail(
            f"input and output quantization differ (scale {inp.scale:g} vs {out.scale:g}, zero point "
            f"{inp.zero_point} vs {out.zero_point}); TFLM requires them equal for pooling"
        )
    o = ctx.op.option
    stride_h, stride_w = int(o("stride_h", 1)), int(o("stride_w", 1))
    filter_h, filter_w = int(o("filter_height", 1)), int(o("filter_width", 1))
    padding = int(o("padding", PADDING_SAME))
    if min(stride_h, stride_w, filter_h, filter_w) < 1:
        raise ctx.fail(f"stride {stride_h}x{stride_w} and filter {filter_h}x{filter_w} must be positive")
    if padding not in (PADDING_SAME, PADDING_VALID):
        raise ctx.fail(f"padding type {padding} is not supported")
    batches, in_h, in_w, depth = inp.shape
    # A window more than twice its input covers only padding; much larger ones overflow int32 indices.
    if filter_h > 2 * in_h + 1 or filter_w > 2 * in_w + 1:
        raise ctx.fail(f"pooling window {filter_h}x{filter_w} is more than twice the input's {in_h}x{in_w}")
    out_h = conv_output_size(padding, in_h, filter_h, stride_h)
    out_w = conv_output_size(padding, in_w, filter_w, stride_w)
    if tuple(out.shape) != (batches, out_h, out_w, depth):
        expected = [batches, out_h, out_w, depth]
        raise ctx.fail(f"output shape {list(out.shape)} does not match the pooling geometry {expected}")
    if min(out.shape) < 1 or min(inp.shape) < 1:
        raise ctx.fail("empty tensors are not supported")
    avg = ctx.op.opcode == "AVERAGE_POOL_2D"
    if avg and inp.dtype == "int8" and filter_h * filter_w > MAX_AVG_WINDOW_S8:
        raise ctx.fail(f"int8 average window {filter_h}x{filter_w} exceeds {MAX_AVG_WINDOW_S8} elements")
    if avg and inp.dtype == "int16" and filter_h * filter_w > MAX_AVG_WINDOW_S16:
        raise ctx.fail(f"int16 average window {filter_h}x{filter_w} exceeds {MAX_AVG_WINDOW_S16} elements")
    pad_h, _ = conv_padding(padding, in_h, filter_h, stride_h, 1, out_h)
    pad_w, _ = conv_padding(padding, in_w, filter_w, stride_w, 1, out_w)
    act_min, act_max = fused_activation_range(o("fused_activation_function", 0), out)
    suffix = "s8" if inp.dtype == "int8" else "s16"
    return PoolCall(
        **ctx.call_fields(f"tq_{'avgpool' if avg else 'maxpool'}_{suffix}", inputs=(inp.index,)),
        batches=batches,
        input_h=in_h,
        input_w=in_w,
        depth=depth,
        output_h=out_h,
        output_w=out_w,
        stride_h=stride_h,
        stride_w=stride_w,
        filter_h=filter_h,
        filter_w=filter_w,
        pad_h=pad_h,
        pad_w=pad_w,
        act_min=act_min,
        act_max=act_max,
    )
