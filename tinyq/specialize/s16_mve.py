"""16x8 FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D on Helium (firmware/src/tq_gemm_s16_mve.c,
tq_depthwise_conv_s16_mve.c): tq_fully_connected_s16_mve, tq_conv1x1_s16_mve (1x1, stride 1, no padding, no
groups: the pixels are the rows), tq_conv_s16_im2col_mve (any other conv without groups: two im2col rows at a
time in scratch, then the same GEMM core) and tq_depthwise_conv_s16_mve (depth multiplier 1, int64
requantization).

The int32 sums and the requantization rows are tinyq/specialize/s16_dsp.py's (requant_rows: the bound
|bias| + sum|w| * 32768 < 2^31, 2^30 on the int32 path, proved per channel, else the preparer declines and the
DSP or portable kernel keeps the call). The kernel requantizes four channels at once (firmware/include/tinyq/
tq_s16_mve.h): the int64 row {a, b, c} as VMULH, VADD, VSHL by -c (the SMMLA, ASR of the DSP kernels); the
int32 row {m, round, rs} as tq_mve_requant's VQRDMULH, sign correction, VRSHL by -rs (|acc| < 2^30: no saturation).

The weights stay int8 (VLDRB.S16 widens them): per block of 4 channels one stream, as the loop reads it
(tq_s16_mve.h): the block's biases twice, its weights [steps][4][8] zero past K and C, its vectors. The
depthwise filter is [groups of 4 channels][taps][4] int8, its rows {a, b, c} stored {a, 2b, c + 1} (VQDMULH
doubles: floor((floor(acc * a / 2^31) + 2b) / 2^(c + 1)) is the same floor of acc * a + b * 2^32)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyq.lower.conv import ConvCall, DepthwiseConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, ParamStruct, const_array
from tinyq.raster import conv_raster
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.common_mve import LANES, padded
from tinyq.specialize.s16_dsp import Requant, _pointwise, _symmetric, requant_rows

FEATURE, MACRO = "mve", "__ARM_FEATURE_MVE"
TAPS = 8  # int16 lanes: taps a step


@dataclass(frozen=True, eq=False)
class _GemmFields:
    rows: int
    depth: int
    out_depth: int
    steps: int
    act_min: int
    act_max: int
    requant64: bool
    blocked: np.ndarray  # int8: per block of 4 channels, bias twice, weights, requantization vectors


@dataclass(frozen=True, eq=False)
class GemmS16Mve(_GemmFields, ParamStruct):
    params_type: ClassVar[str] = "tq_gemm_s16_mve_params"


@dataclass(frozen=True, eq=False)
class _Source:
    _source: np.ndarray  # the layer's int8 weights, for the weight reports (not emitted)

    @property
    def filter(self) -> np.ndarray:
        return self._source

    @property
    def weights(self) -> np.ndarray:
        return self._source


@dataclass(frozen=True, eq=False)
class GemmS16MveCall(_Source, _GemmFields, KernelCall):
    params_type: ClassVar[str] = "tq_gemm_s16_mve_params"


@dataclass(frozen=True, eq=False)
class ConvIm2colS16MveCall(_Source, KernelCall):
    params_type: ClassVar[str] = "tq_conv_s16_im2col_mve_params"
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
    inside: bool  # every tap inside the image: rows are plain copies of it
    bordered_height: int  # 0, or the zero-bordered copy of each image the rows are copied from (scratch)
    bordered_width: int
    gemm: GemmS16Mve

    def scratch_bytes(self) -> int:  # two int16 im2col rows, then the bordered copy
        return 4 * self.gemm.depth + 2 * self.bordered_height * self.bordered_width * self.input_depth


def _lanes(v: np.ndarray, n: int) -> np.ndarray:
    """int32 [c] padded with zeros to n, as [n / 4][16] bytes"""
    out = np.zeros(n, "<i4")
    out[:len(v)] = v
    return out.reshape(-1, LANES).view(np.int8)


def blocked(weights: np.ndarray, q: Requant) -> np.ndarray:
    """The stream of int8 [C, K] weights and their requantization (tq_s16_mve.h's tq_gemm_s16_mve_params)."""
    c, k = weights.shape
    cp, kp = padded(c, LANES), padded(k, TAPS)
    w = np.zeros((cp, kp), np.int8)
    w[:c, :k] = weights
    w = w.reshape(cp // LANES, LANES, kp // TAPS, TAPS).transpose(0, 2, 1, 3).reshape(cp // LANES, -1)
    rows = np.asarray(q.rows, np.int64).reshape(c, 3)
    bias = _lanes(q.bias, cp)
    vectors = [rows[:, 0], rows[:, 1], -rows[:, 2]] if q.requant64 else [rows[:, 0], -rows[:, 2]]
    return const_array(np.concatenate([bias, bias, w, *(_lanes(v, cp) for v in vectors)], axis=1).reshape(-1),
                       np.int8)


def _gemm_fields(call, weights: np.ndarray, rows: int) -> dict | None:
    q = requant_rows(weights, call.bias, call.multiplier, call.shift, call.acc64)
    if q is None:
        return None
    c, k = weights.shape
    return dict(rows=rows, depth=k, out_depth=c, steps=(k - 1) // TAPS, act_min=call.act_min, act_max=call.act_max,
                requant64=q.requant64, blocked=blocked(weights, q))


def prepare_fully_connected(call: KernelCall) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.weights is None or not _symmetric(call) or call.filter_offset:
        return None
    g = _gemm_fields(call, call.weights, call.batches)
    return None if g is None else Prepared(GemmS16MveCall(**base_fields(call), **g, _source=call.weights),
                                           "tq_fully_connected_s16_mve")


_CONV_GEOMETRY = ("batches", "input_height", "input_width", "input_depth", "filter_height", "filter_width",
                  "output_height", "output_width", "stride_height", "stride_width", "dilation_height",
                  "dilation_width", "pad_height", "pad_width")


BORDERED_MAX_BYTES = 8192  # scratch for a padded conv's bordered copy, at most (else rows check each tap)


def _reach(call) -> tuple[int, int]:
    """Rows and columns a bordered copy needs: the padding, the image, and every tap of every output"""
    high = max(call.pad_height + call.input_height,
               (call.output_height - 1) * call.stride_height + (call.filter_height - 1) * call.dilation_height + 1)
    wide = max(call.pad_width + call.input_width,
               (call.output_width - 1) * call.stride_width + (call.filter_width - 1) * call.dilation_width + 1)
    return high, wide


def prepare_conv(call: KernelCall) -> Prepared | None:
    """1x1 pointwise: the pixels are the GEMM's rows; any other conv without groups: im2col rows (OHWI filter
    rows are in the patch's (ky, kx, ci) order)"""
    if (not isinstance(call, ConvCall) or call.filter is None or not _symmetric(call)
            or call.filter_input_depth != call.input_depth):
        return None
    g = _gemm_fields(call, call.filter.reshape(call.output_depth, -1),
                     call.batches * call.output_height * call.output_width)
    if g is None:
        return None
    if _pointwise(call):
        return Prepared(GemmS16MveCall(**base_fields(call), **g, _source=call.filter), "tq_conv1x1_s16_mve")
    high, wide = _reach(call)
    inside = call.pad_height == call.pad_width == 0 and (high, wide) == (call.input_height, call.input_width)
    small = not inside and 2 * high * wide * call.input_depth <= BORDERED_MAX_BYTES
    record = ConvIm2colS16MveCall(**base_fields(call), **{n: getattr(call, n) for n in _CONV_GEOMETRY},
                                  inside=inside, bordered_height=high if small else 0,
                                  bordered_width=wide if small else 0, gemm=GemmS16Mve(**g), _source=call.filter)
    return Prepared(record, "tq_conv_s16_im2col_mve")


@dataclass(frozen=True, eq=False)
class DepthwiseS16MveCall(KernelCall):
    params_type: ClassVar[str] = "tq_depthwise_conv_s16_mve_params"
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
    groups: int
    padded_height: int  # the zero-bordered copy of the input the kernel reads (scratch)
    padded_width: int
    act_min: int
    act_max: int
    weights: np.ndarray  # int8 [groups][taps][4]
    rows: np.ndarray  # int32 [depth][4]: bias, a, 2b, -(c + 1)
    _source: np.ndarray  # the lowered filter [H, W, C], for the weight reports (not emitted)

    def scratch_bytes(self) -> int:
        return self.padded_height * self.padded_width * 8 * self.groups

    def raster_order(self):
        return conv_raster(self, 0, True)  # the whole input is copied into scratch before the first store

    @property
    def filter(self) -> np.ndarray:
        return self._source


def depthwise_rows(q: Requant) -> np.ndarray | None:
    """[C][4] bias, a, 2b, -(c + 1) from the int64 rows; a dead channel's {0, y, 0} unchanged; None if a row
    does not fit (2b or c + 1 past int32's shifts)"""
    r = np.asarray(q.rows, np.int64).reshape(-1, 3)
    live = r[:, 0] != 0
    b = np.where(live, 2 * r[:, 1], r[:, 1])
    c = np.where(live, r[:, 2] + 1, r[:, 2])
    if (b > 2**31 - 1).any() or (c > 31).any():
        return None
    return const_array(np.stack([np.asarray(q.bias, np.int64), r[:, 0], b, -c], axis=1), np.int32)


def prepare_depthwise_conv(call: KernelCall) -> Prepared | None:
    if (not isinstance(call, DepthwiseConvCall) or call.filter is None or not _symmetric(call)
            or call.depth_multiplier != 1 or call.output_depth != call.input_depth or not call.acc64):
        return None
    q = requant_rows(call.filter.reshape(-1, call.output_depth).T, call.bias, call.multiplier, call.shift, True)
    rows = None if q is None else depthwise_rows(q)
    if rows is None:
        return None
    h, w, c = call.filter.shape
    groups = padded(c, LANES) // LANES
    filt = np.zeros((h * w, groups * LANES), np.int8)
    filt[:, :c] = call.filter.reshape(h * w, c)
    geometry = {n: getattr(call, n) for n in (
        "batches", "input_height", "input_width", "filter_height", "filter_width", "output_height", "output_width",
        "stride_height", "stride_width", "dilation_height", "dilation_width", "pad_height", "pad_width",
        "act_min", "act_max")}
    high, wide = _reach(call)  # the border below / right covers what the padding implies
    record = DepthwiseS16MveCall(
        **base_fields(call), **geometry, depth=c, groups=groups, padded_height=high, padded_width=wide,
        weights=const_array(filt.reshape(h * w, groups, LANES).transpose(1, 0, 2).reshape(-1), np.int8),
        rows=rows, _source=call.filter)
    return Prepared(record, "tq_depthwise_conv_s16_mve")


register(Preparer(kernel="tq_fully_connected_s16", feature=FEATURE, macro=MACRO, prepare=prepare_fully_connected))
register(Preparer(kernel="tq_conv_s16", feature=FEATURE, macro=MACRO, prepare=prepare_conv))
register(Preparer(kernel="tq_depthwise_conv_s16", feature=FEATURE, macro=MACRO, prepare=prepare_depthwise_conv))
