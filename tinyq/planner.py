"""Static memory plan: Program -> MemoryPlan (offsets of every intermediate tensor and scratch buffer in one arena).

Lifetimes come from the call order: a tensor lives from the call that writes it to the last call that
reads it (inclusive); a scratch buffer lives during its own call. Graph inputs and outputs are buffers the
caller owns, so they are not in the arena. The output of an in-place call (a reshape) shares its input's
buffer: the two tensors hold the same bytes, so they form one buffer living over both lifetimes; so does the
output of an elementwise op written over its dead input (aliases()).

A convolution whose kernel walks memory in raster order (KernelCall.raster_order, tinyq.raster) may write its
output partly over its input when that input dies with it: the output starts at most write_limit() bytes past
the input's start. Placement is greedy by size (largest first, lowest offset where the buffer keeps clear of
every placed buffer with an intersecting lifetime, or keeps within such an overlap), aligned to ALIGN bytes.
Overlapping buffers are placed as one chain, at fixed offsets from each other (an output below its input where
a 3x3 window still reads the row above); overlaps that do not lower the arena are dropped, and a plan with
overlaps is kept only when its arena is smaller than the plan without.

check_plan() independently proves that no two buffers live at the same time share a byte, except the overlaps
the plan lists; check_overlaps() proves each of those byte by byte (tinyq.raster.overlap_faults), and
check_aliases() each shared buffer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.errors import PlanError
from tinyq.program import Program
from tinyq.raster import overlap_faults, write_limit

ALIGN = 16


@dataclass(frozen=True)
class Allocation:
    name: str  # tensor name, or "scratch of call k"
    tensor: int  # tensor index; -1 for a scratch buffer
    call: int  # for scratch: the call it belongs to; for tensors: the producing call
    first: int  # first call index during which the buffer is live
    last: int  # last call index (inclusive)
    size: int
    offset: int


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


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


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
        if call.in_place and len(call.inputs) == 1 and call.inputs[0] not in external:
            src = call.inputs[0]
        else:
            src = next((i for i in call.inputs if i not in external and _takes_over(program, call, i, dst)
                        and all(last.get(t, -1) <= k for t in members.get(root.get(i, i), [i]))), None)
        if src is None:
            continue
        r = root.get(src, src)
        root[dst] = r
        members.setdefault(r, [r]).append(dst)
    return root


def lifetimes(program: Program, io_in_arena: bool = False) -> list[Allocation]:
    """Unplaced buffers (offset -1) with their live ranges; aliased tensors are one buffer, under their root."""
    external = _external(program, io_in_arena)
    alias = aliases(program, io_in_arena)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    if io_in_arena:  # inputs are written before call 0; outputs are read after the last call
        end = max(len(program.calls) - 1, 0)
        first.update({i: -1 for i in program.inputs})
        last.update({i: -1 for i in program.inputs})
        last.update({i: end for i in program.outputs})
    for k, call in enumerate(program.calls):
        for i in call.outputs:
            first.setdefault(i, k)
            last[i] = max(last.get(i, k), k)
        for i in call.inputs:
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


def _overlaps_in_time(a: Allocation, b: Allocation) -> bool:
    return a.first <= b.last and b.first <= a.last


def _raster_limit(program: Program, k: int) -> int | None:
    """write_limit() of call k's output over its one input, or None when the call has no RasterOrder."""
    call = program.calls[k]
    order = call.raster_order()
    if order is None or len(call.inputs) != 1 or len(call.outputs) != 1:
        return None
    a, b = program.tensor(call.inputs[0]), program.tensor(call.outputs[0])
    return write_limit(order, a.shape, b.shape, np.dtype(a.dtype).itemsize, np.dtype(b.dtype).itemsize)


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


def _chains(buffers: list[Allocation], limits: dict) -> list[list[tuple[Allocation, int]]]:
    """The buffers as chains of overlapping ones, each member at an offset relative to the chain (lowest 0):
    along an overlap the output starts min(limit, 0) bytes from its input, rounded down to ALIGN (an output
    may reach into its input as far as the limit lets it; one that may start past it gains nothing there)."""
    by_tensor = {b.tensor: b for b in buffers if b.tensor >= 0}
    step = {s: (d, limit) for (s, d), (_, limit) in limits.items()}
    heads = [b for b in buffers if not any(d == b.tensor for _, d in limits)]
    chains = []
    for head in heads:
        chain, at = [(head, 0)], 0
        while chain[-1][0].tensor in step:
            d, limit = step[chain[-1][0].tensor]
            at += min(limit, 0) // ALIGN * ALIGN
            chain.append((by_tensor[d], at))
        low = min(rel for _, rel in chain)
        chains.append([(b, rel - low) for b, rel in chain])
    return chains


def _needed_links(buffers: list[Allocation], limits: dict) -> dict:
    """The overlaps at the calls where the live buffers, without that overlap, exceed what the busiest call
    needs with every overlap: elsewhere an overlap cannot lower the peak, and breaking the chain there stops
    its drift."""
    size = {b.tensor: b.size for b in buffers if b.tensor >= 0}
    live = {}
    for b in buffers:
        for k in range(max(b.first, 0), b.last + 1):
            live[k] = live.get(k, 0) + b.size
    saving = {}
    for (s, d), (k, limit) in limits.items():
        lead = min(limit, 0) // ALIGN * ALIGN
        saving[k] = size[s] + size[d] - max(size[s] - lead, size[d])
    floor = max(live[k] - saving.get(k, 0) for k in live)
    return {link: v for link, v in limits.items() if live[v[0]] > floor}


