"""Helium preparers of CONV_2D and FULLY_CONNECTED with int4 weights (dense `int4` encoding): ConvCall
tq_conv_s8_w4 -> tq_conv1x1_s8_int4_mve / tq_conv_s8_im2col_int4_mve, FullyConnectedCall tq_fully_connected_s8_w4
-> tq_fully_connected_s8_int4_mve (firmware/src/tq_gemm_s8_int4_mve.c). The records are gemm_mve.py's
(tq_gemm_s8_mve_params, tq_conv_s8_im2col_mve_params); only the blocked stream differs, and the weights stay
4-bit in flash.

Per block of 4 channels: the starting sums {16 f_c + f_{c+1}, f_{c+1}} of its two channel pairs (int4_dsp.py's
pair_init, f the folded bias) twice, then a 16-byte vector per 16 taps of each pair, byte (w_c << 4) | (w_{c+1} + 8)
(0 past K), then the multiplier and shift vectors. The kernel recovers 16 acc_c as a difference of two int32 sums
and shifts it right by 4: exact iff |acc_c| < 2^27 for every even channel c, which requant.py's accumulator_bound
proves here, or the call is declined and keeps the DSP int4 kernel (int4_dsp.py). The odd channels need no bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower.conv import ConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import KernelCall, const_array
from tinyq.raster import RasterOrder
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.common_mve import BYTES, LANES, padded, requant_vectors
from tinyq.specialize.gemm_mve import (FEATURE, MACRO, ConvIm2colMveCall, GemmMve, GemmMveCall, bordered, geometry,
                                      is_pointwise)
from tinyq.specialize.int4_dsp import HIGH_BOUND, Int4Storage, int4_rows, nibble_bytes, pair_init
from tinyq.specialize.requant import accumulator_bound

FC = "tq_fully_connected_s8_int4_mve"
CONV1X1 = "tq_conv1x1_s8_int4_mve"
IM2COL = "tq_conv_s8_im2col_int4_mve"
# A dead channel's constant output r starts its sum at 4r (common_mve.requant_vectors), an even one at 16 * 4r
# here: |r| <= 2^16 keeps that inside int32, and past 2^8 + 128 every r gives the same clamped int8 output.
DEAD_LIMIT = 2**16


def arrange(rows: np.ndarray) -> np.ndarray:
    """int8 [C, K] in [-8, 7] -> uint8 [blocks][steps][2][16] as tq_mve_gemm_pair_int4 reads it: per block of 4
    channels and 16 taps, one vector per channel pair (c, c + 1), byte (w_c << 4) | (w_{c+1} + 8); channels past
    C have zero weights, bytes past K are 0 (no input byte past the row counts)."""
    c, k = rows.shape
    cp, kp = padded(c, LANES), padded(k, BYTES)
    w = np.zeros((cp, kp), np.int8)
    w[:c, :k] = rows
    b = nibble_bytes(w[0::2], w[1::2])  # [pairs, kp]
    b[:, k:] = 0
    return b.reshape(cp // LANES, 2, kp // BYTES, BYTES).transpose(0, 2, 1, 3).reshape(cp // LANES, -1)


def gemm_fields(rows: np.ndarray, call: KernelCall, n_rows: int) -> dict | None:
    """gemm_mve's _GemmFields for int4 `rows` [C, K], or None when the requantization is not one tq_mve_requant
    does or some even channel's |accumulator| may reach 2^27."""
    c, k = rows.shape
    dead = ~rows.any(axis=1)
    rq = requant_vectors(rows.astype(np.int64).sum(axis=1), call.bias, call.input_offset, call.multiplier,
                         call.shift, dead=dead, dead_limit=DEAD_LIMIT)
    if rq is None or n_rows < 1:
        return None
    bound = accumulator_bound(rows, call.bias, call.input_offset)
    if (bound[0::2][~dead[0::2]] >= HIGH_BOUND).any():
        return None
    blocks = padded(c, LANES) // LANES
    starts = pair_init(rq.bias).astype("<i4").reshape(blocks, LANES).view(np.uint8)
    mult, shift = (np.asarray(v, "<i4").reshape(blocks, LANES).view(np.uint8) for v in (rq.multiplier, rq.shift))
    blocked = np.concatenate([starts, starts, arrange(rows), mult, shift], axis=1).reshape(-1).view(np.int8)
    return dict(rows=n_rows, depth=k, out_depth=c, blocks=blocks, chunks=padded(k, BYTES) // BYTES,
                output_offset=call.output_offset, act_min=call.act_min, act_max=call.act_max,
                blocked=const_array(blocked, np.int8))


def _storage(call: KernelCall, g: dict) -> Int4Storage:
    return Int4Storage(call.packed.encoded, g["blocks"] * g["chunks"] * 2 * BYTES)


@dataclass(frozen=True, eq=False)
class GemmMveInt4Call(GemmMveCall):
    """GemmMveCall with the int4 blocked stream; `packed` reports the 4-bit storage."""

    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage

    def raster_order(self):
        # as tq_conv1x1_s8_mve: both rows read (their sums first, then per block), then the block's bytes stored
        return RasterOrder(2, False, (1, 1), (1, 1), (1, 1), (0, 0)) if self.kernel == "tq_conv_s8_w4" else None


@dataclass(frozen=True, eq=False)
class ConvIm2colMveInt4Call(ConvIm2colMveCall):
    _storage: Int4Storage | None = None

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def prepare_fully_connected(call: KernelCall) -> Prepared | None:
    if not isinstance(call, FullyConnectedCall) or call.acc64 or call.filter_offset != 0:
        return None
    rows = int4_rows(call)
    if rows is None or rows.shape != (call.output_depth, call.accum_depth):
        return None
    g = gemm_fields(rows, call, call.batches)
    if g is None:
        return None
    return Prepared(GemmMveInt4Call(**base_fields(call), **g, _source=rows, _storage=_storage(call, g)), FC)


def prepare_conv(call: KernelCall) -> Prepared | None:
    if not isinstance(call, ConvCall) or call.acc64 or call.filter_input_depth != call.input_depth:
        return None
    rows = int4_rows(call)
    if rows is None or rows.shape[0] != call.output_depth:
        return None
    g = gemm_fields(rows, call, call.batches * call.output_height * call.output_width)
    if g is None:
        return None
    source = rows.reshape(call.output_depth, call.filter_height, call.filter_width, call.input_depth)
    if is_pointwise(call):
        return Prepared(GemmMveInt4Call(**base_fields(call), **g, _source=source, _storage=_storage(call, g)),
                        CONV1X1)
    record = ConvIm2colMveInt4Call(**base_fields(call), **geometry(call), pad_value=-call.input_offset, **bordered(call),
                                   gemm=GemmMve(**g), _source=source, _storage=_storage(call, g))
    return Prepared(record, IM2COL)


register(Preparer(kernel="tq_conv_s8_w4", feature=FEATURE, macro=MACRO, prepare=prepare_conv))
register(Preparer(kernel="tq_fully_connected_s8_w4", feature=FEATURE, macro=MACRO, prepare=prepare_fully_connected))
