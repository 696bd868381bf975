"""Helium preparers of CONV_2D and FULLY_CONNECTED with 2-bit weights (dense `int2`, `ternary`, `binary`
encodings, every weight w = m_c * t, t in [-2, 1]; lowbit_dsp.py's lowbit_rows): ConvCall tq_conv_s8_{w2,wt,wb}
-> tq_conv1x1_s8_int2_mve / tq_conv_s8_im2col_int2_mve, FullyConnectedCall tq_fully_connected_s8_{w2,wt,wb} ->
tq_fully_connected_s8_int2_mve (firmware/src/tq_gemm_s8_int2_mve.c). The records are gemm_mve.py's
(tq_gemm_s8_mve_params, tq_conv_s8_im2col_mve_params); the weights stay 2-bit in flash.

Per block of 4 channels, in one of two decodes (the C file's comment derives them), chosen per layer by `cost`:
SCALED: zero starting sums, a 16-byte vector per 16 taps (byte j = tap j, bits 2i..2i+1 = channel i's t, two's
complement; 0 past K), the magnitudes m, the folded biases f (requant_vectors'), the multiplier and shift; the
kernel sums 64 T_c = 64 sum(x t_c): exact when |T_c| < 2^25, i.e. 128 sum|t_c| < 2^25 (raw int8 inputs), proved
here, or SCALED is declined. FIELDS: no starting sums (the kernel makes them from each row's input sum), a vector
per 16 taps with byte (t_0 & 3) << 6 | (t_1 + 2) << 4 | (t_2 + 2) << 2 | (t_3 + 2) (0 past K), then m, f,
multiplier and shift; its sums are linear modulo 2^32, so it is exact for every call, with no bound.
"""
from __future__ import annotations

import numpy as np

from tinyq.program import KernelCall, const_array
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize.common_mve import BYTES, LANES, padded, requant_vectors
from tinyq.specialize.gemm_mve import FEATURE, MACRO
from tinyq.specialize.int4_mve import gemm_shape, prepared
from tinyq.specialize.lowbit_dsp import lowbit_rows

FC = "tq_fully_connected_s8_int2_mve"
CONV1X1 = "tq_conv1x1_s8_int2_mve"
IM2COL = "tq_conv_s8_im2col_int2_mve"
SUM_BOUND = 2**25  # |sum(x t)| below this for every channel: 64 times it fits int32 (SCALED)
SCALED, FIELDS = 0, 1  # tq_mve.h TQ_INT2_SCALED, TQ_INT2_FIELDS


def arrange(t: np.ndarray, decode: int = SCALED) -> np.ndarray:
    """t int8 [C, K] in [-2, 1] -> uint8 [blocks][steps * 16] as the 2-bit cores read it: per block of 4 channels
    and 16 taps one vector, byte j = sum_i (t_i[j] & 3) << 2i (SCALED) or (t_0[j] & 3) << 6 | sum_{i>0}
    (t_i[j] + 2) << (6 - 2i) (FIELDS); channels past C have t = 0, taps past K byte 0 (their inputs read 0)."""
    c, k = t.shape
    cp, kp = padded(c, LANES), padded(k, BYTES)
    w = np.zeros((cp, kp), np.int64)
    w[:c, :k] = t
    w = w.reshape(cp // LANES, LANES, kp)
    if decode == SCALED:
        b = sum((w[:, i] & 3) << (2 * i) for i in range(LANES))
    else:
        b = (w[:, 0] & 3) << 6 | sum((w[:, i] + 2) << (6 - 2 * i) for i in range(1, LANES))
    b[:, k:] = 0
    return b.astype(np.uint8)


def cost(decode: int, rows: int, chunks: int, blocks: int) -> float:
    """Instructions of the layer's GEMM beyond what both decodes share, counted from the cores' text: per block
    and row pair, the 16-byte steps (SCALED 17, FIELDS 14 as int8), the starts and the sums' fix-up (10; 14) and
    FIELDS' input sums and starts made once a row pair for all blocks (about 30 + 6 a step); one row: 12 and 9 a
    step, 6 and 9, 20 + 3 a step."""
    pairs, single = divmod(rows, 2)
    if decode == SCALED:
        two, one = 17 * chunks + 10, 12 * chunks + 6
    else:
        two, one = 14 * chunks + 14 + (30 + 6 * chunks) / blocks, 9 * chunks + 9 + (20 + 3 * chunks) / blocks
    return blocks * (pairs * two + single * one)


def gemm_fields(t: np.ndarray, m: np.ndarray, rows: np.ndarray, call: KernelCall, n_rows: int,
                decode: int | None = None) -> dict | None:
    """gemm_mve's _GemmFields and `decode` (the cheaper by `cost` of those that hold, unless given) for 2-bit
    t [C, K] and magnitudes m [C] (rows = m * t), or None."""
    c, k = t.shape
    rq = requant_vectors(rows.astype(np.int64).sum(axis=1), call.bias, call.input_offset, call.multiplier,
                         call.shift, dead=~rows.any(axis=1))
    if rq is None or n_rows < 1:
        return None
    blocks, chunks = padded(c, LANES) // LANES, padded(k, BYTES) // BYTES
    scaled_ok = not (128 * np.abs(t.astype(np.int64)).sum(axis=1) >= SUM_BOUND).any()
    usable = [d for d, ok in ((SCALED, scaled_ok), (FIELDS, True)) if ok and decode in (None, d)]
    if not usable:
        return None
    decode = min(usable, key=lambda d: cost(d, n_rows, chunks, blocks))  # the given one, else the cheaper
    mags = np.zeros(LANES * blocks, np.int64)
    mags[:c] = m
    words = [np.asarray(v, "<i4").reshape(blocks, LANES).view(np.uint8)
             for v in (np.zeros(LANES * blocks), mags, rq.bias, rq.multiplier, rq.shift)]
    if decode == FIELDS:
        words = words[1:]  # no starting sums in the stream
    blocked = np.concatenate([*words[:-4], arrange(t, decode), *words[-4:]], axis=1).reshape(-1).view(np.int8)
    return dict(rows=n_rows, depth=k, out_depth=c, blocks=blocks, chunks=chunks,
                output_offset=call.output_offset, act_min=call.act_min, act_max=call.act_max,
                blocked=const_array(blocked, np.int8), decode=decode)


def prepare(call: KernelCall) -> Prepared | None:
    shape = gemm_shape(call)
    got = lowbit_rows(call) if shape else None
    if got is None or got[0].shape != shape[0]:
        return None
    rows, t, m = got
    g = gemm_fields(t, m, rows, call, shape[1])
    if g is None:
        return None
    return prepared(call, rows, g, g["blocks"] * g["chunks"] * BYTES, (FC, CONV1X1, IM2COL))


for _w in ("w2", "wt", "wb"):  # the lowered kernels of int2, ternary, binary
    register(Preparer(kernel=f"tq_conv_s8_{_w}", feature=FEATURE, macro=MACRO, prepare=prepare))
    register(Preparer(kernel=f"tq_fully_connected_s8_{_w}", feature=FEATURE, macro=MACRO, prepare=prepare))
