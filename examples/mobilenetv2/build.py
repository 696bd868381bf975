"""MobileNetV2-0.35 at 96x96 and 144x144 (inverted residual blocks), built and quantized by the project itself.

    python examples/mobilenetv2/build.py OUT_DIR

Writes OUT_DIR/mobilenetv2_035_{96,144}_int8.tflite: keras.applications.MobileNetV2 (alpha 0.35, 2 logits,
seeded random weights: these models exist to measure memory and speed, not accuracy), fully-integer int8 by
`tinyq.quantize` (post-training, 32 random calibration images in [0, 1]).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SIZES = (96, 144)


def build(out: Path, size: int) -> Path:
    import keras

    from tinyq.quantize import quantize

    keras.utils.set_random_seed(size)
    model = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=0.35, weights=None, classes=2,
                                           classifier_activation=None)  # logits: random weights make a softmax input scale TFLM refuses
    keras_path = out / f"mobilenetv2_035_{size}.keras"
    model.save(keras_path)
    calib = np.random.default_rng(size).random((32, size, size, 3), dtype=np.float32)
    np.save(out / f"calib_{size}.npy", calib)
    tflite = out / f"mobilenetv2_035_{size}_int8.tflite"
    quantize(keras_path, out / f"calib_{size}.npy", tflite, progress=False)
    return tflite


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "build/mobilenetv2")
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        print(f"built {build(out, size)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
