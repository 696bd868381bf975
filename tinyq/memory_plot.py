"""`tinyq inspect --memory-plot FILE.png`: the memory plan as a timeline (matplotlib, Agg).

Each arena buffer is a rectangle: calls it is live over (x) against the arena bytes it holds (y). Tensors,
scratch buffers and --io arena inputs/outputs have their own colours; a convolution output written over its
input (tinyq.raster) is hatched. The busiest call is marked with the bytes live at it; the title gives the
arena, the caller-owned I/O and their sum.
"""
from __future__ import annotations

from pathlib import Path

from tinyq.errors import InputError
from tinyq.planner import MemoryPlan
from tinyq.program import Program


def live_bytes(plan: MemoryPlan, calls: int) -> list[int]:
    """Arena bytes held by live buffers at each call (shared bytes of an overlap counted once)."""
    out = []
    for k in range(calls):
        spans = sorted((a.offset, a.offset + a.size) for a in plan.allocations if a.first <= k <= a.last)
        held, top = 0, 0
        for lo, hi in spans:
            held += max(0, hi - max(lo, top))
            top = max(top, hi)
        out.append(held)
    return out


def plot_memory(program: Program, plan: MemoryPlan, path, title: str) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch, Rectangle
    except ImportError as exc:
        raise InputError(f"--memory-plot needs matplotlib ({exc}); install tinyq with the [tf] extra") from None
    calls = len(program.calls)
    io = set(program.inputs) | set(program.outputs)
    overlapped = {t for _, s, d in plan.overlaps for t in (s, d)}
    colours = {"tensor": "#4c72b0", "scratch": "#dd8452", "I/O": "#55a868"}
    fig, ax = plt.subplots(figsize=(max(6.0, min(16.0, 0.25 * calls + 4)), 4.8))
    for a in plan.allocations:
        kind = "scratch" if a.tensor < 0 else ("I/O" if a.tensor in io else "tensor")
        x0 = a.first if a.first >= 0 else -0.5  # an --io arena input is live from before call 0
        ax.add_patch(Rectangle((x0, a.offset), a.last + 1 - x0, a.size, facecolor=colours[kind], alpha=0.55,
                               edgecolor="k", lw=0.4, hatch="//" if a.tensor in overlapped else None))
    live = live_bytes(plan, calls)
    if live:
        k = max(range(calls), key=live.__getitem__)
        ax.axvline(k + 0.5, color="red", ls="--", lw=1)
        ax.annotate(f"busiest: call {k} ({program.calls[k].opcode}), {live[k]:,} B live", (k + 0.5, plan.arena_bytes),
                    xytext=(4, -12), textcoords="offset points", color="red", fontsize=8)
    ax.axhline(plan.arena_bytes, color="k", lw=0.8)
    ax.set_xlim(-0.5, max(calls, 1))
    ax.set_ylim(0, max(plan.arena_bytes, 1) * 1.08)
    ax.set_xlabel("kernel call")
    ax.set_ylabel("arena offset (bytes)")
    io_text = "I/O in the arena" if plan.io_in_arena else f"caller-owned I/O {plan.io_bytes:,} B"
    ax.set_title(f"{title}\narena {plan.arena_bytes:,} B + {io_text} = {plan.arena_bytes + plan.io_bytes:,} B",
                 fontsize=9)
    handles = [Patch(facecolor=c, alpha=0.55, label=n) for n, c in colours.items()]
    handles.append(Patch(facecolor="white", edgecolor="k", hatch="//", label="output over its input"))
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
