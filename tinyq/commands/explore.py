"""`tinyq explore MODEL.keras`: search per-layer weight specs against accuracy, flash, RAM and instructions."""
from __future__ import annotations

from tinyq.commands import positive_int

# as tinyq/explore/budget.py reads them (kept here so `tinyq --help` does not import the explore package)
BYTES_HELP = "an integer, or a number with B, kB/KB/k (1000), KiB/Ki (1024), MB/M (10^6), MiB (2^20), GB, GiB"
COUNT_HELP = "an integer, or a number with k (1000), M (10^6), G (10^9)"


def add_parser(sub):
    p = sub.add_parser(
        "explore", help="search per-layer weight specs (int8/int4/ternary...) for the best accuracy within budgets",
        description="Measures each layer's accuracy with each candidate spec (simulator), the exact flash and RAM "
        "of every configuration (encoder + planner, no build) and its instructions (a per-kernel cost model "
        "calibrated by `tinyq bench`), searches the Pareto front (MILP and greedy), quantizes its points and "
        "measures them. Writes OUT/pareto.json, OUT/pareto.png, OUT/explore.json and OUT/models/*.tflite.")
    p.add_argument("model", help="float Keras model (.keras/.h5)")
    p.add_argument("--calibration", required=True, metavar="DATA", help="calibration samples (.npy/.npz/directory)")
    p.add_argument("--data", required=True, metavar="X.npy", help="evaluation samples every accuracy is measured on")
    p.add_argument("--labels", required=True, metavar="Y.npy", help="evaluation labels (class indices or one-hot)")
    p.add_argument("--board", "-b", required=True, help="target board (see `tinyq boards`)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    p.add_argument("--flash-budget", metavar="BYTES", help=f"model data in flash at most ({BYTES_HELP})")
    p.add_argument("--ram-budget", metavar="BYTES", help="arena + I/O buffers at most (same units)")
    p.add_argument("--instructions-budget", metavar="N", help=f"instructions per inference at most ({COUNT_HELP})")
    p.add_argument("--candidates", metavar="SPECS", default=None,
                   help="comma-separated weight specs every searched layer may take (default: int8,int4,int2,ternary;"
                        " also int3..int7, binary, po2, codebook:K, and SPEC+sparseF / SPEC+sparseN:M)")
    p.add_argument("--layers", metavar="NAMES", default=None,
                   help="comma-separated Keras layers to search (default: every Conv/Dense layer; the rest stay int8)")
    p.add_argument("--layer-candidates", action="append", default=[], metavar="NAME=SPECS",
                   help="one layer's own candidates, e.g. logits=int8,int4 (repeatable)")
    p.add_argument("--method", choices=("ptq", "qat"), default="ptq",
                   help="how the final Pareto points are quantized (default: ptq; qat fine-tunes each)")
    p.add_argument("--train", metavar="X.npy", help="--method qat: training samples")
    p.add_argument("--train-labels", metavar="Y.npy", help="--method qat: training labels")
    p.add_argument("--epochs", type=positive_int, default=5, help="--method qat: epochs per point (default: 5)")
    p.add_argument("--no-bench", action="store_true",
                   help="no firmware builds: instructions from a static per-MAC model (fast, rough, unverified)")
    p.add_argument("--bench-points", type=positive_int, default=3,
                   help="Pareto points benched to check the cost model, the chosen one first (default: 3)")
    p.add_argument("--steps", type=positive_int, default=24, help="flash caps in the MILP sweep (default: 24)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def run(args) -> int:
    from tinyq.explore import explore
    from tinyq.explore.budget import Budgets
    from tinyq.explore.report import table
    from tinyq.explore.space import parse_layer_candidates

    Budgets.parse(args.flash_budget, args.ram_budget, args.instructions_budget)  # bad units fail before TF loads
    result = explore(
        args.model, args.calibration, args.data, args.labels, args.board, args.out,
        flash_budget=args.flash_budget, ram_budget=args.ram_budget, instructions_budget=args.instructions_budget,
        candidates=args.candidates,
        layers=None if args.layers is None else [n.strip() for n in args.layers.split(",") if n.strip()],
        layer_candidates=parse_layer_candidates(args.layer_candidates), method=args.method,
        bench=not args.no_bench, bench_points=args.bench_points, steps=args.steps, train=args.train,
        train_labels=args.train_labels, epochs=args.epochs, progress=not args.no_progress)
    print(table(result))
    print(f"wrote {args.out}/pareto.json, {args.out}/pareto.png ({len(result.points)} points, {result.seconds:.1f} s)")
    return 0
