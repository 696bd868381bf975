"""What patch-based execution costs and saves, measured in one run (tinyq issue 14).

For each model, `tinyq bench` on one emulated board twice: --patch auto and --patch off. Prints the exact
instructions and estimated cycles of one inference, the extra share patching adds, the MACs its halos
recompute, and peak data RAM (arena + caller-owned I/O + the stack one invoke used).

    python benchmarks/patch_cost.py [--board mps2-an386] [--mbv2 build/mobilenetv2] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.models_report import SHARED  # noqa: E402
from tinyq.bench import bench  # noqa: E402
from tinyq.compiler import compile_model  # noqa: E402


def _bands(path: Path, board: str):
    with tempfile.TemporaryDirectory() as tmp:
        p = compile_model(path, tmp, board=board, project=False).patching
    return "; ".join(f"layers {c.layers[0]}-{c.layers[-1]} x{c.bands}" for c in p.patches) or "-", p


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--mbv2", default=str(HERE.parent / "build" / "mobilenetv2"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    mbv2 = Path(args.mbv2)
    wanted = [mbv2 / f"mobilenetv2_035_{s}_int8.tflite" for s in (96, 144)]
    if not all(p.is_file() for p in wanted):
        subprocess.run([sys.executable, str(HERE.parent / "examples" / "mobilenetv2" / "build.py"), str(mbv2)], check=True)
    models = [SHARED / "mlperf_vww_mobilenetv1_025_int8.tflite", SHARED / "mlperf_ic_resnet8_int8.tflite",
              SHARED / "tflm_person_detect_int8.tflite", *wanted]
    print(f"patch-based execution on {args.board}: one inference, --patch auto against --patch off")
    head = (f"{'model':<34} {'instructions off':>16} {'auto':>12} {'extra':>7} {'cycles extra':>12} {'MACs extra':>10} "
            f"{'peak off':>9} {'peak auto':>9}  bands")
    print(head)
    print("-" * len(head))
    rows = []
    for path in models:
        bands, patching = _bands(path, args.board)
        off, auto = bench(path, args.board, patch="off"), bench(path, args.board, patch="auto")
        extra, cyc = auto.instructions / off.instructions - 1, auto.cycles / off.cycles - 1
        macs = patching.extra_macs / patching.macs if patching.macs else 0.0
        peak_off, peak_auto = off.ram_bytes["peak"], auto.ram_bytes["peak"]
        print(f"{path.stem:<34} {off.instructions:>16,} {auto.instructions:>12,} {extra:>+7.1%} {cyc:>+12.1%} "
              f"{macs:>+10.1%} {peak_off:>9,} {peak_auto:>9,}  {bands}")
        rows.append({"model": path.stem, "instructions_off": off.instructions, "instructions_auto": auto.instructions,
                     "cycles_off": off.cycles, "cycles_auto": auto.cycles, "extra_macs": patching.extra_macs,
                     "macs": patching.macs, "peak_off": peak_off, "peak_auto": peak_auto, "bands": bands,
                     "stack_used_auto": auto.ram_bytes["stack_used"]})
    print("peak: arena + caller-owned I/O + the stack one invoke used (bench's ram_bytes.peak)")
    if args.json:
        Path(args.json).write_text(json.dumps({"board": args.board, "models": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
