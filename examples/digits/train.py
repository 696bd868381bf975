"""Train the bundled digits example: a small CNN on scikit-learn's 8x8 handwritten digits.

Consumes nothing (the data set ships with scikit-learn); produces, in OUT_DIR (default build/digits):
    digits.keras               the float Keras model
    calib.npy                  256 training images for post-training calibration (float32, N x 8 x 8 x 1, in [0, 1])
    train_x.npy, train_y.npy   the training split (for `tinyq quantize --qat`)
    test_x.npy, test_y.npy     the held-out split (for `tinyq evaluate`)
Deterministic: fixed split, Keras/NumPy/TF seeds and op determinism, so two runs write the same model.

    python examples/digits/train.py [OUT_DIR] [--epochs N]
"""

import argparse
import sys
import time
from pathlib import Path

SEED = 0
CALIBRATION_SAMPLES = 256


def load_split():
    """Return (train_x, train_y, test_x, test_y): images scaled to [0, 1] as float32 N x 8 x 8 x 1, labels int64."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=0.2, random_state=SEED, stratify=labels
    )
    return train_x, train_y, test_x, test_y


def build_model():
    """Conv2D-relu -> DepthwiseConv2D-relu -> 1x1 Conv2D-relu -> max pool -> Dense -> softmax (5,994 parameters)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1), name="image"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dwconv"),
            layers.Conv2D(32, 1, activation="relu", name="pointwise"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="logits"),
            layers.Softmax(name="softmax"),
        ],
        name="digits",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir", nargs="?", default="build/digits", type=Path, help="where to write (default: build/digits)"
    )
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    args = parser.parse_args(argv)

    from tinyq.quantize.tf_quiet import load_tensorflow

    load_tensorflow()  # quietly: TensorFlow's C++ runtime logs on stderr as it loads
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    train_x, train_y, test_x, test_y = load_split()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train_x, train_y, batch_size=32, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(test_x, test_y, verbose=0)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save(args.out_dir / "digits.keras")
    np.save(args.out_dir / "calib.npy", train_x[:CALIBRATION_SAMPLES])
    np.save(args.out_dir / "train_x.npy", train_x)
    np.save(args.out_dir / "train_y.npy", train_y)
    np.save(args.out_dir / "test_x.npy", test_x)
    np.save(args.out_dir / "test_y.npy", test_y)
    print(
        f"trained {model.count_params()} parameters in {seconds:.1f} s ({args.epochs} epochs, {len(train_x)} images); "
        f"float test accuracy {accuracy:.4f} on {len(test_x)} images; wrote {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
