"""Helium preparer for int8 AVERAGE_POOL_2D: tq_avgpool_s8_mve reads the lowered record itself (tq_pool_params), four
channels per vector. It takes windows of at most 256 elements, where its multiply-high division is exact
(firmware/src/tq_avgpool_s8_mve.c); larger windows keep the reference kernel."""
from __future__ import annotations

from dataclasses import replace

from tinyq.lower.pool import PoolCall
from tinyq.program import KernelCall
from tinyq.specialize import Prepared, Preparer, register

SYMBOL = "tq_avgpool_s8_mve"
MAX_WINDOW = 256  # |sum| + count / 2 < 2^16: the exactness bound of the kernel's division


def prepare(call: KernelCall) -> Prepared | None:
    if not isinstance(call, PoolCall) or call.kernel != "tq_avgpool_s8" or call.filter_h * call.filter_w > MAX_WINDOW:
        return None
    # a copy: compile() takes the specialized program only when some record is a new object
    return Prepared(replace(call), SYMBOL)


register(Preparer(kernel="tq_avgpool_s8", feature="mve", macro="__ARM_FEATURE_MVE", prepare=prepare))
