"""Runs firmware on QEMU (qemu-system-arm) and turns abnormal ends into clear errors.

Consumes an emulated Board, a firmware ELF and the program arguments; produces a Completed record
(semihosting console output is on QEMU's stderr). A firmware that does not finish in time is
killed (FirmwareTimeout); one stopped by the fault handler (exit 99, "*** FAULT CFSR=... PC=...")
becomes a FirmwareFault carrying the registers, the function at PC and the decoded fault bits.
"""
from __future__ import annotations

import re
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tinyq.boards import Board
from tinyq.errors import RunError
from tinyq.targets import process

EXIT_FAULT = 99  # TQ_EXIT_FAULT in firmware/platform/rt/tq_rt.h
_FAULT_LINE = re.compile(r"\*\*\* FAULT ((?:[A-Z]+=[0-9a-f]{8} ?)+)")
_CFSR_BITS = {
    0: "IACCVIOL (instruction access violation)",
    1: "DACCVIOL (data access violation)",
    3: "MUNSTKERR",
    4: "MSTKERR",
    5: "MLSPERR",
    8: "IBUSERR (instruction bus error)",
    9: "PRECISERR (data bus error)",
    10: "IMPRECISERR (imprecise data bus error)",
    11: "UNSTKERR",
    12: "STKERR (stack overflow?)",
    13: "LSPERR",
    16: "UNDEFINSTR (undefined instruction)",
    17: "INVSTATE (invalid EPSR state)",
    18: "INVPC",
    19: "NOCP (coprocessor disabled or absent)",
    20: "STKOF (stack limit)",
    24: "UNALIGNED (unaligned access)",
    25: "DIVBYZERO",
}


class FirmwareTimeout(RunError):
    """The firmware did not finish within the time limit and was killed."""


class FirmwareFault(RunError):
    """The firmware took a fault; `registers` holds CFSR, HFSR, MMFAR, BFAR, PC and LR."""

    def __init__(self, message: str, registers: dict[str, int], function: str | None):
        super().__init__(message)
        self.registers = registers
        self.function = function


def qemu_command(board: Board, elf: Path, args=(), extra=()) -> list[str]:
    semihosting = "enable=on,target=native" + "".join(f",arg={a}" for a in args)
    return [
        "qemu-system-arm", "-M", board.qemu_machine, "-nographic", "-monitor", "none",
        "-semihosting-config", semihosting, *extra, "-kernel", str(elf),
    ]


def run_qemu(board: Board, elf: Path, args=(), *, cwd: Path, timeout: float, extra=()) -> process.Completed:
    """Run `elf` on `board`'s QEMU machine; semihosting files resolve against `cwd`."""
    from tinyq.targets.build import require_tool

    require_tool("qemu-system-arm", f"running firmware on {board.name}", "qemu-system-arm")
    done = process.run(qemu_command(board, elf, args, extra), timeout=timeout, cwd=cwd)
    if done.timed_out:
        raise FirmwareTimeout(f"firmware on {board.name} did not finish within {timeout:g} s (hung?); QEMU was killed")
    if done.returncode == EXIT_FAULT:
        raise fault_error(done.output, board, elf)
    return done


def function_at(elf: Path, address: int) -> str | None:
    """Name of the function containing `address` (Thumb bit ignored), from the ELF symbol table."""
    address &= ~1
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        if symtab is None:
            return None
        for sym in symtab.iter_symbols():
            if sym["st_info"]["type"] == "STT_FUNC":
                start = sym["st_value"] & ~1
                if start <= address < start + max(sym["st_size"], 1):
                    return sym.name
    return None


def fault_error(output: str, board: Board, elf: Path) -> FirmwareFault:
    match = _FAULT_LINE.search(output)
    if match is None:
        return FirmwareFault(f"firmware on {board.name} faulted (exit {EXIT_FAULT}) without a register dump", {}, None)
    regs = {k: int(v, 16) for k, v in (item.split("=") for item in match.group(1).split())}
    function = function_at(elf, regs.get("PC", 0))
    cfsr = regs.get("CFSR", 0)
    causes = [name for bit, name in _CFSR_BITS.items() if cfsr >> bit & 1]
    if regs.get("HFSR", 0) >> 1 & 1:
        causes.append("VECTTBL (vector table read)")
    where = f"PC=0x{regs.get('PC', 0):08x}" + (f" in {function}()" if function else "")
    dump = " ".join(f"{k}=0x{v:08x}" for k, v in regs.items())
    cause = "; ".join(causes) or "no CFSR cause bits"
    return FirmwareFault(f"firmware on {board.name} faulted at {where}: {cause} [{dump}]", regs, function)
