"""Static memory plan: Program -> MemoryPlan (offsets of every intermediate tensor and scratch buffer in one arena).

Lifetimes come from the call order: a tensor lives from the call that writes it to the last call that
reads it (inclusive); a scratch buffer lives during its own call. Graph inputs and outputs are buffers the
caller owns, so they are not in the arena. The output of an in-place call (a reshape) shares its input's
buffer: the two tensors hold the same bytes, so they form one buffer living over both lifetimes. Placement is greedy by size (largest first, lowest offset that
does not overlap any already-placed buffer with an intersecting lifetime), aligned to ALIGN bytes.
check_plan() independently proves that no two buffers that are live at the same time overlap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.errors import PlanError
from tinyq.program import Program

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
    io_bytes: int  # caller-owned input + output buffers
    aliases: tuple[tuple[int, int], ...] = ()  # (tensor, tensor whose buffer it shares), from in-place calls

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


def _last_reads(program: Program) -> dict[int, int]:
    last: dict[int, int] = {}
    for k, call in enumerate(program.calls):
        for i in call.inputs:
            last[i] = k
    return last


def _takes_over(program: Program, call, src: int, dst: int) -> bool:
    """An elementwise-order call may write `dst` over `src` when it reads src element for element."""
    a, b = program.tensor(src), program.tensor(dst)
    return call.elementwise_order and a.size == b.size and np.dtype(a.dtype).itemsize == np.dtype(b.dtype).itemsize


def aliases(program: Program) -> dict[int, int]:
    """tensor -> the tensor whose buffer it shares (the root of its chain of in-place calls).

    Two kinds of call put their output on an input's buffer: an in-place call (a reshape: the same bytes), and
    an elementwise-order call (ADD, MUL, activations: KernelCall.elementwise_order) whose input is dead after
    it, so the output takes the buffer over element by element. check_aliases() proves each one again.
    """
    external = set(program.inputs) | set(program.outputs)
    last = _last_reads(program)
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


def lifetimes(program: Program) -> list[Allocation]:
    """Unplaced buffers (offset -1) with their live ranges; aliased tensors are one buffer, under their root."""
    external = set(program.inputs) | set(program.outputs)
    alias = aliases(program)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
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


def plan_memory(program: Program) -> MemoryPlan:
    placed: list[Allocation] = []
    for buf in sorted(lifetimes(program), key=lambda b: (-b.size, b.first, b.tensor)):
        live = sorted((p for p in placed if _overlaps_in_time(p, buf)), key=lambda p: p.offset)
        offset = 0
        for p in live:
            if offset + buf.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        placed.append(Allocation(buf.name, buf.tensor, buf.call, buf.first, buf.last, buf.size, offset))
    placed.sort(key=lambda a: (a.first, a.tensor))
    arena = _align(max((a.offset + a.size for a in placed), default=0))
    io = sum(program.tensor(i).nbytes for i in set(program.inputs) | set(program.outputs))
    plan = MemoryPlan(arena, tuple(placed), program.weight_bytes, io, tuple(sorted(aliases(program).items())))
    check_plan(plan)
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
    for i, a in enumerate(allocs):
        for b in allocs[i + 1 :]:
            if _overlaps_in_time(a, b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise PlanError(
                    f"buffers '{a.name}' [{a.offset}, {a.offset + a.size}) and '{b.name}' [{b.offset}, {b.offset + b.size}) "
                    f"overlap while both are live (calls {max(a.first, b.first)}..{min(a.last, b.last)})"
                )


def check_aliases(program: Program, plan: MemoryPlan) -> None:
    """Raise PlanError unless every tensor that shares a buffer got there legally: written by an in-place call
    from a tensor of that buffer (the same bytes), or by an elementwise-order call reading a tensor of that
    buffer element for element, when no tensor the buffer held before is read after that call."""
    external = set(program.inputs) | set(program.outputs)
    producer = {i: k for k in reversed(range(len(program.calls))) for i in program.calls[k].outputs}
    last = _last_reads(program)
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
