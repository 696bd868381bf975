"""Encodings that cannot hold a tensor exactly are refused with one line saying why; bad names are refused."""
from __future__ import annotations

import numpy as np
import pytest

from tinyq.encode import EncodingError, analyze, encode, parse_encoding, rows_view
from tinyq.errors import UnsupportedError


def _refused(rows, axis, name) -> str:
    with pytest.raises(EncodingError) as info:
        encode(np.asarray(rows, np.int8), axis, name)
    text = str(info.value)
    assert "\n" not in text and text
    return text


def test_int4_refuses_9():
    msg = _refused([[1, 2, 9]], 0, "int4")
    assert "int4 cannot store 9" in msg and "row 0, element 2" in msg and "[-8, 7]" in msg


def test_int1_holds_only_minus_one_and_zero():
    assert np.array_equal(encode(np.array([[-1, 0, -1]], np.int8), 0, "int1").decode(), [[-1, 0, -1]])
    assert "int1 cannot store 1" in _refused([[0, 1]], 0, "int1")


def test_ternary_refuses_two_magnitudes_in_a_channel():
    msg = _refused([[3, 0, -3], [5, -2, 0]], 0, "ternary")
    assert "channel 1 has magnitudes 5 and 2" in msg and "row 1, element 1" in msg
    # depthwise: the channel is the element index, so these rows are fine per channel ...
    assert encode(np.array([[3, 5], [-3, 0]], np.int8), 1, "ternary").magnitude.tolist() == [3, 5]
    # ... and the same data is two magnitudes per channel when the row is the channel
    assert "channel 0" in _refused([[3, 5], [-3, 0]], 0, "ternary")


def test_ternary_and_binary_refuse_minus_128():
    assert "-128" in _refused([[-128, 0]], 0, "ternary")
    assert "-128" in _refused([[-128, -128]], 0, "binary")


def test_binary_refuses_zero():
    assert "binary cannot store 0" in _refused([[4, -4, 0]], 0, "binary")


def test_nm_refuses_three_nonzeros_in_a_group_of_four():
    msg = _refused([[1, 0, 0, 2, 3, 4, 0, 5]], 0, "sparse2:4")
    assert "row 0, elements 4…7 hold 3 nonzeros" in msg and "keeps 2 of every 4" in msg


def test_nm_refuses_a_length_that_is_not_a_multiple_of_m():
    assert "multiple of 4" in _refused([[1, 0, 0, 0, 0, 0]], 0, "sparse2:4")


def test_nm_binary_refuses_a_group_that_needs_a_padding_zero():
    assert "binary cannot store 0" in _refused([[1, 0, 0, 0, 1, -1, 0, 0]], 0, "sparse2:4+binary")
    assert encode(np.array([[1, 0, 0, -1]], np.int8), 0, "sparse2:4+binary").decode().tolist() == [[1, 0, 0, -1]]


def test_codebook_2_refuses_five_levels():
    msg = _refused([[1, 2, 3, 4, 5]], 0, "codebook:2")
    assert "codebook:2 holds 4 values per table" in msg and "5 distinct" in msg


def test_codebook_is_per_tensor_when_it_fits_else_per_channel():
    rows = np.array([[1, 2, 3, 4], [-1, -2, -3, -4]], np.int8)
    per_tensor = encode(rows, 0, "codebook:3")
    assert per_tensor.table.tolist() == [-4, -3, -2, -1, 1, 2, 3, 4]
    per_channel = encode(rows, 0, "codebook:2")
    assert per_channel.table.tolist() == [[1, 2, 3, 4], [-4, -3, -2, -1]]
    assert encode(rows, 1, "codebook:1").table.shape == (4, 2)  # depthwise: one table per element column
    padded = encode(np.array([[7, -7, 7]], np.int8), 0, "codebook:3")
    assert padded.table.tolist() == [-7, 7, 0, 0, 0, 0, 0, 0]  # unused entries are 0


def test_sparse_value_encoding_refusal_names_the_element():
    assert "row 1, element 2" in _refused([[0, 0, 0], [0, 0, 100]], 0, "sparse+int7")


@pytest.mark.parametrize("rows,axis", [(np.zeros((2, 3), np.int16), 0), (np.zeros(5, np.int8), 0),
                                       (np.zeros((2, 3), np.int8), 2)])
def test_bad_arguments(rows, axis):
    with pytest.raises(EncodingError):
        encode(rows, axis, "int8")


def test_rows_view_refusals():
    with pytest.raises(EncodingError, match="only int8"):
        rows_view(np.zeros((2, 2), np.int16), "FULLY_CONNECTED")
    with pytest.raises(EncodingError, match="ADD"):
        rows_view(np.zeros((2, 2), np.int8), "ADD")
    with pytest.raises(EncodingError, match=r"\[1, KH, KW, C·M\]"):
        rows_view(np.zeros((2, 3, 3, 4), np.int8), "DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("text,norm", [
    ("int8", "int8"), ("INT4", "int4"), (" int1 ", "int1"), ("ternary", "ternary"), ("binary", "binary"),
    ("codebook:7", "codebook:7"), ("sparse", "sparse+int8"), ("sparse+int3", "sparse+int3"),
    ("sparse2:4", "sparse2:4+int8"), ("Sparse1:8+Ternary", "sparse1:8+ternary"), ("block4", "block4+int8"),
    ("block3+codebook:2", "block3+codebook:2"), ("auto", "auto"), ("AUTO", "auto"),
])
def test_names_normalize(text, norm):
    assert parse_encoding(text) == norm


@pytest.mark.parametrize("text", [
    "", "int0", "int9", "int16", "int08", "codebook", "codebook:0", "codebook:8", "codebook16", "ternary+int4",
    "sparse+", "sparse+sparse", "sparse+auto", "sparse2:3", "sparse4:4", "sparse0:4", "sparse2:512", "block1",
    "block300", "block", "sparse2:4+int8+int4", "foo", "int 4", None, 4,
])
def test_bad_names_are_refused_with_the_valid_forms(text):
    with pytest.raises(EncodingError) as info:
        parse_encoding(text)
    msg = str(info.value)
    assert isinstance(info.value, UnsupportedError) and "\n" not in msg
    assert f"bad weight encoding {str(text)!r}" in msg and "valid forms: int8, int1…int7, ternary" in msg
    with pytest.raises(EncodingError):
        encode(np.zeros((1, 4), np.int8), 0, text)


def test_analyze():
    rows = np.array([[0, 3, -3, 0], [5, 0, 0, -5], [0, 0, 0, 0]], np.int8)
    s = analyze(rows, 0)
    assert (s.rows, s.length, s.channels, s.levels, s.channel_levels, s.min, s.max) == (3, 4, 3, 5, 3, -5, 5)
    assert s.zeros == 8 and s.sparsity == pytest.approx(8 / 12) and s.int_bits == 4
    assert s.ternary_channel and not s.ternary_tensor and not s.binary_channel and s.nm_2_4
    assert (s.codebook_bits_tensor, s.codebook_bits_channel) == (3, 2)
    assert "5 levels" in s.describe()
    d = analyze(np.array([[4, -4], [4, 4]], np.int8), 1)
    assert d.binary_tensor and d.binary_channel and d.int_bits == 4 and not d.nm_2_4
    assert analyze(np.array([[-1, 0]], np.int8), 0).int_bits == 1
    assert analyze(np.array([[-128, 127]], np.int8), 0).int_bits == 8
