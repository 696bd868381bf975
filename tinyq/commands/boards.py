"""`tinyq boards`: the table of boards tinyq can target."""
from __future__ import annotations


def add_parser(sub):
    return sub.add_parser("boards", help="list the boards tinyq can build for")


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n % (1024 * 1024) == 0 else f"{n // 1024} KB"


def table() -> str:
    from tinyq.boards import list_boards

    rows = [("board", "cpu", "flash", "RAM", "kind", "run / upload")]
    for b in list_boards():
        if b.is_host:
            rows.append((b.name, b.cc, "-", "-", "host", "runner"))
            continue
        extras = "+MVE" if b.has_mve else ("+DSP" if b.has_dsp else "")
        fpu = "+FPU" if b.float_abi == "hard" else ""
        flash = _size(b.flash.size) + (f" +{_size(b.weights.size)}" if b.weights else "")
        how = f"qemu -M {b.qemu_machine}" if b.emulated else b.upload.protocol
        rows.append((b.name, f"{b.cpu.replace('cortex-', 'Cortex-').replace('-m', '-M')}{fpu}{extras}", flash,
                     _size(b.ram.size), b.kind, how))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def run(args) -> int:
    print(table())
    return 0
