"""Helium preparers for FULLY_CONNECTED and CONV_2D: the lowered call becomes a GEMM record
(firmware/include/tinyq/tq_mve.h tq_gemm_s8_mve_params) for tq_fully_connected_s8_mve, tq_conv1x1_s8_mve
(1x1, stride 1, no padding: the pixels are the rows) or tq_conv_s8_im2col_mve (any other ungrouped conv:
an im2col row per pixel, padded with the input zero point, in a scratch of two rows).

Weights are laid out [blocks of 4 channels][16-byte steps][4][16], zero past K and past C, as the kernel's
loop reads them (firmware/src/tq_gemm_s8_mve.c); each block's int32 requantization vectors sit around its weights
in the same stream (`blocked`: folded bias twice, the weights, multiplier, shift), so that one cursor reads all."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyq.program import KernelCall, ParamStruct, const_array
from tinyq.raster import RasterOrder, conv_raster
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize import base_fields
from tinyq.specialize.common_mve import BYTES, LANES, padded, requant_vectors

FEATURE, MACRO = "mve", "__ARM_FEATURE_MVE"
BORDERED_MAX_BYTES = 4096  # scratch for the bordered copy of a padded conv's image, at most


@dataclass(frozen=True, eq=False)
class _GemmFields:
    rows: int
    depth: int
    out_depth: int
    blocks: int
    chunks: int
    output_offset: int
    act_min: int
    act_max: int
    # int8 [blocks * (chunks * 64 + 64)]: per block of 4 channels, its folded bias twice (int32 [2][4], the two
    # rows' starting sums), its weights in the loop's order ([chunks][4][16]), its multiplier and shift (int32 [4])
    blocked: np.ndarray


@dataclass(frozen=True, eq=False)
class GemmMve(_GemmFields, ParamStruct):
    params_type: ClassVar[str] = "tq_gemm_s8_mve_params"


@dataclass(frozen=True, eq=False)
class _Source:
    """The lowered call's weight tensor, for the reports that read `filter` / `weights` (not emitted)."""

    _source: np.ndarray

    @property
    def filter(self) -> np.ndarray:
        return self._source

    @property
    def weights(self) -> np.ndarray:
        return self._source


@dataclass(frozen=True, eq=False)
class GemmMveCall(_Source, _GemmFields, KernelCall):
    params_type: ClassVar[str] = "tq_gemm_s8_mve_params"

    def raster_order(self):
        # tq_conv1x1_s8_mve (1x1, stride 1, unpadded): row pairs in order; per block of 4 output channels both
        # rows are read, then that block's 4 bytes of each stored (reads and writes interleave)
        return RasterOrder(2, False, (1, 1), (1, 1), (1, 1), (0, 0)) if self.kernel == "tq_conv_s8" else None


@dataclass(frozen=True, eq=False)
class ConvIm2colMveCall(_Source, KernelCall):
    params_type: ClassVar[str] = "tq_conv_s8_im2col_mve_params"
    batches: int
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    output_height: int
    output_width: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_height: int
    pad_width: int
    pad_value: int  # the input zero point: a padded tap then adds 0 to the folded sum
    bordered_height: int  # 0, or the zero-point-bordered copy of the input the kernel reads (scratch)
    bordered_width: int
    gemm: GemmMve

    def scratch_bytes(self) -> int:
        # two im2col rows, then the bordered copy
        return 2 * self.gemm.depth + self.bordered_height * self.bordered_width * self.input_depth

    def raster_order(self):
        # tq_conv_s8_im2col_mve: pixel pairs in order, both im2col rows copied into scratch before the GEMM
        return conv_raster(self, 2, True)


