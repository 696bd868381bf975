"""Issue 13's 16x8 goal: a 16x8 conv, depthwise or FC layer within 1.3x the instructions of the int8 kernel
on the same layer. A DS-CNN (MLPerf KWS's layer shapes: a 10x4 stride-2 first conv, 3x3 depthwise + 64x64
pointwise blocks, a dense head) with seeded random weights is quantized twice from the same float model and
calibration set, int8 and 16x8 (int16 activations, int8 weights), and both are benched on the board unpatched
(--patch off: the two models' calls pair up one to one; the 16x8 model was otherwise run in bands); each
layer's 16x8 instructions and estimated cycles are divided by the int8 layer's. Exact instruction counts on
the emulated board; nothing is timed.

    python benchmarks/s16_ratio.py [--board mps2-an386] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tinyq.bench import bench  # noqa: E402

GOAL = 1.3


def ds_cnn():
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((49, 10, 1)), keras.layers.Conv2D(64, (10, 4), strides=2, padding="same", activation="relu")]
    for _ in range(2):
        layers += [keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
                   keras.layers.Conv2D(64, 1, activation="relu")]
    layers += [keras.layers.AveragePooling2D((25, 5)), keras.layers.Flatten(), keras.layers.Dense(12)]
    return keras.Sequential(layers)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--json")
    args = ap.parse_args()
    from tinyq.quantize.pipeline import quantize

    calibration = np.random.default_rng(0).standard_normal((32, 49, 10, 1)).astype(np.float32)
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = ds_cnn()
        for activations in ("int8", "int16"):
            path = Path(tmp) / f"{activations}.tflite"
            quantize(model, calibration, path, activations=activations, progress=False)
            reports[activations] = bench(path, args.board, work_dir=Path(tmp) / activations, patch="off")
    print(f"board {args.board}: 16x8 / int8 per layer (goal <= {GOAL}x on conv, depthwise and FC)")
    print(f"{'call':>4} {'op':<18} {'int8 kernel':<34} {'16x8 kernel':<34} {'int8 instr':>11} {'16x8 instr':>11}"
          f" {'ratio':>6} {'cycles':>6} met")
    rows = []
    for a, b in zip(reports["int8"].layers, reports["int16"].layers):
        if a.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        ratio, cycles = b.instructions / a.instructions, b.cycles / a.cycles
        met = ratio <= GOAL and cycles <= GOAL
        rows.append({"call": a.call, "op": a.op, "int8_kernel": a.kernel, "s16_kernel": b.kernel,
                     "int8_instructions": a.instructions, "s16_instructions": b.instructions,
                     "ratio": round(ratio, 3), "cycles_ratio": round(cycles, 3), "met": met})
        print(f"{a.call:>4} {a.op:<18} {a.kernel:<34} {b.kernel:<34} {a.instructions:>11,} {b.instructions:>11,}"
              f" {ratio:>6.2f} {cycles:>6.2f} {'yes' if met else 'no'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"board": args.board, "goal": GOAL, "layers": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
