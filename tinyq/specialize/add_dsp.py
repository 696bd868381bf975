"""Prepares int8 ADD calls for tq_add_s8_table_dsp (Arm DSP extension): each input's rescale as a table.

TFLM's int8 ADD rescales each input alone, x_k = MBQM_smaller_than_one((in_k + offset_k) << 20, m_k, s_k), then
requantizes x_1 + x_2. What depends on one input byte is computed here for all 256 bytes (exact by
construction: the simulator's own fixed-point functions), doubled so the kernel feeds SMMULR directly. Flash:
2 tables of 256 int32 = 2 KB a layer; declined for outputs under 512 elements, where the 2 KB outweigh the ~100
instructions saved per element. The output requantization is tq_requant_fast, proved exact here from the
tables' largest sum.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tinyq.lower.elementwise import AddSubCall
from tinyq.program import KernelCall, const_array
from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier_smaller_than_one_exp
from tinyq.specialize import Prepared, Preparer, base_fields, register
from tinyq.specialize.requant import FAST_BOUND

SYMBOL = "tq_add_s8_table_dsp"
MIN_ELEMENTS = 512  # 2 KB of tables: worth it from 512 output elements (4 bytes of flash per element)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True, eq=False)
class AddTableCall(KernelCall):
    elementwise_order = True  # tinyq.program.KernelCall: the output may take over a dead input
    params_type = "tq_add_s8_table_params"
    rank: int
    shape: tuple[int, ...]
    input1_stride: tuple[int, ...]
    input2_stride: tuple[int, ...]
    table1: np.ndarray  # int32 [256] by uint8 byte: 2 * TFLM's rescaled input 1
    table2: np.ndarray
    multiplier: int
    round: int  # 2^(rs-1) + output_offset * 2^rs
    right_shift: int
    act_min: int
    act_max: int


def rescale_table(offset: int, left_shift: int, multiplier: int, shift: int) -> np.ndarray:
    """TFLM's rescaled input for every byte, indexed by the byte as uint8 (int64 [256])."""
    x = np.arange(256, dtype=np.int64).astype(np.uint8).view(np.int8).astype(np.int64)
    return multiply_by_quantized_multiplier_smaller_than_one_exp((x + offset) << left_shift, multiplier, shift)


def prepare(call: KernelCall) -> Prepared | None:
    if not isinstance(call, AddSubCall) or call.kernel != "tq_add_s8":
        return None
    if call.input1_const is not None or call.input2_const is not None or int(np.prod(call.shape)) < MIN_ELEMENTS:
        return None
    t1 = rescale_table(call.input1_offset, call.left_shift, call.input1_multiplier, call.input1_shift)
    t2 = rescale_table(call.input2_offset, call.left_shift, call.input2_multiplier, call.input2_shift)
    raw_max = int(np.abs(t1).max()) + int(np.abs(t2).max())  # |x_1 + x_2| for any pair of bytes
    rs = -int(call.output_shift)
    if raw_max >= FAST_BOUND or not 1 <= rs <= 30:  # tq_requant_fast's conditions
        return None
    # |h| = |SRDHM(raw, m)| <= raw_max + 1; h + round + (h >> 31) must fit int32 with the offset folded in
    h_max = raw_max + 1
    rnd = (1 << (rs - 1)) + int(call.output_offset) * (1 << rs)
    if h_max + rnd > INT32_MAX or -h_max - 1 + rnd < INT32_MIN:
        return None
    base = base_fields(call)
    record = AddTableCall(
        **base,
        rank=call.rank,
        shape=call.shape,
        input1_stride=call.input1_stride,
        input2_stride=call.input2_stride,
        table1=const_array(2 * t1, np.int32),
        table2=const_array(2 * t2, np.int32),
        multiplier=int(call.output_multiplier),
        round=rnd,
        right_shift=rs,
        act_min=call.act_min,
        act_max=call.act_max,
    )
    return Prepared(record, SYMBOL)


register(Preparer(kernel="tq_add_s8", feature="dsp", macro="__ARM_FEATURE_DSP", prepare=prepare))
