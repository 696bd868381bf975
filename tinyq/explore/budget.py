"""Budgets: `--flash-budget 64KiB`, `--instructions-budget 2.5M` -> integers, and what a set of budgets means.

Byte sizes take a plain integer or a number with a unit. The units follow IEC/SI strictly, because "64k" is
ambiguous and a budget off by 2.4 % decides what fits:
    B                  1
    kB, k, KB          1000          (SI; "KB" and "k" are read as SI too, as `ls -h --si`/most datasheets do not)
    KiB, Ki            1024
    MB, M / MiB, Mi    1000^2 / 1024^2
    GB, G / GiB, Gi    1000^3 / 1024^3
Instruction counts take a plain integer or k / M / G (1000, 1000^2, 1000^3). Units are case-sensitive only where
it matters (k/K and M: "m" is refused rather than guessed as milli or mega).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tinyq.errors import InputError

BYTE_UNITS = {
    "": 1, "B": 1,
    "k": 1000, "K": 1000, "kB": 1000, "KB": 1000,
    "Ki": 1024, "KiB": 1024,
    "M": 1000**2, "MB": 1000**2, "Mi": 1024**2, "MiB": 1024**2,
    "G": 1000**3, "GB": 1000**3, "Gi": 1024**3, "GiB": 1024**3,
}
COUNT_UNITS = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3}
BYTES_HELP = "bytes: an integer or a number with B, kB/KB/k (1000), KiB (1024), MB (10^6), MiB (2^20), GB, GiB"
COUNT_HELP = "instructions: an integer or a number with k (1000), M (10^6), G (10^9)"
_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*")


def parse_amount(text, option: str, units: dict[str, int] = BYTE_UNITS) -> int:
    """'64KiB' -> 65536 (bytes) / '2.5M' -> 2500000 (counts); a bad value is an InputError naming the option."""
    if isinstance(text, bool):
        raise InputError(f"{option}: expected a number, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
        unit = ""
    else:
        m = _NUMBER.fullmatch(str(text))
        if not m or m.group(2) not in units:
            known = ", ".join(u for u in units if u)
            raise InputError(f"{option} '{text}': expected an integer or a number with a unit ({known})")
        value, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} {text!r}: must be more than 0")
    amount = value * units[unit]
    if amount != math.floor(amount):
        raise InputError(f"{option} '{text}': {amount:g} is not a whole number")
    return int(amount)


@dataclass(frozen=True)
class Budgets:
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    instructions: int | None = None

    @classmethod
    def parse(cls, flash=None, ram=None, instructions=None) -> "Budgets":
        return cls(
            None if flash is None else parse_amount(flash, "--flash-budget"),
            None if ram is None else parse_amount(ram, "--ram-budget"),
            None if instructions is None else parse_amount(instructions, "--instructions-budget", COUNT_UNITS),
        )

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.flash_bytes, self.ram_bytes, self.instructions))

    def misses(self, flash_bytes: int, ram_bytes: int, instructions: int | None) -> list[str]:
        """Which budgets a point exceeds (an unknown instruction count exceeds an instruction budget)."""
        out = []
        if self.flash_bytes is not None and flash_bytes > self.flash_bytes:
            out.append("flash")
        if self.ram_bytes is not None and ram_bytes > self.ram_bytes:
            out.append("RAM")
        if self.instructions is not None and (instructions is None or instructions > self.instructions):
            out.append("instructions")
        return out

    def fits(self, flash_bytes: int, ram_bytes: int, instructions: int | None) -> bool:
        return not self.misses(flash_bytes, ram_bytes, instructions)

    def describe(self) -> str:
        parts = []
        if self.flash_bytes is not None:
            parts.append(f"flash {self.flash_bytes:,} B")
        if self.ram_bytes is not None:
            parts.append(f"RAM {self.ram_bytes:,} B")
        if self.instructions is not None:
            parts.append(f"{self.instructions:,} instructions")
        return ", ".join(parts) or "no budgets"
