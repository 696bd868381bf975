"""What a worker process runs, one stage per task: tinyq's CLI, the TFLM reference, the host runner.

Each stage takes a task dict and returns a JSON-able dict of raw facts (exit status, files written,
...); judging them is invariants.py's job. Output that the stage prints (tinyq's stdout/stderr, TFLM's
C++ messages, faulthandler on a crash) is captured by workers.py at the file-descriptor level.
"""
from __future__ import annotations

import hashlib
import json
import sys
import traceback
from pathlib import Path

import numpy as np

from tinyq.fuzz import host_build
from tinyq.fuzz.inputs import digest, graph_io, make_arrays, read_arrays, read_outputs, write_arrays

TFLM_ARENA = 16 << 20


def run(task: dict) -> dict:
    return STAGES[task["stage"]](task)


def run_cli(argv: list[str]) -> tuple[int, bool]:
    """tinyq.cli.main as the `tinyq` script runs it: (exit status, whether a traceback escaped)."""
    from tinyq.cli import main

    try:
        rc = main(argv)
        return (0 if rc is None else int(rc)), False
    except SystemExit as exc:  # argparse; sys.exit(...) somewhere
        code = exc.code
        return (code if isinstance(code, int) else (0 if code is None else 1)), False
    except BaseException:  # what the interpreter would print before exiting with status 1
        traceback.print_exc()
        return 1, True
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def simulate(task: dict) -> dict:
    model, work = Path(task["model"]), Path(task["work"])
    io = graph_io(model.read_bytes())
    specs = io[0] if io else None
    arrays, fits = make_arrays(specs, task["seed"], task["samples"])
    inputs = write_arrays(arrays, work)
    out = work / "sim_out.npz"
    rc, tb = run_cli(["simulate", str(model), "-i", str(inputs), "-o", str(out)])
    return {"rc": rc, "traceback": tb, "inputs": str(inputs), "inputs_fit": fits, "inputs_digest": digest(arrays),
            "output": str(out) if out.is_file() else None,
            "input_shapes": [list(s.shape) for s in specs] if specs is not None else None,
            "output_names": io[2] if io else None}


def compile_(task: dict) -> dict:
    rc, tb = run_cli(["compile", task["model"], "--board", "host", "--out", task["out"]])
    return {"rc": rc, "traceback": tb}


def tflm(task: dict) -> dict:
    from tflite_micro import runtime

    data = Path(task["model"]).read_bytes()
    arrays = read_arrays(Path(task["inputs"]))
    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=TFLM_ARENA)
    except Exception as exc:
        # runtime.py unpacks the whole file with the object API before the C++ interpreter sees it
        where = "load (Python object-API pre-parse)" if "count_resource_variables" in traceback.format_exc() else "load"
        return {"status": "refused", "where": where, "message": f"{type(exc).__name__}: {exc}"}
    n_out = len(task["output_names"])
    outs: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    try:
        for s in range(arrays[0].shape[0] if arrays else 1):
            for k, a in enumerate(arrays):  # TFLM may reuse input memory: set every input before every invoke
                interp.set_input(a[s].reshape(task["input_shapes"][k]), k)
            interp.invoke()
            for k in range(n_out):
                outs[k].append(np.array(interp.get_output(k)))
    except Exception as exc:
        return {"status": "refused", "where": "invoke", "message": f"{type(exc).__name__}: {exc}"}
    path = Path(task["work"]) / "tflm_out.npz"
    np.savez(path, **{f"output_{k}": np.stack(o) for k, o in enumerate(outs)})
    return {"status": "ran", "output": str(path)}


def _pack(entries: list[dict], arrays: list[np.ndarray], samples: int) -> bytes:
    """Sample by sample, every tensor's little-endian bytes in order (the harness's file format)."""
    if len(entries) != len(arrays):
        raise ValueError(f"{len(entries)} tensors in the manifest, {len(arrays)} arrays")
    rows = []
    for s in range(samples):
        for e, a in zip(entries, arrays):
            raw = np.ascontiguousarray(a[s], dtype=np.dtype(e["dtype"]).newbyteorder("<")).tobytes()
            if len(raw) != e["bytes"]:
                raise ValueError(f"'{e['name']}': {len(raw)} bytes per sample, the manifest says {e['bytes']}")
            rows.append(raw)
    return b"".join(rows)


def _first_difference(got: bytes, want: bytes, entries: list[dict]) -> str:
    if len(got) != len(want):
        return f"the runner wrote {len(got)} bytes, the simulator's outputs are {len(want)}"
    pos = next(i for i in range(len(got)) if got[i] != want[i])
    per_sample = sum(e["bytes"] for e in entries)
    s, off = divmod(pos, per_sample)
    for e in entries:
        if off < e["bytes"]:
            return f"sample {s}, output '{e['name']}', byte {off}: {got[pos]} vs simulator {want[pos]}"
        off -= e["bytes"]
    return f"byte {pos}"


def host(task: dict) -> dict:
    project, work = Path(task["project"]), Path(task["work"])
    try:
        manifest = json.loads((project / "tinyq.json").read_text(encoding="utf-8"))
        arrays = read_arrays(Path(task["inputs"]))
        n = arrays[0].shape[0] if arrays else task["samples"]
        data = _pack(manifest["inputs"], arrays, n)
        sim = read_outputs(task["sim_output"], [e["name"] for e in manifest["outputs"]])
        want = _pack(manifest["outputs"], sim, n)
    except Exception as exc:
        return {"status": "cannot_compare", "detail": f"{type(exc).__name__}: {exc}"}
    key = hashlib.sha256((host_build.source_digest(project) + task["inputs_digest"]).encode()).hexdigest()[:32]
    cache = Path(task["cache"]) / f"{key}.json"
    if cache.is_file():
        result = json.loads(cache.read_text())
        result["status"] = "deduped"
    else:
        runner, error = host_build.link_runner(project, [Path(o) for o in task["objs"]], task["build_timeout"])
        if runner is None:
            result = {"build_error": error}
        else:
            r = host_build.run_runner(runner, data, work, task["run_timeout"])
            result = {"build_error": None, "returncode": r["returncode"], "timed_out": r["timed_out"],
                      "sanitizer": r["sanitizer"], "stderr": r["stderr"],
                      "output_sha": hashlib.sha256(r["output"]).hexdigest()}
            if r["output"] != want and r["returncode"] == 0:
                result["difference"] = _first_difference(r["output"], want, manifest["outputs"])
        tmp = cache.with_suffix(f".{task['worker']}.tmp")
        tmp.write_text(json.dumps(result))
        tmp.replace(cache)  # atomic: the other worker may be writing the same key
        result["status"] = "built"
    if not result.get("build_error") and result.get("returncode") == 0:
        result["equal"] = result["output_sha"] == hashlib.sha256(want).hexdigest()
    return result


def selftest(task: dict) -> dict:
    """For the harness's own tests: crash, hang or print on request."""
    import os
    import signal
    import time

    if task["action"] == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if task["action"] == "sleep":
        time.sleep(task["seconds"])
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return {"pid": os.getpid()}


STAGES = {"simulate": simulate, "compile": compile_, "tflm": tflm, "host": host, "selftest": selftest}
