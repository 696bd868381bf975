"""Greedy placement of the planned buffers in one arena, with chains of overlapping buffers (tinyq.planner).

A buffer is an Allocation with a live range; two buffers live at the same time must keep apart, except along
an overlap link (a convolution output allowed to start `limit` bytes into its dying input, tinyq.raster, or an
output lagging `-limit` bytes behind an input it writes over band by band, tinyq.planner.lag_limits).
Linked buffers form a chain placed as one unit at fixed offsets from each other. place() picks which links to
keep (a chain drifts down by each lead, so not every link pays) and returns the smaller arena of the
placements with and without overlaps. It knows nothing of kernels; tinyq.planner checks what it returns.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

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


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def overlaps_in_time(a: Allocation, b: Allocation) -> bool:
    return a.first <= b.last and b.first <= a.last


def overlaps_in_space(a: Allocation, b: Allocation) -> bool:
    return a.offset < b.offset + b.size and b.offset < a.offset + a.size


def _lead(limit: int) -> int:
    """How far an output starts from its input along an overlap: as far in as the limit lets it (an output that
    may start past its input gains nothing there), rounded down to ALIGN."""
    return min(limit, 0) // ALIGN * ALIGN


def _chains(buffers: list[Allocation], limits: dict) -> list[list[tuple[int, int]]]:
    """The buffers as chains of overlapping ones, each member (a buffer index) at an offset relative to the chain
    (lowest 0), each output _lead() bytes from its input."""
    by_tensor = {b.tensor: i for i, b in enumerate(buffers) if b.tensor >= 0}
    step = {s: (d, limit) for (s, d), (_, limit) in limits.items()}
    linked = {d for _, d in limits}
    chains = []
    for head, b in enumerate(buffers):
        if b.tensor in linked:
            continue
        chain, at, tensor = [(head, 0)], 0, b.tensor
        while tensor in step:
            tensor, limit = step[tensor]
            at += _lead(limit)
            chain.append((by_tensor[tensor], at))
        low = min(rel for _, rel in chain)
        chains.append([(i, rel - low) for i, rel in chain])
    return chains


def _needed_links(buffers: list[Allocation], limits: dict) -> dict:
    """The overlaps at the calls where the live buffers, without that overlap, exceed what the busiest call
    needs with every overlap: elsewhere an overlap cannot lower the peak, and breaking the chain there stops
    its drift."""
    by_tensor = {b.tensor: b for b in buffers if b.tensor >= 0}
    live = {}
    for b in buffers:
        for k in range(max(b.first, 0), b.last + 1):
            live[k] = live.get(k, 0) + b.size
    saving = {}
    for (s, d), (k, limit) in limits.items():  # at each call both live (one, for a convolution's overlap)
        a, b = by_tensor[s], by_tensor[d]
        for at in range(max(a.first, b.first, 0), min(a.last, b.last) + 1):
            saving[at] = saving.get(at, 0) + a.size + b.size - max(a.size - _lead(limit), b.size)
    floor = max(live[k] - saving.get(k, 0) for k in live)
    return {(s, d): v for (s, d), v in limits.items()
            if any(live[k] > floor for k in range(max(by_tensor[s].first, by_tensor[d].first, 0),
                                                    min(by_tensor[s].last, by_tensor[d].last) + 1))}


def _lowest_clear(gaps: list[tuple[int, int]]) -> int:
    """The lowest of 0 and the aligned gap ends that is >= 0 and inside no gap (lo < c < hi), in one sweep of the
    gaps by their low end (placement runs thousands of times in a patch search). A candidate inside a gap can
    only move to that gap's aligned end: every aligned value between is inside it too."""
    c = 0
    for lo, hi in sorted(gaps):
        if lo >= c:  # this gap and every later one start at or above c
            return c
        if c < hi:
            c = align(hi)
    return c


def _neighbours(buffers: list[Allocation]) -> list[list[int]]:
    """For each buffer, the indices of the others live with it: computed once for a search's thousands of
    placements, so placing a chain looks at the buffers it may collide with, not at every placed one."""
    order = sorted(range(len(buffers)), key=lambda i: buffers[i].first)
    near: list[list[int]] = [[] for _ in buffers]
    for n, i in enumerate(order):
        for j in order[n + 1:]:
            if buffers[j].first > buffers[i].last:
                break
            if overlaps_in_time(buffers[i], buffers[j]):
                near[i].append(j)
                near[j].append(i)
    return near


