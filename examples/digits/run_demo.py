"""The main job, end to end, on the bundled digits example (what `make demo` runs).

train a small CNN (scikit-learn digits) -> tinyq quantize (int8) -> tinyq compile for mps2-an386 (Cortex-M4F)
-> tinyq build -> tinyq run on QEMU over the held-out digits -> tinyq verify (TFLM = simulator = host C =
firmware) -> accuracy of the float model, the simulator and the firmware. Every step is the CLI a user
would type; artifacts go to build/digits/. Exits non-zero if any step fails or verify finds a difference.

    python examples/digits/run_demo.py [--board mps2-an386] [--out build/digits]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tinyq.cli import main as tinyq

HERE = Path(__file__).resolve().parent


def step(title: str, argv: list[str]) -> None:
    print(f"\n=== {title}\n$ tinyq {' '.join(argv)}", flush=True)
    t = time.perf_counter()
    status = tinyq(argv)
    if status != 0:
        sys.exit(f"demo: `tinyq {argv[0]}` failed with status {status}")
    print(f"({time.perf_counter() - t:.1f} s)", flush=True)


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float((scores.reshape(len(labels), -1).argmax(axis=1) == labels).mean() * 100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--out", type=Path, default=Path("build/digits"))
    args = ap.parse_args()
    out, board = args.out, args.board
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    print(f"=== 1/7 train the float model -> {out}/digits.keras", flush=True)
    if not (out / "digits.keras").is_file():
        subprocess.run([sys.executable, str(HERE / "train.py"), str(out)], check=True)
    else:
        print("(already trained; delete it to retrain)")
    keras_model, calib = out / "digits.keras", out / "calib.npy"
    test_x, test_y = out / "test_x.npy", out / "test_y.npy"
    int8 = out / "digits_int8.tflite"
    fw = out / f"fw-{board}"

    step("2/7 quantize to a fully-integer int8 model", ["quantize", str(keras_model), "--calibration", str(calib), "--out", str(int8)])
    step(f"3/7 compile to C for {board}", ["compile", str(int8), "--board", board, "--out", str(fw)])
    step("4/7 build the firmware (PlatformIO, arm-none-eabi-gcc)", ["build", str(fw)])
    step(f"5/7 run the held-out digits on {board} (QEMU)", ["run", str(fw), "--input", str(test_x), "--output", str(out / "firmware_scores.npy")])
    step("6/7 the same digits in the bit-exact simulator", ["simulate", str(int8), "--input", str(test_x), "--output", str(out / "sim_scores.npy")])
    step("7/7 verify TFLM runtime = simulator = host C = firmware",
         ["verify", str(int8), "--board", board, "--samples", "20", "--input", str(test_x), "--json", str(out / "verify.json")])

    import keras  # only for the float model's accuracy

    labels = np.load(test_y)
    x = np.load(test_x)
    float_acc = accuracy(keras.saving.load_model(keras_model).predict(x, verbose=0), labels)
    sim_scores, fw_scores = np.load(out / "sim_scores.npy"), np.load(out / "firmware_scores.npy")
    print(f"\n=== accuracy on {len(labels)} held-out digits")
    print(f"  float Keras model       {float_acc:6.2f} %")
    print(f"  int8, simulator         {accuracy(sim_scores, labels):6.2f} %")
    print(f"  int8, firmware ({board}) {accuracy(fw_scores, labels):6.2f} %")
    same = np.array_equal(sim_scores, fw_scores)
    print(f"  firmware scores == simulator scores: {'yes, all ' + str(fw_scores.size) + ' values' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
