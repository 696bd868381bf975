"""Encoded weights against int8 on one board: instructions per inference, weight bytes and arena, per form.

For each model and form, scripts/rewrite_weights.py makes the weights take the form's levels; the same
.tflite is then compiled twice, `--weights int8` and `--weights ENC` (the form's encoding, e.g. int4,
codebook:4, sparse2:4; `smallest` where some layer cannot take it), and `tinyq bench` counts exact
instructions on the emulated board for both. Prints a table of ratios (encoded / int8) beside the
issue's goals; no timing is involved. `--flash-only`: the weight-tensor bytes of every model and form
(tables, magnitudes and indices included) against int8, from the encoder alone, with no build.

    .venv/bin/python benchmarks/encoded_bench.py [--board mps2-an386] [--models kws,ad] [--forms int4,ternary]
    .venv/bin/python benchmarks/encoded_bench.py --flash-only [--models all]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.encode.helpers import FORMS, rewrite  # noqa: E402
from tinyq.bench import bench  # noqa: E402
from tinyq.encode.apply import weight_report  # noqa: E402
from tinyq.errors import TinyqError  # noqa: E402
from tinyq.sim.run import as_program  # noqa: E402

# ../shared beside the repository, or TINYQ_SHARED_MODELS (a git worktree elsewhere)
SHARED = Path(os.environ.get("TINYQ_SHARED_MODELS", REPO.parent / "shared" / "models"))
ALIASES = {"kws": "mlperf_kws_dscnn_int8", "ad": "mlperf_ad_fc_autoencoder_int8", "ic": "mlperf_ic_resnet8_int8",
           "vww": "mlperf_vww_mobilenetv1_025_int8", "person": "tflm_person_detect_int8",
           "speech": "tflm_micro_speech_int8", "hello": "tflm_hello_world_int8"}
# the goals: (flash ratio, instruction ratio) against the int8 build
GOALS = {**{f"int{k}": (k / 8 + 0.03, 1.15) for k in range(1, 8)}, "ternary": (0.28, 1.0), "binary": (0.155, 1.0),
         "codebook16": (0.53, 1.15), "sparse75": (0.45, 0.6), "sparse2:4": (0.65, 0.75)}
# the encoding each form's levels are made for
ENCODING = {**{f"int{k}": f"int{k}" for k in range(1, 8)}, "ternary": "ternary", "binary": "binary",
            "codebook16": "codebook:4", "sparse75": "sparse", "sparse2:4": "sparse2:4"}


def weights_for(path: Path, form: str) -> str:
    """The form's encoding for every layer, or `smallest` when some layer cannot take it (e.g. 2:4 on a
    row length that is no multiple of 4)."""
    try:
        as_program(path, ENCODING[form])
        return ENCODING[form]
    except TinyqError:
        return "smallest"


def flash_table(models: list[str], forms: list[str]) -> int:
    """Weight-tensor bytes against int8 for each model and form, with no build. Returns the misses."""
    print(f"{'model':<32} {'form':<11} {'weights':<10} {'int8 bytes':>11} {'encoded':>10} {'ratio':>6} {'goal':>6}")
    misses = 0
    with tempfile.TemporaryDirectory() as tmp:
        for stem in models:
            for form in forms:
                data, _ = rewrite.rewrite_model((SHARED / f"{stem}.tflite").read_bytes(), form, seed=0)
                path = Path(tmp) / "model.tflite"
                path.write_bytes(data)
                w = weights_for(path, form)
                report = weight_report(as_program(path, w))
                w8, we = sum(x.int8_bytes for x in report), sum(x.nbytes for x in report)
                goal = GOALS[form][0]
                misses += we / w8 > goal
                print(f"{stem:<32} {form:<11} {w:<10} {w8:>11,} {we:>10,} {we / w8:>6.3f} {goal:>6.3f}"
                      f"{'  MISS' if we / w8 > goal else ''}", flush=True)
    print(f"\n{misses} of {len(models) * len(forms)} above the goal")
    return misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--models", default=None, help="comma-separated, or all: " + ", ".join(ALIASES)
                    + " (default: kws; with --flash-only, all)")
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--flash-only", action="store_true", help="weight bytes of every model and form, no build")
    args = ap.parse_args()
    names = args.models or ("all" if args.flash_only else "kws")
    models = list(ALIASES.values()) if names == "all" else [ALIASES.get(a, a) for a in names.split(",")]
    if args.flash_only:
        return 1 if flash_table(models, args.forms.split(",")) else 0
    print(f"board {args.board}; ratios are encoded / int8 on the same rewritten model")
    print(f"{'model':<8} {'form':<11} {'int8 insns':>12} {'encoded':>12} {'ratio':>6} {'goal':>5}  "
          f"{'section':>8} {'goal':>5}  {'arena':>7}  kernels (section: all of .tq_weights, biases and multipliers too)")
    with tempfile.TemporaryDirectory() as tmp:
        for stem in models:
            alias = next((a for a, m in ALIASES.items() if m == stem), stem)
            for form in args.forms.split(","):
                data, _ = rewrite.rewrite_model((SHARED / f"{stem}.tflite").read_bytes(), form, seed=0)
                path = Path(tmp) / f"{stem}_{form.replace(':', 'of')}.tflite"
                path.write_bytes(data)
                w = weights_for(path, form)
                plain = bench(path, args.board, work_dir=Path(tmp) / "int8", weights="int8")
                packed = bench(path, args.board, work_dir=Path(tmp) / "enc", weights=w)
                flash_goal, speed_goal = GOALS[form]
                w8, we = plain.flash_bytes["weights"], packed.flash_bytes["weights"]
                arena = "equal" if plain.ram_bytes["arena"] == packed.ram_bytes["arena"] else "DIFFERS"
                kinds = sorted({re.sub(r".*_s(8|16)_", "", layer.kernel) for layer in packed.layers
                                if re.search(r"_s(8|16)_w", layer.kernel)})
                print(f"{alias:<8} {form:<11} {plain.instructions:>12,} {packed.instructions:>12,} "
                      f"{packed.instructions / plain.instructions:>6.2f} {speed_goal:>5.2f}  {we / w8:>8.3f} "
                      f"{flash_goal:>5.3f}  {arena:>7}  {','.join(kinds)}{'' if w != 'smallest' else ' (smallest)'}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
