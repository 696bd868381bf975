"""Bounded subprocesses: every external tool tinyq runs (cc, pio, qemu, probes) goes through run().

Consumes a command line and a time limit; produces a Completed record. The child gets its own
process group, so a timeout kills it together with its children (pio -> scons -> gcc).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int | None  # None when the time limit killed the process
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def output(self) -> str:
        """stdout then stderr, for logs and error reports."""
        return self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr


def run(args, *, timeout: float, cwd: Path | str | None = None, env: dict | None = None) -> Completed:
    """Run `args` with no stdin; kill its whole process group after `timeout` seconds."""
    args = tuple(str(a) for a in args)
    start = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        code = None
    return Completed(
        args,
        code,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        time.monotonic() - start,
    )
