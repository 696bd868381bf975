"""Greedy placement of the planned buffers in one arena, with chains of overlapping buffers (tinyq.planner).

A buffer is an Allocation with a live range; two buffers live at the same time must keep apart, except along
an overlap link (a convolution output allowed to start `limit` bytes into its dying input, tinyq.raster, or an
output lagging `-limit` bytes behind an input it writes over band by band, tinyq.planner.lag_limits).
Linked buffers form a chain placed as one unit at fixed offsets from each other. place() picks which links to
keep (a chain drifts down by each lead, so not every link pays) and returns the smaller arena of the
placements with and without overlaps. It knows nothing of kernels; tinyq.planner checks what it returns.
"""
from __future__ import annotations

from dataclasses import dataclass

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


def _chains(buffers: list[Allocation], limits: dict) -> list[list[tuple[Allocation, int]]]:
    """The buffers as chains of overlapping ones, each member at an offset relative to the chain (lowest 0),
    each output _lead() bytes from its input."""
    by_tensor = {b.tensor: b for b in buffers if b.tensor >= 0}
    step = {s: (d, limit) for (s, d), (_, limit) in limits.items()}
    linked = {d for _, d in limits}
    chains = []
    for head in (b for b in buffers if b.tensor not in linked):
        chain, at = [(head, 0)], 0
        while chain[-1][0].tensor in step:
            d, limit = step[chain[-1][0].tensor]
            at += _lead(limit)
            chain.append((by_tensor[d], at))
        low = min(rel for _, rel in chain)
        chains.append([(b, rel - low) for b, rel in chain])
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
    """The lowest of 0 and the aligned gap ends that is >= 0 and inside no gap (lo < c < hi): the gaps merged
    and swept once (placement runs thousands of times in a patch search; testing each candidate against every
    gap was quadratic)."""
    merged: list[list[int]] = []
    for lo, hi in sorted(gaps):
        if merged and lo < merged[-1][1]:  # open intervals: (1, 3) and (3, 5) leave 3 free
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    k = 0
    for c in sorted({0, *(align(hi) for _, hi in gaps)}):
        if c < 0:
            continue
        while k < len(merged) and merged[k][1] <= c:
            k += 1
        if k == len(merged) or not merged[k][0] < c:
            return c
    raise AssertionError("the highest gap end is clear")  # unreachable: align(max hi) is past every gap


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


def _place(buffers: list[Allocation], limits: dict, near: list[list[int]]) -> list[Allocation]:
    """Greedy placement of the chains (_chains; without limits every buffer is a chain of one), largest first,
    each at the lowest aligned offset where every member keeps clear of the placed buffers live with it
    (near: _neighbours(buffers))."""
    index = {id(b): i for i, b in enumerate(buffers)}
    offset: dict[int, int] = {}  # buffer index -> its placed offset
    placed: list[Allocation] = []
    for chain in sorted(_chains(buffers, limits), key=lambda c: (-max(b.size for b, _ in c), c[0][0].first,
                                                                   c[0][0].tensor)):
        gaps = [(offset[j] - rel - b.size, offset[j] + buffers[j].size - rel)  # chain offset <= lo or >= hi
                for b, rel in chain for j in near[index[id(b)]] if j in offset]
        base = _lowest_clear(gaps)
        for b, rel in chain:
            placed.append(Allocation(b.name, b.tensor, b.call, b.first, b.last, b.size, base + rel))
            offset[index[id(b)]] = base + rel
    return placed


def _search_from_all(buffers: list[Allocation], limits: dict, near: list[list[int]]) -> tuple[list[Allocation], dict]:
    """Every overlap, then drop the one whose loss gives the smallest arena while it does not grow: a chain of
    overlaps drifts down by each output's lead over its input, and a break lets the greedy place the rest of
    the chain afresh."""
    kept, best = dict(limits), _place(buffers, limits, near)
    while kept:
        trials = [{key: v for key, v in kept.items() if key != link} for link in sorted(kept)]
        got, trial = min(((_place(buffers, t, near), t) for t in trials), key=lambda g: arena_of(g[0]))
        if arena_of(got) > arena_of(best):
            break
        kept, best = trial, got
    return best, kept


def _search_from_needed(buffers: list[Allocation], limits: dict,
                        near: list[list[int]]) -> tuple[list[Allocation], dict]:
    """The overlaps at the busiest calls (_needed_links); then each other one added where it lowers the arena
    (the greedy placement leaves gaps the live sums do not show), and each kept one dropped where that does not
    raise it."""
    kept = _needed_links(buffers, limits)
    best = _place(buffers, kept, near)
    for link in sorted(limits):
        trial = {**kept, link: limits[link]} if link not in kept else {k: v for k, v in kept.items() if k != link}
        got = _place(buffers, trial, near)
        if arena_of(got) < arena_of(best) or (link in kept and arena_of(got) == arena_of(best)):
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
    placed = _place(buffers, {}, near)
    if limits:
        best, kept = min((_search_from_all(buffers, limits, near), _search_from_needed(buffers, limits, near)),
                         key=lambda got: arena_of(got[0]))
        if arena_of(best) < arena_of(placed):
            return best, kept
    return placed, {}
