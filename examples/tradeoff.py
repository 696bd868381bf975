"""The low-bit trade-off table of one example: float, int8, int4, ternary, mixed (explore's choice), 75 % sparse + int8.

Consumes BUILD_DIR as the example's train.py writes it (one MODEL.keras, calib.npy, train_x/y.npy, test_x/y.npy,
optionally val_x/y.npy); writes there one .tflite per variant, explore/ (tinyq explore's Pareto set),
tradeoff.md (the table) and tradeoff.json (every figure). For each integer variant it measures
    accuracy       tinyq's bit-exact simulator on the held-out test split
    weight flash   stored weight bytes after tinyq's encoder ("auto" for the board's CPU: packed low-bit, sparse)
    RAM            the activation arena of tinyq's memory plan
    instructions   one inference on the board, counted exactly in QEMU (tinyq bench)
    exact          tinyq verify: TFLM = simulator = host C = firmware on the board, bit for bit
and prints a Markdown table with ratios against int8 and the issue's goals as PASS/MISS.
Exits 1 if any variant is not bit-exact (a goal MISS is reported, not an error).

    python examples/tradeoff.py BUILD_DIR [--board mps2-an386] [--epochs N] [--ternary-method qat|admm]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

# variant -> (max accuracy drop vs float in points, max weight flash vs int8): the goals for the
# larger example. They are printed for every example; digits has too few weights to be held to them.
GOALS = {"int4": (1.0, 0.55), "mixed": (1.5, 0.40), "ternary": (3.0, 0.30), "sparse": (1.0, None)}
VERIFY_SAMPLES = 20  # random inputs for verify, plus as many real test images


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def float_accuracy(keras_path: Path, x: np.ndarray, y: np.ndarray) -> float:
    import keras

    return float((keras.saving.load_model(keras_path).predict(x, verbose=0).argmax(axis=1) == y).mean())


def measure_cached(tflite: Path, d: Path, board: str) -> dict:
    """measure(), remembered in BUILD_DIR/measured.json by the model's sha256 and the board: quantization is
    deterministic, so a rerun after a change elsewhere only measures the variants that changed."""
    import hashlib

    cache_path = d / "measured.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    key = f"{hashlib.sha256(tflite.read_bytes()).hexdigest()} {board}"
    if key not in cache:
        cache[key] = measure(tflite, d, board)
        cache_path.write_text(json.dumps(cache, indent=1) + "\n")
    else:
        log("   (measured before: same model bytes)")
    return cache[key]


def measure(tflite: Path, d: Path, board: str) -> dict:
    """Accuracy, weight flash, arena, instructions and exactness of one integer .tflite."""
    from tinyq.bench import bench
    from tinyq.boards import load_board
    from tinyq.encode.apply import weight_report
    from tinyq.kernel_select import board_isa
    from tinyq.lower import lower
    from tinyq.planner import plan_memory
    from tinyq.quantize import evaluate
    from tinyq.tflite_reader import read_model
    from tinyq.verify import verify

    t = time.perf_counter()
    accuracy = evaluate(tflite, d / "test_x.npy", d / "test_y.npy", backend="sim").integer_score
    program = lower(read_model(tflite), "auto", None, board_isa(load_board(board)))  # what the compiler stores
    layers = weight_report(program)
    b = bench(tflite, board)
    v = verify(tflite, board, samples=VERIFY_SAMPLES, inputs=d / "verify_x.npy")
    row = {
        "accuracy": accuracy,
        "weight_bytes": sum(w.nbytes for w in layers),
        "int8_weight_bytes": sum(w.int8_bytes for w in layers),
        "encodings": {w.name.split(";")[0]: w.encoding for w in layers},
        "arena_bytes": plan_memory(program).arena_bytes,
        "instructions": b.instructions,
        "bench_weight_bytes": b.flash_bytes["weights"],  # the linked ELF's weight section: a cross-check
        "flash_bytes": b.flash_bytes["total"],
        "exact": v.ok,
        "verify": [f"{c.candidate} vs {c.reference}: {'equal' if c.equal else f'{c.mismatches} different'}"
                   for c in v.comparisons],
    }
    log(f"   measured in {time.perf_counter() - t:.0f} s: accuracy {accuracy:.4f}, weights {row['weight_bytes']:,} B, "
        f"{row['instructions']:,} instructions, exact: {v.ok}")
    return row


def small_layers(keras_path: Path, share: float) -> list[str]:
    """The Keras layers whose kernels hold less than `share` of all kernel weights."""
    import keras

    sizes = {l.name: int(np.prod(l.weights[0].shape)) for l in keras.saving.load_model(keras_path).layers if l.weights}
    return [n for n, k in sizes.items() if k < share * sum(sizes.values())]


def make_variants(d: Path, keras_path: Path, args) -> dict[str, tuple[Path, str]]:
    """Quantize every variant; returns name -> (.tflite, how it was made)."""
    from tinyq.quantize import quantize

    calib = d / "calib.npy"

    def train(epochs):
        return dict(train=d / "train_x.npy", labels=d / "train_y.npy", epochs=epochs, seed=0, progress=False)

    # Layers with under 1 % of the weights (on shapes: the first convolution, with one input channel; the depthwise
    # convolution, 9 weights per channel; the logits) have too few weights per output to average out ternary
    # rounding or 75 % pruning: ternary everywhere loses ~20 points on shapes. They stay dense int8, as ternary and
    # pruned networks usually keep them; together they are 2 % of the weights.
    small = small_layers(keras_path, 0.01)
    kept = ", ".join(small) or "no layer"
    plans = {
        "int8": ("PTQ", dict()),
        "int4": (f"QAT, {args.epochs} epochs", dict(weights="int4", method="qat", **train(args.epochs))),
        "ternary": (f"{args.ternary_method.upper()}, {args.epochs} epochs; {kept} kept int8",
                    dict(weights="ternary", layers={n: "int8" for n in small}, method=args.ternary_method,
                         **train(args.epochs))),
        # pruning needs a longer fine-tune than QAT: the mask ramps up over 3/4 of it
        "sparse": (f"pruned with fine-tuning, {args.sparse_epochs} epochs; {kept} kept dense",
                   dict(weights="int8", sparsity=0.75, layers={n: "int8+sparse0" for n in small}, method="qat",
                        **train(args.sparse_epochs))),
    }
    made = {}
    for name, (how, options) in plans.items():
        t = time.perf_counter()
        out = d / f"{name}.tflite"
        log(f"== {name}: {how}")
        quantize(keras_path, calib, out, **{"progress": False, **options})
        made[name] = (out, f"{how} ({time.perf_counter() - t:.0f} s)")
    made["mixed"] = mixed_variant(d, keras_path, made, args)
    return made


def mixed_variant(d: Path, keras_path: Path, made: dict, args) -> tuple[Path, str]:
    """explore's choice under the mixed goal's weight budget, then fine-tuned with QAT like the int4 row.

    explore searches with PTQ accuracies (its QAT mode fine-tunes every Pareto point: too slow for a demo), on
    data the test split never sees (val_x/y.npy, else the training split). Its flash figure is all constant data
    (weights, biases, requantization parameters); the goal is about weights, so the budget is int8's constant
    data minus the weight bytes the goal takes away.
    """
    from tinyq.encode.apply import weight_report
    from tinyq.explore import explore
    from tinyq.lower import lower
    from tinyq.quantize import quantize
    from tinyq.tflite_reader import read_model

    program = lower(read_model(made["int8"][0]))
    int8_weights = sum(w.int8_bytes for w in weight_report(program))
    budget = program.weight_bytes - int((1 - GOALS["mixed"][1]) * int8_weights)
    val = "val" if (d / "val_x.npy").is_file() else "train"
    t = time.perf_counter()
    log(f"== mixed: tinyq explore, flash budget {budget:,} B (int8: {program.weight_bytes:,} B), {val} data")
    result = explore(keras_path, d / "calib.npy", d / f"{val}_x.npy", d / f"{val}_y.npy", args.board,
                     d / "explore", flash_budget=budget, bench_points=1, progress=False)
    config = {k: v for k, v in result.chosen.config.items() if v != "int8"}
    log(f"   {result.message}")
    out = d / "mixed.tflite"
    quantize(keras_path, d / "calib.npy", out, layers=config, method="qat", train=d / "train_x.npy",
             labels=d / "train_y.npy", epochs=args.epochs, seed=0, progress=False)
    spec = ", ".join(f"{k}={v}" for k, v in config.items()) or "int8 everywhere"
    return out, (f"tinyq explore (PTQ search on {val} data, weight budget {GOALS['mixed'][1]:g}x int8) chose {spec} "
                 f"(PTQ {100 * result.chosen.accuracy:.2f}% there); then QAT, {args.epochs} epochs "
                 f"({time.perf_counter() - t:.0f} s)")


def table(name: str, float_acc: float, rows: dict, made: dict, samples: int, board: str) -> str:
    int8 = rows["int8"]
    lines = [f"{name}: {samples:,} held-out images; integer accuracy from tinyq's simulator, instructions per "
             f"inference on {board} (QEMU, exact count)", "",
             "| variant | accuracy | vs float | weight flash | vs int8 | RAM (arena) | instructions | vs int8 | exact | goal |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| float32 (Keras) | {100 * float_acc:.2f}% | | {4 * int8['int8_weight_bytes']:,} B | 4.00x | | | | | |"]
    for key, label in (("int8", "int8"), ("int4", "int4"), ("ternary", "ternary"), ("mixed", "mixed (explore)"),
                       ("sparse", "75 % sparse + int8")):
        r = rows[key]
        drop = 100 * (r["accuracy"] - float_acc)
        flash = r["weight_bytes"] / int8["weight_bytes"]
        goal = ""
        if key in GOALS:
            max_drop, max_flash = GOALS[key]
            ok = -drop <= max_drop and (max_flash is None or flash <= max_flash)
            goal = f"{'PASS' if ok else 'MISS'} (>= -{max_drop:g} pts" + (f", <= {max_flash:g}x" if max_flash else "") + ")"
        r["goal"] = goal
        lines.append(f"| {label} | {100 * r['accuracy']:.2f}% | {drop:+.2f} | {r['weight_bytes']:,} B | {flash:.2f}x | "
                     f"{r['arena_bytes']:,} B | {r['instructions']:,} | {r['instructions'] / int8['instructions']:.2f}x | "
                     f"{'yes' if r['exact'] else 'NO'} | {goal} |")
    lines += ["", "How each variant was made:"] + [f"- {k}: {made[k][1]}" for k in ("int8", "int4", "ternary", "mixed", "sparse")]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir", type=Path, help="what the example's train.py wrote (e.g. build/shapes)")
    ap.add_argument("--board", default="mps2-an386", help="emulated board for instructions and verify")
    ap.add_argument("--epochs", type=int, default=10, help="QAT fine-tuning epochs (default 10)")
    ap.add_argument("--sparse-epochs", type=int, default=20, help="pruning fine-tuning epochs (default 20)")
    ap.add_argument("--ternary-method", choices=("qat", "admm"), default="qat")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    d = args.build_dir
    keras_path = next(iter(sorted(d.glob("*.keras"))), None)
    if keras_path is None:
        raise SystemExit(f"tradeoff: no .keras model in {d}; run the example's train.py first")
    test_x, test_y = np.load(d / "test_x.npy"), np.load(d / "test_y.npy")
    np.save(d / "verify_x.npy", test_x[:VERIFY_SAMPLES])  # real images for verify, beside its random ones

    start = time.perf_counter()
    float_acc = float_accuracy(keras_path, test_x, test_y)
    made = make_variants(d, keras_path, args)
    rows = {}
    for key, (path, _) in made.items():
        log(f"== measuring {key} ({path})")
        rows[key] = measure_cached(path, d, args.board)
    text = table(keras_path.stem, float_acc, rows, made, len(test_y), args.board)
    minutes = (time.perf_counter() - start) / 60
    print(text + f"\n\n({minutes:.1f} min for this table)")
    (d / "tradeoff.md").write_text(text + "\n")
    (d / "tradeoff.json").write_text(json.dumps(
        {"model": str(keras_path), "board": args.board, "float_accuracy": float_acc,
         "variants": {k: {"tflite": str(made[k][0]), "how": made[k][1], **rows[k]} for k in rows}}, indent=2) + "\n")
    bad = [k for k, r in rows.items() if not r["exact"]]
    if bad:
        print(f"tradeoff: NOT bit-exact: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
