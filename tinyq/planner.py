"""Static memory plan: Program -> MemoryPlan (offsets of every intermediate tensor and scratch buffer in one arena).

Lifetimes come from the call order: a tensor lives from the call that writes it to the last call that
reads it (inclusive); a scratch buffer lives during its own call. Graph inputs and outputs are buffers the
caller owns, so they are not in the arena. A view (a band of rows, tinyq.patch) is part of its base tensor's
buffer: writing or reading it uses that buffer. The output of an in-place call (a reshape) shares its input's
buffer: the two tensors hold the same bytes, so they form one buffer living over both lifetimes; so does the
output of an elementwise op written over its dead input (aliases()).

A convolution whose kernel walks memory in raster order (KernelCall.raster_order, tinyq.raster) may write its
output partly over its input when that input dies with it: the output starts at most write_limit() bytes past
the input's start. tinyq.placement places the buffers (greedy by size, aligned to ALIGN bytes; overlapping
buffers as one chain), keeping an overlap only where it lowers the arena.

A state tensor (Program.states: an SVDF's activation state) persists across invokes: it is not in the arena at
all but in a state region of its own (model.c's static state buffer), one buffer after the other, which no other
tensor, scratch buffer or invoke ever reuses; only its stateful call writes it.

A buffer written band by band (tinyq.patch's residual chains: an elementwise call per band writing rows of its
output from the same rows of an input x) may lag behind x inside x's own bytes: the output starts D <= 0 bytes
from x's start, so each band writes over rows of x that no later call reads (lag_limits()). The band calls
either read x's band at the bytes they write (a ResNet block's ADD of its input), or read no x at all (the ADD of
a band of a shortcut convolution of x: the output, smaller than x, may then start inside x, D >= 0). Both buffers
live over the bands; plan.lagged lists each such pair.

check_plan() independently proves that no two buffers live at the same time share a byte, except the overlaps
and lagged pairs the plan lists; check_overlaps() proves each overlap byte by byte (tinyq.raster.overlap_faults),
check_aliases() each shared buffer, and check_dataflow() the whole plan once more by running it on an arena of
byte owners: every byte a call reads holds the bytes its producer wrote, not overwritten since (which proves
the lagged pairs), and where a call's output shares bytes with its own input, one of the rules above allows it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tinyq.errors import PlanError
from tinyq.placement import ALIGN, Allocation, align, arena_of, overlaps_in_space, overlaps_in_time, place
from tinyq.program import Program
from tinyq.raster import overlap_faults, write_limit


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    allocations: tuple[Allocation, ...]
    weight_bytes: int
    io_bytes: int  # caller-owned input + output buffers (0 with io_in_arena)
    aliases: tuple[tuple[int, int], ...] = ()  # (tensor, tensor whose buffer it shares), from in-place calls
    # (call, input buffer, output buffer): a convolution that writes its output partly over its dying input
    overlaps: tuple[tuple[int, int, int], ...] = ()
    # --io arena: graph inputs and outputs are arena buffers too; an input lives from before call 0 (first -1)
    # to its last read, an output from its call to the end of invoke
    io_in_arena: bool = False
    # persistent state tensors, placed one after the other in the state region (not the arena)
    states: tuple[Allocation, ...] = ()
    state_bytes: int = 0
    # (input buffer, output buffer, output offset - input offset): an output lagging behind its input (lag_limits)
    lagged: tuple[tuple[int, int, int], ...] = ()
    # per call, (offset, size) of the arena bytes holding nothing it or a later call reads (dead_bytes)
    dead: tuple[tuple[tuple[int, int], ...], ...] | None = None

    def state_offset(self, index: int) -> int | None:
        for a in self.states:
            if a.tensor == index:
                return a.offset
        return None

    @property
    def scratch_bytes(self) -> int:
        """The largest scratch buffer (they never coexist: each lives during one call)."""
        return max((a.size for a in self.allocations if a.tensor < 0), default=0)

    def tensor_offset(self, index: int) -> int | None:
        index = dict(self.aliases).get(index, index)
        for a in self.allocations:
            if a.tensor == index:
                return a.offset
        return None

    def scratch_offset(self, call: int) -> int | None:
        for a in self.allocations:
            if a.tensor < 0 and a.call == call:
                return a.offset
        return None


def _last_reads(program: Program, io_in_arena: bool = False) -> dict[int, int]:
    last: dict[int, int] = {}
    for k, call in enumerate(program.calls):
        for i in call.inputs:
            last[i] = k
    if io_in_arena:  # the caller reads the outputs after the last call
        last.update({i: len(program.calls) for i in program.outputs})
    return last


def _takes_over(program: Program, call, src: int, dst: int) -> bool:
    """An elementwise-order call may write `dst` over `src` when it reads src element for element."""
    a, b = program.tensor(src), program.tensor(dst)
    return call.elementwise_order and a.size == b.size and np.dtype(a.dtype).itemsize == np.dtype(b.dtype).itemsize


def _external(program: Program, io_in_arena: bool) -> set[int]:
    """The tensors the caller owns (none when the I/O lives in the arena)."""
    return set() if io_in_arena else set(program.inputs) | set(program.outputs)


def _outside_arena(program: Program, io_in_arena: bool) -> set[int]:
    """The tensors without an arena buffer: the caller's, and the persistent states."""
    return _external(program, io_in_arena) | set(program.states)


