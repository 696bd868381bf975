"""Preparer of int8 CONV_2D for the Arm DSP extension: ConvCall -> ConvGemmCall for tq_conv1x1_s8_dsp (1x1,
unpadded) or tq_conv_s8_im2col_dsp (everything else without groups), firmware/src/tq_conv_s8_gemm_dsp.c; with
int16 weights on the Cortex-M4 and M33, three pixels a block where that is cheaper (tq_conv_s8_gemm3_dsp.c).

At compile time: the biases with the input offset folded in and the tq_requant_fast rows (requant.py; declined
when its bounds cannot be proved), and the filter rows zero-padded to a multiple of 4 taps and interleaved by
channel pairs, word by word, as the kernel's inner loop reads them (tinyq/tq_conv_gemm.h).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tinyq.kernel_select import DSP
from tinyq.lower.conv import ConvCall
from tinyq.program import KernelCall, const_array
from tinyq.raster import conv_raster
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.depthwise_dsp import fold_output_offset
from tinyq.specialize.requant import accumulator_bound, fast_requant

CONV1X1 = "tq_conv1x1_s8_dsp"
IM2COL = "tq_conv_s8_im2col_dsp"
WIDE = {CONV1X1: "tq_conv1x1_s8_wide_dsp", IM2COL: "tq_conv_s8_im2col_wide_dsp"}  # --weights-layout int16
WIDE3 = {CONV1X1: "tq_conv1x1_s8_wide3_dsp", IM2COL: "tq_conv_s8_im2col_wide3_dsp"}  # int16, 3 pixels a block
# the cores whose cost model the 3-pixel block wins on (LDM 1 + N, LDRD 3: tinyq/bench/cycles.py); the M7's
# 64-bit loads (LDRD 1, LDM 1 + N/2) favour the 2-pixel block's LDRDs
WIDE3_CPUS = ("cortex-m4", "cortex-m33")


@dataclass(frozen=True, eq=False)
class ConvGemmCall(KernelCall):
    """A CONV_2D prepared for the GEMM kernels: members of tq_conv_gemm_params, in order."""

    params_type = "tq_conv_gemm_params"
    batches: int
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
    pad_height: int
    pad_width: int
    patch: int  # filter_height * filter_width * input_depth
    patch_padded: int  # patch rounded up to a multiple of 4
    pad_value: int  # the input zero point
    output_offset: int
    act_min: int
    act_max: int
    rows: np.ndarray  # int32 [output_depth * 4]: per channel pair {2 biases, 2 rows}, an odd last {bias, row} (pair_rows;
    # _block 3: the weights' stream, stream3)
    weights: np.ndarray  # int32 words, tinyq/tq_conv_gemm.h layout
    _filter: np.ndarray | None = None  # the lowered int8 OHWI filter (Python only: weight reports read it)
    _gathers: bool = True  # im2col: a gathered int8 patch in scratch besides the widened pair
    _wide: bool = False  # weights widened to int16 at compile time (widen_filter), else int8 (arrange_filter)
    _block: int = 2  # output pixels a block: 3 for the _wide3_dsp kernels (widen_filter3)

    @property
    def filter(self) -> np.ndarray | None:
        return self._filter

    def scratch_bytes(self) -> int:
        widened = 2 * self._block * self.patch_padded  # a block's patches of int16
        gathered = self.patch_padded if self._gathers else 0
        return widened + gathered + -(-self.output_depth // 4) * 4  # + a dummy output row (odd pixel counts)

    def raster_order(self):
        # tq_conv1x1_s8_dsp and tq_conv_s8_im2col_dsp: pixel pairs in order, both pixels' patches widened into
        # scratch before the pair's first store; the _wide3_dsp kernels: pixel triples, the three patches widened
        # before the first store (the int4 records' kernels are not reviewed: kernel tq_conv_s8_w4)
        return conv_raster(self, self._block, True) if self.kernel == "tq_conv_s8" else None


def arrange_filter(rows: np.ndarray) -> np.ndarray:
    """int8 [C, K] -> int32 words: rows zero-padded to a multiple of 4 taps, pairs of rows interleaved word by
    word, an odd last row on its own (little-endian words, as the Cortex-M loads them)."""
    c, k = rows.shape
    kp = -(-k // 4) * 4
    padded = np.zeros((c, kp), np.int8)
    padded[:, :k] = rows
    words = padded.view("<i4")  # [C, kp / 4]
    pairs = words[: c // 2 * 2].reshape(c // 2, 2, kp // 4).transpose(0, 2, 1).reshape(-1)
    return np.concatenate([pairs, words[c // 2 * 2:].reshape(-1)]).astype(np.int32)


def _lanes(rows: np.ndarray, scale: int = 1) -> np.ndarray:
    """int8 [C, K] -> int32 words [C, G, 2] of int16 pairs, scale * the weights: per group of 4 taps (zero-padded)
    its even word (taps 0, 2) and odd word (taps 1, 3)."""
    c, k = rows.shape
    kp = -(-k // 4) * 4
    padded = np.zeros((c, kp), np.int16)
    padded[:, :k] = scale * rows.astype(np.int16)
    lanes = padded.reshape(c, kp // 4, 4)[:, :, [0, 2, 1, 3]]  # even word, odd word
    return np.ascontiguousarray(lanes).astype("<i2").view("<i4")  # [C, G, 2]


def widen_filter(rows: np.ndarray) -> np.ndarray:
    """int8 [C, K] -> int32 words of int16 pairs (tinyq/tq_conv_gemm.h "int16 weights"): per channel pair and group
    of 4 taps {c (0, 2), c (1, 3), c+1 (0, 2), c+1 (1, 3)}, an odd last channel's 2 words a group on its own."""
    c, g = rows.shape[0], -(-rows.shape[1] // 4)
    words, p = _lanes(rows), c // 2 * 2
    pairs = words[:p].reshape(c // 2, 2, g, 2).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([pairs, words[p:].reshape(-1)]).astype(np.int32)


def widen_filter3(rows: np.ndarray) -> np.ndarray:
    """int8 [C, K] -> int32 words of int16 pairs for the 3-pixel kernels (tinyq/tq_conv_gemm.h "three output
    pixels"): per channel pair and group of 4 taps {c (0, 2), c+1 (0, 2), c (1, 3), c+1 (1, 3)}, an odd last
    channel's 2 words a group on its own (as widen_filter's); doubled (|2w| <= 256 fits an int16 lane), so that
    the kernel widens its inputs without doubling them and its sums are 2 * acc all the same."""
    c, g = rows.shape[0], -(-rows.shape[1] // 4)
    words, p = _lanes(rows, 2), c // 2 * 2
    pairs = words[:p].reshape(c // 2, 2, g, 2).transpose(0, 2, 3, 1).reshape(-1)  # [pair, G, half, channel]
    return np.concatenate([pairs, words[p:].reshape(-1)]).astype(np.int32)


def stream3(bias2: np.ndarray, requant: np.ndarray, words3: np.ndarray) -> np.ndarray:
    """The 3-pixel kernels' one stream (tinyq/tq_conv_gemm.h "three output pixels"): per channel pair {bias_c,
    bias_c+1, the pair's widen_filter3 words, row_c, row_c+1}, an odd last channel {bias, its 2 words a group,
    row}: the assembly reads biases, weights and requant rows through one pointer. bias2 int32 [C] (doubled,
    folded), requant int [C, 3] tq_requant_rows, words3 widen_filter3's words."""
    c, rq, w = len(bias2), np.asarray(requant, np.int64).reshape(-1, 3), np.asarray(words3, np.int64)
    p, g = c // 2, len(w) // c // 2  # g: groups of 4 taps
    b = np.asarray(bias2, np.int64)
    pairs = np.concatenate([b[: 2 * p].reshape(p, 2), w[: 4 * g * p].reshape(p, 4 * g), rq[: 2 * p].reshape(p, 6)],
                           axis=1).reshape(-1)
    last = np.concatenate([b[2 * p:], w[4 * g * p:], rq[2 * p:].reshape(-1)])
    return np.concatenate([pairs, last])


def block3_pays(pixels: int, groups: int) -> bool:
    """Whether 3 pixels a block beats 2 on the M4's cost model in both cycles and instructions, per channel pair
    (the kernels' loops: 26 cycles / 16 instructions a group and about 64 / 49 a block besides, against 20 / 12
    and 48 / 34; a loop step of 4 groups 4 / 2; estimates, the 3-pixel side rounded up)."""
    b2, b3, steps2, steps3 = -(-pixels // 2), -(-pixels // 3), groups // 4 + 1, (groups - 1) // 4 + 1
    cycles2, cycles3 = b2 * (20 * groups + 48 + 4 * steps2), b3 * (26 * groups + 64 + 4 * steps3)
    instrs2, instrs3 = b2 * (12 * groups + 34 + 2 * steps2), b3 * (16 * groups + 49 + 2 * steps3)
    return cycles3 < cycles2 and instrs3 <= instrs2


def _doubled(bias: np.ndarray) -> np.ndarray:
    """2 * bias modulo 2^32 as int32: the kernel's inputs are doubled in scratch, so its sums are 2 * acc (which
    fits int32, as |acc| < 2^30 is proved; the bias alone may wrap, the sum does not)."""
    return ((bias.astype(np.int64) * 2 + 2**31) % 2**32 - 2**31).astype(np.int32)


def pair_rows(bias2: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The kernel's row table: per channel pair {bias_c, bias_c+1, row_c, row_c+1} (bias2 int32 [C] the doubled
    folded biases, rows int32 [C, 3] tq_requant_rows), an odd last channel {bias, row}: one LDRD starts a pair's
    accumulators, three more read its rows."""
    c = len(bias2)
    p = c // 2 * 2
    pairs = np.concatenate([bias2[:p].reshape(-1, 2), rows[:p].reshape(-1, 6)], axis=1).reshape(-1)
    last = np.concatenate([bias2[p:], rows[p:].reshape(-1)])
    return np.concatenate([pairs, last]).astype(np.int64)


def folded_rows(weights: np.ndarray, call: KernelCall, fr) -> tuple[np.ndarray, int]:
    """The requant rows with the output offset folded into their rounding terms (the assembly kernel adds none)
    and the offset left to add (0), or the rows unchanged and the offset when folding could overflow."""
    if not call.output_offset:
        return fr.rows, 0
    live = weights.astype(np.int64).any(axis=1)
    bound = np.where(live, accumulator_bound(weights, call.bias, call.input_offset),
                     np.abs(fr.bias.astype(np.int64)))  # a dead channel's acc is its folded bias (4r)
    rows = fold_output_offset(fr.rows, bound, call.output_offset)
    return (fr.rows, call.output_offset) if rows is None else (rows, 0)


def is_pointwise(call: ConvCall) -> bool:
    """1x1 and unpadded: the GEMM reads the input in place (tq_conv1x1_*), no im2col."""
    return call.filter_height == 1 and call.filter_width == 1 and call.pad_height == 0 and call.pad_width == 0


def gemm_fields(call: ConvCall, patch: int) -> dict:
    """The fields a GEMM record (ConvGemmCall and its int4 twin) takes from the lowered call: its KernelCall
    fields, the geometry, the padding value (the input zero point) and the output quantization."""
    return dict(
        **base_fields(call),
        batches=call.batches, input_height=call.input_height, input_width=call.input_width,
        input_depth=call.input_depth, filter_height=call.filter_height, filter_width=call.filter_width,
        output_height=call.output_height, output_width=call.output_width, output_depth=call.output_depth,
        stride_height=call.stride_height, stride_width=call.stride_width,
        dilation_height=call.dilation_height, dilation_width=call.dilation_width,
        pad_height=call.pad_height, pad_width=call.pad_width,
        patch=patch, patch_padded=-(-patch // 4) * 4, pad_value=-call.input_offset,
        output_offset=call.output_offset, act_min=call.act_min, act_max=call.act_max,
    )


def prepare(call: KernelCall, wide: bool = False, block: int = 2) -> Prepared | None:
    if not isinstance(call, ConvCall) or call.filter is None or call.packed is not None or call.acc64:
        return None
    if call.filter_input_depth != call.input_depth:  # groups: the kernels read one patch per pixel
        return None
    c = call.output_depth
    rows = np.asarray(call.filter, np.int8).reshape(c, -1)
    fr = fast_requant(rows, call.bias, call.input_offset, call.multiplier, call.shift)
    if fr is None:
        return None
    pointwise = is_pointwise(call)
    if block == 3 and not block3_pays(call.batches * call.output_height * call.output_width,
                                      -(-rows.shape[1] // 4)):
        return None
    requant, out_offset = folded_rows(rows, call, fr)
    fields = gemm_fields(call, rows.shape[1])
    fields["output_offset"] = out_offset
    if block == 3:  # one stream; `rows` is the same array (the emitter stores equal arrays once)
        table = weights = const_array(stream3(_doubled(fr.bias), requant, widen_filter3(rows)), np.int32)
    else:
        table = const_array(pair_rows(_doubled(fr.bias), np.asarray(requant)), np.int32)
        weights = const_array(widen_filter(rows) if wide else arrange_filter(rows), np.int32)
    record = ConvGemmCall(**fields, rows=table, weights=weights, _filter=call.filter, _gathers=not pointwise,
                          _wide=wide, _block=block)
    symbol = CONV1X1 if pointwise else IM2COL
    return Prepared(record, WIDE3[symbol] if block == 3 else WIDE[symbol] if wide else symbol)


register(Preparer(kernel="tq_conv_s8", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=lambda c: prepare(c, True, 3),
                  wide=True, cpus=WIDE3_CPUS))
register(Preparer(kernel="tq_conv_s8", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=lambda c: prepare(c, True),
                  wide=True))
register(Preparer(kernel="tq_conv_s8", feature=DSP, macro="__ARM_FEATURE_DSP", prepare=prepare))
