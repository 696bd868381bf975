"""Helium preparers of CONV_2D and FULLY_CONNECTED with int4 weights (dense `int4` encoding): ConvCall
tq_conv_s8_w4 -> tq_conv1x1_s8_int4_mve / tq_conv_s8_im2col_int4_mve, FullyConnectedCall tq_fully_connected_s8_w4
-> tq_fully_connected_s8_int4_mve (firmware/src/tq_gemm_s8_int4_mve.c). The records are gemm_mve.py's
(tq_gemm_s8_mve_params, tq_conv_s8_im2col_mve_params) with `decode` set; only the blocked stream differs, and the
weights stay 4-bit in flash.

Per block of 4 channels: its starting sums (once: the int8 stream has them twice), a 16-byte vector per 16 taps
of each channel pair (c, c + 1), the multiplier and shift vectors. Two decodes (the C file's comment derives
them), chosen per layer by `cost`: PAIR_SUM (one row, deep rows): starts {16 f_c + f_{c+1}, f_{c+1}}
(int4_dsp.py's pair_init, f the folded bias), bytes (w_c << 4) | (w_{c+1} + 8); exact iff |acc_c| < 2^27 for
every even channel c. SCALED (two rows, short depth): starts 16 f, bytes (w_c << 4) | (w_{c+1} & 0xF); exact iff
|acc| < 2^27 for every channel. requant.py's accumulator_bound proves them; a call neither decode proves is
declined and keeps its packed kernel (int4_dsp.py needs the same even-channel bound).
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
from tinyq.specialize.int4_dsp import HIGH_BOUND, Int4Storage, _wrap32, int4_rows, pair_init
from tinyq.specialize.requant import accumulator_bound

FC = "tq_fully_connected_s8_int4_mve"
CONV1X1 = "tq_conv1x1_s8_int4_mve"
IM2COL = "tq_conv_s8_im2col_int4_mve"
# A dead channel's constant output r starts its sum at 4r (common_mve.requant_vectors), here at 16 * 4r (an even
# channel under PAIR_SUM, any under SCALED): |r| <= 2^16 keeps that inside int32, and past 2^8 + 128 every r gives
# the same clamped int8 output (common_mve clips at 2^28, which x16 would overflow).
DEAD_LIMIT = 2**16
PAIR_SUM, SCALED = 0, 1  # tq_mve.h TQ_INT4_PAIR_SUM, TQ_INT4_SCALED


def arrange(rows: np.ndarray, decode: int = PAIR_SUM) -> np.ndarray:
    """int8 [C, K] in [-8, 7] -> uint8 [blocks][steps * 2 * 16] as the int4 cores read it: per block of 4 channels
    and 16 taps, one vector per channel pair (c, c + 1), byte (w_c << 4) | (w_{c+1} + 8) (PAIR_SUM) or
    (w_c << 4) | (w_{c+1} & 0xF) (SCALED); channels past C have zero weights, bytes past K are 0 (no input byte
    past the row counts)."""
    c, k = rows.shape
    cp, kp = padded(c, LANES), padded(k, BYTES)
    w = np.zeros((cp, kp), np.int16)
    w[:c, :k] = rows
    low = w[1::2] + 8 if decode == PAIR_SUM else w[1::2] & 0xF
    b = ((w[0::2] & 0xF) << 4 | low).astype(np.uint8)  # [pairs, kp]
    b[:, k:] = 0
    return b.reshape(cp // LANES, 2, kp // BYTES, BYTES).transpose(0, 2, 1, 3).reshape(cp // LANES, -1)


def cost(decode: int, rows: int, chunks: int, blocks: int) -> float:
    """Instructions of the layer's GEMM beyond what both decodes share, counted from the cores' text: per block
    and row pair, the 16-byte steps (PAIR_SUM 14, as int8; SCALED 16), the sums' fix-up (13; 2) and the input
    sums' pass shared by the blocks (about 30 + 4 a step); one row: 9 and 11 a step, 7 and 1, 15 + 2 a step."""
    pairs, single = divmod(rows, 2)
    if decode == PAIR_SUM:
        two, one = 14 * chunks + 13 + (30 + 4 * chunks) / blocks, 9 * chunks + 7 + (15 + 2 * chunks) / blocks
    else:
        two, one = 16 * chunks + 2, 11 * chunks + 1
    return blocks * (pairs * two + single * one)


