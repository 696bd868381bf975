"""docs/SUPPORTED_OPS.md is generated from the lowering registry and must not be stale."""
from pathlib import Path

from tinyq.support import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "SUPPORTED_OPS.md"


def test_supported_ops_doc_is_current():
    assert DOC.read_text() == render(), "docs/SUPPORTED_OPS.md is stale: run `make docs`"


def test_every_issue_op_is_documented():
    text = DOC.read_text()
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "SUB",
               "MUL", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "RESHAPE",
               "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PAD", "MEAN", "TRANSPOSE", "STRIDED_SLICE", "MAXIMUM",
               "MINIMUM", "QUANTIZE", "DEQUANTIZE"):
        assert f"| {op} |" in text, op
