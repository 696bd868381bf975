"""Size report of a built image: reads the ELF sections (pyelftools) and splits flash and RAM.

Consumes firmware.elf (or the host runner) and its Board; produces a SizeReport. The linker
scripts give the model its own output sections, so nothing is estimated: .tq_weights = weights,
.tq_arena = activation arena, .stack = the reserved stack; everything else is code (flash) or
other RAM (.data/.bss). On Cortex-M, .data counts twice: its initial image in flash, itself in RAM.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tinyq.boards import Board


@dataclass(frozen=True)
class SizeReport:
    code_bytes: int  # flash: code, read-only data, init tables, initial .data image
    weight_bytes: int  # .tq_weights
    arena_bytes: int  # .tq_arena
    stack_bytes: int  # .stack reservation (0 on the host)
    other_ram_bytes: int  # .data, .bss and other writable sections
    flash_capacity: int = 0  # 0 = unknown (host)
    ram_capacity: int = 0

    @property
    def flash_bytes(self) -> int:
        return self.code_bytes + self.weight_bytes

    @property
    def ram_bytes(self) -> int:
        return self.arena_bytes + self.stack_bytes + self.other_ram_bytes


def size_report(elf: Path, board: Board) -> SizeReport:
    sizes = dict(code=0, weights=0, arena=0, stack=0, other=0)
    with open(elf, "rb") as f:
        for section in ELFFile(f).iter_sections():
            flags, size = section["sh_flags"], section["sh_size"]
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            name = section.name
            if name.startswith(".tq_weights"):
                sizes["weights"] += size
            elif name.startswith(".tq_arena"):
                sizes["arena"] += size
            elif name == ".stack" and not board.is_host:
                sizes["stack"] += size
            elif flags & SH_FLAGS.SHF_WRITE:
                sizes["other"] += size
                if not board.is_host and section["sh_type"] == "SHT_PROGBITS":
                    sizes["code"] += size  # initial values, copied from flash at reset
            else:
                sizes["code"] += size
    flash_cap = 0 if board.is_host else board.flash.size + (board.weights.size if board.weights else 0)
    return SizeReport(
        code_bytes=sizes["code"],
        weight_bytes=sizes["weights"],
        arena_bytes=sizes["arena"],
        stack_bytes=sizes["stack"],
        other_ram_bytes=sizes["other"],
        flash_capacity=flash_cap,
        ram_capacity=0 if board.is_host else board.ram.size,
    )


def _of(used: int, capacity: int) -> str:
    return f" of {capacity:,} ({100.0 * used / capacity:.1f}%)" if capacity else ""


def format_size_report(r: SizeReport) -> str:
    """Two lines: flash (code vs weights) and RAM (arena vs stack vs other)."""
    flash = f"flash {r.flash_bytes:>10,} B = {r.code_bytes:,} code + {r.weight_bytes:,} weights"
    ram = (f"RAM   {r.ram_bytes:>10,} B = {r.arena_bytes:,} arena + {r.stack_bytes:,} stack"
           f" + {r.other_ram_bytes:,} other")
    return f"{flash}{_of(r.flash_bytes, r.flash_capacity)}\n{ram}{_of(r.ram_bytes, r.ram_capacity)}"


@dataclass(frozen=True)
class StackSizing:
    """How the PlatformIO builder sized the stack reserve (firmware/platform/builder: tinyq_stack.txt)."""

    invoke_bytes: int | None  # worst-case stack of the model's invoke, from GCC's call graphs; None: no bound
    margin_bytes: int  # added for main, the harness's stdio and an exception frame
    reserve_bytes: int
    why: str = ""  # when there is no bound: why (the board's fixed stack_bytes is reserved instead)


def stack_sizing(elf: Path) -> StackSizing | None:
    """The sizing recorded beside a firmware ELF, or None (a host build, or an older build)."""
    path = Path(elf).with_name("tinyq_stack.txt")
    if not path.is_file():
        return None
    fields = dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").split() if "=" in line)
    try:
        invoke = None if fields.get("invoke") in (None, "none") else int(fields["invoke"])
        return StackSizing(invoke, int(fields["margin"]), int(fields["reserve"]), fields.get("why", "").replace("_", " "))
    except (KeyError, ValueError):
        return None


def format_stack_sizing(s: StackSizing) -> str:
    if s.invoke_bytes is None:
        return f"stack {s.reserve_bytes:>10,} B reserved: the board's fixed size (no bound from the call graph: {s.why})"
    return (f"stack {s.reserve_bytes:>10,} B reserved = invoke <= {s.invoke_bytes:,} B (GCC call graph) "
            f"+ {s.margin_bytes:,} B margin (main, stdio, an exception frame)")
