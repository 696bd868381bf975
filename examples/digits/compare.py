"""Quantize the trained digits example every way tinyq can and compare: accuracy, size, quantization time.

Consumes OUT_DIR as written by train.py; writes int8.tflite, int16.tflite, int8_float_io.tflite, qat_int8.tflite
and float32.tflite (the unquantized reference, for size only) there, and prints a Markdown table.

    python examples/digits/compare.py [OUT_DIR] [--backend sim|tflm]
"""

import argparse
import sys
import time
from pathlib import Path


def float_tflite(keras_path: Path) -> bytes:
    """The float32 TFLite model (no quantization): the size baseline."""
    import contextlib
    import io

    import keras
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras.saving.load_model(keras_path))
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints its SavedModel export summary
        return converter.convert()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="build/digits", type=Path)
    parser.add_argument("--backend", choices=("sim", "tflm"), default="sim", help="runs the integer models")
    args = parser.parse_args(argv)
    d = args.out_dir
    from tinyq.quantize import evaluate, qat, quantize

    model, calib = d / "digits.keras", d / "calib.npy"
    variants = []
    start = time.perf_counter()
    variants.append(
        ("PTQ int8", quantize(model, calib, d / "int8.tflite", progress=False), time.perf_counter() - start)
    )
    start = time.perf_counter()
    result = quantize(model, calib, d / "int16.tflite", activations="int16", progress=False)
    variants.append(("PTQ 16x8 (int16 activations)", result, time.perf_counter() - start))
    start = time.perf_counter()
    result = quantize(model, calib, d / "int8_float_io.tflite", io="float32", progress=False)
    variants.append(("PTQ int8, float32 I/O", result, time.perf_counter() - start))
    start = time.perf_counter()
    result = qat(model, d / "train_x.npy", d / "train_y.npy", d / "qat_int8.tflite", calibration=calib, progress=False)
    variants.append(("QAT int8 (5 epochs)", result, time.perf_counter() - start))
    float_bytes = float_tflite(model)
    (d / "float32.tflite").write_bytes(float_bytes)

    rows = []
    float_score = None
    for name, result, wall in variants:
        report = evaluate(result.tflite, d / "test_x.npy", d / "test_y.npy", float_model=model, backend=args.backend)
        float_score = report.float_score
        worst = report.worst_layer
        rows.append(
            f"| {name} | {100 * report.integer_score:.2f}% | {100 * (report.integer_score - float_score):+.2f} | "
            f"{result.size:,} | {result.seconds:.2f} s | {wall:.2f} s | {worst.layer} {worst.layer_db:.1f} dB |"
        )
    print(f"digits: {report.samples} held-out images; integer models run by {args.backend}\n")
    print("| model | accuracy | vs float (points) | .tflite bytes | convert | quantize() wall | worst layer |")
    print("|---|---|---|---|---|---|---|")
    print(f"| float32 (Keras) | {100 * float_score:.2f}% | | {len(float_bytes):,} (float32 .tflite) | | | |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
