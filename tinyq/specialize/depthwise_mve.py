"""Helium preparer for DEPTHWISE_CONV_2D with depth multiplier 1: a tq_depthwise_conv_s8_mve record
(firmware/include/tinyq/tq_mve.h) with the filter laid out [group of 4 channels][tap][4] (zero past the depth),
biases folded with the input offset (padding = the input zero point) and vector requantization rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyq.program import KernelCall, const_array
from tinyq.raster import conv_raster
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize import base_fields
from tinyq.specialize.common_mve import LANES, padded, requant_vectors


@dataclass(frozen=True, eq=False)
class DepthwiseMveCall(KernelCall):
    params_type: ClassVar[str] = "tq_depthwise_conv_s8_mve_params"
    batches: int
    input_height: int
    input_width: int
    depth: int
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
    pad_value: int
    groups: int
    padded_height: int  # the zero-point-bordered copy of the input the kernel reads (scratch)
    padded_width: int
    output_offset: int
    act_min: int
    act_max: int
    blocked: np.ndarray  # int8 [groups][taps][4]
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    _source: np.ndarray  # the lowered filter [H, W, C], for the weight reports (not emitted)

    def scratch_bytes(self) -> int:
        return self.padded_height * self.padded_width * LANES * self.groups

    def raster_order(self):
        # tq_depthwise_conv_s8_mve copies the whole input into scratch (pad_image) before its first store
        return conv_raster(self, 0, True)

    @property
    def filter(self) -> np.ndarray:
        return self._source


def arrange(filt: np.ndarray) -> np.ndarray:
    """int8 [H, W, C] -> [groups][H * W][4], zero past C."""
    h, w, c = filt.shape
    out = np.zeros((h * w, padded(c, LANES)), np.int8)
    out[:, :c] = filt.reshape(h * w, c)
    return const_array(out.reshape(h * w, -1, LANES).transpose(1, 0, 2).reshape(-1), np.int8)


def mve_fields(call, filt: np.ndarray) -> dict | None:
    """The record's fields but `blocked` for a depth multiplier 1 call with int8 filter filt [H, W, C], or None
    when requant_vectors refuses its shifts (shared with the int4 record, depthwise_int4_mve.py)."""
    sums = filt.astype(np.int64).reshape(-1, call.output_depth).sum(axis=0)
    taps = filt.reshape(-1, call.output_depth)
    rq = requant_vectors(sums, call.bias, call.input_offset, call.multiplier, call.shift, dead=~taps.any(axis=0))
    if rq is None:
        return None
    geometry = {n: getattr(call, n) for n in (
        "batches", "input_height", "input_width", "filter_height", "filter_width", "output_height", "output_width",
        "stride_height", "stride_width", "dilation_height", "dilation_width", "pad_height", "pad_width",
        "output_offset", "act_min", "act_max")}
    # rows and columns every tap of every output reads: the border below / right covers what the padding implies
    high = max(call.pad_height + call.input_height,
               (call.output_height - 1) * call.stride_height + (call.filter_height - 1) * call.dilation_height + 1)
    wide = max(call.pad_width + call.input_width,
               (call.output_width - 1) * call.stride_width + (call.filter_width - 1) * call.dilation_width + 1)
    return dict(**base_fields(call), **geometry, depth=call.input_depth, pad_value=-call.input_offset,
                groups=padded(call.input_depth, LANES) // LANES, padded_height=high, padded_width=wide,
                bias=rq.bias, multiplier=rq.multiplier, shift=rq.shift, _source=filt)


def prepare_depthwise(call) -> Prepared | None:
    if (call.acc64 or call.packed is not None or call.filter is None or call.depth_multiplier != 1
            or call.input_depth != call.output_depth):
        return None
    fields = mve_fields(call, call.filter)
    if fields is None:
        return None
    return Prepared(DepthwiseMveCall(**fields, blocked=arrange(call.filter)), "tq_depthwise_conv_s8_mve")


register(Preparer(kernel="tq_depthwise_conv_s8", feature="mve", macro="__ARM_FEATURE_MVE", prepare=prepare_depthwise))
