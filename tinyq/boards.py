"""Board descriptions: reads boards/<name>.toml into frozen Board records.

Consumed by project generation (tinyq.targets.project), build, run, flash and the `tinyq boards`
table. A board is one of three kinds: "host" (the system C compiler), "emulated" (a QEMU machine;
console and file I/O through semihosting) or "real" (built here, flashed with a probe; console on
a UART described as register writes, so no vendor SDK is needed).
"""
from __future__ import annotations

import difflib
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    import tomli as tomllib
from dataclasses import dataclass
from functools import cache

from tinyq.errors import TinyqError
from tinyq.resources import data_dir

KINDS = ("host", "emulated", "real")
UPLOAD_TOOLS = {"openocd": "openocd", "stlink": "st-flash", "nrfjprog": "nrfjprog"}

# The stack the PlatformIO builder reserves beyond the worst-case stack of invoke (GCC's call graphs): main, the
# harness's stdio and an exception frame. The fit checks before a build count it as the stack's lower bound.
STACK_MARGIN_BYTES = 2048


class BoardError(TinyqError):
    """An unknown board name or a malformed boards/<name>.toml."""


@dataclass(frozen=True)
class Region:
    """A memory region: [origin, origin + size)."""

    origin: int
    size: int

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.origin + self.size


@dataclass(frozen=True)
class RegWait:
    """Busy-wait until (*address & mask) == value."""

    address: int
    mask: int
    value: int


@dataclass(frozen=True)
class Console:
    """Where the firmware prints: "stdio" (host), "semihosting" (QEMU) or "uart" (real boards).

    For "uart": `init` is a list of (address, clear_mask, set_mask) read-modify-writes done once
    (clocks, pin mux, baud rate, enable); each byte is written to `tx_data` after `tx_ready`
    holds, and `tx_done` (if given) is awaited afterwards and its register cleared (nRF events).
    A byte is received by awaiting `rx_ready`, clearing its register if `rx_event` (nRF events), then
    reading `rx_data`: `tinyq run` sends samples that way (tinyq/targets/serial_run.py).
    `usb_vids`: USB vendor ids of the board's virtual COM port, to find it among the host's serial ports.
    """

    kind: str
    port: str = ""
    baud: int = 0
    init: tuple[tuple[int, int, int], ...] = ()
    tx_data: int = 0
    tx_ready: RegWait | None = None
    tx_done: RegWait | None = None
    rx_data: int = 0
    rx_ready: RegWait | None = None
    rx_event: bool = False
    usb_vids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Upload:
    """How a real board is flashed: protocol "openocd", "stlink" (st-flash) or "nrfjprog"."""

    protocol: str
    openocd_target: str = ""

    @property
    def tool(self) -> str:
        return UPLOAD_TOOLS[self.protocol]


@dataclass(frozen=True)
class Official:
    """A real board on PlatformIO's own platform (env "official" of the generated project)."""

    platform: str  # e.g. "ststm32"
    board: str  # that platform's board id
    upload_protocol: str


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    kind: str
    console: Console
    cpu: str = ""
    fpu: str = ""
    float_abi: str = "soft"
    has_dsp: bool = False
    has_mve: bool = False
    flash: Region | None = None
    ram: Region | None = None
    weights: Region | None = None  # separate region for .tq_weights; None = in flash
    stack_bytes: int = 0  # the stack reserve when GCC's call graphs give no bound (else the builder sizes it)
    qemu_machine: str = ""
    upload: Upload | None = None
    official: Official | None = None
    cc: str = ""
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()

    @property
    def is_host(self) -> bool:
        return self.kind == "host"

    @property
    def emulated(self) -> bool:
        return self.kind == "emulated"

    @property
    def weight_region(self) -> Region | None:
        """The region .tq_weights is linked into."""
        return self.weights or self.flash

    @property
    def arch_flags(self) -> tuple[str, ...]:
        """arm-none-eabi-gcc code generation flags (empty for the host). Code per core is picked at compile time
        (tinyq.specialize.Preparer.cpus), not by a define."""
        if self.is_host:
            return ()
        flags = [f"-mcpu={self.cpu}", "-mthumb"]
        if self.fpu:
            flags.append(f"-mfpu={self.fpu}")
        flags.append(f"-mfloat-abi={self.float_abi}")
        return tuple(flags)


def _region(raw: dict, key: str, where: str) -> Region | None:
    if key not in raw:
        return None
    table = raw[key]
    if set(table) != {"origin", "size"}:
        raise BoardError(f"{where}: [{key}] needs exactly 'origin' and 'size'")
    return Region(int(table["origin"]), int(table["size"]))


def _wait(value, where: str) -> RegWait | None:
    if value is None:
        return None
    if len(value) != 3:
        raise BoardError(f"{where}: a register wait is [address, mask, value]")
    return RegWait(*(int(v) for v in value))


