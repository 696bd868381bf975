"""CONV_2D -> tq_conv_s8 / tq_conv_s16, DEPTHWISE_CONV_2D -> tq_depthwise_conv_s8 / tq_depthwise_conv_s16.

Parameters are computed as TFLM's ConvPrepare / DepthwiseConvPrepare do (conv_common.cc,
depthwise_conv_common.cc, PopulateConvolutionQuantizationParams, ComputePaddingHeightWidth), for the
reference kernels reference_integer_ops::ConvPerChannel and DepthwiseConvPerChannel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.lower.common import (
    PADDING_SAME,
    PADDING_VALID,
    conv_output_size,
    check_acc64_range,
    conv_padding,
    fused_activation_range,
    per_channel_requant,
)
from tinyq.program import KernelCall, const_array
from tinyq.raster import conv_raster

# Fused activations TFLM's CalculateActivationRangeQuantized knows (NONE, RELU, RELU_N1_TO_1, RELU6); it
# silently ignores the others (TANH, SIGN_BIT), so tinyq refuses them instead.
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
_TENSOR_TYPE_INT32 = 2  # TFLite TensorType, as Conv2DOptions.quantized_bias_type stores it


@dataclass(frozen=True, eq=False)
class _ConvGeometry(KernelCall):
    """Members shared by tq_conv_params and tq_depthwise_conv_params (one C call = one model invocation)."""

    batches: int  # the input tensor's own batch dimension
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    output_height: int
    output_width: int
    output_depth: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_height: int  # padding before row 0 / column 0 (TFLM padding_values; the extra "offset" is implicit)
    pad_width: int
    input_offset: int  # -input zero point (0 for int16)
    output_offset: int  # +output zero point (0 for int16)
    act_min: int
    act_max: int
    acc64: bool  # 1: int64 accumulator + int64 bias + int64 requant (16x8); 0: int32 throughout
    bias: np.ndarray | None  # int32 or int64 [output_depth], or None
    multiplier: np.ndarray  # int32 [output_depth], Q31
    shift: np.ndarray  # int32 [output_depth], positive = left


@dataclass(frozen=True, eq=False)
class ConvCall(_ConvGeometry):
    params_type = "tq_conv_params"
    filter_input_depth: int  # input_depth / groups
    filter: np.ndarray | None  # int8 [output_depth, filter_height, filter_width, filter_input_depth] (OHWI)
    packed: object | None = None  # tinyq.encode.apply.PackedWeights when encoded (then filter is None)

    def raster_order(self):
        # tq_conv_s8 and tq_conv_s8_dsp (kernel_select): pixel by pixel, each pixel's channels read from its
        # receptive field and written in turn
        return conv_raster(self, 1, False) if self.kernel == "tq_conv_s8" and self.packed is None else None


@dataclass(frozen=True, eq=False)
class DepthwiseConvCall(_ConvGeometry):
    params_type = "tq_depthwise_conv_params"
    depth_multiplier: int  # output_depth / input_depth
    filter: np.ndarray | None  # int8 [filter_height, filter_width, output_depth] (1HW(C*M) without the 1)
    packed: object | None = None  # tinyq.encode.apply.PackedWeights when encoded (then filter is None)

    def raster_order(self):
        # tq_depthwise_conv_s8 and tq_depthwise_conv_s8_dsp (kernel_select): pixel by pixel, as tq_conv_s8
        return conv_raster(self, 1, False) if self.kernel == "tq_depthwise_conv_s8" and self.packed is None else None


def _geometry(ctx: OpContext, filter_hw: tuple[int, int], quant_dim: int) -> dict:
    """Checks shared by both ops; returns the _ConvGeometry fields (without the call base fields)."""
    inp, out = ctx.quantized_io("int8", "int16")
    weights = ctx.int8_weights(1, "filter")
    for t, what in ((inp, "input"), (weights, "filter"), (out, "output")):
        if len(t.shape) != 4:
            raise ctx.fail(f"{what} {t.describe()} must be 4-D")
    if inp.shape[0] != out.shape[0]:
        raise ctx.fail(f"input batch {inp.shape[0]} != output batch {out.shape[0]}")
    # The reference kernels drop the filter zero point (TFLite's spec fixes it at 0): refuse rather than mimic.
    if any(zp != 0 for zp in weights.quant.zero_point):
        raise ctx.fail(f"filter {weights.describe()} has a non-zero zero point (TFLM ignores it)")
    if inp.dtype == "int16" and (inp.zero_point != 0 or out.zero_point != 0):
        raise ctx.fail("16x8 input and output must have zero point 0 (TFLM's 16x8 kernel ignores zero points)")

    o = ctx.op
    activation = o.option("fused_activation_function", 0)
    if activation not in _ACTIVATIONS:
        raise ctx.fail(f"fused activation type {activation} is not supported (TFLM would ignore it)")
    padding = o.option("padding", PADDING_SAME)
    if padding not in (PADDING_SAME, PADDING_VALID):
        raise ctx.fail(f"padding type {padding} is not supported")
    stride = (o.option("stride_h", 1), o.option("stride_w", 1))
    dilation = (o.option("dilation_hfactor", 1), o.option("dilation_wfactor", 1))
    if min(stride) < 1 or min(dilation) < 1:
        raise ctx.fail(f"strides {stride} and dilations {dilation} must be >= 1")

    _, in_h, in_w, in_c = inp.shape
    _, out_h, out_w, out_c = out.shape
    k_h, k_w = filter_hw
    pads = []
    for in_size, k, s, d, out_size, axis in ((in_h, k_h, stride[0], dilation[0], out_h, "height"),
                                            (in_w, k_w, stride[1], dilation[1], out_w, "width")):
        # A dilated filter much wider than its input only reads padding; past that, the index arithmetic
        # (out * stride - pad + tap * dilation) would overflow the kernels' int32, and TFLM's too.
        if (k - 1) * d > 2 * (in_size + k):
            raise ctx.fail(f"the {axis} of the dilated filter ({k} taps, dilation {d}) is far larger than "
                           f"the input's {in_size}")
        expect = conv_output_size(padding, in_size, k, s, d)
        if expect != out_size or out_size < 1:
            raise ctx.fail(f"output {axis} {out_size} does not match the computed {expect}")
        pads.append(conv_padding(padding, in_size, k, s, d, out_size)[0])

    channels = weights.shape[quant_dim]
    if channels != out_c:
        raise ctx.fail(f"filter has {channels} output channels, output has {out_c}")
    if len(weights.quant.scale) not in (1, channels):
        raise ctx.fail(f"filter has {len(weights.quant.scale)} scales for {channels} output channels")
    multiplier, shift = per_channel_requant(inp, weights, out, channels)
    act_min, act_max = fused_activation_range(activation, out)
    bias_data, acc64 = _bias(ctx, channels, depthwise=ctx.op.opcode == "DEPTHWISE_CONV_2D")
    if acc64 and int(shift.max()) > 7:  # the int64 requantize's contract (tq_fixedpoint.h)
        raise ctx.fail(f"requantization shift {int(shift.max())} is too large for the 16x8 kernel (> 7)")
    if acc64:
        taps = k_h * k_w * (in_c if ctx.op.opcode == "CONV_2D" else 1)
        check_acc64_range(ctx, bias_data, taps)
    return dict(
        batches=inp.shape[0], input_height=in_h, input_width=in_w, input_depth=in_c,
        filter_height=k_h, filter_width=k_w, output_height=out_h, output_width=out_w, output_depth=out_c,
        stride_height=stride[0], stride_width=stride[1], dilation_height=dilation[0], dilation_width=dilation[1],
        pad_height=pads[0], pad_width=pads[1], input_offset=-inp.zero_point, output_offset=out.zero_point,
        act_min=act_min, act_max=act_max, acc64=acc64, bias=bias_data, multiplier=multiplier, shift=shift,
    )


def _bias(ctx: OpContext, channels: int, depthwise: bool) -> tuple[np.ndarray | None, bool]:
    """The bias array and the accumulator width TFLM's Eval picks for it.

    int8: int32 bias, int32 accumulator. 16x8 CONV_2D: an int64 bias -> int64 accumulator and the int64
    requant; an int32 bias -> int32 accumulator and the int32 requant; no bias -> the option
    quantized_bias_type picks (INT32 -> int32, anything else -> int64), as the tflite-micro runtime does
    (measured; older conv.cc sources take int32 for every missing bias). 16x8 DEPTHWISE_CONV_2D: int64 bias
    or none, always int64 (TFLM reads any bias as int64, so an int32 bias is refused).
    """
    inp: Tensor = ctx.input(0)
    bias = ctx.input(2)
    if depthwise and len(ctx.op.inputs) > 2 and ctx.op.inputs[2] < 0:
        # the oracle cannot run it: TFLM's DepthwiseConvPrepare crashes on it and TFLite refuses it
        raise ctx.fail("bias input index -1 (absent) is refused, as TFLite does: leave the input out instead")
    if bias is not None and bias.data is None:
        raise ctx.fail("bias (input 2) must be a constant tensor")
    if bias is not None and bias.size != channels:
        raise ctx.fail(f"bias {bias.describe()} must have {channels} values")
    if inp.dtype == "int8":
        if bias is not None:
            ctx.require_dtype(bias, "int32")
        return (None if bias is None else const_array(bias.data.reshape(-1), np.int32)), False
    if depthwise:
        if bias is not None:
            ctx.require_dtype(bias, "int64")
        return (None if bias is None else const_array(bias.data.reshape(-1), np.int64)), True
    if bias is None:
        return None, ctx.op.option("quantized_bias_type", 0) != _TENSOR_TYPE_INT32
    ctx.require_dtype(bias, "int32", "int64")
    acc64 = bias.dtype == "int64"
    return const_array(bias.data.reshape(-1), np.int64 if acc64 else np.int32), acc64


def _suffix(ctx: OpContext) -> str:
    return "s8" if ctx.input(0).dtype == "int8" else "s16"


@lowers("CONV_2D", dtypes=("int8", "int16"))
def lower_conv(ctx: OpContext):
    """int8 (int32 bias) or 16x8 (int16 activations; int64 or int32 bias, accumulated in that width; without
    a bias the op's quantized_bias_type picks, as TFLM) with int8 filters, per-channel or per-tensor; input,
    filter [O, H, W, I] and output 4-D, any batch; filter constant with zero point 0; 16x8 zero points 0;
    SAME/VALID padding, any strides and dilations; fused NONE/RELU/RELU_N1_TO_1/RELU6; optional bias;
    grouped convolution (input depth a multiple of the filter depth, as TFLM's reference)."""
    inp, weights = ctx.input(0), ctx.const_input(1, "filter")
    if len(weights.shape) != 4:
        raise ctx.fail(f"filter {weights.describe()} must be 4-D")
    fields = _geometry(ctx, (weights.shape[1], weights.shape[2]), quant_dim=0)
    filter_in = weights.shape[3]
    in_c, out_c = inp.shape[3], weights.shape[0]
    if filter_in < 1 or in_c % filter_in:
        raise ctx.fail(f"input depth {in_c} is not a multiple of the filter depth {filter_in}")
    groups = in_c // filter_in
    if out_c % groups:
        raise ctx.fail(f"{out_c} output channels do not split into {groups} groups")
    return ConvCall(
        **ctx.call_fields(f"tq_conv_{_suffix(ctx)}", inputs=(inp.index,)),
        **fields,
        filter_input_depth=filter_in,
        filter=const_array(weights.data, np.int8),
    )


@lowers("DEPTHWISE_CONV_2D", dtypes=("int8", "int16"))
def lower_depthwise_conv(ctx: OpContext):
    """int8 (int32 bias) or 16x8 (int16 activations, int64 bias: TFLM reads any bias as int64) with int8
    filters [1, H, W, C*M], per-channel or per-tensor; input and output 4-D, any batch; filter constant with
    zero point 0; 16x8 zero points 0; SAME/VALID padding, any strides and dilations, any depth multiplier M
    (the option must equal output depth / input depth); fused NONE/RELU/RELU_N1_TO_1/RELU6; optional bias. An int8
    op on a 1-channel input with M > 1 runs as a CONV_2D of M filters (the same integers)."""
    inp, weights = ctx.input(0), ctx.const_input(1, "filter")
    if len(weights.shape) != 4 or weights.shape[0] != 1:
        raise ctx.fail(f"filter {weights.describe()} must be [1, H, W, C*M]")
    fields = _geometry(ctx, (weights.shape[1], weights.shape[2]), quant_dim=3)
    in_c, out_c = inp.shape[3], weights.shape[3]
    multiplier = ctx.op.option("depth_multiplier", 1)
    # TFLM's reference loops use the option as is; a value that disagrees with the shapes would read out of bounds.
    if in_c * multiplier != out_c:
        raise ctx.fail(f"depth_multiplier {multiplier} x input depth {in_c} != output depth {out_c}")
    filt = weights.data.reshape(weights.shape[1:])
    if in_c == 1 and multiplier > 1 and not fields["acc64"]:
        # A 1-channel input (TFLM's micro_speech and person_detection first layers) makes this a CONV_2D of M
        # filters [M, H, W, 1]: output channel m is the same taps times filter[:, :, m], biased and requantized
        # by channel m's own values, in int32, exactly TFLM's depthwise kernel; lowered so, it takes the conv
        # GEMM kernels (the depthwise ones are specialized for depth multiplier 1)
        return ConvCall(**ctx.call_fields("tq_conv_s8", inputs=(inp.index,)), **fields, filter_input_depth=1,
                        filter=const_array(np.ascontiguousarray(filt.transpose(2, 0, 1)[..., None]), np.int8))
    return DepthwiseConvCall(
        **ctx.call_fields(f"tq_depthwise_conv_{_suffix(ctx)}", inputs=(inp.index,)),
        **fields,
        depth_multiplier=multiplier,
        filter=const_array(filt, np.int8),
    )
