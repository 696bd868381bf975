"""Every shared model x every rewritten weight form x every emulated board: simulator = TFLM = host C
(ASan + UBSan) = firmware, exact, on N seeded inputs (default 100). Too long for CI (tests/e2e/
test_encoded_models.py runs a bounded part of it); this is the whole matrix, with a line per run and a
summary, and a JSON record.

For each model and form, scripts/rewrite_weights.py makes the weights take the form's levels; the result
is compiled with `--weights smallest` (every tensor as small as it exactly goes). TFLM runs the rewritten
.tflite as it is: the encodings are tinyq's storage, so TFLM is the oracle.

    python benchmarks/encoded_matrix.py [--samples 100] [--models STEM ...] [--forms int4 ...]
                                        [--boards mps2-an386 ...] [--jobs 2] [--json FILE]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.encode.helpers import FORMS, MODELS, rewrite  # noqa: E402
from tinyq.boards import list_boards  # noqa: E402

SHARED = REPO.parent / "shared" / "models"
WEIGHTS = "smallest"


def run_case(model: str, form: str, boards: list[str], samples: int, tmp: str) -> list[dict]:
    """One model and form: the rows of its runs (reference, host, then one per board)."""
    from tinyq.compiler import compile_model
    from tinyq.encode.apply import weight_report
    from tinyq.errors import DoesNotFit, TinyqError
    from tinyq.io import from_batch
    from tinyq.oracle import TflmReference
    from tinyq.sim.run import as_program, run_program
    from tinyq.targets.build import build_project
    from tinyq.targets.run import run_project
    from tinyq.testing import build_host_runner, run_host_runner
    from tinyq.verify import random_batches

    out = Path(tmp) / f"{model}-{form.replace(':', 'of')}"
    out.mkdir(parents=True)
    data, _ = rewrite.rewrite_model((SHARED / f"{model}.tflite").read_bytes(), form, seed=0)
    path = out / "model.tflite"
    path.write_bytes(data)
    program = as_program(path, WEIGHTS)
    encodings = sorted({w.encoding for w in weight_report(program)})
    batches = random_batches(program, samples, seed=sum(map(ord, model + form)))
    sim = [run_program(program, batches)[i] for i in program.outputs]
    rows = []

    def record(stage: str, got, seconds: float, message: str = "", refused: bool = False) -> None:
        if got is None:
            status = "REFUSED" if refused else "FAIL"
        else:
            status = "PASS" if all(np.array_equal(np.asarray(g).reshape(s.shape), s) for g, s in zip(got, sim)) else "FAIL"
        rows.append({"model": model, "form": form, "stage": stage, "status": status, "samples": samples,
                     "encodings": encodings, "seconds": round(seconds, 1), "message": message})

    def timed(stage: str, fn) -> None:
        t = time.perf_counter()
        try:
            got, message, refused = fn(), "", False
        except DoesNotFit as exc:  # compile refuses a model the board cannot hold: the message says why
            got, message, refused = None, str(exc).splitlines()[0], True
        except TinyqError as exc:  # a failed build or run
            got, message, refused = None, str(exc).splitlines()[0], False
        record(stage, got, time.perf_counter() - t, message, refused)

    timed("TFLM", lambda: TflmReference(path).run(batches, len(program.outputs)))

    def host():
        compile_model(path, out / "host", board="host", weights=WEIGHTS)
        return run_host_runner(out / "host", build_host_runner(out / "host", sanitize=True), batches)

    timed("host C (ASan+UBSan)", host)
    for board in boards:
        def firmware(board=board):
            compile_model(path, out / board, board=board, weights=WEIGHTS)
            build_project(out / board)
            arrays = {f"input_{k}": from_batch(b, program.tensor(i)) for k, (b, i) in enumerate(zip(batches, program.inputs))}
            return run_project(out / board, arrays, build=False, timeout=3600).arrays

        timed(board, firmware)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--forms", nargs="*", default=list(FORMS))
    ap.add_argument("--boards", nargs="*", default=[b.name for b in list_boards() if b.emulated])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    cases = [(m, f) for m in args.models for f in args.forms]
    print(f"{len(cases)} model x form cases x (TFLM, host, {len(args.boards)} boards), {args.samples} inputs each",
          flush=True)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        jobs = {pool.submit(run_case, m, f, args.boards, args.samples, tmp): (m, f) for m, f in cases}
        for job in concurrent.futures.as_completed(jobs):
            model, form = jobs[job]
            try:
                done = job.result()
            except Exception as exc:  # a crash of a stage is a failure of the case, reported, not a dead campaign
                done = [{"model": model, "form": form, "stage": "case", "status": "FAIL", "samples": 0,
                         "encodings": [], "seconds": 0.0, "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}]
            rows += done
            for r in done:
                print(f"{model:<34} {form:<10} {r['stage']:<20} {r['status']:<7} {r['samples']:>4} inputs "
                      f"{r['seconds']:7.1f} s  {','.join(r['encodings'])} {r['message']}", flush=True)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("PASS", "REFUSED", "FAIL")}
    print(f"\n{counts['PASS']} PASS, {counts['REFUSED']} refused (does not fit the board), {counts['FAIL']} FAIL, "
          f"of {len(rows)} runs ({len(cases)} model x form cases)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
