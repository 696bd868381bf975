"""Crash- and hang-isolated worker processes.

A Worker is one spawned process in its own session (so a hung stage is killed together with the
compiler or runner it started). It runs one stage at a time (stages.run) and replies over a pipe.
Its stdout and stderr (file descriptors 1 and 2, so C-level output too) go to per-worker log files,
truncated for each task; the reply carries what the stage printed. If the process dies, the reply
says how (signal or exit status); if it does not answer within the timeout, it is killed. Either
way the next task gets a fresh process. Stages that run tinyq or TFLM in-process get an address
space limit, so a model that asks for terabytes fails there instead of taking the machine down.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

MEMORY_LIMIT = 4 << 30
LOG_LIMIT = 1 << 20  # characters of stdout/stderr kept per task (judged whole: a 70 kB name is one line)


def _serve(conn, memory_limit: int) -> None:
    os.setsid()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # two workers on two cores: no BLAS thread pools
    os.environ.pop("TINYQ_DEBUG", None)
    import faulthandler
    import resource
    import sys
    import traceback
    import warnings

    from tinyq.fuzz import stages

    faulthandler.enable()  # a segfault still leaves a Python stack in the stderr log
    try:  # C stdio unbuffered: what TFLM's C++ printed before an abort must reach the log
        import ctypes

        libc = ctypes.CDLL(None)
        libc.setvbuf(ctypes.c_void_p.in_dll(libc, "stdout"), None, 2, 0)  # 2 = _IONBF
    except (OSError, ValueError, AttributeError):
        pass
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        with open(task["_stdout"], "wb") as out, open(task["_stderr"], "wb") as err:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            if task.get("limit_memory"):
                resource.setrlimit(resource.RLIMIT_AS, (memory_limit, resource.RLIM_INFINITY))
            try:
                with warnings.catch_warnings():  # a fresh warning registry: each task warns like a new process
                    reply = {"status": "ok", "result": stages.run(task)}
            except BaseException:
                reply = {"status": "harness_error", "error": traceback.format_exc()}
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(null, 1)
                os.dup2(null, 2)
        conn.send(reply)


def _read(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    return text if len(text) <= LOG_LIMIT else text[:LOG_LIMIT // 2] + " [...] " + text[-LOG_LIMIT // 2:]


class Worker:
    def __init__(self, name: str, log_dir: Path, memory_limit: int = MEMORY_LIMIT):
        self.name = name
        self.memory_limit = memory_limit
        self.stdout = Path(log_dir) / f"{name}.stdout"
        self.stderr = Path(log_dir) / f"{name}.stderr"
        self.proc = None
        self.conn = None
        self.restarts = 0

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.memory_limit), name=f"fuzz-{self.name}", daemon=True)
        self.proc.start()
        child.close()

    def run(self, task: dict, timeout: float) -> dict:
        """{'status': 'ok'|'harness_error'|'crash'|'hang', 'result', 'stdout', 'stderr', 'seconds', ...}."""
        if self.proc is None or not self.proc.is_alive():
            self._start()
        task = dict(task, _stdout=str(self.stdout), _stderr=str(self.stderr), worker=self.name)
        start = time.monotonic()
        self.conn.send(task)
        reply = None
        if self.conn.poll(timeout):
            try:
                reply = self.conn.recv()
            except (EOFError, OSError):
                reply = None
            if reply is None:
                self.proc.join(10)
                code = self.proc.exitcode
                reply = {"status": "crash", "exitcode": code, "signal": _signal_name(code)}
                self._kill()  # what it started (cc, a runner) goes with it
        else:
            self._kill()
            reply = {"status": "hang", "timeout": timeout}
        reply["seconds"] = round(time.monotonic() - start, 3)
        reply["stdout"] = _read(self.stdout)
        reply["stderr"] = _read(self.stderr)
        return reply

    def _kill(self) -> None:
        if self.proc is not None and self.proc.pid:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker's own session: it and its cc/runner
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.join(10)
        self._discard()
        self.restarts += 1

    def _discard(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.proc = None
        self.conn = None

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.conn.close()
            self.proc.join(10)
            if self.proc.is_alive():
                self._kill()
        self.proc = None


def _signal_name(code) -> str | None:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
