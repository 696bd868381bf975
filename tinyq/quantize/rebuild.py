"""A Keras 3 model rebuilt as a tf_keras model, for tensorflow-model-optimization (which only knows tf_keras).

Consumes a loaded Keras 3 model (Sequential or Functional); produces the same graph of tf_keras layers with the
same names and weights. Layers are re-created from their Keras 3 config, keeping only the arguments tf_keras
accepts; initializers, regularizers and constraints are dropped (the weights are copied, and regularization does
not carry over to fine-tuning). Only SUPPORTED_LAYERS are rebuilt: those that tfmot's default 8-bit scheme
quantizes and that TFLite runs in int8 (each one is in tests/quantize/test_qat.py). tfmot 0.8.1 has no Conv1D,
MaxPooling1D or UpSampling1D: each becomes its 2-D twin on a height-1 image between two Reshapes (the same
arithmetic; the converter makes RESHAPE, CONV_2D, RESHAPE of it, as it makes EXPAND_DIMS/CONV_2D/SQUEEZE of a
float Conv1D). Must run in a process started with TF_USE_LEGACY_KERAS=1.
"""

from __future__ import annotations

import inspect

from tinyq.errors import QuantizationError
from tinyq.quantize.float_model import graph_calls

SUPPORTED_LAYERS = (
    "InputLayer",
    "Conv2D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Dense",
    "BatchNormalization",
    "ReLU",
    "Activation",
    "Softmax",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Reshape",
    "Dropout",
    "ZeroPadding2D",
    "UpSampling2D",
    "Add",
    "Concatenate",
    "Conv1D",
    "MaxPooling1D",
    "UpSampling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "ZeroPadding1D",
)
_AS_2D = ("Conv1D", "MaxPooling1D", "UpSampling1D")  # rebuilt as their 2-D twin on a height-1 image
_DROPPED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def rebuild(model3, where: str):
    """Return a tf_keras.Model equivalent to the Keras 3 model `model3` (same layer names and weights)."""
    import keras
    import tensorflow as tf

    if not tf.keras.__name__.startswith("tf_keras"):
        raise QuantizationError("QAT needs tf_keras: start the process with TF_USE_LEGACY_KERAS=1")
    unsupported = sorted(
        {
            f"'{layer.name}' ({type(layer).__name__})"
            for layer in model3.layers
            if type(layer).__name__ not in SUPPORTED_LAYERS
        }
    )
    if unsupported:
        raise QuantizationError(
            f"{where}: QAT cannot rebuild layer {', '.join(unsupported)}; supported layer types: "
            f"{', '.join(SUPPORTED_LAYERS)}"
        )
    tensors: dict[int, object] = {}  # id(Keras 3 symbolic tensor) -> tf_keras tensor
    inputs = []
    for t in model3.inputs:
        layer3 = t._keras_history[0]
        x = tf.keras.Input(shape=tuple(t.shape)[1:], name=layer3.name)
        tensors[id(t)] = x
        inputs.append(x)

    def lookup(value):
        if isinstance(value, keras.KerasTensor):
            if id(value) not in tensors:
                raise QuantizationError(f"{where}: QAT cannot follow the graph (a layer reads a tensor made elsewhere)")
            return tensors[id(value)]
        return value

    calls = graph_calls(model3)
    called = {layer.name for layer, _ in calls}
    skipped = [f"'{layer.name}'" for layer in model3.layers if layer.name not in called]
    if skipped:
        raise QuantizationError(
            f"{where}: QAT cannot rebuild layer {', '.join(skipped)} "
            "(called more than once, or off the path to the outputs)"
        )
    for layer3, node in calls:
        kind = type(layer3).__name__
        if kind == "InputLayer":
            continue
        args = keras.tree.map_structure(lookup, node.arguments.args)
        kwargs = {k: keras.tree.map_structure(lookup, v) for k, v in node.arguments.kwargs.items() if v is not None}
        if kind in _AS_2D:
            outs = [_as_2d(tf.keras.layers, layer3, kind, args[0], tuple(node.output_tensors[0].shape)[1:], where)]
        else:
            layer2 = _tf_keras_layer(tf.keras.layers, layer3, kind)
            out = layer2(*args, **kwargs)
            layer2.set_weights(layer3.get_weights())
            outs = out if isinstance(out, (list, tuple)) else [out]
        for t3, t2 in zip(node.output_tensors, outs):
            tensors[id(t3)] = t2
    outputs = [lookup(t) for t in model3.outputs]
    return tf.keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=model3.name)


def _tf_keras_layer(tf_layers, layer3, kind: str):
    cls = getattr(tf_layers, kind)
    accepted = set(inspect.signature(cls.__init__).parameters) | {"name", "trainable"}
    config = {
        k: v
        for k, v in layer3.get_config().items()
        if k in accepted and k != "dtype" and not k.endswith(_DROPPED_SUFFIXES)
    }
    if isinstance(config.get("activation"), dict):
        raise QuantizationError(f"layer '{layer3.name}': QAT cannot rebuild a custom activation")
    return cls(**config)


def _as_2d(tf_layers, layer3, kind: str, x, out_shape: tuple, where: str):
    """The 1-D layer as Reshape (1, T, C) -> its 2-D twin (named as the layer, so reports still match it) ->
    Reshape to the layer's own output shape."""
    config = layer3.get_config()
    name = layer3.name
    if None in tuple(x.shape)[1:] or None in out_shape:
        raise QuantizationError(f"{where}: QAT needs a fixed length at layer '{name}' ({kind})")
    if config.get("data_format", "channels_last") != "channels_last":
        raise QuantizationError(f"{where}: layer '{name}' ({kind}): QAT supports channels_last only")
    h = tf_layers.Reshape((1, *tuple(x.shape)[1:]), name=f"{name}_as_2d")(x)
    if kind == "Conv1D":
        if config.get("groups", 1) != 1:
            raise QuantizationError(f"{where}: layer '{name}' (Conv1D): QAT does not support groups > 1")
        if isinstance(config.get("activation"), dict):
            raise QuantizationError(f"layer '{name}': QAT cannot rebuild a custom activation")
        (k,), (s,), (d,) = config["kernel_size"], config["strides"], config["dilation_rate"]
        padding = config["padding"]
        if padding == "causal":  # left padding by the receptive field, then a valid convolution
            h = tf_layers.ZeroPadding2D(((0, 0), ((k - 1) * d, 0)), name=f"{name}_causal_pad")(h)
            padding = "valid"
        layer2 = tf_layers.Conv2D(config["filters"], (1, k), strides=(1, s), padding=padding, dilation_rate=(1, d),
                                  activation=config["activation"], use_bias=config["use_bias"], name=name)
        h = layer2(h)
        weights = layer3.get_weights()
        layer2.set_weights([weights[0][None], *weights[1:]])  # kernel (k, C, F) -> (1, k, C, F)
    elif kind == "MaxPooling1D":
        (p,), (s,) = config["pool_size"], config["strides"]
        h = tf_layers.MaxPooling2D((1, p), strides=(1, s), padding=config["padding"], name=name)(h)
    else:  # UpSampling1D: each step repeated `size` times
        h = tf_layers.UpSampling2D((1, config["size"]), name=name)(h)
    return tf_layers.Reshape(out_shape, name=f"{name}_as_1d")(h)
