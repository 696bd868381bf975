"""Command-line front end: `tinyq <command> ...`. Parsing and error reporting only; no logic.

Each command lives in tinyq/commands/<name>.py and provides
    add_parser(subparsers) -> argparse.ArgumentParser   and   run(args) -> int (exit status).
Command modules import their heavy dependencies inside run(), so `tinyq --help` stays fast.
"""
import argparse
import importlib
import os
import sys

from tinyq import __version__
from tinyq.errors import TinyqError


class UsageError(TinyqError):
    """A bad command line: unknown option, missing or malformed argument."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one `tinyq: error:` line (the usage text is for --help)."""

    def error(self, message):
        command = self.prog.removeprefix("tinyq").strip()
        hint = f"tinyq {command} --help" if command else "tinyq --help"
        raise UsageError(f"{command + ': ' if command else ''}{message} (see `{hint}`)")

COMMANDS = (
    "inspect",
    "simulate",
    "compile",
    "build",
    "run",
    "verify",
    "bench",
    "boards",
    "flash",
    "export",
    "quantize",
    "evaluate",
    "explore",
)


def _load_commands():
    modules = {}
    for name in COMMANDS:
        try:
            modules[name] = importlib.import_module(f"tinyq.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tinyq.commands.{name}":
                raise
    return modules


def build_parser(modules) -> argparse.ArgumentParser:
    parser = Parser(
        prog="tinyq",
        description="Quantized neural networks to bit-exact C for Cortex-M microcontrollers.",
    )
    parser.add_argument("--version", action="version", version=f"tinyq {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in modules.items():
        module.add_parser(sub).set_defaults(_run=module.run)
    return parser


# Optional packages -> (the extra that installs them, what else to say): a command that needs one names it
_TF = ("tf", "")
_QAT = ("qat", "")
EXTRA_MODULES = {
    "tensorflow": _TF, "keras": _TF, "ai_edge_litert": _TF, "ai_edge_quantizer": _TF, "sklearn": ("examples", ""),
    "matplotlib": _TF, "tqdm": _TF, "scipy": _TF, "PIL": _TF,
    "tensorflow_model_optimization": _QAT, "tf_keras": _QAT,
}


def _error(message: str) -> None:
    """One line on stderr, whatever the message quotes (model tensor names may hold newlines or escapes)."""
    line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)
    print(f"tinyq: error: {line}", file=sys.stderr)


def main(argv=None) -> int:
    modules = _load_commands()
    try:
        args = build_parser(modules).parse_args(argv)
    except UsageError as exc:
        _error(str(exc))
        return 2
    debug = args.debug or bool(os.environ.get("TINYQ_DEBUG"))
    try:
        return int(args._run(args) or 0)
    except TinyqError as exc:
        if debug:
            raise
        _error(str(exc))
        return 2
    except OSError as exc:  # the file system said no (missing directory, permissions, disk full): the user can fix it
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2
    except MemoryError as exc:  # e.g. -n 1000000000: the user asked for more than the machine has
        if debug:
            raise
        _error(f"out of memory{f': {exc}' if str(exc) else ''} (fewer samples?)")
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRA_MODULES.get((exc.name or "").split(".")[0])
        if debug:
            raise
        if extra is None:
            return _internal_error(exc)
        _error(f"`tinyq {args.command}` needs Python package '{exc.name}', from tinyq's '{extra[0]}' extra: "
               f"pip install 'tinyq[{extra[0]}]'{extra[1]}")
        return 2
    except KeyboardInterrupt:
        print("tinyq: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in tinyq: still one line, and how to see more
        if debug:
            raise
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    print(f"tinyq: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
