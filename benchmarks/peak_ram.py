"""Peak data RAM against TFLM, measured in one run (tinyq issue 14).

For the MLPerf Tiny models (../shared/models) and the project's own MobileNetV2-0.35 at 96x96 and 144x144
(examples/mobilenetv2/build.py, built into --mbv2 DIR when absent): tinyq's plan for the board (arena, I/O,
buffers written over their inputs, chains run in bands by --patch auto) with caller-owned I/O and with
--io arena, the arena without patching (--patch off) and the MACs the bands' halos recompute, next to TFLM's
arena:
  * the TFLM Python runtime's, measured here (RecordingMicroAllocator; host, reference kernels: "head" is its
    activations and scratch, "total" adds its persistent structures, 64-bit);
  * for the MLPerf models, TFLM + CMSIS-NN's on the emulated M4F (benchmarks/anchors.json).
Peak = arena + caller-owned I/O; `tinyq bench` adds the stack one invoke uses (108-1,856 B on these models).

    python benchmarks/peak_ram.py [--board mps2-an386] [--mbv2 build/mobilenetv2]
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

from benchmarks.models_report import SHARED, tflm_arena  # noqa: E402
from tinyq.compiler import compile_model  # noqa: E402

MLPERF = ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8",
          "mlperf_ad_fc_autoencoder_int8"]
GOALS = {"mlperf": "<= 0.5x TFLM's arena", "mobilenetv2": ">= 3x below TFLM"}


def compiled(path: Path, board: str, io: str, patch="auto", layout="auto"):
    with tempfile.TemporaryDirectory() as tmp:
        return compile_model(path, tmp, board=board, project=False, io=io, patch=patch, weights_layout=layout)


def _patching(r) -> str:
    """The extra MACs of the bands, as a share of the model's (- when nothing is patched)."""
    p = r.patching
    return f"+{p.extra_macs / p.macs:.1%}" if p and p.patches else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--mbv2", default=str(HERE.parent / "build" / "mobilenetv2"))
    args = ap.parse_args()
    anchors = json.loads((HERE / "anchors.json").read_text())["arena_bytes"]
    mbv2 = Path(args.mbv2)
    models = [(m, SHARED / f"{m}.tflite", "mlperf") for m in MLPERF]
    wanted = [mbv2 / f"mobilenetv2_035_{s}_int8.tflite" for s in (96, 144)]
    if not all(p.is_file() for p in wanted):
        subprocess.run([sys.executable, str(HERE.parent / "examples" / "mobilenetv2" / "build.py"), str(mbv2)], check=True)
    models += [(p.stem, p, "mobilenetv2") for p in wanted]
    print(f"peak data RAM on {args.board}, bytes (peak = arena + caller-owned I/O; --io arena: I/O inside the arena)")
    head = (f"{'model':<34} {'arena':>8} {'I/O':>7} {'peak':>8} {'overlaps':>8} {'no patch':>8} {'MACs':>6} "
            f"{'io=arena':>8} {'no patch':>8} {'MACs':>6} {'int8 lay':>8}  {'TFLM host head/total':>21} {'TFLM M4':>8}  {'ratio':>6}  goal")
    print(head)
    print("-" * len(head))
    for name, path, kind in models:
        rc, ri = compiled(path, args.board, "caller"), compiled(path, args.board, "arena")
        caller, inside = rc.plan, ri.plan
        caller_off = compiled(path, args.board, "caller", "off").plan if rc.patching.patches else caller
        inside_off = compiled(path, args.board, "arena", "off").plan if ri.patching.patches else inside
        t_head, t_tail = tflm_arena(path)
        t_total = t_head + t_tail
        target = anchors.get(name, {}).get(args.board)
        # --weights-layout int8: no widened input rows (the M4's wide FC kernel keeps one in the arena)
        int8_inside = compiled(path, args.board, "arena", layout="int8").plan.arena_bytes
        best = min(caller.arena_bytes + caller.io_bytes, inside.arena_bytes, int8_inside)
        ref = target if target is not None else t_total
        ratio = best / ref
        goal = (f"{'met' if ratio <= 0.5 else 'NOT met'} ({GOALS[kind]})" if kind == "mlperf"
                else f"{'met' if ratio <= 1 / 3 else 'NOT met'} ({GOALS[kind]}: {ref / best:.2f}x below)")
        print(f"{name:<34} {caller.arena_bytes:>8,} {caller.io_bytes:>7,} {caller.arena_bytes + caller.io_bytes:>8,} "
              f"{len(caller.overlaps):>8} {caller_off.arena_bytes:>8,} {_patching(rc):>6} {inside.arena_bytes:>8,} "
              f"{inside_off.arena_bytes:>8,} {_patching(ri):>6} {int8_inside:>8,}  {t_head:>10,}/{t_total:>10,} "
              f"{target if target is not None else '-':>8}  {ratio:>5.2f}x  {goal}")
    print("ratio: the smallest tinyq peak (caller I/O, --io arena, or that with --weights-layout int8) over TFLM's "
          "M4 arena (MLPerf) or its host total")
    print("no patch: the arena with --patch off; MACs: what the bands' halos recompute, of the model's MACs")
    print("int8 lay: the --io arena arena with --weights-layout int8 (int8 weights, no widened input rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
