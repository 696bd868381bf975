"""Constant folding before lowering: tinyq.ir.Graph -> tinyq.ir.Graph.

A model converted with a dynamic batch computes its reshape targets at run time: SHAPE -> STRIDED_SLICE -> PACK
(-> CONCATENATION, GATHER, CAST, ...) into RESHAPE's shape input. A Graph's shapes are static (the batch is 1, as
TFLM sees the model once it is allocated), so those computations have one value. This pass evaluates them with
NumPy, as TFLite's reference kernels define each op, and turns their outputs into constant tensors.

What folds: an op of FOLDS that writes no graph output, whose output and inputs are unquantized int32 or int64
(index arithmetic: folding never touches a quantized activation path) and whose inputs are all constant; SHAPE
reads only the static shape of its input, which may be any tensor. Ops are visited in execution order, so a chain
folds in one pass. A folded op is removed, and so is every op whose outputs only folded or removed ops read. A
RESHAPE whose shape input was folded must declare the shape that input computes (TFLM takes the declared one).

The file is untrusted: a folded op must declare its output's dtype and shape exactly, a folded constant holds at
most MAX_ELEMENTS values (checked before it is made), and every bad index, axis, count or option raises an
UnsupportedError naming the op.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Op, Tensor

MAX_ELEMENTS = 1 << 16  # shape computations are tiny; a larger constant is not one
INDEX_DTYPES = ("int32", "int64")
_TENSOR_TYPES = {2: "int32", 4: "int64"}  # TFLite TensorType codes of ShapeOptions.out_type
_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def fold(graph: Graph) -> Graph:
    """The graph with every foldable op evaluated (see the module docstring); `graph` itself if none is."""
    tensors = list(graph.tensors)
    folded: set[int] = set()
    for op in graph.ops:
        evaluate = FOLDS.get(op.opcode)
        if evaluate is None or op.custom or not _foldable(graph, op, tensors):
            continue
        c = _Fold(graph, op, tensors)
        if c.out.size > MAX_ELEMENTS:
            raise c.fail(f"folding it would make {c.out.describe()}, {c.out.size:,} values; "
                         f"tinyq folds at most {MAX_ELEMENTS:,}")
        value = np.array(evaluate(c), order="C")  # a copy, never a view of an input
        c.expect(value.shape, str(value.dtype))
        value.setflags(write=False)
        tensors[c.out.index] = replace(c.out, data=value)
        folded.add(op.index)
    if not folded:
        return graph
    removed = _unused(graph, folded)
    result = replace(graph, tensors=tuple(tensors), ops=tuple(op for op in graph.ops if op.index not in removed))
    _check_reshapes(result, graph, folded)
    return result


def _foldable(graph: Graph, op: Op, tensors: list[Tensor]) -> bool:
    if len(op.outputs) != 1 or op.outputs[0] in graph.outputs or not op.inputs:
        return False  # a graph output is computed at run time, by the op's lowering
    if not _index_tensor(tensors[op.outputs[0]]):
        return False
    data_inputs = op.inputs[1:] if op.opcode == "SHAPE" else op.inputs
    return all(i >= 0 and tensors[i].is_constant and _index_tensor(tensors[i]) for i in data_inputs)


def _index_tensor(t: Tensor) -> bool:
    return t.dtype in INDEX_DTYPES and t.quant is None


def _unused(graph: Graph, folded: set[int]) -> set[int]:
    """The folded ops, plus every op that only they (or other removed ops) read from; never an op that writes a
    graph output or updates a state variable."""
    readers: dict[int, set[int]] = {}
    for op in graph.ops:
        for i in op.inputs:
            readers.setdefault(i, set()).add(op.index)
    removed = set(folded)
    for op in reversed(graph.ops):  # consumers before producers
        if op.index in removed or set(op.outputs) & set(graph.outputs):
            continue
        if any(i >= 0 and graph.tensors[i].is_variable for i in op.inputs):
            continue
        read_by = set().union(*(readers.get(i, set()) for i in op.outputs))
        if read_by and read_by <= removed:
            removed.add(op.index)
    return removed


def _check_reshapes(result: Graph, graph: Graph, folded: set[int]) -> None:
    producer = {i: op.index for op in graph.ops for i in op.outputs}
    for op in result.ops:
        if op.opcode == "RESHAPE" and len(op.inputs) > 1 and producer.get(op.inputs[1]) in folded:
            c = _Fold(result, op, list(result.tensors))
            inp = c.input(0)
            if inp is not None:
                _check_reshape_target(c, inp.size)


class _Fold:
    """One op being folded: its tensors and helpers that raise errors naming it."""

    def __init__(self, graph: Graph, op: Op, tensors: list[Tensor]):
        self.graph, self.op, self.tensors = graph, op, tensors
        self.out = tensors[op.outputs[0]]

    def fail(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"{self.graph.op_location(self.op)}: {what}")

    def option(self, name: str, default=0):
        return self.op.option(name, default)

    def input(self, k: int) -> Tensor | None:
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            return None
        return self.tensors[self.op.inputs[k]]

    def inputs(self, lo: int, hi: int) -> list[np.ndarray]:
        """Every input's value; the op must have lo..hi inputs."""
        if not lo <= len(self.op.inputs) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"has {len(self.op.inputs)} inputs; {self.op.opcode} takes {want}")
        return [self.tensors[i].data for i in self.op.inputs]

    def ints(self, k: int, what: str, dtypes=INDEX_DTYPES, rank: int | None = 1) -> list[int]:
        t = self.input(k)
        if t is None:
            raise self.fail(f"{what} (input {k}) is missing")
        if t.dtype not in dtypes:
            raise self.fail(f"{what} (input {k}) is {t.dtype}; TFLite takes {' or '.join(dtypes)}")
        if rank is not None and len(t.shape) != rank:
            raise self.fail(f"{what} (input {k}) has rank {len(t.shape)}, expected {rank}")
        return [int(v) for v in t.data.reshape(-1)]

    def expect(self, shape, dtype: str) -> None:
        """The result has this shape and dtype: the declared output must say so (checked before a result that
        may be larger than its inputs is made)."""
        if tuple(shape) != tuple(self.out.shape) or dtype != self.out.dtype:
            raise self.fail(f"computes {dtype}{list(shape)}, but declares {self.out.describe()}")

    def axis(self, value: int, rank: int, what: str = "axis") -> int:
        """A possibly negative axis of a rank-`rank` tensor, in 0..rank-1."""
        axis = value + rank if value < 0 else value
        if not 0 <= axis < rank:
            raise self.fail(f"{what} {value} is out of range for rank {rank}")
        return axis


