"""Helium preparer for DEPTHWISE_CONV_2D with 2-bit weights (the lowered tq_depthwise_conv_s8_{w2,wt,wb}: dense
int2, ternary, binary; depth multiplier 1) -> tq_depthwise_conv_s8_int2_mve (firmware/src/
tq_depthwise_conv_s8_int2_mve.c): depthwise_mve.py's record on the decoded weights w = m_c * t (lowbit_dsp.py's
lowbit_rows: int2 m = 1, t in [-2, 1]; ternary and binary m_c the channel's magnitude, t in {-1, 0, 1}), whose
`blocked` holds int8 m [groups * 4] (1 past the depth), then per group and tap one byte of the 4 lanes' t, lane i
at bits 2i (two's complement; 0 past the depth): a quarter of int8's filter bytes, plus 1 byte a channel. The
kernel unpacks a group's taps to int8 m t before its channels, so the arithmetic is int8's and every call
depthwise_mve.py would take with the decoded weights is taken (the magnitudes must fit int8: the encoder keeps them
in 1..127, checked again here); a call whose weights are not m_c * t keeps the DSP 2-bit kernels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyq.program import const_array
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize.depthwise_dsp import one_filter_a_channel
from tinyq.specialize.depthwise_int4_mve import DepthwiseInt4MveCall
from tinyq.specialize.depthwise_mve import arrange, mve_fields
from tinyq.specialize.int4_dsp import Int4Storage
from tinyq.specialize.lowbit_dsp import lowbit_rows

KERNEL = "tq_depthwise_conv_s8_int2_mve"


@dataclass(frozen=True, eq=False)
class DepthwiseInt2MveCall(DepthwiseInt4MveCall):
    """The 2-bit record: the kernel unpacks 16 taps of a group (16 bytes) into 64 at a time."""

    unpack_step: ClassVar[int] = 64


def codes(t_blocked: np.ndarray) -> np.ndarray:
    """int8 [groups * taps * 4] in [-2, 1] -> int8 bytes, lane i's t & 3 at bits 2i."""
    u = (np.asarray(t_blocked, np.int16) & 3).reshape(-1, 4)
    return (u[:, 0] | u[:, 1] << 2 | u[:, 2] << 4 | u[:, 3] << 6).astype(np.uint8).view(np.int8)


def prepare_depthwise(call) -> Prepared | None:
    if not one_filter_a_channel(call):
        return None
    got = lowbit_rows(call, axis=1)
    kh, kw, c = call.filter_height, call.filter_width, call.output_depth
    if got is None or got[0].shape != (c, kh * kw) or got[2].max() > 127:
        return None
    rows, t, m = got  # a row a channel
    filt = np.ascontiguousarray(rows.T).reshape(kh, kw, c)
    fields = mve_fields(call, filt)
    if fields is None:
        return None
    mags = np.ones(-(-c // 4) * 4, np.int8)
    mags[:c] = m
    blocked = np.concatenate([mags, codes(arrange(np.ascontiguousarray(t.T).reshape(kh, kw, c)))])
    record = DepthwiseInt2MveCall(**fields, blocked=const_array(blocked, np.int8),
                                  _storage=Int4Storage(call.packed.encoded, int(blocked.nbytes)))
    return Prepared(record, KERNEL)


for _w in ("w2", "wt", "wb"):
    register(Preparer(kernel=f"tq_depthwise_conv_s8_{_w}", feature="mve", macro="__ARM_FEATURE_MVE",
                      prepare=prepare_depthwise))
