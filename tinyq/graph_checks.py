"""Whole-graph checks of a model just read (tinyq.tflite_reader runs them last).

After these, every later stage may rely on: a non-empty op list in execution order; every tensor an op
reads is a constant, a graph input, a state variable or the output of an earlier op; every tensor is
written at most once, by one op, and never one the graph or a constant owns; no op reads its own output;
graph inputs and outputs are distinct, non-constant and distinctly named; activation tensors have no
empty dimension.
"""
from __future__ import annotations

from tinyq.errors import ModelFormatError, UnsupportedError
from tinyq.ir import Graph, Op


def check_graph(graph: Graph, where: str) -> None:
    def fail(what: str) -> ModelFormatError:
        return ModelFormatError(f"{where}: {what}")

    t = graph.tensors
    if not graph.ops:
        raise fail("the graph has no operators")
    if not graph.outputs:
        raise fail("the graph has no outputs")
    if not graph.inputs:
        raise UnsupportedError(f"{where}: the graph has no inputs (a model of constants only)")
    for role, ids in (("input", graph.inputs), ("output", graph.outputs)):
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise fail(f"graph {role} {t[dup].describe()} is listed {ids.count(dup)} times")
        names = [t[i].name for i in ids]
        if len(set(names)) != len(names):
            raise fail(f"two graph {role}s are named '{next(n for n in names if names.count(n) > 1)}'")
        for i in ids:
            if t[i].is_constant:
                raise fail(f"graph {role} {t[i].describe()} is a constant")
    for i in graph.outputs:
        if i in graph.inputs:
            raise UnsupportedError(f"{where}: {t[i].describe()} is both a graph input and a graph output")

    producer: dict[int, Op] = {}
    for op in graph.ops:
        loc = f"operator #{op.index} ({op.opcode})"
        if not op.outputs and op.opcode not in ("ASSIGN_VARIABLE", "CALL_ONCE"):  # these write a variable, run a subgraph
            raise fail(f"{loc} has no outputs")
        for i in op.outputs:
            if i in op.inputs:
                raise fail(f"{loc} reads its own output {t[i].describe()}")
            if i in producer:
                other = producer[i]
                raise fail(f"{t[i].describe()} is written by operator #{other.index} ({other.opcode}) and by {loc}")
            if i in graph.inputs:
                raise fail(f"{loc} writes graph input {t[i].describe()}")
            if t[i].is_constant:
                raise fail(f"{loc} writes constant {t[i].describe()}")
            producer[i] = op
    written_before: set[int] = set(graph.inputs)
    for op in graph.ops:
        loc = f"operator #{op.index} ({op.opcode})"
        for i in op.inputs:
            if i < 0 or i in written_before or t[i].is_constant or t[i].is_variable:
                continue
            if i in producer:
                later = producer[i]
                raise fail(f"{loc} reads {t[i].describe()} before operator #{later.index} ({later.opcode}) "
                           f"writes it (operators out of order, or a cycle)")
            raise fail(f"{loc} reads {t[i].describe()}, which is not a constant, a graph input or any operator's output")
        written_before.update(op.outputs)
    for i in graph.outputs:
        if i not in producer:
            raise fail(f"graph output {t[i].describe()} is written by no operator")

    used = {i for op in graph.ops for i in (*op.inputs, *op.outputs) if i >= 0} | set(graph.inputs)
    for i in sorted(used):
        if not t[i].is_constant and 0 in t[i].shape:
            raise UnsupportedError(f"{where}: {t[i].describe()} is empty (a zero dimension)")