# ----------------------------------------------------------------------------- the ops


def _shape(c: _Fold) -> np.ndarray:
    if len(c.op.inputs) != 1 or c.op.inputs[0] < 0:
        raise c.fail(f"has {len(c.op.inputs)} inputs (absent ones included); SHAPE takes one tensor")
    out_type = c.option("out_type", None)
    if out_type not in _TENSOR_TYPES:
        raise c.fail(f"out_type {out_type} is not int32 or int64 (TFLite refuses it)")
    return np.array(c.input(0).shape, _TENSOR_TYPES[out_type])


def _pack(c: _Fold) -> np.ndarray:
    values = c.inputs(1, 1 << 16)
    if c.option("values_count") != len(values):
        raise c.fail(f"values_count {c.option('values_count')} differs from its {len(values)} inputs")
    first = values[0]
    for v in values[1:]:
        if v.shape != first.shape or v.dtype != first.dtype:
            raise c.fail(f"packs {v.dtype}{list(v.shape)} with {first.dtype}{list(first.shape)}; "
                         f"PACK takes inputs of one shape and dtype")
    axis = c.axis(c.option("axis"), first.ndim + 1)
    c.expect((*first.shape[:axis], len(values), *first.shape[axis:]), str(first.dtype))
    return np.stack(values, axis)


