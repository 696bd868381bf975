"""Simulator kernels for packed (sub-8-bit) weights: tq_<op>_<act>_<w> (firmware/src/tq_*_packed.c).

An encoding is storage: decode the record's packed weights (tinyq.encode, docs/weight_encodings.md), then
run the int8 kernel on them. This is the executable spec the C decoders must match.
"""
from __future__ import annotations

from dataclasses import replace

from tinyq.sim.kernels import get_kernel, sim_kernel

OPS = ("fully_connected", "conv", "depthwise_conv")
# int4, int2, other k-bit, ternary, binary, codebook, sparse, topK (nested: another level's int8 bytes)
WEIGHT_FORMS = ("w4", "w2", "wk", "wt", "wb", "wc", "ws", "wn")


def int8_twin(call):
    """The int8 record that computes the same integers: decoded weights, the reference kernel's name."""
    rows = call.packed.encoded.decode()
    if call.kernel.startswith("tq_fully_connected"):
        return replace(call, kernel=call.kernel.rsplit("_", 1)[0], weights=rows.reshape(call.output_depth, call.accum_depth),
                       packed=None)
    if call.kernel.startswith("tq_depthwise_conv"):
        shape = (call.filter_height, call.filter_width, call.output_depth)
    else:
        shape = (call.output_depth, call.filter_height, call.filter_width, call.filter_input_depth)
    return replace(call, kernel=call.kernel.rsplit("_", 1)[0], filter=rows.reshape(shape), packed=None)


@sim_kernel(*(f"tq_{op}_{act}_{w}" for op in OPS for act in ("s8", "s16") for w in WEIGHT_FORMS))
def packed(call, x):
    twin = int8_twin(call)
    return get_kernel(twin.kernel)(twin, x)
