"""Quantization front end: float Keras models -> fully-integer TFLite, and how much precision that cost.

    quantize(model, calibration, out=None, *, activations="int8", io=None) -> QuantizeResult   (ptq.py)
    qat(model, train_x, train_y, out=None, *, epochs=5, ...) -> QuantizeResult                  (qat.py)
    evaluate(model_tflite, data, labels=None, *, float_model=None, backend="sim") -> Report     (report.py)
TensorFlow is imported only by the functions that need it.
"""

from tinyq.quantize.ptq import QuantizeResult, quantize
from tinyq.quantize.qat import qat
from tinyq.quantize.report import LayerError, Report, evaluate

__all__ = ["LayerError", "QuantizeResult", "Report", "evaluate", "qat", "quantize"]