def _console(raw: dict, where: str) -> Console:
    table = dict(raw.get("console", {}))
    kind = table.pop("kind", None)
    if kind not in ("stdio", "semihosting", "uart"):
        raise BoardError(f"{where}: [console] kind must be stdio, semihosting or uart")
    if kind != "uart":
        return Console(kind=kind)
    init = tuple(tuple(int(v) for v in step) for step in table.get("init", ()))
    if any(len(step) != 3 for step in init):
        raise BoardError(f"{where}: [console] init steps are [address, clear_mask, set_mask]")
    if "tx_data" not in table or ("tx_ready" not in table and "tx_done" not in table):
        raise BoardError(f"{where}: a uart console needs tx_data and tx_ready or tx_done")
    if "rx_data" not in table or "rx_ready" not in table:
        raise BoardError(f"{where}: a uart console needs rx_data and rx_ready (tinyq run sends samples over it)")
    return Console(
        kind=kind,
        port=str(table.get("port", "")),
        baud=int(table.get("baud", 0)),
        init=init,
        tx_data=int(table["tx_data"]),
        tx_ready=_wait(table.get("tx_ready"), where),
        tx_done=_wait(table.get("tx_done"), where),
        rx_data=int(table["rx_data"]),
        rx_ready=_wait(table.get("rx_ready"), where),
        rx_event=bool(table.get("rx_event", False)),
        usb_vids=tuple(int(v) for v in table.get("usb_vids", ())),
    )


def _official(raw: dict, where: str) -> Official | None:
    table = raw.get("official")
    if table is None:
        return None
    values = [table.get(key) for key in ("platform", "board", "upload_protocol")]
    if not all(isinstance(v, str) and v.replace("_", "").replace("-", "").isalnum() for v in values):
        raise BoardError(f"{where}: [official] needs platform, board and upload_protocol (identifiers)")
    return Official(*values)


def _parse(name: str, raw: dict, where: str) -> Board:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise BoardError(f"{where}: kind must be one of {', '.join(KINDS)}")
    upload = None
    if "upload" in raw:
        protocol = raw["upload"].get("protocol")
        if protocol not in UPLOAD_TOOLS:
            raise BoardError(f"{where}: [upload] protocol must be one of {', '.join(UPLOAD_TOOLS)}")
        upload = Upload(protocol, str(raw["upload"].get("openocd_target", "")))
    host = raw.get("host", {})
    board = Board(
        name=name,
        title=str(raw.get("title", name)),
        kind=kind,
        console=_console(raw, where),
        cpu=str(raw.get("cpu", "")),
        fpu=str(raw.get("fpu", "")),
        float_abi=str(raw.get("float_abi", "soft")),
        has_dsp=bool(raw.get("has_dsp", False)),
        has_mve=bool(raw.get("has_mve", False)),
        flash=_region(raw, "flash", where),
        ram=_region(raw, "ram", where),
        weights=_region(raw, "weights", where),
        stack_bytes=int(raw.get("stack_bytes", 0)),
        qemu_machine=str(raw.get("qemu", {}).get("machine", "")),
        upload=upload,
        official=_official(raw, where),
        cc=str(host.get("cc", "")),
        cflags=tuple(host.get("cflags", ())),
        ldflags=tuple(host.get("ldflags", ())),
    )
    if kind == "host":
        if not board.cc:
            raise BoardError(f"{where}: a host board needs [host] cc")
    else:
        if not board.cpu or board.flash is None or board.ram is None or board.stack_bytes <= 0:
            raise BoardError(f"{where}: needs cpu, [flash], [ram] and stack_bytes")
        if kind == "emulated" and (not board.qemu_machine or board.console.kind != "semihosting"):
            raise BoardError(f"{where}: an emulated board needs [qemu] machine and a semihosting console")
        if kind == "real" and (board.upload is None or board.console.kind != "uart"):
            raise BoardError(f"{where}: a real board needs [upload] and a uart console")
    return board


@cache
def load_board(name: str) -> Board:
    """Return the board called `name` (the file name of boards/<name>.toml)."""
    path = data_dir("boards") / f"{name}.toml"
    if not name or "/" in name or not path.is_file():
        close = difflib.get_close_matches(name.replace("-", "_").lower(), board_names(), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise BoardError(f"unknown board '{name}' ({hint}known: {', '.join(board_names())})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: {exc}") from None
    return _parse(name, raw, str(path))


def board_names() -> tuple[str, ...]:
    """All board names, sorted: host first, then emulated, then real."""
    names = sorted(p.stem for p in data_dir("boards").glob("*.toml"))
    return tuple(sorted(names, key=lambda n: (KINDS.index(load_board(n).kind), n)))


def list_boards() -> tuple[Board, ...]:
    return tuple(load_board(n) for n in board_names())


def resolve_board(board: Board | str) -> Board:
    """Accept a Board or a board name."""
    return board if isinstance(board, Board) else load_board(board)
