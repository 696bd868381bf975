"""TFLite INT4 models written by ai-edge-quantizer (Google), the way a user makes them: a float Keras model,
converted to a float .tflite by TensorFlow's converter, then quantized with ai-edge-quantizer's static
recipe (`min_max_uniform_quantize`, int8 activations) with 4-bit symmetric per-channel weights for the ops
named. DEPTHWISE_CONV_2D stays at 8 bits: ai-edge-quantizer leaves it float at 4 (it then has no integer
kernel), so the recipe gives it 8-bit weights."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np


def _op_config(weight_bits: int) -> dict:
    return dict(activation_tensor_config=dict(num_bits=8, symmetric=False, granularity="TENSORWISE", dtype="INT"),
                weight_tensor_config=dict(num_bits=weight_bits, symmetric=True, granularity="CHANNELWISE", dtype="INT"),
                compute_precision="INTEGER", explicit_dequantize=False, skip_checks=False, min_weight_elements=0)


def static_int4_recipe(int4_ops=("CONV_2D", "FULLY_CONNECTED")) -> list[dict]:
    """Every op at int8 weights and activations, the ops named at int4 weights (later rules win)."""
    rule = dict(regex=".*", operation="*", algorithm_key="min_max_uniform_quantize", op_config=_op_config(8))
    return [rule] + [dict(copy.deepcopy(rule), operation=op, op_config=_op_config(4)) for op in int4_ops]


def _keras(kind: str):
    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(7)
    if kind == "mlp":
        inp = keras.Input((40,), batch_size=1)
        x = keras.layers.Dense(64, activation="relu")(inp)
        x = keras.layers.Dense(33, activation="relu")(x)  # the last layer then has rows of odd length (33)
        out = keras.layers.Dense(10)(x)
    else:  # a small CNN; "cnn" ends in a dense layer, "convnet" is convolutions only
        inp = keras.Input((12, 10, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(16, 1, activation="relu")(x)
        if kind == "cnn":
            x = keras.layers.Flatten()(x)
            out = keras.layers.Dense(10)(x)
        else:
            out = keras.layers.Conv2D(6, 3, strides=2, padding="valid")(x)
    return keras.Model(inp, out)


def make(kind: str, directory: Path) -> Path:
    """Write `<kind>_w4a8.tflite` (kind: mlp, cnn, convnet) into directory and return its path."""
    import tensorflow as tf
    from ai_edge_quantizer import quantizer

    model = _keras(kind)
    float_path = directory / f"{kind}_float.tflite"
    float_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    q = quantizer.Quantizer(str(float_path))
    q.load_quantization_recipe(static_int4_recipe())
    rng = np.random.default_rng(3)
    shape = (1, *model.input.shape[1:])
    name = _input_name(float_path)
    calibration = {"serving_default": [{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(32)]}
    out = directory / f"{kind}_w4a8.tflite"
    out.write_bytes(q.quantize(q.calibrate(calibration)).quantized_model)
    return out


def _input_name(path: Path) -> str:
    """The serving signature's input name (the key ai-edge-quantizer's calibration data uses)."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    (name,) = runner.get_input_details().keys()
    return name
