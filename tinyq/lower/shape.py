"""Data-movement ops -> byte-generic records: RESHAPE, SQUEEZE, EXPAND_DIMS (tq_copy), CONCATENATION
(tq_concatenation), PAD, PADV2 (tq_pad), TRANSPOSE, STRIDED_SLICE, SLICE (tq_strided_copy).

Consumes one op of the Graph; produces one record. None of these ops changes a value, so every kernel
works on bytes: the record holds the element size and every index resolved on the host (TFLM's
Prepare/Eval index logic runs here, never on the target). Constant index inputs (shape, paddings,
perm, begin/end/strides/size) are read on the host. Every record is checked on the host to read only
inside its input(s) and to write exactly its output, so the kernels need no bounds checks.

TFLM copies int8/int16 values through these ops without rescaling, even when the converter gave the
input and output different quantization; tinyq refuses such models instead of copying silently.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.ir import Tensor
from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall, const_array

MAX_RANK = 5  # TQ_SHAPE_MAX_RANK in firmware/include/tinyq/tq_shape.h
ALL_TYPES = ("int8", "int16", "int32", "float32")
NO_INT32 = ("int8", "int16", "float32")  # TFLM's EXPAND_DIMS and TRANSPOSE have no int32 kernel
CONCAT_MAX_INPUTS = 10  # TFLM concatenation kMaxInputNum


@dataclass(frozen=True, eq=False)
class CopyCall(KernelCall):
    """output = input, byte for byte (skipped when both are the same memory)."""

    params_type = "tq_copy_params"
    in_place = True  # the planner puts a reshape's output on its input: tq_copy then copies nothing
    bytes: int


@dataclass(frozen=True, eq=False)
class RowCopyCall(CopyCall):
    """Rows of a band kept for the next band (tinyq.patch's halo rows): tq_copy between two distinct buffers,
    never in place."""

    in_place = False


@dataclass(frozen=True, eq=False)
class ConcatenationCall(KernelCall):
    """Per outer row, each input's row is appended in order. Activation inputs arrive as one pointer array
    (record.inputs order); constant inputs are read from `const_data`."""

    params_type = "tq_concatenation_params"
    variadic_inputs = True
    num_inputs: int  # all inputs, activation and constant, 1..CONCAT_MAX_INPUTS
    outer_size: int  # product of the output dimensions before the axis
    copy_bytes: np.ndarray  # int32 [num_inputs]: bytes input i contributes per outer row
    const_offset: np.ndarray | None  # int32 [num_inputs]: byte offset of input i in `const_data`, -1 = activation; None = none constant
    const_data: np.ndarray | None  # the constant inputs, flattened and appended (tensor dtype), or None


@dataclass(frozen=True, eq=False)
class PadCall(KernelCall):
    """Constant padding: shapes right-aligned to MAX_RANK (leading dimensions 1, padding 0)."""

    params_type = "tq_pad_params"
    elem_bytes: int
    in_dims: tuple[int, ...]  # [MAX_RANK]
    out_dims: tuple[int, ...]  # [MAX_RANK] = in_dims + before + after
    before: tuple[int, ...]  # [MAX_RANK] padding elements before the input, per dimension
    pad_value: np.ndarray  # [1], tensor dtype: the padding element


@dataclass(frozen=True, eq=False)
class StridedCopyCall(KernelCall):
    """A gather in output order: output element (i0..i4) = input[offset + sum_k i_k * step[k]] (elements).
    TRANSPOSE (permuted steps), STRIDED_SLICE (start, stride) and SLICE (start, unit stride)."""

    params_type = "tq_strided_copy_params"
    elem_bytes: int
    offset: int  # input element index of output element 0
    count: tuple[int, ...]  # [MAX_RANK] output extents, outermost first
    step: tuple[int, ...]  # [MAX_RANK] input elements to advance per step of each loop (may be <= 0)


# ----------------------------------------------------------------------------- shared checks


def _data_io(ctx: OpContext, dtypes: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    """Input 0 and output 0 of a data-movement op: same dtype, same quantization, activation, non-empty."""
    inp, out = ctx.input(0), ctx.output(0)
    if inp is None:
        raise ctx.fail("has no input")
    ctx.require_dtype(inp, *dtypes)
    ctx.require_dtype(out, inp.dtype)
    _require_same_quant(ctx, inp, out)
    if inp.is_constant:
        raise ctx.fail(f"{inp.describe()} is constant (the converter should have folded this op)")
    if inp.size == 0 or out.size == 0:
        raise ctx.fail("empty tensors are not supported")
    return inp, out


def _quant_key(t: Tensor):
    return (tuple(np.float32(s) for s in t.quant.scale), tuple(t.quant.zero_point)) if t.quant else None


def _require_same_quant(ctx: OpContext, t: Tensor, out: Tensor) -> None:
    # TFLM moves the stored integers unchanged; different quantization would silently change values
    if _quant_key(t) != _quant_key(out):
        raise ctx.fail(
            f"{t.describe()} (scale {t.scale:g}, zero point {t.zero_point}) and {out.describe()} (scale {out.scale:g}, "
            f"zero point {out.zero_point}) are quantized differently; TFLM copies without requantizing, so tinyq refuses it"
        )


def _const_ints(ctx: OpContext, k: int, what: str, length: int | None = None) -> list[int]:
    t = ctx.const_input(k, what)
    if t.dtype not in ("int32", "int64"):
        raise ctx.fail(f"{what} (input {k}) must be int32 or int64, got {t.dtype}")
    values = [int(v) for v in t.data.reshape(-1)]
    if length is not None and len(values) != length:
        raise ctx.fail(f"{what} (input {k}) has {len(values)} values, expected {length}")
    return values


def _row_major_strides(shape) -> list[int]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= int(d)
    return strides[::-1]


def _strided_copy(ctx: OpContext, inp: Tensor, out: Tensor, offset: int, count, step) -> StridedCopyCall:
    """The record for a gather: merge loops that walk the input contiguously, pad to MAX_RANK, check bounds."""
    if int(np.prod(count, dtype=np.int64)) != out.size:
        raise ctx.fail(f"the op selects {int(np.prod(count))} elements but {out.describe()} has {out.size}")
    loops: list[list[int]] = []  # outermost first: [count, step]
    for c, s in zip(count, step):
        if c == 1:
            continue  # a size-1 loop moves nothing
        if loops and loops[-1][1] == c * s:
            loops[-1] = [loops[-1][0] * c, s]  # the outer loop continues the inner one: one loop
        else:
            loops.append([c, s])
    if len(loops) > MAX_RANK:
        raise ctx.fail(f"needs {len(loops)} loops after merging dimensions; at most {MAX_RANK} are supported")
    loops = [[1, 0]] * (MAX_RANK - len(loops)) + loops
    lo = offset + sum(min(0, (c - 1) * s) for c, s in loops)
    hi = offset + sum(max(0, (c - 1) * s) for c, s in loops)
    if lo < 0 or hi >= inp.size:  # never expected: the index logic above is TFLM's
        raise ctx.fail(f"would read input elements {lo}..{hi} outside {inp.describe()}")
    return StridedCopyCall(
        **ctx.call_fields("tq_strided_copy", inputs=(inp.index,)),
        elem_bytes=np.dtype(inp.dtype).itemsize,
        offset=offset,
        count=tuple(c for c, _ in loops),
        step=tuple(s for _, s in loops),
    )


# ----------------------------------------------------------------------------- RESHAPE, SQUEEZE, EXPAND_DIMS


def _copy(ctx: OpContext, dtypes: tuple[str, ...]) -> CopyCall:
    inp, out = _data_io(ctx, dtypes)
    if inp.size != out.size:
        raise ctx.fail(f"{inp.describe()} and {out.describe()} have different element counts")
    return CopyCall(**ctx.call_fields("tq_copy", inputs=(inp.index,)), bytes=inp.nbytes)


@lowers("RESHAPE", "SQUEEZE", dtypes=ALL_TYPES)
def lower_reshape(ctx: OpContext):
    """int8, int16, int32 or float32; input and output quantized alike. A byte copy (tq_copy); TFLM takes
    the output shape from the output tensor, so the shape input is not needed (element counts must match)."""
    return _copy(ctx, ALL_TYPES)


@lowers("EXPAND_DIMS", dtypes=NO_INT32)
def lower_expand_dims(ctx: OpContext):
    """int8, int16 or float32 (TFLM's set); input and output quantized alike. A byte copy (tq_copy)."""
    return _copy(ctx, NO_INT32)


# ----------------------------------------------------------------------------- CONCATENATION


@lowers("CONCATENATION", dtypes=ALL_TYPES)
def lower_concatenation(ctx: OpContext):
    """int8, int16, int32 or float32; any rank and axis; 1..10 inputs (TFLM's limit), some may be constant.
    Every input must be quantized exactly like the output (TFLM concatenates stored values without
    rescaling); no fused activation."""
    out = ctx.output(0)
    ins = [ctx.input(k) for k in range(len(ctx.op.inputs))]
    if not ins or any(t is None for t in ins):
        raise ctx.fail("has a missing input")
    if len(ins) > CONCAT_MAX_INPUTS:
        raise ctx.fail(f"has {len(ins)} inputs; TFLM supports at most {CONCAT_MAX_INPUTS}")
    if ctx.op.option("fused_activation_function", 0) != 0:
        raise ctx.fail("fused activation is not supported (TFLM refuses it)")
    ctx.require_dtype(out, *ALL_TYPES)
    rank = len(out.shape)
    axis = int(ctx.op.option("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ctx.fail(f"axis {ctx.op.option('axis', 0)} is out of range for {out.describe()}")
    for t in ins:
        ctx.require_dtype(t, out.dtype)
        _require_same_quant(ctx, t, out)
        if len(t.shape) != rank or any(t.shape[d] != out.shape[d] for d in range(rank) if d != axis):
            raise ctx.fail(f"{t.describe()} does not fit {out.describe()} along axis {axis}")
    if sum(t.shape[axis] for t in ins) != out.shape[axis]:
        raise ctx.fail(f"the inputs' extents along axis {axis} do not add up to {out.describe()}")
    if out.size == 0:
        raise ctx.fail("empty tensors are not supported")
    activation = [t.index for t in ins if not t.is_constant]
    if not activation:
        raise ctx.fail("every input is constant (the converter should have folded this op)")
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    copy_bytes = [t.nbytes // outer for t in ins]
    constants, offsets, pos = [], [], 0
    for t in ins:
        if t.is_constant:
            offsets.append(pos)
            constants.append(np.asarray(t.data, dtype=out.dtype).reshape(-1))
            pos += t.nbytes
        else:
            offsets.append(-1)
    return ConcatenationCall(
        **ctx.call_fields("tq_concatenation", inputs=activation),
        num_inputs=len(ins),
        outer_size=outer,
        copy_bytes=const_array(copy_bytes, np.int32),
        const_offset=const_array(offsets, np.int32) if constants else None,
        const_data=const_array(np.concatenate(constants), out.dtype) if constants else None,
    )


# ----------------------------------------------------------------------------- PAD, PADV2


@lowers("PAD", "PADV2", dtypes=ALL_TYPES)
def lower_pad(ctx: OpContext):
    """int8, int16, int32 or float32, rank <= 5 (TFLM); constant non-negative paddings. The padding value
    is PADV2's constant (quantized like the output, as TFLM requires), else the output zero point for
    int8 and 0 for int16/int32/float32 (TFLM)."""
    inp, out = _data_io(ctx, ALL_TYPES)
    rank = len(inp.shape)
    if rank > MAX_RANK or len(out.shape) != rank:
        raise ctx.fail(f"input rank {rank} -> output rank {len(out.shape)}; TFLM pads ranks 1..{MAX_RANK}")
    pads = _const_ints(ctx, 1, "paddings", 2 * rank)
    before, after = pads[0::2], pads[1::2]
    if min(pads) < 0:
        raise ctx.fail(f"negative paddings {pads} are not supported")
    for d in range(rank):
        if inp.shape[d] + before[d] + after[d] != out.shape[d]:
            raise ctx.fail(f"paddings {pads} do not turn {inp.describe()} into {out.describe()}")
    const = ctx.input(2)
    np_dtype = np.dtype(inp.dtype)
    if const is not None:
        if const.data is None or const.size != 1:
            raise ctx.fail("the padding value (input 2) must be a constant scalar")
        if const.dtype != inp.dtype:
            raise ctx.fail(f"the padding value (input 2) is {const.dtype}, the input {inp.dtype}; TFLM requires one dtype")
        if inp.dtype == "int8":
            _require_same_quant(ctx, const, out)  # TFLM: same zero point and scale as the output
        value = const.data.reshape(-1)[0]
    else:
        # TFLM: int8 pads with the output zero point, every other type with 0 (int16's zero point is 0)
        value = out.zero_point if inp.dtype == "int8" else 0
    lead = MAX_RANK - rank
    return PadCall(
        **ctx.call_fields("tq_pad", inputs=(inp.index,)),
        elem_bytes=np_dtype.itemsize,
        in_dims=(1,) * lead + tuple(inp.shape),
        out_dims=(1,) * lead + tuple(out.shape),
        before=(0,) * lead + tuple(before),
        pad_value=const_array([value], np_dtype),
    )


# ----------------------------------------------------------------------------- TRANSPOSE


@lowers("TRANSPOSE", dtypes=NO_INT32)
def lower_transpose(ctx: OpContext):
    """int8, int16 or float32 (TFLM's set); any permutation of rank 1..5 (constant perm)."""
    inp, out = _data_io(ctx, NO_INT32)
    rank = len(inp.shape)
    if rank > MAX_RANK:
        raise ctx.fail(f"input rank {rank}; TFLM transposes ranks 1..{MAX_RANK}")
    perm = _const_ints(ctx, 1, "perm", rank)
    if sorted(perm) != list(range(rank)):
        raise ctx.fail(f"perm {perm} is not a permutation of 0..{rank - 1}")
    if tuple(out.shape) != tuple(inp.shape[p] for p in perm):
        raise ctx.fail(f"perm {perm} does not turn {inp.describe()} into {out.describe()}")
    strides = _row_major_strides(inp.shape)
    return _strided_copy(ctx, inp, out, 0, [inp.shape[p] for p in perm], [strides[p] for p in perm])


# ----------------------------------------------------------------------------- STRIDED_SLICE, SLICE


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def strided_slice_axis(size: int, begin: int, end: int, stride: int, begin_mask: bool, end_mask: bool, shrink: bool):
    """TFLM Eval's StridedSliceStartForAxis / StridedSliceEndForAxis for one axis (offset=false):
    returns (start, stop); the loop runs start, start+stride, ... while below (stride > 0) / above stop."""
    start = begin + size if begin < 0 else begin
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if begin_mask:  # applied after clamping, as in TFLM's Eval
        start = 0 if stride > 0 else size - 1
    if shrink:
        return start, (start if start >= size else start + 1)
    stop = end + size if end < 0 else end
    stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    if end_mask:
        stop = size if stride > 0 else -1
    return start, stop


def _loop_count(start: int, stop: int, stride: int) -> int:
    span = stop - start if stride > 0 else start - stop
    return max(0, -(-span // abs(stride)))  # ceil for span > 0


@lowers("STRIDED_SLICE", dtypes=ALL_TYPES)
def lower_strided_slice(ctx: OpContext):
    """int8, int16, int32 or float32, rank 1..4 (TFLM); constant begin/end/strides with non-zero strides;
    begin_mask, end_mask and shrink_axis_mask as TFLM. Refused: ellipsis_mask, new_axis_mask and offset
    (TFLM ignores them, so it would compute something else), shrinking an axis with a negative stride
    (TFLM writes nothing there)."""
    inp, out = _data_io(ctx, ALL_TYPES)
    rank = len(inp.shape)
    if rank > 4:
        raise ctx.fail(f"input rank {rank}; TFLM's STRIDED_SLICE supports ranks 1..4")
    for name in ("ellipsis_mask", "new_axis_mask"):
        if ctx.op.option(name, 0):
            raise ctx.fail(f"{name}={ctx.op.option(name)} is not supported (TFLM ignores it)")
    if ctx.op.option("offset", False):
        raise ctx.fail("offset=true is not supported (TFLM ignores it)")
    begin = _const_ints(ctx, 1, "begin", rank)
    end = _const_ints(ctx, 2, "end", rank)
    strides = _const_ints(ctx, 3, "strides", rank)
    begin_mask, end_mask = ctx.op.option("begin_mask", 0), ctx.op.option("end_mask", 0)
    shrink_mask = ctx.op.option("shrink_axis_mask", 0)
    in_strides = _row_major_strides(inp.shape)
    offset, count, step, kept = 0, [], [], []
    for d in range(rank):
        shrink = bool(shrink_mask >> d & 1)
        if strides[d] == 0:
            raise ctx.fail(f"stride of axis {d} is 0")
        if shrink and strides[d] < 0:
            raise ctx.fail(f"axis {d} is shrunk with a negative stride (TFLM writes no output for it)")
        start, stop = strided_slice_axis(
            inp.shape[d], begin[d], end[d], strides[d], bool(begin_mask >> d & 1), bool(end_mask >> d & 1), shrink
        )
        n = _loop_count(start, stop, strides[d])
        if not shrink:
            kept.append(n)
        offset += start * in_strides[d]
        count.append(n)
        step.append(strides[d] * in_strides[d])
    if tuple(kept) != tuple(out.shape):
        raise ctx.fail(f"the slice has shape {kept} but {out.describe()}")
    return _strided_copy(ctx, inp, out, offset, count, step)


@lowers("SLICE", dtypes=ALL_TYPES)
def lower_slice(ctx: OpContext):
    """int8, int16, int32 or float32, rank 1..5 (TFLM); constant begin and size (size -1 = to the end),
    validated as TFLM does. Runs as tq_strided_copy with unit strides."""
    inp, out = _data_io(ctx, ALL_TYPES)
    rank = len(inp.shape)
    if rank > MAX_RANK:
        raise ctx.fail(f"input rank {rank}; TFLM's SLICE supports ranks 1..{MAX_RANK}")
    begin = _const_ints(ctx, 1, "begin", rank)
    size = _const_ints(ctx, 2, "size", rank)
    count = []
    for d in range(rank):
        if not 0 <= begin[d] <= inp.shape[d]:
            raise ctx.fail(f"begin {begin[d]} of axis {d} is outside 0..{inp.shape[d]}")
        n = inp.shape[d] - begin[d] if size[d] == -1 else size[d]
        if not 0 <= n <= inp.shape[d] - begin[d]:
            raise ctx.fail(f"size {size[d]} of axis {d} does not fit from begin {begin[d]} in {inp.shape[d]}")
        count.append(n)
    if tuple(count) != tuple(out.shape):
        raise ctx.fail(f"the slice has shape {count} but {out.describe()}")
    strides = _row_major_strides(inp.shape)
    return _strided_copy(ctx, inp, out, sum(b * s for b, s in zip(begin, strides)), count, strides)