def aliases(program: Program, io_in_arena: bool = False) -> dict[int, int]:
    """tensor -> the tensor whose buffer it shares (the root of its chain of in-place calls).

    Two kinds of call put their output on an input's buffer: an in-place call (a reshape: the same bytes), and
    an elementwise-order call (ADD, MUL, activations: KernelCall.elementwise_order) whose input is dead after
    it, so the output takes the buffer over element by element. check_aliases() proves each one again.
    """
    external = _external(program, io_in_arena)
    last = _last_reads(program, io_in_arena)
    root: dict[int, int] = {}
    members: dict[int, list[int]] = {}  # root -> every tensor on its buffer so far
    for k, call in enumerate(program.calls):
        if len(call.outputs) != 1 or call.outputs[0] in external:
            continue
        dst = call.outputs[0]
        if program.tensor(dst).view:  # a band of rows of a buffer: it has none of its own to share
            continue
        if call.in_place and len(call.inputs) == 1 and call.inputs[0] not in external:
            src = call.inputs[0]
        else:
            src = next((i for i in call.inputs if i not in external and not program.tensor(i).view
                        and _takes_over(program, call, i, dst)
                        and all(last.get(t, -1) <= k for t in members.get(root.get(i, i), [i]))), None)
        if src is None:
            continue
        r = root.get(src, src)
        root[dst] = r
        members.setdefault(r, [r]).append(dst)
    return root


def lifetimes(program: Program, io_in_arena: bool = False) -> list[Allocation]:
    """Unplaced buffers (offset -1) with their live ranges; aliased tensors are one buffer, under their root.
    State tensors have none here (plan_states)."""
    external = _outside_arena(program, io_in_arena)
    alias = aliases(program, io_in_arena)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    if io_in_arena:  # inputs are written before call 0; outputs are read after the last call
        end = max(len(program.calls) - 1, 0)
        first.update({i: -1 for i in program.inputs})
        last.update({i: -1 for i in program.inputs})
        last.update({i: end for i in program.outputs})
    for k, call in enumerate(program.calls):
        for i in map(lambda t: program.view_base(t)[0], call.outputs):  # a view uses its base's buffer
            first.setdefault(i, k)
            last[i] = max(last.get(i, k), k)
        for i in map(lambda t: program.view_base(t)[0], call.inputs):
            if i not in first and i not in external:
                raise PlanError(f"tensor #{i} is read by call {k} ({call.opcode}) before any call writes it")
            last[i] = max(last.get(i, k), k)
    for i, r in alias.items():  # a root's buffer lives as long as any tensor that shares it
        first[r] = min(first[r], first.pop(i))
        last[r] = max(last[r], last.pop(i))
    buffers = [
        Allocation(program.tensor(i).name, i, first[i], first[i], last[i], program.tensor(i).nbytes, -1)
        for i in sorted(first)
        if i not in external
    ]
    for k, call in enumerate(program.calls):
        if call.scratch_bytes() > 0:
            buffers.append(Allocation(f"scratch of call {k} ({call.kernel})", -1, k, k, k, call.scratch_bytes(), -1))
    return buffers


