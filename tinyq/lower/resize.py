"""RESIZE_NEAREST_NEIGHBOR -> tq_resize_nearest_neighbor_s8/_s16, RESIZE_BILINEAR -> tq_resize_bilinear_s8
(TFLM kernels/resize_nearest_neighbor.cc, resize_bilinear.cc; reference_ops ResizeNearestNeighbor and
ResizeBilinearInteger).

Consumes one resize op of the IR; produces one record. TFLM computes the source row and column of each output
row and column from the output index alone, so the host computes them once, as TFLM does, into tables (one
entry per output row / column): the kernels only look them up. The host checks every table entry against
the input, so no index the C uses can leave its buffer.

Nearest neighbour: TFLM's GetNearestNeighbor works in float32 (scale = in / out, or (in - 1) / (out - 1) with
align_corners; floor, or round half away from zero with align_corners; + 0.5 with half_pixel_centers); NumPy
float32 gives the same IEEE results here. Bilinear: ResizeBilinearInteger's 10-bit fixed point, C integer
division, the weights' product rounded half away from zero by 2^20.

TFLM moves the stored integers without rescaling and checks nothing about quantization; like the
data-movement ops (tinyq/lower/shape.py), tinyq refuses an output quantized differently from the input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall, const_array
from tinyq.quant import c_div

MAX_SIDE = 1 << 16  # image height / width limit: keeps TFLM's int32 (bilinear) and float32 (nearest) index math exact
ONE = 1 << 10  # ResizeBilinearInteger's fixed-point 1.0


@dataclass(frozen=True, eq=False)
class ResizeNearestCall(KernelCall):
    """output[b, y, x, :] = input[b, src_y[y], src_x[x], :]"""

    params_type = "tq_resize_nearest_params"
    batches: int
    input_h: int
    input_w: int
    depth: int
    output_h: int
    output_w: int
    src_y: np.ndarray  # int32 [output_h], each in [0, input_h)
    src_x: np.ndarray  # int32 [output_w], each in [0, input_w)


@dataclass(frozen=True, eq=False)
class ResizeBilinearCall(KernelCall):
    """output[b, y, x, c] = the four inputs at rows y_lo[y] / y_hi[y] and columns x_lo[x] / x_hi[x], weighted
    (1024 - frac) for lo and frac for hi along each axis, summed and rounded half away from zero by 2^20."""

    params_type = "tq_resize_bilinear_params"
    batches: int
    input_h: int
    input_w: int
    depth: int
    output_h: int
    output_w: int
    y_lo: np.ndarray  # int32 [output_h], each in [0, input_h)
    y_hi: np.ndarray  # int32 [output_h], each in [0, input_h)
    y_frac: np.ndarray  # int32 [output_h]: TFLM's input_y - 1024 * y0, in [-512, 1024)
    x_lo: np.ndarray  # int32 [output_w], each in [0, input_w)
    x_hi: np.ndarray  # int32 [output_w]
    x_frac: np.ndarray  # int32 [output_w]


def _quant_key(t: Tensor):
    return (tuple(np.float32(s) for s in t.quant.scale), tuple(t.quant.zero_point))


def _geometry(ctx: OpContext, dtypes: tuple[str, ...]) -> tuple[Tensor, Tensor, int, int, bool, bool]:
    """The checks TFLM's Prepare makes (and those it leaves to undefined behaviour): returns
    (input, output, output height, output width, align_corners, half_pixel_centers)."""
    inp, out = ctx.quantized_io(*dtypes)
    if inp.is_constant:
        raise ctx.fail(f"{inp.describe()} is constant (the converter should have folded this op)")
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ctx.fail(f"input and output must be 4-D (NHWC), got {list(inp.shape)} and {list(out.shape)}")
    if _quant_key(inp) != _quant_key(out):
        raise ctx.fail(
            f"{inp.describe()} (scale {inp.scale:g}, zero point {inp.zero_point}) and {out.describe()} (scale "
            f"{out.scale:g}, zero point {out.zero_point}) are quantized differently; TFLM resizes without "
            "requantizing, so tinyq refuses it")
    size = ctx.input(1)
    if size is None or size.data is None:
        raise ctx.fail("the size (input 1) must be a constant tensor (TFLM refuses a non-constant size)")
    if size.dtype != "int32" or len(size.shape) != 1 or size.shape[0] != 2:
        raise ctx.fail(f"the size (input 1) must be int32[2], got {size.dtype}{list(size.shape)}")
    out_h, out_w = (int(v) for v in size.data.reshape(-1))
    batches, in_h, in_w, depth = inp.shape
    if min(inp.shape) < 1:
        raise ctx.fail("empty tensors are not supported")
    if out_h < 1 or out_w < 1:
        raise ctx.fail(f"the size {[out_h, out_w]} must be positive")
    if max(in_h, in_w, out_h, out_w) > MAX_SIDE:
        raise ctx.fail(f"resizing {in_h}x{in_w} to {out_h}x{out_w}: sides above {MAX_SIDE} are not supported")
    if tuple(out.shape) != (batches, out_h, out_w, depth):
        raise ctx.fail(f"{out.describe()} does not match the size {[out_h, out_w]} and {inp.describe()}")
    align = bool(ctx.op.option("align_corners", False))
    half = bool(ctx.op.option("half_pixel_centers", False))
    return inp, out, out_h, out_w, align, half


def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """TFLM GetNearestNeighbor for output indices 0..out_size-1, in float32 as TFLM computes it."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    scaled = (np.arange(out_size).astype(np.float32) + offset) * scale  # float32 throughout, >= 0
    if align_corners:  # TfLiteRound: half away from zero (scaled >= 0; x - floor(x) is exact)
        floor = np.floor(scaled)
        index = floor + (scaled - floor >= np.float32(0.5))
    else:
        index = np.floor(scaled)
    index = np.minimum(index.astype(np.int64), in_size - 1)
    if half_pixel_centers:
        index = np.maximum(index, 0)
    return index