def _place(buffers: list[Allocation], limits: dict) -> list[Allocation]:
    """Greedy placement of the chains (_chains; without limits every buffer is a chain of one), largest first,
    each at the lowest aligned offset where every member keeps clear of the placed buffers live with it."""
    placed: list[Allocation] = []
    for chain in sorted(_chains(buffers, limits), key=lambda c: (-max(b.size for b, _ in c), c[0][0].first,
                                                                   c[0][0].tensor)):
        gaps = [(p.offset - rel - b.size, p.offset + p.size - rel)  # chain offset must be <= lo or >= hi
                for b, rel in chain for p in placed if _overlaps_in_time(p, b)]
        base = min(c for c in [0] + [_align(hi) for _, hi in gaps] if c >= 0 and all(not (lo < c < hi) for lo, hi in gaps))
        placed += [Allocation(b.name, b.tensor, b.call, b.first, b.last, b.size, base + rel) for b, rel in chain]
    return placed


def _search_from_all(buffers: list[Allocation], limits: dict) -> tuple[list[Allocation], dict]:
    """Every overlap, then drop the one whose loss gives the smallest arena while it does not grow: a chain of
    overlaps drifts down by each output's lead over its input, and a break lets the greedy place the rest of
    the chain afresh."""
    kept, best = dict(limits), _place(buffers, limits)
    while kept:
        trials = [{key: v for key, v in kept.items() if key != link} for link in sorted(kept)]
        got, trial = min(((_place(buffers, t), t) for t in trials), key=lambda g: _arena(g[0]))
        if _arena(got) > _arena(best):
            break
        kept, best = trial, got
    return best, kept


def _search_from_needed(buffers: list[Allocation], limits: dict) -> tuple[list[Allocation], dict]:
    """The overlaps at the busiest calls (_needed_links); then each other one added where it lowers the arena
    (the greedy placement leaves gaps the live sums do not show), and each kept one dropped where that does not
    raise it."""
    kept = _needed_links(buffers, limits)
    best = _place(buffers, kept)
    for link in sorted(limits):
        trial = {**kept, link: limits[link]} if link not in kept else {k: v for k, v in kept.items() if k != link}
        got = _place(buffers, trial)
        if _arena(got) < _arena(best) or (link in kept and _arena(got) == _arena(best)):
            kept, best = trial, got
    return best, kept


def _arena(placed: list[Allocation]) -> int:
    return _align(max((a.offset + a.size for a in placed), default=0))


def plan_memory(program: Program, io_in_arena: bool = False) -> MemoryPlan:
    """io_in_arena (--io arena): the graph inputs and outputs are planned in the arena too."""
    buffers = lifetimes(program, io_in_arena)
    limits = overlap_limits(program, buffers, io_in_arena)
    placed = _place(buffers, {})
    if limits:
        best, kept = min((_search_from_all(buffers, limits), _search_from_needed(buffers, limits)),
                         key=lambda got: _arena(got[0]))
        if _arena(best) < _arena(placed):  # else without overlaps: they gain nothing
            placed, limits = best, kept
    offset = {a.tensor: a for a in placed if a.tensor >= 0}
    overlaps = tuple(sorted((k, s, d) for (s, d), (k, _) in limits.items()
                            if offset[s].offset < offset[d].offset + offset[d].size
                            and offset[d].offset < offset[s].offset + offset[s].size))
    placed.sort(key=lambda a: (a.first, a.tensor))
    io = sum(program.tensor(i).nbytes for i in _external(program, io_in_arena))
    plan = MemoryPlan(_arena(placed), tuple(placed), program.weight_bytes, io,
                      tuple(sorted(aliases(program, io_in_arena).items())), overlaps, io_in_arena)
    check_plan(plan)
    check_overlaps(program, plan)
    check_aliases(program, plan)
    return plan


def dead_ranges(plan: MemoryPlan, k: int) -> list[tuple[int, int]]:
    """(offset, size) of the arena bytes that hold nothing call k may read: every byte outside the buffers live
    from before call k through it. Call k's own outputs and scratch count as dead: it must write them before
    reading them. A TQ_POISON build overwrites these bytes before each call (the poisoning test)."""
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
    for i, a in enumerate(allocs):
        for b in allocs[i + 1 :]:
            if any((x.tensor, y.tensor, x.last) in listed and x.last == y.first and x.tensor >= 0 <= y.tensor
                   for x, y in ((a, b), (b, a))):
                continue
            if _overlaps_in_time(a, b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
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
        a, b = program.tensor(call.inputs[0]), program.tensor(d)
        faults = overlap_faults(order, a.shape, b.shape, np.dtype(a.dtype).itemsize, np.dtype(b.dtype).itemsize,
                                buffer[d].offset - buffer[s].offset)
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
