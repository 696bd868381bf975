"""Encoded weights against int8 on one board: instructions per inference, weight bytes and arena, per form.

For each model and form, scripts/rewrite_weights.py makes the weights take the form's levels; the same
.tflite is then compiled twice, `--weights int8` and `--weights smallest`, and `tinyq bench` counts exact
instructions on the emulated board for both. Prints a table of ratios (encoded / int8) beside the
issue's goals; no timing is involved.

    .venv/bin/python benchmarks/encoded_bench.py [--board mps2-an386] [--models kws,ad] [--forms int4,ternary]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.encode.helpers import FORMS, rewrite  # noqa: E402
from tinyq.bench import bench  # noqa: E402

SHARED = REPO.parent / "shared" / "models"
ALIASES = {"kws": "mlperf_kws_dscnn_int8", "ad": "mlperf_ad_fc_autoencoder_int8", "ic": "mlperf_ic_resnet8_int8",
           "vww": "mlperf_vww_mobilenetv1_025_int8", "person": "tflm_person_detect_int8",
           "speech": "tflm_micro_speech_int8", "hello": "tflm_hello_world_int8"}
# the goals: (flash ratio, instruction ratio) against the int8 build
GOALS = {**{f"int{k}": (k / 8 + 0.03, 1.15) for k in range(1, 8)}, "ternary": (0.28, 1.0), "binary": (0.155, 1.0),
         "codebook16": (0.53, 1.15), "sparse75": (0.45, 0.6), "sparse2:4": (0.65, 0.75)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--models", default="kws", help="comma-separated: " + ", ".join(ALIASES))
    ap.add_argument("--forms", default=",".join(FORMS))
    args = ap.parse_args()
    print(f"board {args.board}; ratios are encoded / int8 on the same rewritten model")
    print(f"{'model':<8} {'form':<11} {'int8 insns':>12} {'encoded':>12} {'ratio':>6} {'goal':>5}  "
          f"{'weights':>8} {'goal':>5}  {'arena':>7}  kernels")
    with tempfile.TemporaryDirectory() as tmp:
        for alias in args.models.split(","):
            stem = ALIASES.get(alias, alias)
            for form in args.forms.split(","):
                data, _ = rewrite.rewrite_model((SHARED / f"{stem}.tflite").read_bytes(), form, seed=0)
                path = Path(tmp) / f"{stem}_{form.replace(':', 'of')}.tflite"
                path.write_bytes(data)
                plain = bench(path, args.board, work_dir=Path(tmp) / "int8", weights="int8")
                packed = bench(path, args.board, work_dir=Path(tmp) / "enc", weights="smallest")
                flash_goal, speed_goal = GOALS[form]
                w8, we = plain.flash_bytes["weights"], packed.flash_bytes["weights"]
                arena = "equal" if plain.ram_bytes["arena"] == packed.ram_bytes["arena"] else "DIFFERS"
                kinds = sorted({layer.kernel.rsplit("_", 1)[-1] for layer in packed.layers
                                if layer.kernel.rsplit("_", 1)[-1].startswith("w")})
                print(f"{alias:<8} {form:<11} {plain.instructions:>12,} {packed.instructions:>12,} "
                      f"{packed.instructions / plain.instructions:>6.2f} {speed_goal:>5.2f}  {we / w8:>8.3f} "
                      f"{flash_goal:>5.3f}  {arena:>7}  {','.join(kinds)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
