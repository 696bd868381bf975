"""Calibrate the weight-encoding cost model (tinyq/encode/select.py KERNEL_COST) against `tinyq bench`.

For each model and form, scripts/rewrite_weights.py makes the weights take the form's levels; the model is
benched twice on the board (`--weights int8`, then every layer forced to the form's encoding), and each
encoded layer's instructions are divided by the same layer's int8 instructions. Per (family, op), the
measured ratio is the instruction-weighted mean over the layers (Σ encoded / Σ int8), printed beside the
model's figure kernel_cost() gives for the same layer (density-scaled for sparse forms), with the
model's error. No timing is involved: exact instruction counts on the emulated board.

    python benchmarks/encoded_costs.py [--board mps2-an386] [--models kws,ad] [--forms int4,sparse75] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.encoded_bench import ALIASES, SHARED, weights_for  # noqa: E402
from tests.encode.helpers import FORMS, rewrite  # noqa: E402
from tinyq.bench import bench  # noqa: E402
from tinyq.boards import load_board  # noqa: E402
from tinyq.encode.select import family, kernel_cost  # noqa: E402
from tinyq.kernel_select import board_isa  # noqa: E402
from tinyq.sim.run import as_program  # noqa: E402


def layer_costs(path: Path, board: str, weights: str, tmp: Path):
    """(family, op, int8 instructions, encoded instructions, modelled cost) for each encoded layer."""
    isa = board_isa(load_board(board))
    plain = bench(path, board, work_dir=tmp / "int8", weights="int8")
    packed = bench(path, board, work_dir=tmp / "enc", weights=weights)
    program = as_program(path, weights)
    out = []
    for a, b, call in zip(plain.layers, packed.layers, program.calls):
        packed_weights = getattr(call, "packed", None)
        if packed_weights is None:
            continue
        w = packed_weights.encoded
        decoded = w.decode()
        density = float(np.count_nonzero(decoded)) / max(1, decoded.size)
        out.append((family(w), call.opcode, a.instructions, b.instructions, kernel_cost(w, call.opcode, isa, density)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--models", default="kws,ad", help="comma-separated: " + ", ".join(ALIASES))
    ap.add_argument("--forms", default=",".join(f for f in FORMS if f not in ("int1", "int5", "int6", "int7")))
    ap.add_argument("--json")
    args = ap.parse_args()
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # int8, encoded, modelled·int8
    with tempfile.TemporaryDirectory() as tmp:
        for alias in args.models.split(","):
            stem = ALIASES.get(alias, alias)
            for form in args.forms.split(","):
                data, _ = rewrite.rewrite_model((SHARED / f"{stem}.tflite").read_bytes(), form, seed=0)
                path = Path(tmp) / "model.tflite"
                path.write_bytes(data)
                for fam, op, i8, enc, model in layer_costs(path, args.board, weights_for(path, form), Path(tmp) / form):
                    s = sums[(fam, op)]
                    s[0], s[1], s[2] = s[0] + i8, s[1] + enc, s[2] + model * i8
                print(f"  {alias} {form} done", file=sys.stderr, flush=True)
    print(f"board {args.board} ({board_isa(load_board(args.board))}): packed / int8 instructions per (family, op)")
    print(f"{'family':<10} {'op':<18} {'int8 insns':>12} {'measured':>9} {'model':>7} {'error':>7}")
    rows = []
    for (fam, op), (i8, enc, model) in sorted(sums.items()):
        measured, modelled = enc / i8, model / i8
        rows.append({"family": fam, "op": op, "int8_instructions": int(i8), "measured": round(measured, 3),
                     "model": round(modelled, 3)})
        print(f"{fam:<10} {op:<18} {int(i8):>12,} {measured:>9.2f} {modelled:>7.2f} {modelled / measured - 1:>+7.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
