"""`tinyq.quantize.quantize`: a float Keras model -> a fully-integer .tflite, with per-layer weight specs.

    specs   resolve --weights / --layer / --sparsity against the model        (lowbit/plan.py)
    train   qat | admm fine-tune the low-bit or pruned layers in Keras 3        (lowbit/train.py)
            (method qat with plain int8 everywhere is tfmot's 8-bit QAT: qat.py)
    convert TensorFlow's converter, int8 or 16x8; mixed int8/int16 per layer   (convert.py, mixed.py)
    rewrite the converted int8 weights take each spec's levels                 (lowbit/rewrite.py)
    check   the model is fully integer                                          (integer_check.py)

The result is always a standard integer .tflite: low-bit levels sit in int8 containers that TFLM runs as they are,
so TFLM stays the reference, and tinyq's encoder packs them when it compiles the model.
"""
from __future__ import annotations

import time
from pathlib import Path

from tinyq.errors import InputError, QuantizationError
from tinyq.quantize.convert import check_options, convert, quiet_stderr
from tinyq.quantize.data import load_labels, load_samples
from tinyq.quantize.float_model import load_float_model
from tinyq.quantize.lowbit import plan as plans
from tinyq.quantize.ptq import QuantizeResult, finish, representative_dataset

METHODS = ("ptq", "qat", "admm")


def quantize(
    model,
    calibration=None,
    out: str | Path | None = None,
    *,
    activations: str = "int8",
    io: str | None = None,
    weights="int8",
    layers=None,
    sparsity=None,
    method: str = "ptq",
    train=None,
    labels=None,
    epochs: int = 5,
    batch_size: int = 32,
    learning_rate: float | None = None,
    seed: int = 0,
    progress: bool = True,
    image_range: tuple[float, float] = (0.0, 1.0),
) -> QuantizeResult:
    """Quantize `model` (.keras/.h5 path, SavedModel dir or keras.Model).

    weights: spec for every layer with weights ("int8", "int4", "ternary", "codebook:16", "po2", "int4/int16");
    layers: {layer name: spec} (or ["NAME=SPEC", ...]) for single layers; sparsity: 0.75, "75%" or "2:4".
    method: "ptq" (calibration only), "qat" (fake-quantized fine-tuning) or "admm" (ADMM fine-tuning), both with
    train/labels; calibration defaults to the training data for them. Writes `out` when given.
    """
    if method not in METHODS:
        raise InputError(f"method '{method}': expected one of {', '.join(METHODS)}")
    io = check_options(activations, io)
    weights, layers, sparsity = plans.parse_options(weights, layers, sparsity)  # bad strings fail before TF loads
    trains = method != "ptq"
    if trains and (train is None or labels is None):
        raise InputError(f"--method {method} needs training data: --train X.npy and --labels Y.npy")
    if not trains and calibration is None:
        raise InputError("quantize needs --calibration DATA (or --method qat with --train and --labels)")
    float_model = load_float_model(model)
    where = float_model.where
    names = [layer.name for layer in float_model.layers]
    if float_model.keras is None and (not weights.plain_int8 or layers or sparsity or trains):
        raise QuantizationError(f"{where}: per-layer specs and training need a Keras model (.keras or .h5)")
    specs = plans.resolve(float_model.layers, weights, layers, sparsity, where) if float_model.keras else {}
    if activations == "int16":
        specs = {n: type(s)(s.weights, "int16", s.sparsity) for n, s in specs.items()}
    int16 = plans.int16_layers(specs)
    mixed = bool(int16) and len(int16) < len(specs)
    low_bit = any(not s.plain_int8 for s in specs.values())
    if trains and not low_bit and not int16 and method == "qat":
        from tinyq.quantize.qat import qat  # plain int8 everywhere: tfmot's 8-bit QAT (activations too)

        return qat(model, train, labels, out, epochs=epochs, batch_size=batch_size,
                   learning_rate=learning_rate or 1e-4, calibration=calibration, io=io, seed=seed,
                   progress=progress, image_range=image_range)

    start = time.perf_counter()
    levels = {}
    samples_used = 0
    if trains:
        float_model, levels, samples_used = _train(float_model, specs, method, train, labels, epochs, batch_size,
                                                   learning_rate, seed, progress, image_range)
    samples = load_samples(calibration if calibration is not None else train, float_model.specs,
                           "calibration data", image_range)
    samples_used = samples_used or samples.count
    with quiet_stderr() as terminal:
        if mixed:
            from tinyq.quantize.mixed import convert_mixed

            if io == "uint8":
                raise QuantizationError("--io uint8 goes with int8 activations; int16 layers (SPEC/int16) need "
                                        "int8, int16 or float32 edges")
            tflite = convert_mixed(float_model, samples, int16, io if io != "int16" else "int8", progress, where)
        else:
            tflite = convert(
                float_model.call,
                [(spec.name, shape) for spec, shape in zip(samples.specs, samples.shapes)],
                representative_dataset(samples, progress, terminal),
                activations="int16" if int16 else activations,
                io=io if not int16 or io == "float32" else "int16",
                where=where,
                trackable=float_model.trackable,
            )
    from tinyq.quantize.lowbit.rewrite import apply_specs

    tflite, rewritten = apply_specs(tflite, specs, names, levels, where)
    seconds = time.perf_counter() - start
    acts = "mixed" if mixed else ("int16" if int16 else "int8")
    finish(tflite, names, "int8/int16" if mixed else acts, where, out)
    return QuantizeResult(tflite, seconds, acts, io, samples_used, method=method,
                          config=plans.describe(specs), layers=tuple(rewritten))


def _train(float_model, specs, method, train, labels, epochs, batch_size, learning_rate, seed, progress,
           image_range):
    """Fine-tune a copy of the Keras model; returns (its FloatModel, trained levels per low-bit layer, samples)."""
    import keras

    from tinyq.quantize.lowbit.train import train_lowbit
    from tinyq.quantize.qat_worker import training_loss

    if epochs < 1 or batch_size < 1 or not (learning_rate is None or learning_rate > 0):
        raise QuantizationError("training needs epochs >= 1, batch size >= 1 and a positive learning rate")
    xs = load_samples(train, float_model.specs, "training data", image_range)
    ys = load_labels(labels, xs.count, "training labels")
    copy = keras.models.clone_model(float_model.keras)
    copy.set_weights(float_model.keras.get_weights())
    trained = load_float_model(copy)
    trained.where = float_model.where
    loss, metrics = training_loss(float_model, ys)
    trainable = {n: s for n, s in specs.items() if not s.plain_int8}
    if method == "qat" and all(s.weights.int8 for s in trainable.values()):
        method = "prune"  # int8 + sparsity: fine-tune under the masks, the converter rounds to int8
    result = train_lowbit(copy, trainable, xs.materialize(), ys, method=method, loss=loss, metrics=metrics,
                          epochs=epochs, batch_size=batch_size, learning_rate=learning_rate or 1e-3, seed=seed,
                          progress=progress)
    levels = {n: v for n, v in result.levels.items() if not specs[n].weights.int8}
    return trained, levels, xs.count
