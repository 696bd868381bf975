"""Work done once per test session: the mutants' test runs (tests/firmware/test_mutants.py) repeat the suite's
own TF conversions and host-C runs in child processes. Each of those otherwise pays TensorFlow's import (about
10 s), every conversion and every ASan build again, for results the mutated kernel does not change.

Host C (`host_c_outputs`) is keyed by everything its runner is built and run from: the generated sources, the
whole kernel library, the compiler flags and the input bytes. A mutant of any of them is a different key.

`@once_per_session` keys a converter's result by the converter and its arguments. A build function is keyed
by what decides the model it builds: its bytecode and constants, defaults, closure values and the module
globals it names (each keyed the same way, recursively). An argument or value the key cannot describe fully
(a Keras layer object, say) makes the call uncached: a cache never returns a model built from other code.
The cache lives in $TINYQ_TEST_SESSION_CACHE, a directory that tests/conftest.py makes for one session (and
removes after it); without it nothing is cached."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import types
from pathlib import Path

import numpy as np

ENV = "TINYQ_TEST_SESSION_CACHE"


class _Unkeyable(Exception):
    pass


def _code(h, code: types.CodeType, names: set[str]) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    names.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code(h, c, names)
        else:
            _feed(h, c, set())


def _function(h, fn: types.FunctionType, seen: set[int]) -> None:
    h.update(f"fn {fn.__module__}.{fn.__qualname__}".encode())
    if id(fn) in seen:  # recursion: the name is enough, the body is being keyed
        return
    seen = seen | {id(fn)}
    names: set[str] = set()
    _code(h, fn.__code__, names)
    _feed(h, fn.__defaults__, seen)
    _feed(h, fn.__kwdefaults__, seen)
    _feed(h, [cell.cell_contents for cell in fn.__closure__ or ()], seen)
    for name in sorted(names & fn.__globals__.keys()):
        h.update(name.encode())
        _feed(h, fn.__globals__[name], seen)


def _feed(h, obj, seen: set[int]) -> None:
    if isinstance(obj, types.ModuleType):  # first, and by its own __dict__: a lazy module (conftest) stays unloaded
        h.update(f"module {object.__getattribute__(obj, '__name__')}".encode())
    elif obj is None or obj is Ellipsis or isinstance(obj, (bool, int, float, complex, str, bytes, slice)):
        h.update(repr((type(obj).__name__, obj)).encode())
    elif isinstance(obj, (tuple, list, frozenset, set)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        h.update(f"{type(obj).__name__} {len(items)}".encode())
        for x in items:
            _feed(h, x, seen)
    elif isinstance(obj, (dict, types.MappingProxyType)):
        h.update(f"dict {len(obj)}".encode())
        for k in sorted(obj, key=repr):
            _feed(h, k, seen)
            _feed(h, obj[k], seen)
    elif isinstance(obj, np.ndarray):
        h.update(f"array {obj.dtype} {obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, np.generic):
        _feed(h, obj.item(), seen)
    elif isinstance(obj, types.FunctionType):
        _function(h, obj, seen)
    elif isinstance(obj, (type, types.BuiltinFunctionType)):  # classes and builtins: by name
        h.update(f"named {getattr(obj, '__module__', '')}.{obj.__qualname__}".encode())
    elif dataclasses.is_dataclass(obj):
        h.update(f"dataclass {type(obj).__module__}.{type(obj).__qualname__}".encode())
        for f in dataclasses.fields(obj):
            h.update(f.name.encode())
            _feed(h, getattr(obj, f.name), seen)
    else:
        raise _Unkeyable(type(obj).__qualname__)


def _key(converter, args, kwargs) -> str | None:
    h = hashlib.sha256()
    try:
        _feed(h, [converter, list(args), kwargs], set())
    except _Unkeyable as e:
        if os.environ.get("TQ_DEBUG_KEYS"):
            print(f"UNKEYABLE {converter.__qualname__} {e}", file=open(os.environ["TQ_DEBUG_KEYS"], "a"))
        return None
    return h.hexdigest()[:32]


def once_per_session(converter):
    """Cache `converter`'s bytes in the session's directory (see the module's docstring)."""

    @functools.wraps(converter)
    def cached(*args, **kwargs) -> bytes:
        where = os.environ.get(ENV)
        key = _key(converter, args, kwargs) if where else None
        if key is None:
            return converter(*args, **kwargs)
        path = Path(where) / f"{key}.tflite"
        if path.is_file():
            return path.read_bytes()
        _load_tensorflow()
        model = converter(*args, **kwargs)
        _store(path, model)
        return model

    return cached


def _load_tensorflow() -> None:
    """Load TensorFlow, then Keras, in full before converting: imported lazily (tests/conftest.py), Keras would
    otherwise be loaded from inside TensorFlow's own import of it."""
    import tensorflow
    import keras

    tensorflow.__version__, keras.__version__  # noqa: B018  an attribute loads a lazy module


def _store(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: workers and mutant runs may make the same entry at once


def _library_hash() -> str:
    from tinyq.resources import data_dir

    fw = data_dir("firmware")
    h = hashlib.sha256(str(fw).encode())
    for f in sorted(p for p in fw.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(fw)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


@functools.cache
def _library_key(content: str) -> str:
    """The kernel library as the host compiler sees it: every source preprocessed with the host runner's flags,
    the library's path taken out (__FILE__). A mutant of a DSP or Helium kernel, compiled out on the host,
    keeps the key, so its child run reuses the suite's host-C results."""
    import subprocess

    from tinyq.boards import load_board
    from tinyq.resources import data_dir
    from tinyq.testing import SANITIZE

    fw = data_dir("firmware")
    flags = [*load_board("host").cflags, *SANITIZE]
    text = subprocess.run(["cc", "-E", "-P", *flags, "-I", str(fw / "include"), *sorted(map(str, (fw / "src").glob("*.c")))],
                          capture_output=True, text=True, check=True).stdout
    return hashlib.sha256(repr(flags).encode() + text.replace(str(fw), "<firmware>").encode()).hexdigest()


def host_c_outputs(model: bytes, batches: list[np.ndarray]) -> list[np.ndarray]:
    """tinyq.testing.host_c_outputs (ASan + UBSan), its outputs reused within the session when the runner's
    sources, flags and inputs are all the same."""
    import io
    import tempfile

    from tinyq.compiler import compile_model
    from tinyq.testing import build_host_runner, run_host_runner

    where = os.environ.get(ENV)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "host"
        compile_model(model, out, board="host")
        h = hashlib.sha256(_library_key(_library_hash()).encode())
        for f in sorted((out / "src").iterdir()):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        for b in batches:
            _feed(h, np.asarray(b), set())
        path = Path(where) / f"{h.hexdigest()[:32]}.npz" if where else None
        if path is not None and path.is_file():
            with np.load(path) as saved:
                return [saved[f"o{k}"] for k in range(len(saved.files))]
        outs = run_host_runner(out, build_host_runner(out, sanitize=True), batches)
    if path is not None:
        buf = io.BytesIO()
        np.savez(buf, **{f"o{k}": o for k, o in enumerate(outs)})
        _store(path, buf.getvalue())
    return outs
