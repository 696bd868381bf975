"""Train the cheap level of the levels example: one Dense layer on the 8x8 digits (650 parameters).

Same input (8x8x1 image) and output (10 softmax scores) as the digits CNN, so the two can be levels of one image;
about 13x fewer multiply-accumulates. Writes OUT_DIR/tiny.keras (default build/levels). Deterministic.

    python examples/levels/train_tiny.py [OUT_DIR] [--epochs N]
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "digits"))
from train import SEED, load_split  # noqa: E402  (the digits example's split: same train and test images)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", nargs="?", default="build/levels", type=Path)
    ap.add_argument("--epochs", type=int, default=60)
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    train_x, train_y, test_x, test_y = load_split()
    model = keras.Sequential([keras.Input(shape=(8, 8, 1), name="image"), layers.Flatten(name="flatten"),
                              layers.Dense(10, name="logits"), layers.Softmax(name="softmax")], name="tiny")
    # label smoothing keeps the scores below saturation, so that the firmware loop can tell a sure answer from an
    # unsure one by the int8 score's lead (escalate.c)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.3),
                  metrics=["accuracy"])
    onehot = keras.utils.to_categorical
    model.fit(train_x, onehot(train_y, 10), batch_size=32, epochs=args.epochs, verbose=0)
    _, accuracy = model.evaluate(test_x, onehot(test_y, 10), verbose=0)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save(args.out_dir / "tiny.keras")
    print(f"trained {model.count_params()} parameters; float test accuracy {accuracy:.4f}; wrote {args.out_dir}/tiny.keras")
    return 0


if __name__ == "__main__":
    sys.exit(main())
