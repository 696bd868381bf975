"""Train the shapes example: a CNN with 32k weights on generated 16x16 images of ten shapes (examples/shapes/data.py).

Consumes nothing (the images are generated from a seed); produces, in OUT_DIR (default build/shapes):
    shapes.keras               the float Keras model
    calib.npy                  256 training images for post-training calibration (float32, N x 16 x 16 x 1, in [0, 1])
    train_x.npy, train_y.npy   the training split (for QAT / pruning fine-tuning and `tinyq explore`)
    val_x.npy, val_y.npy       a validation split (another seed) that `tinyq explore` chooses bit widths on
    test_x.npy, test_y.npy     the held-out split, generated from a different seed
Deterministic: seeded generator, Keras/NumPy/TF seeds and op determinism, so two runs write the same model.

    python examples/shapes/train.py [OUT_DIR] [--epochs N]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import generate  # noqa: E402

SEED = 0
TRAIN, VAL, TEST = 12000, 2000, 3000  # 3000 held out: one standard error of the accuracy is about 0.4 points
CALIBRATION_SAMPLES = 256
BATCH = 128


def build_model():
    """Two 3x3 convolutions with pooling, a depthwise + pointwise block, then a 24-unit hidden Dense layer.

    Most weights sit in `hidden` (1024 x 24) and `conv2`/`pointwise`, so per-layer bit widths matter: that is
    the choice `tinyq explore` makes.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(16, 16, 1), name="image"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dwconv"),
            layers.Conv2D(64, 1, activation="relu", name="pointwise"),
            layers.Flatten(name="flatten"),
            layers.Dense(24, activation="relu", name="hidden"),
            layers.Dense(10, name="logits"),
            layers.Softmax(name="softmax"),
        ],
        name="shapes",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="build/shapes", type=Path, help="where to write (default: build/shapes)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    args = parser.parse_args(argv)

    from tinyq.quantize.tf_quiet import load_tensorflow

    load_tensorflow()  # quietly: TensorFlow's C++ runtime logs on stderr as it loads
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    train_x, train_y = generate(TRAIN, seed=SEED)
    test_x, test_y = generate(TEST, seed=SEED + 1)  # another seed: no image is in both splits
    model = build_model()
    # A high learning rate decayed to zero: fast progress early, a stable model at the end whatever --epochs is.
    schedule = keras.optimizers.schedules.CosineDecay(5e-3, args.epochs * -(-len(train_x) // BATCH))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train_x, train_y, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(test_x, test_y, verbose=0)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save(args.out_dir / "shapes.keras")
    np.save(args.out_dir / "calib.npy", train_x[:CALIBRATION_SAMPLES])
    np.save(args.out_dir / "train_x.npy", train_x)
    np.save(args.out_dir / "train_y.npy", train_y)
    val_x, val_y = generate(VAL, seed=SEED + 2)
    np.save(args.out_dir / "val_x.npy", val_x)
    np.save(args.out_dir / "val_y.npy", val_y)
    np.save(args.out_dir / "test_x.npy", test_x)
    np.save(args.out_dir / "test_y.npy", test_y)
    weights = sum(int(np.prod(w.shape)) for layer in model.layers for w in layer.weights[:1])
    print(
        f"trained {model.count_params()} parameters ({weights} weights) in {seconds:.1f} s ({args.epochs} epochs, "
        f"{len(train_x)} images); float test accuracy {accuracy:.4f} on {len(test_x)} images; wrote {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