def _concatenation(c: _Fold) -> np.ndarray:
    values = c.inputs(1, 1 << 16)
    if c.option("fused_activation_function"):
        raise c.fail("a fused activation on integer values is not supported")
    first = values[0]
    axis = c.axis(c.option("axis"), first.ndim)
    for v in values[1:]:
        if v.dtype != first.dtype or v.ndim != first.ndim or any(
                v.shape[d] != first.shape[d] for d in range(v.ndim) if d != axis):
            raise c.fail(f"concatenates {v.dtype}{list(v.shape)} with {first.dtype}{list(first.shape)} "
                         f"along axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(v.shape[axis] for v in values)
    c.expect(shape, str(first.dtype))
    return np.concatenate(values, axis)


def _gather(c: _Fold) -> np.ndarray:
    params, indices = c.inputs(2, 2)
    axis = c.axis(c.option("axis"), params.ndim)
    batch_dims = c.option("batch_dims")
    batch_dims = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
    if not 0 <= batch_dims <= min(axis, indices.ndim) or params.shape[:batch_dims] != indices.shape[:batch_dims]:
        raise c.fail(f"batch_dims {c.option('batch_dims')} does not fit params {list(params.shape)}, "
                     f"indices {list(indices.shape)} and axis {axis}")
    c.expect((*params.shape[:axis], *indices.shape[batch_dims:], *params.shape[axis + 1:]), str(params.dtype))
    size = params.shape[axis]
    if indices.size and not (0 <= indices.min() and indices.max() < size):
        bad = indices[(indices < 0) | (indices >= size)].reshape(-1)[0]
        raise c.fail(f"index {int(bad)} is outside 0..{size - 1} of axis {axis}")
    # (batch, outer, axis, inner) gathered at (batch, positions): one fancy index, then the declared shape
    batch = math.prod(params.shape[:batch_dims])
    p = params.reshape(batch, math.prod(params.shape[batch_dims:axis]), size, math.prod(params.shape[axis + 1:]))
    i = indices.reshape(batch, math.prod(indices.shape[batch_dims:])).astype(np.int64)
    return p[np.arange(batch)[:, None, None], np.arange(p.shape[1])[None, :, None], i[:, None, :]].reshape(c.out.shape)


def _strided_slice(c: _Fold) -> np.ndarray:
    from tinyq.lower.shape import strided_slice_axis  # the TFLite index logic the lowering also uses

    x = c.inputs(4, 4)[0]
    begin, end, strides = (c.ints(k, name, ("int32",)) for k, name in ((1, "begin"), (2, "end"), (3, "strides")))
    n = len(begin)
    if not len(end) == len(strides) == n:
        raise c.fail(f"begin, end and strides have {n}, {len(end)} and {len(strides)} values")
    if c.option("offset", False):
        raise c.fail("offset=true is not supported")
    masks = {name: int(c.option(name)) for name in _MASKS}
    for name, mask in masks.items():
        if mask < 0 or mask >> n:
            raise c.fail(f"{name} {mask} has bits beyond its {n} indices")
    ellipsis, new_axis = masks["ellipsis_mask"], masks["new_axis_mask"] & ~masks["ellipsis_mask"]
    if bin(ellipsis).count("1") > 1:
        raise c.fail(f"ellipsis_mask {ellipsis} has more than one bit")
    dims = x.ndim + bin(new_axis).count("1")  # TFLite's effective rank: a new axis is an input dimension of 1
    if n > dims:
        raise c.fail(f"has {n} indices for an input of rank {x.ndim}")
    # TFLite's BuildStridedSliceParams: one effective axis per index, an ellipsis stands for dims - n + 1 full
    # axes, missing trailing indices are full axes. Axis: (size, begin, end, stride, begin/end mask, shrink)
    axes, dim = [], 0
    for k in range(n):
        bit = 1 << k
        if ellipsis & bit or new_axis & bit:
            count = dims - n + 1 if ellipsis & bit else 1
            for _ in range(count):
                size = 1 if new_axis & bit else x.shape[dim]
                dim += 0 if new_axis & bit else 1
                axes.append((size, 0, size, 1, False, False, False))
            continue
        axes.append((x.shape[dim], begin[k], end[k], strides[k], bool(masks["begin_mask"] & bit),
                     bool(masks["end_mask"] & bit), bool(masks["shrink_axis_mask"] & bit)))
        dim += 1
    axes += [(x.shape[d], 0, x.shape[d], 1, False, False, False) for d in range(dim, x.ndim)]
    picks, shape = [], []
    for k, (size, b, e, s, begin_mask, end_mask, shrink) in enumerate(axes):
        if s == 0 or s == -(2**31):
            raise c.fail(f"stride {s} of axis {k} is not supported (TFLite refuses it)")
        start, stop = strided_slice_axis(size, b, e, s, begin_mask, end_mask, shrink)
        if shrink and (s < 0 or not 0 <= start < size):  # TFLite writes no value there
            raise c.fail(f"axis {k} is shrunk at index {b} with stride {s}; it selects no element of {size}")
        count = 1 if shrink else max(0, -(-(stop - start) // s))
        picks.append(start + s * np.arange(count, dtype=np.int64))
        if not shrink:
            shape.append(count)
    c.expect(shape, str(x.dtype))
    sizes = [a[0] for a in axes]
    return x.reshape(sizes)[np.ix_(*picks)].reshape(shape)


def _slice(c: _Fold) -> np.ndarray:
    x = c.inputs(3, 3)[0]
    begin, size = c.ints(1, "begin"), c.ints(2, "size")
    if not len(begin) == len(size) == x.ndim:
        raise c.fail(f"begin and size have {len(begin)} and {len(size)} values for an input of rank {x.ndim}")
    index = []
    for d, (b, n) in enumerate(zip(begin, size)):
        n = x.shape[d] - b if n == -1 else n
        if not (0 <= b <= x.shape[d] and 0 <= n <= x.shape[d] - b):
            raise c.fail(f"begin {b}, size {size[d]} of axis {d} do not fit its {x.shape[d]} values")
        index.append(slice(b, b + n))
    return x[tuple(index)]


def _reshape(c: _Fold) -> np.ndarray:
    x = c.inputs(1, 2)[0]
    _check_reshape_target(c, x.size)
    if x.size != c.out.size:
        raise c.fail(f"reshapes {x.size} values into {c.out.describe()}")
    return x.reshape(c.out.shape)


def _check_reshape_target(c: _Fold, n_values: int) -> None:
    """RESHAPE's target as TFLite reads it (a 1-D int32 shape input, else the new_shape option), -1 resolved
    against n_values, must be the declared output shape."""
    shape_input = c.input(1)
    if shape_input is not None and len(shape_input.shape) == 1 and shape_input.dtype == "int32":
        if shape_input.data is None:
            return  # computed at run time (an op that did not fold); lowering takes the declared shape
        target = [int(v) for v in shape_input.data]
    elif c.option("new_shape", ()):
        target = list(c.option("new_shape"))
    else:
        return  # no target: the declared shape is the only one
    if sum(d == -1 for d in target) > 1 or any(d < -1 for d in target):
        raise c.fail(f"shape {target} has more than one -1 or a negative dimension")
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or n_values % known:
            raise c.fail(f"shape {target} cannot hold {n_values} values")
        target[target.index(-1)] = n_values // known
    if tuple(target) != tuple(c.out.shape):
        raise c.fail(f"the shape input computes {target}, but the op declares {c.out.describe()}")


def _squeeze(c: _Fold) -> np.ndarray:
    x = c.inputs(1, 1)[0]
    dims = c.option("squeeze_dims", ())
    if x.ndim > 8:
        raise c.fail(f"input rank {x.ndim}; TFLite squeezes ranks up to 8")
    if not dims:
        return x.reshape([d for d in x.shape if d != 1])
    drop = {c.axis(d, x.ndim, "squeeze dimension") for d in dims}
    if any(x.shape[d] != 1 for d in drop):
        raise c.fail(f"squeeze_dims {list(dims)} name a dimension of {list(x.shape)} that is not 1")
    return x.reshape([n for d, n in enumerate(x.shape) if d not in drop])


def _expand_dims(c: _Fold) -> np.ndarray:
    x = c.inputs(2, 2)[0]
    axis = c.ints(1, "axis", rank=None)
    if len(axis) != 1:
        raise c.fail(f"axis (input 1) has {len(axis)} values; EXPAND_DIMS takes one")
    return np.expand_dims(x, c.axis(axis[0], x.ndim + 1))


def _cast(c: _Fold) -> np.ndarray:
    (x,) = c.inputs(1, 1)
    return x.astype(c.out.dtype)  # int32 <-> int64 wraps, as C++'s static_cast in TFLite's kernel


def _arithmetic(c: _Fold) -> np.ndarray:
    a, b = c.inputs(2, 2)
    if a.dtype != b.dtype:
        raise c.fail(f"combines {a.dtype} with {b.dtype}; TFLite takes one dtype")
    if c.option("fused_activation_function"):
        raise c.fail("a fused activation on integer values is not supported")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise c.fail(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None
    c.expect(shape, str(a.dtype))
    x, y = a.astype(object), b.astype(object)  # Python integers: an overflow is seen, not wrapped
    value = np.asarray({"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[c.op.opcode](x, y), object)
    info = np.iinfo(a.dtype)
    if value.size and not (info.min <= value.min() and value.max() <= info.max):
        raise c.fail(f"overflows {a.dtype} (C++ leaves that undefined)")
    return np.asarray(value, a.dtype).reshape(shape)


FOLDS = {
    "SHAPE": _shape, "PACK": _pack, "CONCATENATION": _concatenation, "GATHER": _gather,
    "STRIDED_SLICE": _strided_slice, "SLICE": _slice, "RESHAPE": _reshape, "SQUEEZE": _squeeze,
    "EXPAND_DIMS": _expand_dims, "CAST": _cast, "ADD": _arithmetic, "SUB": _arithmetic, "MUL": _arithmetic,
}
