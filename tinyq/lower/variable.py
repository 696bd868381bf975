"""Resource variables: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE and CALL_ONCE -> tq_copy records on a state.

TF's converter writes a model that keeps a tf.Variable as: subgraph 0 = CALL_ONCE(init subgraph) + VAR_HANDLE
(a resource tensor naming the variable by container + shared_name) + READ_VARIABLE (a copy out of the variable)
+ ... + ASSIGN_VARIABLE (a copy into it); the init subgraph assigns constants (tinyq.tflite_reader reads it into
Graph.variable_inits). TFLM (micro_resource_variable.cc) gives each variable one persistent buffer, sized by
the first ASSIGN_VARIABLE it prepares and filled with the assigned tensor's zero point (cast to int8, memset);
the first invoke's CALL_ONCE then runs the init subgraph.

tinyq maps each variable onto a Program state (a buffer in the state region, tinyq.planner), named by the
first VAR_HANDLE of subgraph 0 that names it; READ_VARIABLE and ASSIGN_VARIABLE become byte copies from and
into it. Every tensor read from or assigned to a variable has its shape, dtype and quantization (int8, int16
with zero point 0, or float32: TF's converter keeps a variable float and puts QUANTIZE / DEQUANTIZE around it
in a full-integer model), so the copies are exact. The state's start value is the init subgraph's constant
(Program.state_inits, applied at the first invoke); a reset fills it with the zero point and, as the
tflite-micro runtime does (measured), the init subgraph does not run again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Tensor
from tinyq.lower import OpContext, lowers
from tinyq.program import KernelCall, const_array
from tinyq.tflite_reader import variable_name


@dataclass(frozen=True, eq=False)
class VariableCall(KernelCall):
    """READ_VARIABLE (state -> tensor) or ASSIGN_VARIABLE (tensor -> state): tq_copy of `bytes` bytes."""

    params_type = "tq_copy_params"
    variable_access = True  # the one kind of call that may read or write a resource-variable state
    bytes: int


@dataclass(frozen=True)
class Variable:
    state: int  # the tensor index that stands for the variable: its first VAR_HANDLE's resource tensor
    tensor: Tensor  # the variable's shape, dtype and quantization (its first ASSIGN_VARIABLE's value)
    initial: Tensor | None  # what the init subgraph assigns last, or None (then it starts at the zero point)


def variables(graph: Graph) -> dict[int, Variable]:
    """Every resource tensor of subgraph 0 (a VAR_HANDLE output) -> its Variable. Raises UnsupportedError naming
    the op when the variables are not what tinyq compiles."""
    if _LAST and _LAST[0] is graph:  # every op of a graph asks: compute once per graph
        return _LAST[1]
    names: dict[tuple[str | None, str], int] = {}  # variable -> its state (first handle)
    handle_of: dict[int, int] = {}  # resource tensor -> state
    containers: dict[str, str | None] = {}
    values: dict[int, list[tuple[Tensor, str]]] = {}  # state -> (tensor read or assigned, where)
    assigned: set[int] = set()
    for op in graph.ops:
        where = graph.op_location(op)
        if op.opcode == "VAR_HANDLE" and len(op.outputs) == 1:
            container, shared = variable_name(op, where)
            if containers.setdefault(shared, container) != container:
                raise UnsupportedError(f"{where}: variable '{shared}' is named with two containers "
                                       f"('{containers[shared]}' and '{container}'); TFLM counts variables by shared_name")
            handle_of[op.outputs[0]] = names.setdefault((container, shared), op.outputs[0])
        elif op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE") and op.inputs and op.inputs[0] in handle_of:
            other = op.outputs[0] if op.opcode == "READ_VARIABLE" and op.outputs else (
                op.inputs[1] if len(op.inputs) > 1 else -1)
            if other >= 0:
                values.setdefault(handle_of[op.inputs[0]], []).append((graph.tensors[other], where))
            if op.opcode == "ASSIGN_VARIABLE":
                assigned.add(handle_of[op.inputs[0]])
    init_of: dict[int, list[tuple[Tensor, str]]] = {}
    for init in graph.variable_inits:
        state = names.get((init.container, init.shared_name))
        if state is None:
            if containers.get(init.shared_name, init.container) != init.container:
                raise UnsupportedError(f"{init.where}: variable '{init.shared_name}' is named with another container "
                                       f"than subgraph 0's VAR_HANDLE")
            continue  # a variable the model never touches: nothing to keep
        init_of.setdefault(state, []).append((init.value, init.where))
    out = {}
    for key, state in names.items():
        if state not in values:
            continue  # a variable no op of subgraph 0 reads or assigns: nothing to keep
        seen = values[state] + init_of.get(state, [])
        if state not in assigned and state not in init_of:  # TFLM would read a buffer it never allocated
            raise UnsupportedError(f"{seen[0][1]}: variable '{key[1]}' is read, but no ASSIGN_VARIABLE of the model "
                                   f"or its init subgraph assigns it")
        spec, first = seen[0]
        for t, where in seen:
            _check_alike(spec, first, t, where, key[1])
        inits = init_of.get(state)
        v = Variable(state, replace(spec, index=state, name=key[1], data=None, is_variable=True),
                     inits[-1][0] if inits else None)
        for h, s in handle_of.items():
            if s == state:
                out[h] = v
    _LAST[:] = [graph, out]
    return out


_LAST: list = []  # [graph, its variables]


def _check_alike(spec: Tensor, first: str, t: Tensor, where: str, name: str) -> None:
    if t.dtype not in ("int8", "int16", "float32"):
        raise UnsupportedError(f"{where}: variable '{name}' holds {t.describe()}; tinyq compiles int8, int16 and "
                               f"float32 variables")
    if t.dtype == "float32":  # TF's converter keeps a variable float, between QUANTIZE and DEQUANTIZE ops
        if t.quant is not None:  # TFLM would fill the variable with its zero point's byte, not 0.0f
            raise UnsupportedError(f"{where}: float32 {t.describe()} of variable '{name}' has quantization parameters")
        if (t.shape, t.dtype) != (spec.shape, spec.dtype):
            raise UnsupportedError(f"{where}: {t.describe()} differs from variable '{name}' as {first} has it "
                                   f"({spec.dtype}{list(spec.shape)}); every tensor read from or assigned to a "
                                   f"variable must have its shape and dtype")
        return
    if t.quant is None or t.quant.per_channel:
        raise UnsupportedError(f"{where}: {t.describe()} of variable '{name}' must be quantized per tensor")
    if t.dtype == "int16" and t.zero_point != 0:
        raise UnsupportedError(f"{where}: int16 {t.describe()} of variable '{name}' has zero point {t.zero_point}; "
                               f"int16 variables need zero point 0 (TFLM fills a variable with its zero point cast to int8)")
    if spec.quant is None or (t.shape, t.dtype, t.quant.scale, t.quant.zero_point) != (
            spec.shape, spec.dtype, spec.quant.scale, spec.quant.zero_point):
        raise UnsupportedError(
            f"{where}: {t.describe()} (scale {t.scale:g}, zero point {t.zero_point}) differs from variable '{name}' "
            f"as {first} has it ({spec.dtype}{list(spec.shape)}, scale {spec.scale:g}, zero point {spec.zero_point}); "
            f"every tensor read from or assigned to a variable must have its shape, dtype and quantization")


def _variable(ctx: OpContext) -> Variable:
    h = ctx.op.inputs[0] if ctx.op.inputs else -1
    v = variables(ctx.graph).get(h)
    if v is None:
        what = ctx.graph.tensors[h].describe() if h >= 0 else "no tensor"
        raise ctx.fail(f"its input 0 is {what}, which no VAR_HANDLE of the model writes (an unknown variable)")
    return v


@lowers("VAR_HANDLE", dtypes=("int8", "int16", "float32"))
def lower_var_handle(ctx: OpContext):
    """Names a resource variable (container + shared_name, as TFLM identifies it); lowers to nothing."""
    variables(ctx.graph)
    out = ctx.output(0)
    if out.dtype != "resource":
        raise ctx.fail(f"its output {out.describe()} must be a resource tensor")
    return []


@lowers("CALL_ONCE", dtypes=("int8", "int16", "float32"))
def lower_call_once(ctx: OpContext):
    """Only an init subgraph that assigns constants to variables (their start values); lowers to nothing. It
    must run before every READ_VARIABLE and ASSIGN_VARIABLE."""
    first = next((op for op in ctx.graph.ops if op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE")), None)
    if first is not None and first.index < ctx.op.index:
        raise ctx.fail(f"runs after operator #{first.index} ({first.opcode}); tinyq needs the init subgraph to run first")
    variables(ctx.graph)
    return []


@lowers("READ_VARIABLE", dtypes=("int8", "int16", "float32"))
def lower_read_variable(ctx: OpContext):
    """int8, int16 (zero point 0) or float32; the output has the variable's shape, dtype and quantization. A copy
    out of the variable's state (tq_copy)."""
    v = _variable(ctx)
    v_out = ctx.output(0)
    _check_alike(v.tensor, "its first use", v_out, ctx.where, v.tensor.name)
    return VariableCall(**ctx.call_fields("tq_copy", inputs=(v.state,)), bytes=v.tensor.nbytes)


