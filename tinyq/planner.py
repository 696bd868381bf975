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


def aliases(program: Program) -> dict[int, int]:
    """tensor -> the tensor whose buffer it shares (the root of its chain of in-place calls)."""
    external = set(program.inputs) | set(program.outputs)
    root: dict[int, int] = {}
    for call in program.calls:
        if call.in_place and len(call.inputs) == 1 and len(call.outputs) == 1:
            src, dst = call.inputs[0], call.outputs[0]
            if src not in external and dst not in external:
                root[dst] = root.get(src, src)
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
    return plan


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
