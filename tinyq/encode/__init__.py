"""Sub-8-bit storage of int8 weight tensors (docs/weight_encodings.md is the format, bit for bit).

An encoding stores an int8 tensor whose values take few levels; the arithmetic stays TFLM's int8
arithmetic, so `EncodedWeights.decode()` gives back exactly the tensor the kernels compute with.
"""
from tinyq.encode.analyze import WeightStats, analyze
from tinyq.encode.codec import decode, encode
from tinyq.encode.formats import EncodedWeights, rows_view
from tinyq.encode.select import KERNEL_COST, SPEED_MARGIN, candidates, choose, kernel_cost
from tinyq.encode.spec import VALID_FORMS, EncodingError, parse_encoding

__all__ = ["EncodedWeights", "EncodingError", "KERNEL_COST", "SPEED_MARGIN", "VALID_FORMS", "WeightStats",
           "analyze", "candidates", "choose", "decode", "encode", "kernel_cost", "parse_encoding", "rows_view"]