def _geometry(program: Program, call) -> tuple:
    """(input shape, output shape, input item bytes, output item bytes) of a one-input, one-output call."""
    a, b = program.tensor(call.inputs[0]), program.tensor(call.outputs[0])
    return a.shape, b.shape, np.dtype(a.dtype).itemsize, np.dtype(b.dtype).itemsize


def _raster_limit(program: Program, k: int) -> int | None:
    """write_limit() of call k's output over its one input, or None when the call has no RasterOrder."""
    call = program.calls[k]
    order = call.raster_order()
    if order is None or len(call.inputs) != 1 or len(call.outputs) != 1:
        return None
    return write_limit(order, *_geometry(program, call))


def overlap_limits(program: Program, buffers: list[Allocation],
                   io_in_arena: bool = False) -> dict[tuple[int, int], tuple[int, int]]:
    """(input buffer, output buffer) -> (call, largest output offset - input offset): the raster-order calls
    whose input buffer dies with them, where some overlap is possible."""
    alias = aliases(program, io_in_arena)
    by_tensor = {b.tensor: b for b in buffers if b.tensor >= 0}
    out = {}
    for k, call in enumerate(program.calls):
        limit = _raster_limit(program, k)
        if limit is None:
            continue
        src, dst = by_tensor.get(alias.get(call.inputs[0], call.inputs[0])), by_tensor.get(call.outputs[0])
        if src is None or dst is None or src.last != k or dst.first != k or limit <= -dst.size:
            continue
        out[(src.tensor, dst.tensor)] = (k, limit)
    return out


def lag_limits(program: Program, buffers: list[Allocation],
               io_in_arena: bool = False) -> dict[tuple[int, int], tuple[int, int]]:
    """(input buffer, output buffer) -> (first writing call, largest output offset - input offset): the buffers
    written only through bands of rows by elementwise-order calls, over a buffer x not written since their first
    band. Each band either reads a band of x at the same bytes of x as it writes of the output (same size and
    item: a ResNet block's ADD of its input), or reads nothing of x (the ADD of a shortcut convolution's band:
    x is the buffer the calls meanwhile read in bands). Each band may land on bytes of x that no later call
    reads: the output starts that far from x (before it, or inside it when it is the smaller; placement keeps
    it at or before x's start, tinyq.placement._lead)."""
    alias = aliases(program, io_in_arena)
    by_tensor = {b.tensor: b for b in buffers if b.tensor >= 0}
    root = lambda t: alias.get(t, t)  # noqa: E731
    writes: dict[int, list[int]] = {}  # base tensor -> the calls that write it
    for k, call in enumerate(program.calls):
        for o in call.outputs:
            writes.setdefault(root(program.view_base(o)[0]), []).append(k)
    out = {}
    for d, calls in writes.items():
        srcs, bands, readers = set(), [], set()  # readers: the bases each writing call reads
        for k in calls:
            call = program.calls[k]
            o = call.outputs[0] if len(call.outputs) == 1 else -1
            t = program.tensor(o) if o >= 0 else None
            if t is None or not t.view or not call.elementwise_order:
                break
            at = program.view_base(o)[1]  # the same bytes of its base as the output's of its own
            same = [i for i in call.inputs if program.tensor(i).view and program.view_base(i)[1] == at
                    and program.tensor(i).nbytes == t.nbytes and np.dtype(program.tensor(i).dtype) == np.dtype(t.dtype)]
            srcs |= {root(program.view_base(i)[0]) for i in same}
            readers |= {root(program.view_base(i)[0]) for i in call.inputs if i not in same}
            bands.append((k, at + t.nbytes))
        else:
            if srcs:  # each band reads x at the bytes it writes (and nothing else of x)
                candidates = srcs if len(srcs) == 1 and not srcs & readers else set()
            else:  # the buffers read in bands meanwhile, which no writing call reads
                candidates = {root(program.view_base(i)[0]) for m in range(calls[0], calls[-1] + 1)
                              for i in program.calls[m].inputs if program.tensor(i).view} - readers
            best = None
            for src in sorted(candidates):
                a, b = by_tensor.get(src), by_tensor.get(d)
                if a is None or b is None or src == d or any(k >= calls[0] for k in writes.get(src, [])):
                    continue
                reads = [(k, program.view_base(i)[1]) for k, c in enumerate(program.calls) for i in c.inputs
                         if root(program.view_base(i)[0]) == src]
                limit = min(min((at for m, at in reads if m > k), default=a.size) - end for k, end in bands)
                if -b.size < min(limit, 0) and (best is None or a.size > by_tensor[best[0]].size):
                    best = (src, limit)
            if best is not None:
                out[(best[0], d)] = (calls[0], best[1])
    return out


