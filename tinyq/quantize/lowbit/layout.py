"""Where a Keras kernel's weights sit in the TFLite tensor the converter makes of it, as channel matrices.

A channel matrix is [C, n]: one row per output channel (the quantized dimension), in the element order of the
TFLite tensor. Keras keeps the output channel last (Conv1D/Conv2D [.., Cin, Cout], Dense [in, out], DepthwiseConv2D
[KH, KW, Cin, M] with channel c·M + m), and the converter moves it first (CONV_2D [Cout, KH, KW, Cin],
FULLY_CONNECTED [out, in]) or keeps it last (DEPTHWISE_CONV_2D [1, KH, KW, C·M]) without reordering the rest, so
`kernel.reshape(-1, C).T` is the matrix in both worlds.
"""
from __future__ import annotations

import numpy as np

# Keras layer classes with one kernel that becomes one CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weight tensor
WEIGHT_LAYERS = {"Dense": "FULLY_CONNECTED", "Conv1D": "CONV_2D", "Conv2D": "CONV_2D",
                 "DepthwiseConv1D": "DEPTHWISE_CONV_2D", "DepthwiseConv2D": "DEPTHWISE_CONV_2D"}
TFLITE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def keras_channels(kernel: np.ndarray, depthwise: bool = False) -> np.ndarray:
    """Keras kernel -> channel matrix [C, n]; C is the last axis, or Cin·M for a depthwise kernel [.., Cin, M]."""
    k = np.asarray(kernel)
    c = k.shape[-2] * k.shape[-1] if depthwise else k.shape[-1]
    return k.reshape(-1, c).T


def keras_from_channels(matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of keras_channels."""
    return np.asarray(matrix).T.reshape(shape)


def tflite_channels(weights: np.ndarray, op: str, per_channel: bool) -> np.ndarray:
    """TFLite weight tensor -> channel matrix [C, n]; per-tensor weights are one channel [1, size]."""
    w = np.asarray(weights)
    if not per_channel:
        return w.reshape(1, -1)
    if op == "DEPTHWISE_CONV_2D":
        return w.reshape(-1, w.shape[-1]).T
    return w.reshape(w.shape[0], -1)


def tflite_from_channels(matrix: np.ndarray, shape: tuple[int, ...], op: str, per_channel: bool) -> np.ndarray:
    m = np.asarray(matrix)
    if not per_channel:
        return m.reshape(shape)
    if op == "DEPTHWISE_CONV_2D":
        return m.T.reshape(shape)
    return m.reshape(shape)


def rows_of_channels(matrix: np.ndarray, op: str) -> np.ndarray:
    """Channel matrix -> the encoder's rows (tinyq.encode.rows_view): depthwise rows are taps across channels."""
    return matrix.T if op == "DEPTHWISE_CONV_2D" else matrix


def channels_of_rows(rows: np.ndarray, op: str) -> np.ndarray:
    return rows.T if op == "DEPTHWISE_CONV_2D" else rows
