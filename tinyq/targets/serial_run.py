"""`tinyq run` on a real board: samples over its serial port (the board's USB virtual COM port).

Consumes a manifest, the real Board and the harness's input rows (tinyq.targets.run.pack_inputs); produces the
harness's output bytes, sample after sample, like the output file of the host and QEMU runs. The protocol is
templates/main.c.j2's: '?' -> "TINYQ_READY <sha256[:16]> <in bytes> <out bytes>"; 'S', level byte, sample ->
TINYQ_OUTPUT lines and a TINYQ_STATUS line; 'R' resets a stateful model's state (sent once before the batch,
which starts fresh as on QEMU, and before every sample with state "reset"). The READY line proves the board runs this project's model (else
`tinyq flash` it first). `port`: a device (/dev/ttyACM0, COM3) or a pyserial URL (socket://host:port); None
finds the board's virtual COM port among the host's serial ports by its USB vendor id.
"""
from __future__ import annotations

import time

from tinyq.boards import Board
from tinyq.errors import RunError
from tinyq.targets.console import output_bytes
from tinyq.targets.manifest import Manifest

READY_TIMEOUT = 10.0  # the board may still be running its reset self-test sample


def find_port(board: Board) -> str:
    """The one serial port whose USB vendor id is the board's probe's; RunError naming what was found."""
    from serial.tools import list_ports

    ports = [p for p in list_ports.comports() if p.vid is not None and p.vid in board.console.usb_vids]
    if not ports:
        raise RunError(f"no serial port of a {board.name} found ({board.console.port}): attach the board and "
                       f"`tinyq flash` the project, or give --port")
    if len(ports) > 1:
        raise RunError(f"several serial ports could be the {board.name}: {', '.join(p.device for p in ports)}; "
                       f"choose one with --port")
    return ports[0].device


def run_serial(manifest: Manifest, board: Board, rows: list[bytes], *, port: str | None, timeout: float,
               level: int = 0, state: str = "keep") -> bytes:
    """Run each sample row on the board; return the output rows, concatenated."""
    import serial

    where = port or find_port(board)
    try:
        link = serial.serial_for_url(where, baudrate=board.console.baud or 115200, timeout=0.1)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise RunError(f"cannot open serial port {where} for {board.name}: {exc}") from None
    with link:
        reader = _Lines(link, where, board)
        link.reset_input_buffer()
        link.write(b"?")
        ready = reader.until("TINYQ_READY", READY_TIMEOUT, "a TINYQ_READY line (is the project flashed?)")
        _check_ready(ready, manifest, where)
        out = bytearray()
        for k, row in enumerate(rows):
            # a batch starts as a fresh TFLM interpreter ('F': restart, so a CALL_ONCE init runs again), and with
            # --state reset every later sample after a reset ('R', which TFLM's leaves the init values out of)
            reset = b"F" if k == 0 else (b"R" if state == "reset" else b"")
            link.write(reset + b"S" + bytes([level]) + row)
            # transfer time both ways at 10 bits a byte (8N1, hex output), then the run itself
            bits = 10 * (len(row) + 2 * manifest.sample_out_bytes + 64)
            text = reader.until("TINYQ_STATUS", timeout + bits / (board.console.baud or 115200), "a TINYQ_STATUS line")
            out += b"".join(output_bytes(text, manifest))
        return bytes(out)


def _check_ready(line: str, manifest: Manifest, where: str) -> None:
    parts = line.split()
    want = [(manifest.model_sha256 or "unknown")[:16], str(manifest.sample_in_bytes), str(manifest.sample_out_bytes)]
    if parts[1:] != want:
        raise RunError(f"the board on {where} runs another model ({' '.join(parts[1:])}; this project is "
                       f"{' '.join(want)}): `tinyq flash` the project first")


class _Lines:
    """Console lines from the board, collected until one starts with a given word."""

    def __init__(self, link, where: str, board: Board):
        self.link, self.where, self.board = link, where, board
        self.pending = b""

    def until(self, word: str, timeout: float, what: str) -> str:
        """Every line up to and including the first that starts with `word`, as text; the rest is kept."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                text = line.decode("ascii", "replace").strip()
                lines.append(text)
                if text.startswith(word):
                    return "\n".join(lines) + "\n" if word == "TINYQ_STATUS" else text
            if time.monotonic() > deadline:
                raise RunError(f"the {self.board.name} on {self.where} sent no {what} within {timeout:.0f} s")
            self.pending += self.link.read(4096)