def _offsets(buffers: list[Allocation], limits: dict, near: list[list[int]]) -> tuple[int, list[int], list[int]]:
    """(arena, each buffer's offset, the buffers in the order placed) of the greedy placement of the chains (_chains; without limits every buffer
    is a chain of one), largest first, each at the lowest aligned offset where every member keeps clear of the
    placed buffers live with it (near: _neighbours(buffers)). The searches call it thousands of times: indices
    and ints, no Allocation built."""
    offset: list[int | None] = [None] * len(buffers)
    size = [b.size for b in buffers]
    top, order = 0, []
    for chain in sorted(_chains(buffers, limits), key=lambda c: (-max(size[i] for i, _ in c), buffers[c[0][0]].first,
                                                                   buffers[c[0][0]].tensor)):
        gaps = [(at - rel - size[i], at + size[j] - rel)  # chain offset <= lo or >= hi
                for i, rel in chain for j in near[i] if (at := offset[j]) is not None]
        base = _lowest_clear(gaps)
        for i, rel in chain:
            offset[i] = base + rel
            top = max(top, base + rel + size[i])
            order.append(i)
    return align(top), offset, order


def _allocations(buffers: list[Allocation], placed: tuple[int, list[int], list[int]]) -> list[Allocation]:
    """The buffers at the offsets of an _offsets() result, in the order they were placed in."""
    _, offset, order = placed
    return [replace(buffers[i], offset=offset[i]) for i in order]


def _search_from_all(buffers: list[Allocation], limits: dict, near: list[list[int]]) -> tuple[int, dict]:
    """Every overlap, then drop the one whose loss gives the smallest arena while it does not grow: a chain of
    overlaps drifts down by each output's lead over its input, and a break lets the greedy place the rest of
    the chain afresh. (arena, links kept)"""
    kept, best = dict(limits), _offsets(buffers, limits, near)[0]
    while kept:
        trials = [{key: v for key, v in kept.items() if key != link} for link in sorted(kept)]
        got, trial = min(((_offsets(buffers, t, near)[0], t) for t in trials), key=lambda g: g[0])
        if got > best:
            break
        kept, best = trial, got
    return best, kept


def _search_from_needed(buffers: list[Allocation], limits: dict, near: list[list[int]]) -> tuple[int, dict]:
    """The overlaps at the busiest calls (_needed_links); then each other one added where it lowers the arena
    (the greedy placement leaves gaps the live sums do not show), and each kept one dropped where that does not
    raise it. (arena, links kept)"""
    kept = _needed_links(buffers, limits)
    best = _offsets(buffers, kept, near)[0]
    for link in sorted(limits):
        trial = {**kept, link: limits[link]} if link not in kept else {k: v for k, v in kept.items() if k != link}
        got = _offsets(buffers, trial, near)[0]
        if got < best or (link in kept and got == best):
            kept, best = trial, got
    return best, kept


def arena_of(placed: list[Allocation]) -> int:
    return align(max((a.offset + a.size for a in placed), default=0))


def _one_link_each(limits: dict) -> dict:
    """At most one link from each buffer and one to each (a chain is a line): the first of each, in order."""
    out, froms, tos = {}, set(), set()
    for (s, d), v in sorted(limits.items()):
        if s not in froms and d not in tos:
            out[(s, d)] = v
            froms.add(s)
            tos.add(d)
    return out


def place(buffers: list[Allocation], limits: dict) -> tuple[list[Allocation], dict]:
    """(placed buffers, the links kept): without overlaps unless they give a smaller arena."""
    limits = _one_link_each(limits)
    near = _neighbours(buffers)
    plain = _offsets(buffers, {}, near)
    if limits:
        arena, kept = min((_search_from_all(buffers, limits, near), _search_from_needed(buffers, limits, near)),
                          key=lambda got: got[0])
        if arena < plain[0]:
            return _allocations(buffers, _offsets(buffers, kept, near)), kept
    return _allocations(buffers, plain), {}
