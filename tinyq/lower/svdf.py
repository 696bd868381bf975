"""SVDF -> tq_svdf_s8 (int8 state and time weights) / tq_svdf_s8_state16 (int16 state and time weights).

The arithmetic is TFLM's reference kernel (tensorflow/lite/micro/kernels/svdf_common.cc,
EvalIntegerSvdfReference; not CMSIS-NN's arm_svdf_s8): per invoke the state [batch, filters * memory]
shifts left by one element, the feature matmul (int8 input x int8 weights_feature, requantized with
effective scale 1, clamped to the state type, plus the state zero point) fills the newest time step of
every filter, each filter's time weights dot its memory (minus the state zero point), the rank filters of
a unit are summed onto the bias, and effective scale 2 requantizes into int8. TFLM's integer path applies
no fused activation (only the int8 clamp): neither does tinyq.

The activation state is a variable tensor: the call writes it (it is the record's second output) and it
persists across invokes (Program.states; tinyq.planner gives it a buffer of its own outside the arena).
Its initial value is TFLM's: the zero point for an int8 state, 0 for int16 (MicroInterpreterGraph::
ResetTensorData). The int32 sums wrap as TFLM's do on every target (int16 time weights can overflow them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall, const_array
from tinyq.quant import f32, requant_multiplier


@dataclass(frozen=True, eq=False)
class SvdfCall(KernelCall):
    params_type = "tq_svdf_params"
    stateful = True
    batches: int
    input_size: int
    num_filters: int  # units * rank
    num_units: int
    rank: int
    memory_size: int
    input_offset: int  # -input zero point
    state_zero_point: int
    output_offset: int
    feature_multiplier: int  # effective scale 1: input x weights_feature -> state
    feature_shift: int
    output_multiplier: int  # effective scale 2: state x weights_time -> output
    output_shift: int
    weights_feature: np.ndarray  # int8 [num_filters, input_size]
    weights_time: np.ndarray  # int8 or int16 (the state's type) [num_filters, memory_size]
    bias: np.ndarray  # int32 [num_units]

    @property
    def state_dtype(self) -> str:
        return self.weights_time.dtype.name


@lowers("SVDF", dtypes=("int8",))
def lower_svdf(ctx: OpContext):
    """int8 input and output, int8 weights_feature, int8 or int16 weights_time with an activation state of the
    same type (a variable tensor, used by this op only), int32 bias (required: TFLM reads its scale).
    Zero points of the weights must be 0. The fused activation is not applied (TFLM's integer SVDF ignores it).
    Float and hybrid SVDF are refused."""
    inp, out = ctx.input(0), ctx.output(0)
    if inp is None:
        raise ctx.fail("input 0 is missing")
    if inp.dtype != "int8" or out.dtype != "int8":
        raise ctx.fail(f"input {inp.dtype} / output {out.dtype}: tinyq compiles the integer SVDF (int8 input and "
                       f"output); float and hybrid SVDF are not supported")
    ctx.require_quant(inp)
    ctx.require_quant(out)
    wf = ctx.const_input(1, "weights_feature")
    wt = ctx.const_input(2, "weights_time")
    bias = ctx.input(3)
    state = ctx.input(4)
    if wf.dtype != "int8":
        raise ctx.fail(f"weights_feature {wf.describe()} must be int8 (float and hybrid SVDF are not supported)")
    ctx.require_dtype(wt, "int8", "int16")
    if state is None:
        raise ctx.fail("the activation state (input 4) is missing")
    if not state.is_variable or state.is_constant:
        raise ctx.fail(f"the activation state {state.describe()} must be a variable tensor (is_variable)")
    if state.dtype != wt.dtype:
        raise ctx.fail(f"the activation state {state.describe()} must have the type of weights_time ({wt.dtype}): "
                       f"TFLM reads both as that type")
    for t, what in ((wf, "weights_feature"), (wt, "weights_time"), (state, "activation state")):
        ctx.require_quant(t)
        if what != "activation state" and t.zero_point != 0:
            raise ctx.fail(f"{what} {t.describe()} has zero point {t.zero_point}; TFLM ignores it, tinyq requires 0")
    _check_state_owner(ctx, state)

    rank = int(ctx.op.option("rank", 0))
    if len(inp.shape) != 2 or len(out.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2 or len(state.shape) != 2:
        raise ctx.fail("input, output, weights_feature, weights_time and the activation state must be 2-D")
    batches, input_size = inp.shape
    num_filters, memory_size = wt.shape
    if rank < 1 or num_filters % rank:
        raise ctx.fail(f"rank {rank} must be positive and divide the {num_filters} filters")
    num_units = num_filters // rank
    if wf.shape != (num_filters, input_size):
        raise ctx.fail(f"weights_feature {list(wf.shape)} must be [{num_filters}, {input_size}] (filters, input size)")
    if memory_size < 1:
        raise ctx.fail(f"weights_time {list(wt.shape)} has no memory")
    if out.shape != (batches, num_units):
        raise ctx.fail(f"output {list(out.shape)} must be [{batches}, {num_units}] (batch, filters / rank)")
    if state.shape != (batches, num_filters * memory_size):
        raise ctx.fail(f"the activation state {list(state.shape)} must be [{batches}, {num_filters * memory_size}] "
                       f"(batch, filters x memory size)")
    if bias is None:
        raise ctx.fail("bias (input 3) is missing; TFLM's integer SVDF requires it")
    if bias.data is None:
        raise ctx.fail("bias (input 3) must be a constant tensor")
    ctx.require_dtype(bias, "int32")
    if bias.shape != (num_units,):
        raise ctx.fail(f"bias {bias.describe()} must be [{num_units}]")
    if bias.quant is None:
        raise ctx.fail(f"bias {bias.describe()} is not quantized")
    # TFLM's Prepare: |bias scale - state scale x time-weights scale| < 1e-5
    product = f32(state.scale) * f32(wt.scale)
    if not abs(f32(bias.scale) - product) < 1e-5:
        raise ctx.fail(f"bias {bias.describe()} has scale {bias.scale:g}, but state scale x weights_time scale is "
                       f"{product:g} (TFLM requires them within 1e-5)")
    # Both effective scales in double from the float32 scales. (svdf_common.cc of Aug 2026 multiplies in float
    # first; the tflite-micro runtime tinyq checks against computes in double: measured, the float product gives
    # another multiplier for keyword_scrambled's first SVDF, 2134672896 instead of 2134672828, and TFLM's states
    # agree with the double one.)
    scale_1 = f32(inp.scale) * f32(wf.scale) / f32(state.scale)
    scale_2 = f32(state.scale) * f32(wt.scale) / f32(out.scale)
    m1, s1 = requant_multiplier(scale_1)
    m2, s2 = requant_multiplier(scale_2)
    suffix = "s8" if wt.dtype == "int8" else "s8_state16"
    return SvdfCall(
        **ctx.call_fields(f"tq_svdf_{suffix}", inputs=(inp.index,), outputs=(out.index, state.index)),
        batches=batches, input_size=input_size, num_filters=num_filters, num_units=num_units, rank=rank,
        memory_size=memory_size, input_offset=-inp.zero_point, state_zero_point=state.zero_point,
        output_offset=out.zero_point, feature_multiplier=m1, feature_shift=s1, output_multiplier=m2, output_shift=s2,
        weights_feature=const_array(wf.data, np.int8), weights_time=const_array(wt.data, wt.dtype),
        bias=const_array(bias.data, np.int32),
    )


def _check_state_owner(ctx: OpContext, state) -> None:
    """The state belongs to this op alone: nothing else reads or writes it, and the caller never sees it."""
    g = ctx.graph
    if state.index in g.inputs or state.index in g.outputs:
        raise ctx.fail(f"the activation state {state.describe()} is a graph input or output")
    for op in g.ops:
        if op.index != ctx.op.index and state.index in op.inputs:
            raise ctx.fail(f"the activation state {state.describe()} is also read by operator #{op.index} ({op.opcode})")
        if state.index in op.outputs:
            raise ctx.fail(f"the activation state {state.describe()} is written by operator #{op.index} ({op.opcode})")
