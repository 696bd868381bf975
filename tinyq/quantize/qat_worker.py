"""Quantization-aware training, run in its own process: job JSON -> integer .tflite file + result JSON.

tfmot needs tf_keras, and TensorFlow picks Keras 3 or tf_keras at its first import, so tinyq.quantize.qat starts
`python -m tinyq.quantize.qat_worker JOB.json` with TF_USE_LEGACY_KERAS=1. The worker loads the Keras 3 model,
rebuilds it in tf_keras (rebuild.py), wraps it with tfmot's default 8-bit scheme, fine-tunes it on the training
data, and converts it with the same converter settings as PTQ. A TinyqError becomes {"error": message} in the
result file; any other failure {"internal": message}.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from tinyq.errors import QuantizationError, TinyqError
from tinyq.quantize.convert import error_summary

_REBUILD_TOLERANCE = 1e-4  # relative: the tf_keras copy must compute what the Keras 3 model computes


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    try:
        result = run_job(job)
    except TinyqError as exc:
        result = {"error": str(exc)}
    except Exception as exc:  # a bug in tinyq: one line for the user, the traceback with TINYQ_DEBUG set
        if os.environ.get("TINYQ_DEBUG"):
            traceback.print_exc()
        result = {"internal": f"{type(exc).__name__}: {exc}"}
    Path(job["result"]).write_text(json.dumps(result))
    return 0


def run_job(job: dict) -> dict:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np

    from tinyq.quantize.convert import convert, quiet_stderr

    with quiet_stderr():  # TensorFlow's C++ log lines at import and at its first device probe
        import tensorflow as tf
        import tensorflow_model_optimization as tfmot

        tf.config.list_physical_devices()
    from tinyq.quantize.data import load_labels, load_samples
    from tinyq.quantize.float_model import load_float_model
    from tinyq.quantize.ptq import finish, representative_dataset
    from tinyq.quantize.rebuild import rebuild

    float_model = load_float_model(job["model"])
    where = float_model.where
    if float_model.keras is None:
        raise QuantizationError(f"{where}: QAT needs a Keras model (.keras or .h5), not a SavedModel")
    train = load_samples(job["train_x"], float_model.specs, "training data", tuple(job["image_range"]))
    labels = load_labels(job["train_y"], train.count, "training labels")
    calibration = train
    if job.get("calibration"):
        calibration = load_samples(job["calibration"], float_model.specs, "calibration data", tuple(job["image_range"]))

    tf.keras.utils.set_random_seed(job["seed"])
    tf.config.experimental.enable_op_determinism()
    model = rebuild(float_model.keras, where)
    xs = train.materialize()
    probe = [x[:8] for x in xs]
    want = float_model.predict(probe)
    got = model.predict(probe if len(probe) > 1 else probe[0], verbose=0)
    got = got if isinstance(got, list) else [got]
    for w, g in zip(want, got):
        if np.max(np.abs(w - g)) > _REBUILD_TOLERANCE * max(1.0, float(np.max(np.abs(w)))):
            raise QuantizationError(
                f"{where}: the tf_keras copy of the model computes something else; QAT cannot use it"
            )
    try:
        qmodel = tfmot.quantization.keras.quantize_model(model)
    except Exception as exc:  # tfmot raises RuntimeError/ValueError naming the layer
        raise QuantizationError(f"{where}: tfmot cannot quantize the model ({error_summary(exc)})") from None
    loss, metrics = training_loss(float_model, labels)
    qmodel.compile(optimizer=tf.keras.optimizers.Adam(job["learning_rate"]), loss=loss, metrics=metrics)
    start = time.perf_counter()
    history = qmodel.fit(
        xs if len(xs) > 1 else xs[0],
        labels,
        batch_size=job["batch_size"],
        epochs=job["epochs"],
        shuffle=True,
        verbose=0,
        callbacks=[_progress_callback(tf, job["epochs"], job["progress"])],
    )
    train_seconds = time.perf_counter() - start

    def call(*tensors):
        out = qmodel(list(tensors) if len(tensors) > 1 else tensors[0], training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    start = time.perf_counter()
    with quiet_stderr() as terminal:
        tflite = convert(
            call,
            [(s.name, shape) for s, shape in zip(train.specs, train.shapes)],
            representative_dataset(calibration, job["progress"], terminal),
            activations="int8",
            io=job["io"],
            where=where,
            trackable=qmodel,
        )
    convert_seconds = time.perf_counter() - start
    finish(tflite, [layer.name for layer in float_model.layers], "int8", where, job["out"])
    return {
        "train_seconds": train_seconds,
        "convert_seconds": convert_seconds,
        "loss": float(history.history["loss"][-1]),
        "samples": train.count,
    }


def training_loss(float_model, labels):
    """Loss and metrics for fine-tuning: cross-entropy for class labels (from logits unless the model ends in a
    softmax/sigmoid), mean squared error for float targets."""
    import numpy as np
    import tensorflow as tf

    out_layer = float_model.keras.get_layer(float_model.output_layers[0])
    config = out_layer.get_config()
    probabilities = type(out_layer).__name__ == "Softmax" or config.get("activation") in ("softmax", "sigmoid")
    units = int(float_model.keras.outputs[0].shape[-1] or 1)
    onehot = labels.ndim == 2 and labels.shape[1] == units > 1 and bool(np.all((labels == 0) | (labels == 1)))
    if labels.dtype.kind in "iub" and units == 1:
        return tf.keras.losses.BinaryCrossentropy(from_logits=not probabilities), ["accuracy"]
    if labels.dtype.kind in "iub":
        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=not probabilities), ["accuracy"]
    if onehot:
        return tf.keras.losses.CategoricalCrossentropy(from_logits=not probabilities), ["accuracy"]
    return tf.keras.losses.MeanSquaredError(), []


def _progress_callback(tf, epochs: int, enabled: bool):
    from tqdm import tqdm

    class Progress(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, desc="QAT", unit="epoch", file=sys.stderr, disable=not enabled)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return Progress()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
