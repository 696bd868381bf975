"""Quantization front end: float Keras models -> fully-integer TFLite, and how much precision that cost.

    quantize(model, calibration, out=None, *, activations, io, weights, layers, sparsity, method, train, labels,
             epochs, ...) -> QuantizeResult                                                     (pipeline.py)
    qat(model, train_x, train_y, out=None, *, epochs=5, ...) -> QuantizeResult                  (qat.py)
    evaluate(model_tflite, data, labels=None, *, float_model=None, backend="sim") -> Report     (report.py)
TensorFlow is imported only by the functions that need it.
"""

from tinyq.quantize.pipeline import quantize
from tinyq.quantize.ptq import QuantizeResult
from tinyq.quantize.qat import qat
from tinyq.quantize.report import LayerError, Report, evaluate

__all__ = ["LayerError", "QuantizeResult", "Report", "evaluate", "qat", "quantize"]