def gemm_fields(rows: np.ndarray, call: KernelCall, n_rows: int, decode: int | None = None) -> dict | None:
    """gemm_mve's _GemmFields and `decode` (the cheaper by `cost` unless given) for int4 `rows` [C, K], or None
    when the requantization is not one tq_mve_requant does or the decode's accumulator bound does not hold."""
    c, k = rows.shape
    dead = ~rows.any(axis=1)
    rq = requant_vectors(rows.astype(np.int64).sum(axis=1), call.bias, call.input_offset, call.multiplier,
                         call.shift, dead=dead, dead_limit=DEAD_LIMIT)
    if rq is None or n_rows < 1:
        return None
    fits = np.where(dead, True, accumulator_bound(rows, call.bias, call.input_offset) < HIGH_BOUND)
    blocks, chunks = padded(c, LANES) // LANES, padded(k, BYTES) // BYTES
    usable = [d for d, ok in ((PAIR_SUM, fits[0::2].all()), (SCALED, fits.all())) if ok and decode in (None, d)]
    if not usable:
        return None
    decode = min(usable, key=lambda d: cost(d, n_rows, chunks, blocks))  # the given one, else the cheaper
    folded = rq.bias.astype(np.int64)
    starts = pair_init(folded) if decode == PAIR_SUM else _wrap32(16 * folded)
    starts = np.asarray(starts, "<i4").reshape(blocks, LANES).view(np.uint8)
    mult, shift = (np.asarray(v, "<i4").reshape(blocks, LANES).view(np.uint8) for v in (rq.multiplier, rq.shift))
    blocked = np.concatenate([starts, arrange(rows, decode), mult, shift], axis=1).reshape(-1).view(np.int8)
    return dict(rows=n_rows, depth=k, out_depth=c, blocks=blocks, chunks=chunks, output_offset=call.output_offset,
                act_min=call.act_min, act_max=call.act_max, blocked=const_array(blocked, np.int8), decode=decode)


@dataclass(frozen=True, eq=False)
class _Decode:
    decode: int  # PAIR_SUM or SCALED


@dataclass(frozen=True, eq=False)
class GemmMveInt4(_Decode, GemmMve):
    pass


@dataclass(frozen=True, eq=False)
class GemmMveInt4Call(_Decode, GemmMveCall):
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


def gemm_shape(call: KernelCall) -> tuple[tuple[int, int], int] | None:
    """((C, K), rows) of the GEMM of a FULLY_CONNECTED or ungrouped CONV_2D call int8 accumulates, or None."""
    if isinstance(call, FullyConnectedCall) and not call.acc64 and call.filter_offset == 0:
        return (call.output_depth, call.accum_depth), call.batches
    if isinstance(call, ConvCall) and not call.acc64 and call.filter_input_depth == call.input_depth:
        k = call.filter_height * call.filter_width * call.input_depth
        return (call.output_depth, k), call.batches * call.output_height * call.output_width
    return None


def prepared(call: KernelCall, rows: np.ndarray, g: dict, nbytes: int, symbols: tuple[str, str, str]) -> Prepared:
    """The record of `call` for GEMM fields g (rows: its decoded int8 weights [C, K], nbytes: what its packed
    weights take in the stream), calling symbols = (FC, conv 1x1, im2col conv)."""
    storage = Int4Storage(call.packed.encoded, nbytes)
    if isinstance(call, FullyConnectedCall):
        return Prepared(GemmMveInt4Call(**base_fields(call), **g, _source=rows, _storage=storage), symbols[0])
    source = rows.reshape(call.output_depth, call.filter_height, call.filter_width, call.input_depth)
    if is_pointwise(call):
        return Prepared(GemmMveInt4Call(**base_fields(call), **g, _source=source, _storage=storage), symbols[1])
    record = ConvIm2colMveInt4Call(**base_fields(call), **geometry(call), pad_value=-call.input_offset,
                                   **bordered(call), gemm=GemmMveInt4(**g), _source=source, _storage=storage)
    return Prepared(record, symbols[2])


def prepare(call: KernelCall) -> Prepared | None:
    shape = gemm_shape(call)
    rows = int4_rows(call) if shape else None
    if rows is None or rows.shape != shape[0]:
        return None
    g = gemm_fields(rows, call, shape[1])
    if g is None:
        return None
    return prepared(call, rows, g, g["blocks"] * g["chunks"] * 2 * BYTES, (FC, CONV1X1, IM2COL))


register(Preparer(kernel="tq_conv_s8_w4", feature=FEATURE, macro=MACRO, prepare=prepare))
register(Preparer(kernel="tq_fully_connected_s8_w4", feature=FEATURE, macro=MACRO, prepare=prepare))
