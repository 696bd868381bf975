"""Helium preparer for DEPTHWISE_CONV_2D with int4 weights (the lowered tq_depthwise_conv_s8_w4, depth multiplier
1) -> tq_depthwise_conv_s8_int4_mve (firmware/src/tq_depthwise_conv_s8_int4_mve.c): depthwise_mve.py's record
whose blocked filter [group of 4 channels][tap][4] is stored as nibbles, two lanes a byte (lane 2i in the low
nibble, lane 2i + 1 in the high one, two's complement): 2 bytes a tap a group, half int8's. The kernel unpacks a
group's taps into scratch (4 bytes a tap) before the group's four channels, whose passes then run the int8
kernel's code on them. The decoded weights are the int4 levels as int8 and the arithmetic is int8's, so the
record takes every call depthwise_mve.py takes with int8 weights (no bound to prove); a call whose weights are
not dense int4 in [-8, 7] is declined and keeps the DSP int4 kernel (int4_dsp.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinyq.program import const_array
from tinyq.specialize import Prepared, Preparer, register
from tinyq.specialize.depthwise_dsp import one_filter_a_channel
from tinyq.specialize.depthwise_mve import DepthwiseMveCall, arrange, mve_fields
from tinyq.specialize.int4_dsp import Int4Storage, dw_filter

KERNEL = "tq_depthwise_conv_s8_int4_mve"
UNPACK_BYTES = 32  # the kernel unpacks 16 bytes (8 taps of a group) into 32 at a time


def unpacked_bytes(taps: int, step: int = UNPACK_BYTES) -> int:
    """Scratch for one group's unpacked taps: 4 bytes a tap, rounded up to the unpacking step."""
    return -(-4 * taps // step) * step


@dataclass(frozen=True, eq=False)
class DepthwiseInt4MveCall(DepthwiseMveCall):
    """tq_depthwise_conv_s8_mve_params with `blocked` holding nibbles (tinyq/tq_mve.h); `packed` reports the
    storage. Scratch: the bordered copy, then one group's unpacked taps."""

    unpack_step: ClassVar[int] = UNPACK_BYTES
    _storage: Int4Storage | None = None

    def scratch_bytes(self) -> int:
        return super().scratch_bytes() + unpacked_bytes(self.filter_height * self.filter_width, self.unpack_step)

    @property
    def packed(self) -> Int4Storage | None:
        return self._storage


def nibbles(blocked: np.ndarray) -> np.ndarray:
    """int8 [groups * taps * 4] in [-8, 7] -> int8 bytes (lane 2i & 0xF) | (lane 2i + 1) << 4."""
    b = np.asarray(blocked, np.int16)
    return ((b[0::2] & 0xF) | (b[1::2] & 0xF) << 4).astype(np.uint8).view(np.int8)


def prepare_depthwise(call) -> Prepared | None:
    if not one_filter_a_channel(call):
        return None
    filt = dw_filter(call)
    if filt is None:
        return None
    fields = mve_fields(call, filt)
    if fields is None:
        return None
    packed = nibbles(arrange(filt))
    record = DepthwiseInt4MveCall(**fields, blocked=const_array(packed, np.int8),
                                  _storage=Int4Storage(call.packed.encoded, int(packed.nbytes)))
    return Prepared(record, KERNEL)


register(Preparer(kernel="tq_depthwise_conv_s8_w4", feature="mve", macro="__ARM_FEATURE_MVE",
                  prepare=prepare_depthwise))
