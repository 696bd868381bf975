"""Figures of a two-level image (docs/levels.md): MLPerf Tiny KWS at int8 (level 0) and its nested int4 child
(level 1, tinyq quantize --nested-from), against the two models' separate images, on each board given.

Prints, per board: flash of each separate image, their sum, the combined image's flash, arenas, what level 1
adds, instructions per inference of each level (exact, QEMU -icount) and set_level's instructions.

    python benchmarks/levels.py [--boards mps2-an386 mps3-an547] [--bits 4] [--json out.json]
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KWS = HERE.parent.parent / "shared" / "models" / "mlperf_kws_dscnn_int8.tflite"


def main() -> int:
    from tinyq.compiler import compile_model
    from tinyq.levels.bench import bench_levels
    from tinyq.quantize.nested import nest
    from tinyq.targets.build import build_project

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", nargs="+", default=["mps2-an386", "mps3-an547"])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--model", type=Path, default=KWS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        child = work / f"{args.model.stem}_nested{args.bits}.tflite"
        nest(args.model, child, bits=args.bits)
        for board in args.boards:
            alone = []
            for m in (args.model, child):
                r = compile_model(m, work / board / m.stem, board=board)
                s = build_project(r.out_dir).sizes
                alone.append({"flash": s.flash_bytes, "weights": s.weight_bytes, "code": s.code_bytes,
                              "arena": s.arena_bytes})
            b = bench_levels([args.model, child], board, work / board / "levels")
            row = {"board": board, "separate": alone, "combined": {**b.flash_bytes, "arena": b.ram_bytes["arena"]},
                   "added_weight_bytes": b.added_weight_bytes, "added_weight_tensor_bytes": b.added_weight_tensor_bytes,
                   "instructions": [lv.instructions for lv in b.levels],
                   "set_level_instructions": b.set_level_instructions}
            rows.append(row)
            a, c = alone, row["combined"]
            print(f"{board}: separate images {a[0]['flash']:,} + {a[1]['flash']:,} = {a[0]['flash'] + a[1]['flash']:,} B "
                  f"flash; one image {c['total']:,} B ({c['total'] / (a[0]['flash'] + a[1]['flash']):.2f}x the sum, "
                  f"{c['total'] - a[0]['flash']:+,} B over level 0 alone)")
            print(f"  weights: {a[0]['weights']:,} + {a[1]['weights']:,} separate, {c['weights']:,} combined; level 1 "
                  f"adds {row['added_weight_bytes'][1]:,} B of constants, {row['added_weight_tensor_bytes'][1]:,} B of them weight "
                  f"tensors")
            print(f"  arena: {a[0]['arena']:,} / {a[1]['arena']:,} separate, {c['arena']:,} combined "
                  f"(= the larger: {c['arena'] == max(a[0]['arena'], a[1]['arena'])})")
            print(f"  instructions per inference: level 0 {row['instructions'][0]:,}, level 1 {row['instructions'][1]:,}; "
                  f"set_level {row['set_level_instructions']} instructions")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