@lowers("ASSIGN_VARIABLE", dtypes=("int8", "int16", "float32"))
def lower_assign_variable(ctx: OpContext):
    """int8, int16 (zero point 0) or float32; the value has the variable's shape, dtype and quantization. A copy
    into the variable's state (tq_copy)."""
    v = _variable(ctx)
    value = ctx.input(1)
    if value is None:
        raise ctx.fail("the value (input 1) is missing")
    if value.is_constant:  # the records hold constants, the copy reads a buffer: this is the init subgraph's job
        raise ctx.fail(f"assigns the constant {value.describe()}; tinyq assigns constants only in a CALL_ONCE "
                       f"init subgraph")
    _check_alike(v.tensor, "its first use", value, ctx.where, v.tensor.name)
    return VariableCall(**ctx.call_fields("tq_copy", inputs=(value.index,), outputs=(v.state,)), bytes=v.tensor.nbytes)


def program_states(graph: Graph) -> tuple[dict[int, Tensor], tuple]:
    """For tinyq.lower._lower: each variable's state tensor (index -> Tensor) and (state, initial value) of those
    the init subgraph assigns."""
    vs = {v.state: v for v in variables(graph).values()}
    return ({s: v.tensor for s, v in vs.items()},
            tuple((s, const_array(v.initial.data, v.tensor.dtype)) for s, v in vs.items() if v.initial is not None))
