"""A Keras 3 model rebuilt as a tf_keras model, for tensorflow-model-optimization (which only knows tf_keras).

Consumes a loaded Keras 3 model (Sequential or Functional); produces the same graph of tf_keras layers with the
same names and weights. Layers are re-created from their Keras 3 config, keeping only the arguments tf_keras
accepts; initializers, regularizers and constraints are dropped (the weights are copied, and regularization does
not carry over to fine-tuning). Only SUPPORTED_LAYERS are rebuilt: those that tfmot's default 8-bit scheme
quantizes and that TFLite runs in int8 (each one is in tests/quantize/test_qat.py; tfmot 0.8.1 has no 1-D
convolution or pooling). Must run in a process started with TF_USE_LEGACY_KERAS=1.
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
)
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