def arrange(weights: np.ndarray) -> np.ndarray:
    """int8 [C, K] -> [blocks][steps][4][16] as tq_mve_gemm_rows2 reads it, zero-filled past C and K."""
    c, k = weights.shape
    w = np.zeros((padded(c, LANES), padded(k, BYTES)), np.int8)
    w[:c, :k] = weights
    w = w.reshape(-1, LANES, w.shape[1] // BYTES, BYTES).transpose(0, 2, 1, 3)
    return const_array(w.reshape(-1), np.int8)


def interleave(weights: np.ndarray, bias: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The `blocked` stream of int8 [C, K] weights and their int32 [blocks * 4] requantization vectors."""
    w = arrange(weights).reshape(len(bias) // LANES, -1)
    words = [np.asarray(v, "<i4").reshape(-1, LANES).view(np.int8) for v in (bias, multiplier, shift)]
    b, m, s = words
    return const_array(np.concatenate([b, b, w, m, s], axis=1).reshape(-1), np.int8)


def gemm_fields(weights: np.ndarray, bias, input_offset: int, multiplier, shift, rows: int, output_offset: int,
                act_min: int, act_max: int) -> dict | None:
    """The _GemmFields of `weights` int8 [C, K], or None when the requantization is not one tq_mve_requant does."""
    c, k = weights.shape
    rq = requant_vectors(weights.astype(np.int64).sum(axis=1), bias, input_offset, multiplier, shift,
                         dead=~weights.any(axis=1))
    if rq is None or k < 1 or rows < 1:
        return None
    return dict(rows=rows, depth=k, out_depth=c, blocks=padded(c, LANES) // LANES, chunks=padded(k, BYTES) // BYTES,
                output_offset=output_offset, act_min=act_min, act_max=act_max,
                blocked=interleave(weights, rq.bias, rq.multiplier, rq.shift))


def prepare_fully_connected(call) -> Prepared | None:
    if call.acc64 or call.packed is not None or call.weights is None or call.filter_offset != 0:
        return None
    g = gemm_fields(call.weights, call.bias, call.input_offset, call.multiplier, call.shift, call.batches,
                    call.output_offset, call.act_min, call.act_max)
    return None if g is None else Prepared(GemmMveCall(**base_fields(call), **g, _source=call.weights),
                                                  "tq_fully_connected_s8_mve")


def bordered(call) -> dict:
    """A padded conv with a small image (a first layer: KWS's 49x10x1, IC's 32x32x3) gets a bordered copy, so
    that every pixel's im2col row comes from plain row copies: its rows and columns cover the padding and every
    tap of every output (as tinyq/specialize/depthwise_mve.py sizes its border)."""
    high = max(call.pad_height + call.input_height,
               (call.output_height - 1) * call.stride_height + (call.filter_height - 1) * call.dilation_height + 1)
    wide = max(call.pad_width + call.input_width,
               (call.output_width - 1) * call.stride_width + (call.filter_width - 1) * call.dilation_width + 1)
    if (call.pad_height == call.pad_width == 0) or high * wide * call.input_depth > BORDERED_MAX_BYTES:
        return dict(bordered_height=0, bordered_width=0)
    return dict(bordered_height=high, bordered_width=wide)


def is_pointwise(call) -> bool:
    """1x1, stride 1, no padding: the pixels are the GEMM's rows, read in place."""
    return (call.filter_height == call.filter_width == 1 and call.stride_height == call.stride_width == 1
            and call.pad_height == call.pad_width == 0
            and (call.output_height, call.output_width) == (call.input_height, call.input_width))


def geometry(call) -> dict:
    """The conv's geometry fields of a ConvIm2colMveCall."""
    return {n: getattr(call, n) for n in (
        "batches", "input_height", "input_width", "input_depth", "filter_height", "filter_width", "output_height",
        "output_width", "stride_height", "stride_width", "dilation_height", "dilation_width", "pad_height",
        "pad_width")}


def prepare_conv(call) -> Prepared | None:
    if call.acc64 or call.packed is not None or call.filter is None or call.filter_input_depth != call.input_depth:
        return None
    w = call.filter.reshape(call.output_depth, -1)  # OHWI: a row in the im2col row's (ky, kx, ci) order
    rows = call.batches * call.output_height * call.output_width
    g = gemm_fields(w, call.bias, call.input_offset, call.multiplier, call.shift, rows, call.output_offset,
                    call.act_min, call.act_max)
    if g is None:
        return None
    if is_pointwise(call):
        return Prepared(GemmMveCall(**base_fields(call), **g, _source=call.filter), "tq_conv1x1_s8_mve")
    record = ConvIm2colMveCall(**base_fields(call), **geometry(call), pad_value=-call.input_offset, **bordered(call),
                               gemm=GemmMve(**g), _source=call.filter)
    return Prepared(record, "tq_conv_s8_im2col_mve")


register(Preparer(kernel="tq_fully_connected_s8", feature=FEATURE, macro=MACRO, prepare=prepare_fully_connected))
register(Preparer(kernel="tq_conv_s8", feature=FEATURE, macro=MACRO, prepare=prepare_conv))