def plan_states(program: Program) -> tuple[tuple[Allocation, ...], int]:
    """The state region: each state tensor's buffer, aligned, one after the other, live across every invoke."""
    out, at = [], 0
    writers = {i: k for k, c in enumerate(program.calls) for i in c.outputs}
    for i in program.states:
        t = program.tensor(i)
        out.append(Allocation(t.name, i, writers.get(i, -1), 0, max(len(program.calls) - 1, 0), t.nbytes, at))
        at = align(at + t.nbytes)
    return tuple(out), at


def plan_memory(program: Program, io_in_arena: bool = False) -> MemoryPlan:
    """io_in_arena (--io arena): the graph inputs and outputs are planned in the arena too."""
    buffers = lifetimes(program, io_in_arena)
    raster = overlap_limits(program, buffers, io_in_arena)
    lags = lag_limits(program, buffers, io_in_arena)
    placed, limits = place(buffers, {**lags, **raster})
    at = {a.tensor: a for a in placed if a.tensor >= 0}
    overlaps = tuple(sorted((k, s, d) for (s, d), (k, _) in limits.items()
                            if (s, d) not in lags and overlaps_in_space(at[s], at[d])))
    lagged = tuple(sorted((s, d, at[d].offset - at[s].offset) for (s, d) in limits
                          if (s, d) in lags and overlaps_in_space(at[s], at[d])))
    placed.sort(key=lambda a: (a.first, a.tensor))
    io = sum(program.tensor(i).nbytes for i in _external(program, io_in_arena))
    plan = MemoryPlan(arena_of(placed), tuple(placed), program.weight_bytes, io,
                      tuple(sorted(aliases(program, io_in_arena).items())), overlaps, io_in_arena, *plan_states(program),
                      lagged)
    check_plan(plan)
    check_states(program, plan)
    check_views(program, plan)
    check_overlaps(program, plan)
    check_aliases(program, plan)
    check_dataflow(program, plan)
    return replace(plan, dead=dead_bytes(program, plan))


