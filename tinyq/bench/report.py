"""The records `tinyq bench` produces, their text table and their JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LayerCost:
    call: int
    layer: int
    name: str
    op: str
    lowered_kernel: str  # the lowered record's kernel (the reference C function, which the simulator mirrors)
    instructions: int  # exact
    kernel: str = ""  # the C function model.c really calls (the manifest's "implementation"); "" = lowered_kernel
    macs: int = 0  # conv, depthwise conv, fully connected; 0 for the other ops
    instructions_per_mac: float | None = None
    cycles: float | None = None  # estimated for the board's core (tinyq.bench.cycles)
    classes: dict[str, int] = field(default_factory=dict)  # instruction classes + extra counters (tqclass.h)

    def __post_init__(self):
        self.kernel = self.kernel or self.lowered_kernel
        if self.macs and self.instructions_per_mac is None:
            self.instructions_per_mac = round(self.instructions / self.macs, 3)


@dataclass
class BenchReport:
    model: str
    board: str  # the board asked for
    instructions: int  # exact, per inference
    layers: list[LayerCost]
    flash_bytes: dict[str, int]
    ram_bytes: dict[str, int]
    plan: dict[str, int]
    counted_on: str = ""  # the emulated board that ran (the board itself, or a real board's twin core)
    core: str = ""
    macs: int = 0
    instructions_per_mac: float | None = None
    cycles: float | None = None  # estimated, per inference
    cycle_model: str = ""  # where the core's timing figures come from
    clock_hz: int | None = None  # real boards: the core clock of the board's file
    ms: float | None = None  # real boards: cycles / clock, an estimate (no flash wait states modelled)
    classes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def format_report(r: BenchReport) -> str:
    where = r.board if r.counted_on in ("", r.board) else f"{r.board} (counted on {r.counted_on}, same core and kernels)"
    lines = [f"bench {r.model} on {where}", f"  instructions per inference: {r.instructions:,} (exact)"]
    if r.cycles is not None:
        lines.append(f"  estimated cycles ({r.core}): {r.cycles:,.0f}   [{r.cycle_model}]")
    if r.macs:
        lines.append(f"  MACs: {r.macs:,}   instructions/MAC: {r.instructions / r.macs:.2f}"
                     + (f"   cycles/MAC: {r.cycles / r.macs:.2f}" if r.cycles is not None else ""))
    if r.ms is not None:
        lines.append(f"  estimated time: {r.ms:.3f} ms at {r.clock_hz / 1e6:g} MHz (an ESTIMATE from the cycle model: "
                     "zero-wait-state memory; flash wait states, caches and bus contention not modelled)")
    lines += ["", f"  {'call':>4}  {'op':<18} {'kernel (as run)':<34} {'instructions':>12} {'share':>6} "
              f"{'MACs':>10} {'instr/MAC':>9} {'est. cycles':>12}  output tensor"]
    for lc in r.layers:
        share = 100.0 * lc.instructions / r.instructions if r.instructions else 0.0
        ipm = f"{lc.instructions_per_mac:.2f}" if lc.instructions_per_mac is not None else "-"
        cyc = f"{lc.cycles:,.0f}" if lc.cycles is not None else "-"
        lines.append(f"  {lc.call:>4}  {lc.op:<18} {lc.kernel:<34} {lc.instructions:>12,} {share:>5.1f}% "
                     f"{lc.macs:>10,} {ipm:>9} {cyc:>12}  {lc.name.split(';')[0][:40]}")
    f, m = r.flash_bytes, r.ram_bytes
    lines += ["", f"  flash: {f['total']:,} B = code {f['code']:,} + weights {f['weights']:,}",
              f"  RAM:   {m['total']:,} B = arena {m['arena']:,} + stack {m['stack']:,} + other {m['other']:,}"
              f" (I/O buffers {r.plan['io_bytes']:,} B are in 'other')"]
    if m.get("stack_used") is not None:
        bound = f", at most {m['stack_bound']:,} B by GCC's call graph" if m.get("stack_bound") is not None else ""
        total = f"; the whole harness run {m['stack_total']:,} B" if m.get("stack_total") is not None else ""
        lines.append(f"  stack: one invoke uses {m['stack_used']:,} B (measured by stack painting{bound}) of the "
                     f"{m['stack']:,} B reserved{total}")
    if m.get("peak") is not None:
        state = f" + state {r.plan['state_bytes']:,}" if r.plan.get("state_bytes") else ""
        lines.append(f"  peak data RAM: {m['peak']:,} B = arena {m['arena']:,} + I/O {r.plan['io_bytes']:,}{state}"
                     f" + stack used {m['stack_used']:,}")
    return "\n".join(lines)


def save_json(r: BenchReport, path) -> None:
    Path(path).write_text(json.dumps(r.to_dict(), indent=2) + "\n")
