"""Multiply-accumulates of a lowered kernel call (conv, depthwise conv, fully connected, SVDF, LSTM; 0 for the rest).

Consumes the lowered (not yet specialized) call records: their geometry fields give the MAC count the
anchors use (MLPerf Tiny: KWS 2,656,768, VWW 7,489,664, IC 12,501,632, AD 264,192).
"""
from __future__ import annotations

from tinyq.lower.conv import ConvCall, DepthwiseConvCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.lower.lstm import LstmCall
from tinyq.lower.svdf import SvdfCall
from tinyq.program import KernelCall


def call_macs(call: KernelCall) -> int:
    if isinstance(call, ConvCall):
        outputs = call.batches * call.output_height * call.output_width * call.output_depth
        return outputs * call.filter_height * call.filter_width * call.filter_input_depth
    if isinstance(call, DepthwiseConvCall):
        outputs = call.batches * call.output_height * call.output_width * call.output_depth
        return outputs * call.filter_height * call.filter_width
    if isinstance(call, FullyConnectedCall):
        return call.batches * call.accum_depth * call.output_depth
    if isinstance(call, SvdfCall):  # the feature matmul, then each filter's time-weights dot
        return call.batches * call.num_filters * (call.input_size + call.memory_size)
    if isinstance(call, LstmCall):  # per step, four gates: an input and a recurrent matmul each
        return call.batches * call.time_steps * 4 * call.units * (call.input_size + call.units)
    return 0