def check_states(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless every state tensor has one buffer of its own in the state region, inside it,
    aligned, sharing no byte with another, and is written by exactly one call, a stateful one, and read by none
    (that call reads it through its own pointer), or is a resource variable that only variable copies read and
    write (whole: tq_copy of its bytes); no arena buffer belongs to a state."""
    if sorted(a.tensor for a in plan.states) != sorted(set(program.states)) or len(program.states) != len(set(program.states)):
        raise PlanError("the state region does not hold each state tensor once")
    for a in plan.states:
        if a.offset < 0 or a.offset % ALIGN or a.offset + a.size > plan.state_bytes or a.size != program.tensor(a.tensor).nbytes:
            raise PlanError(f"state '{a.name}' at offset {a.offset} (+{a.size}) is misaligned or outside the state region")
    for i, a in enumerate(plan.states):
        for b in plan.states[i + 1:]:
            if overlaps_in_space(a, b):
                raise PlanError(f"states '{a.name}' and '{b.name}' share bytes")
    for t in program.states:
        writers = [c for c in program.calls if t in c.outputs]
        readers = [c for c in program.calls if t in c.inputs]
        copies = writers + readers
        if copies and all(c.variable_access and (c.outputs == (t,) or c.inputs == (t,)) and len(c.inputs) == 1
                          and len(c.outputs) == 1 and c.bytes == program.tensor(t).nbytes for c in copies):
            pass  # a resource variable: copies into it and out of it, nothing else (tinyq.lower.variable)
        elif len(writers) != 1 or not writers[0].stateful or writers[0].outputs.index(t) == 0:
            raise PlanError(f"state tensor #{t} must be written by exactly one stateful call")
        elif readers:
            raise PlanError(f"state tensor #{t} is read by a call")
        if program.tensor(t).view:
            raise PlanError(f"state tensor #{t} is a view")
        if t in program.inputs or t in program.outputs or any(a.tensor == t for a in plan.allocations):
            raise PlanError(f"state tensor #{t} has a buffer outside the state region")
        if t in dict(plan.aliases) or t in dict(plan.aliases).values():
            raise PlanError(f"state tensor #{t} shares a buffer")


def check_views(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless every view (a band of rows, tinyq.patch) lies inside a base tensor that has a
    buffer of its own (the plan's, or the caller's): same dtype and row layout, its rows within the base's; a view
    into a window (a band buffer of the same tensor, or a stash) lies at its slot, inside it, and in a band buffer
    at the rows of the tensor that buffer holds."""
    external = _external(program, plan.io_in_arena)
    for t in program.tensors:
        if not t.view:
            continue
        holder = t.band_of if t.window < 0 else t.window
        try:
            base = program.tensor(holder)
        except KeyError:
            base = None
        first = t.row0 if t.window < 0 else t.slot
        if (base is None or base.view or base.dtype != t.dtype or len(t.shape) != 4 or len(base.shape) != 4
                or not t.shape[0] == base.shape[0] == 1 or tuple(t.shape[2:]) != tuple(base.shape[2:])
                or not 0 <= first <= first + t.shape[1] <= base.shape[1]
                or (t.window >= 0 and base.band_of >= 0 and (base.band_of, base.row0 + t.slot) != (t.band_of, t.row0))
                or (plan.tensor_offset(holder) is None and holder not in external)):
            raise PlanError(f"tensor #{t.index} ('{t.name}') is not a band of rows inside a buffer of tensor #{holder}")


def dead_ranges(plan: MemoryPlan, k: int) -> list[tuple[int, int]]:
    """(offset, size) of the arena bytes that hold nothing call k may read: every byte outside the buffers live
    from before call k through it. Call k's own outputs and scratch count as dead: it must write them before
    reading them. A TQ_POISON build overwrites these bytes before each call (the poisoning test). A planned
    program's plan holds finer ones (dead_bytes: also the consumed rows of a buffer its lagging output has not
    reached yet)."""
    if plan.dead is not None:
        return list(plan.dead[k])
    held = sorted((a.offset, a.offset + a.size) for a in plan.allocations if a.first < k <= a.last)
    out, at = [], 0
    for lo, hi in held:
        if lo > at:
            out.append((at, lo - at))
        at = max(at, hi)
    if at < plan.arena_bytes:
        out.append((at, plan.arena_bytes - at))
    return out


def check_plan(plan: MemoryPlan) -> None:
    """Raise PlanError if two buffers live at the same time share a byte, or one leaves the arena."""
    allocs = plan.allocations
    for a in allocs:
        if a.offset < 0 or a.offset % ALIGN or a.offset + a.size > plan.arena_bytes:
            raise PlanError(f"buffer '{a.name}' at offset {a.offset} (+{a.size}) is misaligned or outside the arena")
    # a listed overlap: the input buffer's last call is the output buffer's first, and nothing else (the bytes
    # are check_overlaps()'s)
    listed = {(s, d, k) for k, s, d in plan.overlaps}
    lagged = {(s, d) for s, d, _ in plan.lagged}  # their bytes are check_dataflow()'s
    for i, a in enumerate(allocs):
        for b in allocs[i + 1 :]:
            if any((x.tensor, y.tensor, x.last) in listed and x.last == y.first for x, y in ((a, b), (b, a))):
                continue
            if a.tensor >= 0 and b.tensor >= 0 and {(a.tensor, b.tensor), (b.tensor, a.tensor)} & lagged:
                continue
            if overlaps_in_time(a, b) and overlaps_in_space(a, b):
                raise PlanError(
                    f"buffers '{a.name}' [{a.offset}, {a.offset + a.size}) and '{b.name}' [{b.offset}, {b.offset + b.size}) "
                    f"overlap while both are live (calls {max(a.first, b.first)}..{min(a.last, b.last)})"
                )


def check_overlaps(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless each listed overlap is a raster-order call writing its one output over its one
    input's buffer, that buffer's last call, with no output byte landing on an input byte still to be read."""
    root = dict(plan.aliases)
    buffer = {a.tensor: a for a in plan.allocations if a.tensor >= 0}
    for k, s, d in plan.overlaps:
        call = program.calls[k] if 0 <= k < len(program.calls) else None
        order = call.raster_order() if call is not None else None
        if (order is None or len(call.inputs) != 1 or call.outputs != (d,) or root.get(call.inputs[0], call.inputs[0]) != s
                or s not in buffer or d not in buffer or buffer[s].last != k or buffer[d].first != k):
            raise PlanError(f"call {k} may not write tensor #{d} over the buffer of tensor #{s}")
        faults = overlap_faults(order, *_geometry(program, call), buffer[d].offset - buffer[s].offset)
        if faults:
            raise PlanError(f"call {k} ({call.kernel}) would write {faults} bytes of tensor #{d} over input bytes "
                            f"of tensor #{s} that it still reads")


def check_aliases(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless every tensor that shares a buffer got there legally: written by an in-place call
    from a tensor of that buffer (the same bytes), or by an elementwise-order call reading a tensor of that
    buffer element for element, when no tensor the buffer held before is read after that call."""
    external = _external(program, plan.io_in_arena)
    producer = {i: k for k in reversed(range(len(program.calls))) for i in program.calls[k].outputs}
    last = _last_reads(program, plan.io_in_arena)
    groups: dict[int, list[int]] = {}
    for t, r in plan.aliases:
        groups.setdefault(r, [r]).append(t)
    for r, group in groups.items():
        group.sort(key=lambda t: producer.get(t, -1))
        for n, t in enumerate(group[1:], 1):
            k = producer.get(t)
            call = program.calls[k] if k is not None else None
            before = group[:n]
            if t in external or r in external or call is None or call.outputs != (t,):
                raise PlanError(f"tensor #{t} shares the buffer of tensor #{r} but is not the one output of a call")
            if call.in_place and len(call.inputs) == 1 and call.inputs[0] in before:
                continue
            if not any(i in before and _takes_over(program, call, i, t) for i in call.inputs):
                raise PlanError(f"call {k} ({call.kernel}) writes tensor #{t} over the buffer of tensor #{r}, "
                                f"which it does not read element for element")
            late = [b for b in before if last.get(b, -1) > k]
            if late:
                raise PlanError(f"call {k} ({call.kernel}) writes tensor #{t} over tensor #{late[0]}, "
                                f"which call {last[late[0]]} still reads")


def _arena_ranges(program: Program, plan: MemoryPlan):
    """tensor -> (arena offset, bytes, content, first byte) for the tensors in the arena (views too), where
    content names what the bytes hold: the buffer's tensor, or for a band (a view, a band buffer) the tensor it
    is rows of, from its `first byte` on (bands of a tensor in different buffers, the halo rows a band keeps,
    hold the same bytes of it); an in-place call's output holds its input's content (the same bytes)."""
    outside = _outside_arena(program, plan.io_in_arena)
    content: dict[int, int] = {}
    for call in program.calls:
        for o in call.outputs:
            t = program.tensor(o)
            src = call.inputs[0] if _shares(call, o, plan) else None
            whole = t.band_of if t.band_of >= 0 else o
            content[o] = content.get(src, src) if src is not None else content.get(whole, whole)

    def where(i: int):
        base, at = program.view_base(i)
        if base in outside or i in outside:
            return None
        offset = plan.tensor_offset(base)
        if offset is None:
            raise PlanError(f"tensor #{i} has no buffer in the plan")
        t = program.tensor(i)
        first = t.row0 * (t.nbytes // t.shape[1]) if t.band_of >= 0 else 0
        whole = t.band_of if t.band_of >= 0 else i
        return offset + at, t.nbytes, content.get(i, content.get(whole, whole)), first
    return where


def _shares(call, o: int, plan: MemoryPlan) -> bool:
    """Call is in place and its output o is on its input's buffer: it writes nothing."""
    return call.in_place and len(call.inputs) == 1 and o in dict(plan.aliases)


def check_dataflow(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless running the program on an arena of byte owners finds every byte each call reads
    holding what that tensor's producer wrote there (not overwritten since, by a tensor, a band or a scratch
    buffer), and --io arena outputs intact at the end; and unless each output sharing bytes with an input of its
    own call is allowed: an in-place call's, a listed overlap (check_overlaps proves its order), or an
    elementwise-order call's output starting at or before an input of its size and item (element e is written
    at or before where element e was read, after reading it)."""
    where = _arena_ranges(program, plan)
    owner = np.full(plan.arena_bytes, -1, np.int64)
    byte = np.full(plan.arena_bytes, -1, np.int64)  # which byte of its owner each byte holds
    listed = {(k, d) for k, _, d in plan.overlaps}
    if plan.io_in_arena:
        for i in program.inputs:
            lo, n, c, f = where(i)
            owner[lo:lo + n], byte[lo:lo + n] = c, np.arange(f, f + n)
    for k, call in enumerate(program.calls):
        if call.scratch_bytes() > 0:
            lo = plan.scratch_offset(k)
            owner[lo:lo + call.scratch_bytes()] = -2 - k
        reads = [(i, where(i)) for i in call.inputs]
        for i, r in reads:
            if r is not None and not np.all(owner[r[0]:r[0] + r[1]] == r[2]):
                bad = r[0] + int(np.argmax(owner[r[0]:r[0] + r[1]] != r[2]))
                raise PlanError(f"call {k} ({call.kernel}) reads tensor #{i} at arena byte {bad}, which holds "
                                f"{_holder(int(owner[bad]))}, not tensor #{r[2]}")
            if r is not None and not np.array_equal(byte[r[0]:r[0] + r[1]], np.arange(r[3], r[3] + r[1])):
                bad = int(np.argmax(byte[r[0]:r[0] + r[1]] != np.arange(r[3], r[3] + r[1])))
                raise PlanError(f"call {k} ({call.kernel}) reads tensor #{i} at arena byte {r[0] + bad}, which holds "
                                f"byte {int(byte[r[0] + bad])} of tensor #{r[2]}, not byte {r[3] + bad} (a row of "
                                f"another band)")
        for o in call.outputs:
            w = where(o)
            if w is None:
                continue
            for i, r in reads:
                if r is None or not (w[0] < r[0] + r[1] and r[0] < w[0] + w[1]) or _shares(call, o, plan):
                    continue
                a, b = program.tensor(i), program.tensor(o)
                if (k, program.view_base(o)[0]) in listed or (
                        call.elementwise_order and w[0] <= r[0] and a.nbytes == b.nbytes
                        and np.dtype(a.dtype).itemsize == np.dtype(b.dtype).itemsize):
                    continue
                raise PlanError(f"call {k} ({call.kernel}) writes tensor #{o} over bytes of its input #{i} "
                                f"in an order no rule proves")
            if not _shares(call, o, plan):
                owner[w[0]:w[0] + w[1]], byte[w[0]:w[0] + w[1]] = w[2], np.arange(w[3], w[3] + w[1])
    if plan.io_in_arena:
        for i in program.outputs:
            lo, n, c, f = where(i)
            if not np.all(owner[lo:lo + n] == c) or not np.array_equal(byte[lo:lo + n], np.arange(f, f + n)):
                raise PlanError(f"output tensor #{i} is overwritten before invoke returns")


def _holder(owner: int) -> str:
    return "nothing written yet" if owner == -1 else (f"scratch of call {-2 - owner}" if owner < -1 else f"tensor #{owner}")


def dead_bytes(program: Program, plan: MemoryPlan) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per call, (offset, size) of the arena bytes whose next use at or after that call is not a read (a write,
    or none): what a TQ_POISON build may overwrite before the call. Run backwards over the calls; check_dataflow
    has proved that every read finds its producer's bytes."""
    where = _arena_ranges(program, plan)
    pending = np.zeros(plan.arena_bytes, bool)  # the next use of the byte is a read
    if plan.io_in_arena:  # the caller reads the outputs after the last call
        for i in program.outputs:
            lo, n, _, _ = where(i)
            pending[lo:lo + n] = True
    out = []
    for k in reversed(range(len(program.calls))):
        call = program.calls[k]
        for o in call.outputs:  # written after the call's reads
            w = where(o)
            if w is not None and not _shares(call, o, plan):
                pending[w[0]:w[0] + w[1]] = False
        for i in call.inputs:
            r = where(i)
            if r is not None:
                pending[r[0]:r[0] + r[1]] = True
        if call.scratch_bytes() > 0:  # written before the reads; it holds nothing they need
            lo = plan.scratch_offset(k)
            pending[lo:lo + call.scratch_bytes()] = False
        out.append(_runs(~pending))
    return tuple(reversed(out))


def _runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(offset, size) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return tuple((int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2]))
