"""The `tinyq_method` metadata entry (tinyq/quantize/provenance.py): written once, read back, ignored when odd."""
from pathlib import Path

import numpy as np

from tinyq.quantize.provenance import method_of, with_method
from tinyq.tflite_reader import read_model

AD = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "mlperf_ad_fc_autoencoder_int8.tflite"


def test_method_round_trips_and_leaves_the_model_alone():
    data = AD.read_bytes()
    assert method_of(data) is None
    marked = with_method(with_method(data, "ptq"), "qat")  # a second entry replaces the first
    assert method_of(marked) == "qat"
    a, b = read_model(data), read_model(marked)
    assert [op.opcode for op in a.ops] == [op.opcode for op in b.ops]
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.tensors, b.tensors) if x.data is not None)
    assert a.sha256 != b.sha256  # the file did change


def test_an_odd_entry_says_nothing():
    data = AD.read_bytes()
    assert method_of(with_method(data, "not a word!")) is None
    assert method_of(with_method(data, "x" * 100)) is None
    assert method_of(b"garbage") is None
