"""`tinyq verify` on every supported shared model x every emulated board, through the CLI a user runs:
20 seeded random inputs plus the model's real sample inputs from ../shared/models/testdata.
Prints one line per run and a summary table; exits 1 if any run is not PASS.

    python benchmarks/verify_matrix.py [--samples 20] [--boards mps2-an386 ...] [--models STEM ...] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.samples import MODELS, model_path, samples  # noqa: E402
from tinyq.boards import list_boards  # noqa: E402

TINYQ = Path(sys.executable).parent / "tinyq"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--boards", nargs="*", default=[b.name for b in list_boards() if b.emulated])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--json")
    args = ap.parse_args()
    real = samples()
    rows, failed = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for stem in args.models:
            extra = [s.input for s in real if s.model == f"{stem}.tflite"]
            cmd_in = []
            if extra:
                np.save(Path(tmp) / f"{stem}.npy", np.concatenate(extra))
                cmd_in = ["--input", str(Path(tmp) / f"{stem}.npy")]
            for board in args.boards:
                report = Path(tmp) / f"{stem}-{board}.json"
                cmd = [str(TINYQ), "verify", str(model_path(stem)), "--board", board, "--samples", str(args.samples),
                       *cmd_in, "--json", str(report)]
                t = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True)
                seconds = time.perf_counter() - t
                if report.exists():
                    r = json.loads(report.read_text())
                    status = "PASS" if proc.returncode == 0 and r["ok"] else "FAIL"
                    n, values = r["samples"], sum(c["values"] for c in r["comparisons"])
                else:  # refused before running (e.g. the model does not fit the board): the message says why
                    status, n, values = ("REFUSED" if proc.returncode == 2 else "FAIL"), 0, 0
                failed += status == "FAIL"
                line = proc.stderr.strip().splitlines()[-1] if status != "PASS" and proc.stderr.strip() else ""
                rows.append({"model": stem, "board": board, "status": status, "samples": n, "real_samples": len(extra),
                             "values_compared": values, "seconds": round(seconds, 1), "message": line})
                print(f"{stem:<34} {board:<14} {status:<7} {n:>3} samples ({len(extra)} real) {values:>9,} values "
                      f"{seconds:6.1f} s {line}", flush=True)
    passed = sum(r["status"] == "PASS" for r in rows)
    refused = sum(r["status"] == "REFUSED" for r in rows)
    print(f"\n{passed} PASS, {refused} refused before building (does not fit), {failed} FAIL, of {len(rows)} runs")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