def bilinear_axis(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool):
    """TFLM ResizeBilinearInteger's scale_10 and ComputeInterpolationValuesInteger for output indices
    0..out_size-1: (lower bound, upper bound, input position - 1024 * lower bound), int64 arrays."""
    if align_corners and out_size > 1:
        scale_10 = (ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale_10 = (ONE * in_size + out_size // 2) // out_size
    value = np.arange(out_size, dtype=np.int64) * scale_10
    if half_pixel_centers:
        value = value + scale_10 // 2 - (1 << 9)
    lo = np.maximum(c_div(value, ONE), 0)
    hi = np.minimum(c_div(value + ONE - 1, ONE), in_size - 1)
    return lo, hi, value - ONE * lo


def _check_table(ctx: OpContext, what: str, table: np.ndarray, size: int) -> None:
    bad = table[(table < 0) | (table >= size)]
    if bad.size:  # TFLM itself would read outside its input here
        raise ctx.fail(f"the resize reads {what} {int(bad[0])} of an input with {size}; TFLM would read outside "
                       "its input, so tinyq refuses it")


@lowers("RESIZE_NEAREST_NEIGHBOR", dtypes=("int8", "int16"))
def lower_resize_nearest(ctx: OpContext):
    """int8 or int16 4-D NHWC input; constant int32[2] size; output quantized like the input (TFLM copies
    stored values). align_corners and half_pixel_centers in every combination (TFLM accepts both together).
    Heights and widths up to 65536."""
    inp, out, out_h, out_w, align, half = _geometry(ctx, ("int8", "int16"))
    batches, in_h, in_w, depth = inp.shape
    src_y = nearest_indices(in_h, out_h, align, half)
    src_x = nearest_indices(in_w, out_w, align, half)
    _check_table(ctx, "row", src_y, in_h)
    _check_table(ctx, "column", src_x, in_w)
    suffix = "s8" if inp.dtype == "int8" else "s16"
    return ResizeNearestCall(
        **ctx.call_fields(f"tq_resize_nearest_neighbor_{suffix}", inputs=(inp.index,)),
        batches=batches, input_h=in_h, input_w=in_w, depth=depth, output_h=out_h, output_w=out_w,
        src_y=const_array(src_y, np.int32), src_x=const_array(src_x, np.int32),
    )


@lowers("RESIZE_BILINEAR", dtypes=("int8",))
def lower_resize_bilinear(ctx: OpContext):
    """int8 4-D NHWC input (TFLM has no int16 kernel); constant int32[2] size; output quantized like the
    input. align_corners or half_pixel_centers, not both (TFLM refuses that). TFLM's 10-bit fixed-point
    interpolation, rounded half away from zero. Heights and widths up to 65536. Refused where TFLM's
    rounded-up 10-bit scale puts the last output rows or columns past the input, which TFLM then reads
    outside its buffer (e.g. 200 -> 641 rows without options)."""
    inp = ctx.input(0)
    if inp is not None and inp.dtype == "int16":
        raise ctx.fail("int16 is not supported: TFLM's RESIZE_BILINEAR runs only float32 and int8")
    inp, out, out_h, out_w, align, half = _geometry(ctx, ("int8",))
    if align and half:
        raise ctx.fail("align_corners and half_pixel_centers are both set; TFLM refuses this combination")
    batches, in_h, in_w, depth = inp.shape
    y_lo, y_hi, y_frac = bilinear_axis(in_h, out_h, align, half)
    x_lo, x_hi, x_frac = bilinear_axis(in_w, out_w, align, half)
    for what, table, size in (("row", y_lo, in_h), ("row", y_hi, in_h), ("column", x_lo, in_w), ("column", x_hi, in_w)):
        _check_table(ctx, what, table, size)
    # The C sums in int32, exact while every weight is in [-512, 1536]: 128 * 2048 * 2048 = 2^29
    for frac in (y_frac, x_frac):
        bad = frac[(frac < -(ONE // 2)) | (frac >= ONE)]
        if bad.size:  # never expected: TFLM's positions give fractions in [-512, 1024)
            raise ctx.fail(f"interpolation fraction {int(bad[0])}/1024 is out of range")
    i32 = lambda a: const_array(a, np.int32)  # noqa: E731
    return ResizeBilinearCall(
        **ctx.call_fields("tq_resize_bilinear_s8", inputs=(inp.index,)),
        batches=batches, input_h=in_h, input_w=in_w, depth=depth, output_h=out_h, output_w=out_w,
        y_lo=i32(y_lo), y_hi=i32(y_hi), y_frac=i32(y_frac), x_lo=i32(x_lo), x_hi=i32(x_hi), x_frac=i32(x_frac),
    )
