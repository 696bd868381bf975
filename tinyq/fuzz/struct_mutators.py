"""Structure-level mutators: edit a schema.ModelT (official object API) in place.

Each mutator is `fn(model, rng) -> list[Change]` and says exactly what it changed: a Change is a path
into the object tree (attribute names and list indices; "len" means the length of the list) with the
old and new value in normalized form (see normalize). The unit tests re-parse the packed mutant and
check every Change, so a mutator cannot silently do nothing. A mutator that does not apply to a model
(no conv op for a stride mutator, ...) raises NotApplicable.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinyq.fuzz.schema import op_name, real_opcode, schema

INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
OPS_WITH_BIAS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")
# builtins an opcode is swapped to: what tinyq lowers, what it refuses, and a few neither knows
SWAP_TARGETS = ("ADD", "SUB", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE",
                "MAX_POOL_2D", "AVERAGE_POOL_2D", "LOGISTIC", "TANH", "QUANTIZE", "DEQUANTIZE", "MEAN", "REDUCE_MAX", "PAD",
                "CONCATENATION", "STRIDED_SLICE", "TRANSPOSE", "RELU", "RELU6", "SVDF", "CUSTOM", "WHILE",
                "GATHER", "HARD_SWISH", "BATCH_MATMUL", "SHAPE", "PACK", "CAST", "RESIZE_NEAREST_NEIGHBOR",
                "RESIZE_BILINEAR", "PRELU", "UNIDIRECTIONAL_SEQUENCE_LSTM", "READ_VARIABLE", "ASSIGN_VARIABLE",
                "VAR_HANDLE", "CALL_ONCE")
WRONG_OPTIONS = ("Conv2DOptions", "DepthwiseConv2DOptions", "Pool2DOptions", "FullyConnectedOptions",
                 "SoftmaxOptions", "ReshapeOptions", "AddOptions", "ConcatenationOptions", "ReducerOptions",
                 "StridedSliceOptions", "SVDFOptions", "UnidirectionalSequenceLSTMOptions")


class NotApplicable(Exception):
    """The mutator has nothing to change in this model."""


@dataclass(frozen=True)
class Change:
    path: tuple
    old: Any
    new: Any

    def __str__(self) -> str:
        def short(v):
            r = repr(v)
            return r if len(r) <= 60 else r[:57] + "..."

        return f"{'.'.join(str(p) for p in self.path)}: {short(self.old)} -> {short(self.new)}"


def normalize(value):
    """A comparable form: lists for vectors, float32-rounded floats ('nan' for NaN), class names for tables."""
    if value is None or isinstance(value, (bool, bytes, str)):
        return value
    if isinstance(value, np.ndarray):
        return [normalize(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(np.float32(value))
        return "nan" if math.isnan(f) else f
    return type(value).__name__


def get_path(model, path: tuple):
    obj = model
    for key in path:
        if key == "len":
            return 0 if obj is None else len(obj)
        obj = getattr(obj, key) if isinstance(key, str) else obj[key]
    return obj


def _set(model, path: tuple, value, changes: list) -> None:
    parent = get_path(model, path[:-1])
    old = normalize(get_path(model, path))
    if isinstance(path[-1], str):
        setattr(parent, path[-1], value)
    else:
        parent[path[-1]] = value
    changes.append(Change(path, old, normalize(value)))


MUTATORS: dict[str, Callable] = {}


def mutator(name: str):
    def register(fn):
        MUTATORS[name] = fn
        return fn

    return register


# ---- helpers: what to pick ---------------------------------------------------------------------------------

def _pick(rng, items):
    items = list(items)
    if not items:
        raise NotApplicable
    return items[int(rng.integers(len(items)))]


def _ints(vector) -> list[int]:
    """An index vector (numpy array, list or None) as a list of ints."""
    return [] if vector is None else [int(x) for x in vector]


def _sg(model):
    if not model.subgraphs:
        raise NotApplicable
    return model.subgraphs[0]


def _tensors(model):
    return list(enumerate(_sg(model).tensors or []))


def _ops(model):
    return list(enumerate(_sg(model).operators or []))


def _shaped(model):
    return [(i, t) for i, t in _tensors(model) if t.shape is not None and len(t.shape) > 0]


def _quantized(model):
    return [(i, t) for i, t in _tensors(model) if t.quantization is not None and t.quantization.scale is not None
            and len(t.quantization.scale) > 0]


def _op_named(model, *names):
    return [(k, op) for k, op in _ops(model) if op_name(model, op) in names]


def _const(model, t) -> bool:
    bufs = model.buffers or []
    return 0 < t.buffer < len(bufs) and bufs[t.buffer].data is not None and len(bufs[t.buffer].data) > 0


def _tpath(i):
    return ("subgraphs", 0, "tensors", int(i))


def _opath(k):
    return ("subgraphs", 0, "operators", int(k))


# ---- tensor shapes -----------------------------------------------------------------------------------------

def _set_dim(model, rng, value_of, tensors=None) -> list:
    i, t = _pick(rng, tensors if tensors is not None else _shaped(model))
    shape = [int(d) for d in t.shape]
    d = int(rng.integers(len(shape)))
    new = list(shape)
    new[d] = value_of(shape[d])
    if new == shape:
        raise NotApplicable
    changes = []
    _set(model, (*_tpath(i), "shape"), new, changes)
    return changes


@mutator("shape_dim_plus_one")
def shape_dim_plus_one(model, rng):
    return _set_dim(model, rng, lambda d: d + 1)


@mutator("shape_dim_minus_one")
def shape_dim_minus_one(model, rng):
    return _set_dim(model, rng, lambda d: d - 1, [(i, t) for i, t in _shaped(model) if max(t.shape) > 1])


@mutator("shape_dim_zero")
def shape_dim_zero(model, rng):
    return _set_dim(model, rng, lambda d: 0)


@mutator("shape_dim_negative")
def shape_dim_negative(model, rng):
    v = int(rng.choice([-1, -2, -(2**31)]))
    return _set_dim(model, rng, lambda d: v)


@mutator("shape_dim_huge")
def shape_dim_huge(model, rng):
    v = int(rng.choice([2**30, INT32_MAX, 65536]))
    return _set_dim(model, rng, lambda d: v)


@mutator("shape_dims_swapped")
def shape_dims_swapped(model, rng):
    """Two different dims swapped; half the time a FULLY_CONNECTED weight ([1,16] -> [16,1])."""
    fc = {_ints(op.inputs)[1] for _, op in _op_named(model, "FULLY_CONNECTED") if len(_ints(op.inputs)) > 1}
    cands = [(i, t) for i, t in _shaped(model) if len(set(int(d) for d in t.shape)) > 1]
    fc_cands = [(i, t) for i, t in cands if i in fc]
    i, t = _pick(rng, fc_cands if fc_cands and rng.random() < 0.5 else cands)
    shape = [int(d) for d in t.shape]
    a, b = _pick(rng, [(a, b) for a in range(len(shape)) for b in range(a + 1, len(shape)) if shape[a] != shape[b]])
    shape[a], shape[b] = shape[b], shape[a]
    changes = []
    _set(model, (*_tpath(i), "shape"), shape, changes)
    return changes


@mutator("shape_rank_changed")
def shape_rank_changed(model, rng):
    i, t = _pick(rng, _shaped(model))
    shape = [int(d) for d in t.shape]
    new = [1, *shape] if rng.random() < 0.5 or len(shape) == 1 else shape[:-1]
    changes = []
    _set(model, (*_tpath(i), "shape"), new, changes)
    return changes


def _graph_outputs(model):
    sg = _sg(model)
    return [(i, sg.tensors[i]) for i in _ints(sg.outputs) if 0 <= i < len(sg.tensors or [])
            and sg.tensors[i].shape is not None and len(sg.tensors[i].shape) > 0]


@mutator("output_shape_off_by_one")
def output_shape_off_by_one(model, rng):
    delta = int(rng.choice([-1, 1]))
    return _set_dim(model, rng, lambda d: d + delta if d + delta > 0 else d + 1, _graph_outputs(model))


@mutator("output_shape_0x4")
def output_shape_0x4(model, rng):
    i, _ = _pick(rng, _graph_outputs(model))
    changes = []
    _set(model, (*_tpath(i), "shape"), [0, 4], changes)
    return changes


# ---- graph structure ---------------------------------------------------------------------------------------

def _with_io(model, min_inputs=1):
    return [(k, op) for k, op in _ops(model) if op.inputs is not None and len(op.inputs) >= min_inputs
            and op.outputs is not None and len(op.outputs) > 0]


def _set_input(model, k, op, slot, value) -> list:
    inputs = [int(x) for x in op.inputs]
    inputs[slot] = value
    changes = []
    _set(model, (*_opath(k), "inputs"), inputs, changes)
    return changes


@mutator("op_reads_own_output")
def op_reads_own_output(model, rng):
    k, op = _pick(rng, _with_io(model))
    return _set_input(model, k, op, int(rng.integers(len(op.inputs))), int(op.outputs[0]))


@mutator("op_inputs_swapped")
def op_inputs_swapped(model, rng):
    k, op = _pick(rng, [(k, op) for k, op in _with_io(model, 2) if len(set(int(x) for x in op.inputs)) > 1])
    inputs = [int(x) for x in op.inputs]
    a, b = _pick(rng, [(a, b) for a in range(len(inputs)) for b in range(a + 1, len(inputs)) if inputs[a] != inputs[b]])
    inputs[a], inputs[b] = inputs[b], inputs[a]
    changes = []
    _set(model, (*_opath(k), "inputs"), inputs, changes)
    return changes


@mutator("op_input_from_later_op")
def op_input_from_later_op(model, rng):
    """An input read from an op that runs later: out of order, or a cycle."""
    ops = _with_io(model)
    k, op = _pick(rng, ops[:-1])
    _, later = _pick(rng, [(j, o) for j, o in ops if j > k])
    return _set_input(model, k, op, int(rng.integers(len(op.inputs))), int(later.outputs[0]))


@mutator("op_input_absent")
def op_input_absent(model, rng):
    k, op = _pick(rng, _with_io(model))
    return _set_input(model, k, op, int(rng.integers(len(op.inputs))), -1)


@mutator("op_input_out_of_range")
def op_input_out_of_range(model, rng):
    k, op = _pick(rng, _with_io(model))
    n = len(_sg(model).tensors or [])
    return _set_input(model, k, op, int(rng.integers(len(op.inputs))), int(rng.choice([n, n + 3, INT32_MAX, -2])))


@mutator("op_input_dangling")
def op_input_dangling(model, rng):
    """An input that no op produces and that has no data (a fresh activation tensor)."""
    k, op = _pick(rng, _with_io(model))
    sg = _sg(model)
    src = sg.tensors[int(op.outputs[0])]
    t = copy.deepcopy(src)
    t.name, t.buffer = b"dangling", 0
    sg.tensors.append(t)
    changes = [Change(("subgraphs", 0, "tensors", "len"), len(sg.tensors) - 1, len(sg.tensors))]
    return changes + _set_input(model, k, op, int(rng.integers(len(op.inputs))), len(sg.tensors) - 1)


@mutator("ops_reordered")
def ops_reordered(model, rng):
    ops = _ops(model)
    a, b = _pick(rng, [(a, b) for a in range(len(ops)) for b in range(a + 1, len(ops))])
    sg = _sg(model)
    changes = [Change((*_opath(a), "outputs"), normalize(sg.operators[a].outputs), normalize(sg.operators[b].outputs)),
               Change((*_opath(b), "outputs"), normalize(sg.operators[b].outputs), normalize(sg.operators[a].outputs))]
    sg.operators[a], sg.operators[b] = sg.operators[b], sg.operators[a]
    if changes[0].old == changes[0].new:
        raise NotApplicable
    return changes


@mutator("op_no_outputs")
def op_no_outputs(model, rng):
    k, _ = _pick(rng, _with_io(model))
    changes = []
    _set(model, (*_opath(k), "outputs"), [], changes)
    return changes


@mutator("op_two_outputs")
def op_two_outputs(model, rng):
    """A second output: an existing tensor, or a fresh copy of the first output."""
    k, op = _pick(rng, _with_io(model))
    sg = _sg(model)
    changes = []
    others = [i for i in range(len(sg.tensors)) if i not in set(int(x) for x in op.outputs)]
    if rng.random() < 0.5 and others:
        extra = _pick(rng, others)
    else:
        t = copy.deepcopy(sg.tensors[int(op.outputs[0])])
        t.name = (t.name or b"") + b"_second"
        sg.tensors.append(t)
        extra = len(sg.tensors) - 1
        changes.append(Change(("subgraphs", 0, "tensors", "len"), extra, extra + 1))
    _set(model, (*_opath(k), "outputs"), [int(x) for x in op.outputs] + [extra], changes)
    return changes


def _graph_list(model, which: str, value_of) -> list:
    sg = _sg(model)
    old = _ints(getattr(sg, which))
    new = value_of(old)
    if new == old:
        raise NotApplicable
    changes = []
    _set(model, ("subgraphs", 0, which), new, changes)
    return changes


@mutator("graph_input_twice")
def graph_input_twice(model, rng):
    return _graph_list(model, "inputs", lambda v: v + v[:1])


@mutator("graph_output_twice")
def graph_output_twice(model, rng):
    return _graph_list(model, "outputs", lambda v: v + v[:1])


@mutator("graph_no_outputs")
def graph_no_outputs(model, rng):
    return _graph_list(model, "outputs", lambda v: [])


@mutator("graph_no_inputs")
def graph_no_inputs(model, rng):
    return _graph_list(model, "inputs", lambda v: [])


@mutator("subgraph_no_ops")
def subgraph_no_ops(model, rng):
    if not _ops(model):
        raise NotApplicable
    n = len(_sg(model).operators)
    _sg(model).operators = []
    return [Change(("subgraphs", 0, "operators", "len"), n, 0)]


@mutator("two_subgraphs")
def two_subgraphs(model, rng):
    n = len(model.subgraphs or [])
    model.subgraphs.append(copy.deepcopy(_sg(model)))
    return [Change(("subgraphs", "len"), n, n + 1)]


# ---- dtypes ------------------------------------------------------------------------------------------------

def _retype(model, rng, new_type: int) -> list:
    cands = [(i, t) for i, t in _tensors(model) if t.type != new_type]
    int8 = [(i, t) for i, t in cands if t.type == schema.TensorType.INT8]
    i, _ = _pick(rng, int8 if int8 and rng.random() < 0.8 else cands)
    changes = []
    _set(model, (*_tpath(i), "type"), new_type, changes)
    return changes


@mutator("dtype_int16")
def dtype_int16(model, rng):
    return _retype(model, rng, schema.TensorType.INT16)


@mutator("dtype_uint8")
def dtype_uint8(model, rng):
    return _retype(model, rng, schema.TensorType.UINT8)


@mutator("dtype_int4")
def dtype_int4(model, rng):
    return _retype(model, rng, schema.TensorType.INT4)


@mutator("dtype_float32")
def dtype_float32(model, rng):
    return _retype(model, rng, schema.TensorType.FLOAT32)


@mutator("dtype_unknown")
def dtype_unknown(model, rng):
    return _retype(model, rng, int(rng.choice([100, 127, -1])))


# ---- quantization ------------------------------------------------------------------------------------------

def _set_scale(model, rng, value: float) -> list:
    i, t = _pick(rng, _quantized(model))
    scale = [float(s) for s in t.quantization.scale]
    if rng.random() < 0.5:
        scale = [value] * len(scale)
    else:
        scale[int(rng.integers(len(scale)))] = value
    changes = []
    _set(model, (*_tpath(i), "quantization", "scale"), scale, changes)
    return changes


for _name, _value in (("scale_nan", math.nan), ("scale_inf", math.inf), ("scale_zero", 0.0), ("scale_negative", -0.5),
                      ("scale_denormal", 1e-45), ("scale_4_9e34", 4.9e34), ("scale_3_4e38", 3.4e38)):
    mutator(_name)(lambda model, rng, _v=_value: _set_scale(model, rng, _v))


def _set_zero_point(model, rng, value_of) -> list:
    i, t = _pick(rng, _quantized(model))
    q = t.quantization
    zp = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None and len(q.zeroPoint) else [0] * len(q.scale)
    j = int(rng.integers(len(zp)))
    zp[j] = value_of(zp[j])
    changes = []
    _set(model, (*_tpath(i), "quantization", "zeroPoint"), zp, changes)
    return changes


@mutator("zero_point_65535")
def zero_point_65535(model, rng):
    return _set_zero_point(model, rng, lambda z: 65535)


@mutator("zero_point_128")
def zero_point_128(model, rng):
    return _set_zero_point(model, rng, lambda z: int(rng.choice([128, -129])))


@mutator("zero_point_int64_high_bits")
def zero_point_int64_high_bits(model, rng):
    return _set_zero_point(model, rng, lambda z: z + (1 << 40))


@mutator("zero_point_int64_min")
def zero_point_int64_min(model, rng):
    return _set_zero_point(model, rng, lambda z: INT64_MIN)


def _set_quant_dim(model, rng, value_of) -> list:
    i, t = _pick(rng, _quantized(model))
    rank = len(t.shape) if t.shape is not None else 0
    changes = []
    _set(model, (*_tpath(i), "quantization", "quantizedDimension"), value_of(rank), changes)
    if changes[-1].old == changes[-1].new:
        raise NotApplicable
    return changes


@mutator("quant_dim_out_of_range")
def quant_dim_out_of_range(model, rng):
    return _set_quant_dim(model, rng, lambda rank: int(rng.choice([rank, rank + 2, -1])))


@mutator("quant_dim_int32_max")
def quant_dim_int32_max(model, rng):
    return _set_quant_dim(model, rng, lambda rank: INT32_MAX)


@mutator("per_channel_count_mismatch")
def per_channel_count_mismatch(model, rng):
    """A per-channel tensor with one scale (and zero point) too few or too many."""
    i, t = _pick(rng, [(i, t) for i, t in _quantized(model) if len(t.quantization.scale) > 1])
    q = t.quantization
    scale = [float(s) for s in q.scale]
    zp = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None and len(q.zeroPoint) else [0] * len(scale)
    if rng.random() < 0.5:
        scale, zp = scale[:-1], zp[:-1]
    else:
        scale, zp = scale + scale[-1:], zp + zp[-1:]
    changes = []
    _set(model, (*_tpath(i), "quantization", "scale"), scale, changes)
    _set(model, (*_tpath(i), "quantization", "zeroPoint"), zp, changes)
    return changes


@mutator("scale_zero_point_count_mismatch")
def scale_zero_point_count_mismatch(model, rng):
    i, t = _pick(rng, _quantized(model))
    zp = [int(z) for z in t.quantization.zeroPoint] if t.quantization.zeroPoint is not None else [0]
    changes = []
    _set(model, (*_tpath(i), "quantization", "zeroPoint"), zp + [0, 0], changes)
    return changes


@mutator("bias_quant_removed")
def bias_quant_removed(model, rng):
    sg = _sg(model)
    biases = sorted({int(op.inputs[2]) for _, op in _op_named(model, *OPS_WITH_BIAS)
                     if op.inputs is not None and len(op.inputs) > 2 and op.inputs[2] >= 0
                     and sg.tensors[int(op.inputs[2])].quantization is not None})
    i = _pick(rng, biases)
    changes = []
    _set(model, (*_tpath(i), "quantization"), None, changes)
    return changes


@mutator("quant_removed")
def quant_removed(model, rng):
    i, _ = _pick(rng, _quantized(model))
    changes = []
    _set(model, (*_tpath(i), "quantization"), None, changes)
    return changes


# ---- builtin options ---------------------------------------------------------------------------------------

def _with_options(model, attr=None):
    return [(k, op) for k, op in _ops(model) if op.builtinOptions is not None
            and (attr is None or hasattr(op.builtinOptions, attr))]


@mutator("options_wrong_type")
def options_wrong_type(model, rng):
    k, op = _pick(rng, _ops(model))
    names = [n for n in WRONG_OPTIONS if getattr(schema.BuiltinOptions, n) != op.builtinOptionsType]
    name = _pick(rng, names)
    changes = []
    _set(model, (*_opath(k), "builtinOptionsType"), getattr(schema.BuiltinOptions, name), changes)
    _set(model, (*_opath(k), "builtinOptions"), getattr(schema, name + "T")(), changes)
    return changes


@mutator("options_missing")
def options_missing(model, rng):
    k, _ = _pick(rng, _with_options(model))
    changes = []
    _set(model, (*_opath(k), "builtinOptionsType"), schema.BuiltinOptions.NONE, changes)
    _set(model, (*_opath(k), "builtinOptions"), None, changes)
    return changes


def _set_option(model, rng, attrs: tuple, values) -> list:
    k, op = _pick(rng, [(k, op) for k, op in _with_options(model) if all(hasattr(op.builtinOptions, a) for a in attrs)])
    changes = []
    chosen = attrs if rng.random() < 0.5 else (attrs[int(rng.integers(len(attrs)))],)
    for a in chosen:
        _set(model, (*_opath(k), "builtinOptions", a), int(rng.choice(values)), changes)
    return changes


@mutator("fused_activation_out_of_range")
def fused_activation_out_of_range(model, rng):
    return _set_option(model, rng, ("fusedActivationFunction",), [6, 7, 42, 127, -1, -128])


@mutator("fused_activation_changed")
def fused_activation_changed(model, rng):
    """A valid but unusual fused activation (RELU_N1_TO_1, TANH, SIGN_BIT, ...)."""
    return _set_option(model, rng, ("fusedActivationFunction",), [1, 2, 3, 4, 5])


for _name, _attrs, _values in (
    ("stride_zero", ("strideW", "strideH"), [0]),
    ("stride_negative", ("strideW", "strideH"), [-1, -3, -(2**31)]),
    ("stride_huge", ("strideW", "strideH"), [2**30, INT32_MAX, 65536]),
    ("dilation_zero", ("dilationWFactor", "dilationHFactor"), [0]),
    ("dilation_negative", ("dilationWFactor", "dilationHFactor"), [-1, -(2**31)]),
    ("dilation_huge", ("dilationWFactor", "dilationHFactor"), [2**30, INT32_MAX, 4096]),
    ("padding_out_of_range", ("padding",), [2, 3, 127, -1]),
    ("filter_size_bad", ("filterWidth", "filterHeight"), [0, -1, 2**30, INT32_MAX]),
    ("depth_multiplier_bad", ("depthMultiplier",), [0, -1, 2, 2**30]),
):
    mutator(_name)(lambda model, rng, _a=_attrs, _v=_values: _set_option(model, rng, _a, _v))


# ---- opcodes -----------------------------------------------------------------------------------------------

@mutator("opcode_swapped")
def opcode_swapped(model, rng):
    codes = list(enumerate(model.operatorCodes or []))
    j, code = _pick(rng, codes)
    old = real_opcode(code)
    choices = [getattr(schema.BuiltinOperator, n) for n in SWAP_TARGETS if getattr(schema.BuiltinOperator, n) != old]
    new = int(rng.choice(choices)) if rng.random() < 0.8 else int(rng.integers(0, 210))
    if new == old:
        raise NotApplicable
    changes = []
    _set(model, ("operatorCodes", j, "builtinCode"), new, changes)
    _set(model, ("operatorCodes", j, "deprecatedBuiltinCode"), min(new, 127), changes)
    return changes


@mutator("opcode_builtin_code_only")
def opcode_builtin_code_only(model, rng):
    """Opcodes stored only in builtinCode, deprecatedBuiltinCode left 0: what current Google tools write."""
    changes = []
    for j, code in enumerate(model.operatorCodes or []):
        real = real_opcode(code)
        if code.builtinCode != real:
            _set(model, ("operatorCodes", j, "builtinCode"), real, changes)
        if code.deprecatedBuiltinCode != 0:
            _set(model, ("operatorCodes", j, "deprecatedBuiltinCode"), 0, changes)
    if not changes:
        raise NotApplicable
    return changes


@mutator("opcode_index_out_of_range")
def opcode_index_out_of_range(model, rng):
    k, _ = _pick(rng, _ops(model))
    n = len(model.operatorCodes or [])
    changes = []
    _set(model, (*_opath(k), "opcodeIndex"), int(rng.choice([n, n + 5, 2**32 - 1])), changes)
    return changes


# ---- tensor names (they end up in C comments and in .npz keys) ---------------------------------------------

def _named_target(model, rng):
    """Tensors whose names reach the generated files: op outputs and graph inputs/outputs."""
    sg = _sg(model)
    ids = {x for _, op in _ops(model) for x in _ints(op.outputs)} | set(_ints(sg.inputs)) | set(_ints(sg.outputs))
    return _pick(rng, sorted(i for i in ids if 0 <= i < len(sg.tensors or [])))


def _rename(model, rng, name_of) -> list:
    i = _named_target(model, rng)
    old = _sg(model).tensors[i].name or b""
    changes = []
    _set(model, (*_tpath(i), "name"), name_of(old), changes)
    return changes


for _name, _fn in (
    ("name_comment_open", lambda old: old + b" /* unterminated"),
    ("name_comment_close", lambda old: old + b" */ int injected; /*"),
    ("name_newline", lambda old: old + b"\n#error injected through a tensor name\n"),
    ("name_backslash_end", lambda old: old + b"\\"),
    ("name_trigraph", lambda old: old + b"??/"),
    ("name_non_ascii", lambda old: old + "_\u00e9\u20ac\u4e2d\U0001f600".encode()),
    ("name_invalid_utf8", lambda old: b"\xff\xfe" + old + b"\x80"),
    ("name_very_long", lambda old: (old or b"t") * (70000 // max(1, len(old or b"t")) + 1)),
    ("name_empty", lambda old: b""),
    ("name_c_escape", lambda old: old + b"\"\\x00%s%n"),
):
    mutator(_name)(lambda model, rng, _f=_fn: _rename(model, rng, _f))


@mutator("name_duplicate")
def name_duplicate(model, rng):
    """Two tensors with one name (graph outputs first: they are .npz keys)."""
    sg = _sg(model)
    i = _named_target(model, rng)
    j = _pick(rng, [j for j in range(len(sg.tensors)) if j != i and sg.tensors[j].name != sg.tensors[i].name])
    changes = []
    _set(model, (*_tpath(i), "name"), sg.tensors[j].name or b"", changes)
    return changes


# ---- buffers -----------------------------------------------------------------------------------------------

@mutator("buffer_index_out_of_range")
def buffer_index_out_of_range(model, rng):
    i, _ = _pick(rng, _tensors(model))
    n = len(model.buffers or [])
    changes = []
    _set(model, (*_tpath(i), "buffer"), int(rng.choice([n, n + 7, 2**32 - 1])), changes)
    return changes


@mutator("buffer_wrong_length")
def buffer_wrong_length(model, rng):
    i, t = _pick(rng, [(i, t) for i, t in _tensors(model) if _const(model, t)])
    data = np.asarray(model.buffers[t.buffer].data, np.uint8)
    how = int(rng.integers(4))
    new = [data[:-1], np.concatenate([data, np.zeros(int(rng.integers(1, 17)), np.uint8)]),
           data[: len(data) // 2], np.zeros(0, np.uint8)][how]
    model.buffers[t.buffer].data = new
    return [Change(("buffers", t.buffer, "data", "len"), len(data), len(new))]


@mutator("buffer_external_offset")
def buffer_external_offset(model, rng):
    """The >2 GB layout: data outside the flatbuffer, at offset/size."""
    i, t = _pick(rng, [(i, t) for i, t in _tensors(model) if _const(model, t)])
    buf = model.buffers[t.buffer]
    changes = [Change(("buffers", t.buffer, "data", "len"), len(buf.data), 0)]
    size = len(buf.data)
    buf.data = None
    _set(model, ("buffers", t.buffer, "offset"), int(rng.choice([16, 2**33])), changes)
    _set(model, ("buffers", t.buffer, "size"), size, changes)
    return changes


@mutator("activation_made_constant")
def activation_made_constant(model, rng):
    """An op output or graph input given a data buffer of the right size."""
    sg = _sg(model)
    i = _pick(rng, [i for i in {x for _, op in _ops(model) for x in _ints(op.outputs)} | set(_ints(sg.inputs))
                    if 0 <= i < len(sg.tensors) and not _const(model, sg.tensors[i])])
    t = sg.tensors[i]
    size = int(np.prod([max(int(d), 0) for d in (t.shape if t.shape is not None else [])], dtype=np.int64))
    itemsize = {schema.TensorType.INT16: 2, schema.TensorType.INT32: 4, schema.TensorType.FLOAT32: 4}.get(t.type, 1)
    if size * itemsize > 1 << 20:
        raise NotApplicable
    model.buffers.append(schema.BufferT(data=rng.integers(0, 256, size * itemsize, dtype=np.uint8)))
    changes = [Change(("buffers", "len"), len(model.buffers) - 1, len(model.buffers))]
    _set(model, (*_tpath(i), "buffer"), len(model.buffers) - 1, changes)
    return changes
