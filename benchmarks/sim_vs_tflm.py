"""Throughput of tinyq's NumPy simulator against the TFLM Python runtime, measured in the same run.

For each MLPerf Tiny model: a batch of 100 seeded random inputs through both, outputs checked equal,
wall time of each, and the ratio (>1 means the simulator is faster). Prints a table; --json writes it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinyq.oracle import TflmReference
from tinyq.sim.run import as_program, run_program

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"
MODELS = ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8", "mlperf_ad_fc_autoencoder_int8"]


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    print(f"{'model':<34} {'TFLM s':>8} {'sim s':>8} {'sim/TFLM speed':>15}  equal")
    for stem in MODELS:
        path = SHARED / f"{stem}.tflite"
        program = as_program(path)
        rng = np.random.default_rng(0)
        inputs = [rng.integers(-128, 128, size=(args.batch, *program.tensor(i).shape), dtype=np.int8) for i in program.inputs]
        ref = TflmReference(path)
        t_ref, want = best_of(lambda: ref.run(inputs, len(program.outputs)), args.repeats)
        t_sim, env = best_of(lambda: run_program(program, inputs), args.repeats)
        equal = all(np.array_equal(env[i], w.reshape(env[i].shape)) for i, w in zip(program.outputs, want))
        rows.append({"model": stem, "batch": args.batch, "tflm_s": t_ref, "sim_s": t_sim, "speedup": t_ref / t_sim, "equal": equal})
        print(f"{stem:<34} {t_ref:>8.3f} {t_sim:>8.3f} {t_ref / t_sim:>14.2f}x  {'yes' if equal else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["equal"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
