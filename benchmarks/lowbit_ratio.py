"""The 2-bit prepared kernels (tinyq/specialize/lowbit_dsp.py) against the prepared int8 kernels, per op.

For each model, scripts/rewrite_weights.py rewrites the weights to each form's levels; every layer is forced to
the form's encoding and benched (`tinyq bench`: exact instructions, estimated cycles) with the 2-bit kernels
("after") and without them, i.e. on the packed kernels ("before"). The int8 baseline is the model rewritten to
ternary levels benched with --weights int8: the same shapes, and its shifts are right shifts, so the prepared int8
kernels take every layer (int2 levels give left shifts, which they decline). Ratios are Σ form / Σ int8 per op.

    python benchmarks/lowbit_ratio.py [--board mps2-an386] [--models kws,ad] [--forms int2,ternary] [--no-before]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.encoded_bench import ALIASES, ENCODING, SHARED  # noqa: E402
from tests.encode.helpers import rewrite  # noqa: E402
from tinyq import specialize  # noqa: E402
from tinyq.bench import bench  # noqa: E402
from tinyq.specialize import lowbit_dsp  # noqa: E402

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def per_op(report) -> dict[str, list[int]]:
    """op -> [instructions, cycles, the C functions called] over the layers of that op."""
    sums = defaultdict(lambda: [0, 0, set()])
    for layer in report.layers:
        if layer.op in OPS:
            sums[layer.op][0] += layer.instructions
            sums[layer.op][1] += layer.cycles
            sums[layer.op][2].add(layer.kernel)
    return sums


def bench_without_lowbit(path, board, work, weights):
    specialize._load()
    saved = list(specialize.PREPARERS)
    mine = (lowbit_dsp.prepare_conv, lowbit_dsp.prepare_fc, lowbit_dsp.prepare_depthwise)
    specialize.PREPARERS[:] = [p for p in specialize.PREPARERS if p.prepare not in mine]
    try:
        return bench(path, board, work_dir=work, weights=weights)
    finally:
        specialize.PREPARERS[:] = saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--models", default="kws,ad")
    ap.add_argument("--forms", default="int2,ternary")
    ap.add_argument("--no-before", action="store_true")
    args = ap.parse_args()
    print(f"board {args.board}: form / prepared int8 per op, instructions (estimated cycles)")
    with tempfile.TemporaryDirectory() as tmp:
        for alias in args.models.split(","):
            data = (SHARED / f"{ALIASES.get(alias, alias)}.tflite").read_bytes()
            base = Path(tmp) / f"{alias}-int8.tflite"
            base.write_bytes(rewrite.rewrite_model(data, "ternary", seed=0)[0])
            int8 = per_op(bench(base, args.board, work_dir=Path(tmp) / "int8", weights="int8"))
            for form in args.forms.split(","):
                path = Path(tmp) / f"{alias}-{form}.tflite"
                path.write_bytes(rewrite.rewrite_model(data, form, seed=0)[0])
                after = per_op(bench(path, args.board, work_dir=Path(tmp) / form, weights=ENCODING[form]))
                before = None if args.no_before else per_op(
                    bench_without_lowbit(path, args.board, Path(tmp) / f"{form}-packed", ENCODING[form]))
                for op in OPS:
                    if op not in int8:
                        continue
                    i, c, _ = int8[op]
                    line = f"{alias:<4} {form:<8} {op:<16} int8 {i:>10,} insns {c:>10,} cycles"
                    if before:
                        line += f"  before {before[op][0] / i:5.2f} ({before[op][1] / c:5.2f})"
                    line += f"  after {after[op][0] / i:5.2f} ({after[op][1] / c:5.2f})"
                    print(line, flush=True)
                    kernels = [sorted(int8[op][2]), sorted(after[op][2])] + ([sorted(before[op][2])] if before else [])
                    print("     kernels: " + " / ".join(", ".join(k) for k in kernels), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
