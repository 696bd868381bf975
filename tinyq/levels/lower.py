"""Lower the models of a multi-level image: check that the levels are interchangeable, lower each one, and
store nested weights once (a level whose weights are the top bits of an earlier level's int8 weights decodes
them from the earlier level's array: tinyq.encode.nested)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from tinyq.errors import InputError, UnsupportedError
from tinyq.ir import Graph
from tinyq.program import Program


@dataclass(frozen=True)
class LevelProgram:
    index: int
    name: str  # the model's file name, for messages and reports
    program: Program
    parent: int | None = None  # the level whose int8 weights this one's nested weights decode, if any
    note: str = ""  # why a declared nesting was not used


def _io(graph: Graph, which: str) -> list[tuple[str, tuple[int, ...], str]]:
    ids = graph.inputs if which == "input" else graph.outputs
    return [(graph.tensors[i].name, tuple(graph.tensors[i].shape), graph.tensors[i].dtype) for i in ids]


def check_level(first: tuple[str, Graph], other: tuple[str, Graph], index: int) -> None:
    """Refuse a level whose inputs or outputs differ in number, shape or dtype from level 0's (one line)."""
    (name0, g0), (name, g) = first, other
    for which in ("input", "output"):
        a, b = _io(g0, which), _io(g, which)
        if len(a) != len(b):
            raise InputError(f"level {index} ({name}) has {len(b)} {which}s, level 0 ({name0}) has {len(a)}: "
                             f"the levels of one image must have the same inputs and outputs")
        for j, ((_, shape0, dtype0), (tname, shape, dtype)) in enumerate(zip(a, b)):
            if (shape, dtype) != (shape0, dtype0):
                raise InputError(f"level {index} ({name}): {which} {j} '{tname}' is {dtype}{list(shape)} but level 0 "
                                 f"({name0}) has {dtype0}{list(shape0)}: the levels of one image must have the same "
                                 f"input and output shapes and dtypes")


def _weight_call(program: Program, op: int) -> int:
    """The index of the call that holds operator `op`'s weights (the reader checked `op` is a weight op)."""
    from tinyq.encode.apply import ENCODABLE

    found = [k for k, c in enumerate(program.calls) if c.layer == op and c.kernel in ENCODABLE]
    if len(found) != 1:
        raise UnsupportedError(f"operator {op} has no int8 weight call to nest")
    return found[0]


def lower_levels(models: list[tuple[str, Graph]], weights: str = "auto", isa: str = "portable") -> list[LevelProgram]:
    """Lower every level; nested weights (Graph.nested naming an earlier level's SHA-256) become `topK` calls
    reading that level's int8 array. A level nested in a model that is not a level here is lowered on its own,
    with a note. Raises InputError / UnsupportedError naming the level and the file."""
    from tinyq.lower import lower

    for k, model in enumerate(models[1:], 1):
        check_level(models[0], model, k)
    by_sha = {}
    for k, (_, g) in enumerate(models):
        by_sha.setdefault(g.sha256, k)
    parents: dict[int, int] = {}
    notes: dict[int, str] = {}
    for k, (name, g) in enumerate(models):
        nested = getattr(g, "nested", None)
        if nested is None:
            continue
        j = by_sha.get(nested.parent_sha256)
        if j is None or j >= k:
            notes[k] = (f"{name} is nested in a model (SHA-256 {nested.parent_sha256[:12]}…) that is not an earlier "
                        f"level of this image: its weights are stored on their own")
        else:
            parents[k] = j
    keep = {k: set() for k in range(len(models))}
    for k, j in parents.items():
        ops = {op for op, _ in models[k][1].nested.ops}
        keep[k] |= ops
        keep[j] |= ops
    programs = [lower(g, weights, None, isa, keep_int8=frozenset(keep[k])) for k, (_, g) in enumerate(models)]
    out = []
    for k, (name, g) in enumerate(models):
        program = programs[k]
        j = parents.get(k)
        if j is not None:
            from tinyq.encode.nested import nest_call

            calls = list(program.calls)
            for op, bits in g.nested.ops:
                where = f"{name}: level {k} is nested in level {j} ({models[j][0]}), but operator {op}"
                try:
                    c, p = _weight_call(program, op), _weight_call(programs[j], op)
                except UnsupportedError as exc:
                    raise UnsupportedError(f"{where}: {exc}") from None
                calls[c] = nest_call(calls[c], programs[j].calls[p], bits, where)
            program = replace(program, calls=tuple(calls))
        out.append(LevelProgram(k, name, program, j, notes.get(k, "")))
    return out
