"""DSP preparer for int8 AVERAGE_POOL_2D: tq_avgpool_s8_dsp reads the lowered record itself (tq_pool_params), four
channels per input word in int16 lanes (firmware/src/tq_avgpool_s8_dsp.c). It takes depths that are a multiple
of 4 (every word load is then aligned and whole) and windows of at most 255 elements, where the int16 lane sums
cannot overflow (|sum| <= 128 * 255 < 2^15) and the multiply-high division is exact; the rest keep the reference
kernel."""
from __future__ import annotations

from dataclasses import replace

from tinyq.lower.pool import PoolCall
from tinyq.program import KernelCall
from tinyq.specialize import Prepared, Preparer, register

SYMBOL = "tq_avgpool_s8_dsp"
MAX_WINDOW = 255  # 128 * 255 < 2^15: a window's sum fits an int16 lane


def prepare(call: KernelCall) -> Prepared | None:
    if not isinstance(call, PoolCall) or call.kernel != "tq_avgpool_s8" or call.depth % 4 != 0 \
            or call.filter_h * call.filter_w > MAX_WINDOW:
        return None
    # a copy: compile() takes the specialized program only when some record is a new object
    return Prepared(replace(call), SYMBOL)


register(Preparer(kernel="tq_avgpool_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
