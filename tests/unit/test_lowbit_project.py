"""Low-bit projections, masks and spec strings (tinyq.quantize.lowbit): exact level sets, optimal fits, errors."""
import itertools

import numpy as np
import pytest

from tinyq.errors import InputError
from tinyq.quantize.lowbit.layout import keras_channels, keras_from_channels, tflite_channels
from tinyq.quantize.lowbit.project import fit_scale, project
from tinyq.quantize.lowbit.prune import keep_mask, ramp
from tinyq.quantize.lowbit.spec import (
    LayerSpec, Sparsity, WeightSpec, parse_layer, parse_sparsity, parse_spec, with_sparsity,
)

RNG = np.random.default_rng(7)
W = RNG.standard_normal((6, 40)) * np.array([0.1, 1.0, 3.0, 0.01, 0.5, 2.0])[:, None]


@pytest.mark.parametrize("bits", range(2, 9))
def test_int_k_levels_and_error_not_worse_than_max_scaling(bits):
    levels, scale = project(W, WeightSpec("int", bits))
    qmax = (1 << (bits - 1)) - 1
    assert levels.dtype == np.int8 and np.abs(levels).max() <= qmax
    assert (scale > 0).all()
    naive_s = np.abs(W).max(axis=1) / qmax
    naive = naive_s[:, None] * np.clip(np.round(W / naive_s[:, None]), -qmax, qmax)
    ours = scale[:, None] * levels
    assert (((W - ours) ** 2).sum(axis=1) <= ((W - naive) ** 2).sum(axis=1) + 1e-12).all()


def test_ternary_is_the_least_squares_optimum():
    w = RNG.standard_normal((3, 8))
    levels, scale = project(w, WeightSpec("ternary"))
    assert set(np.unique(levels)) <= {-1, 0, 1}
    for c in range(3):  # brute force over every ternary pattern with its best scale
        best = np.inf
        for pattern in itertools.product((-1, 0, 1), repeat=8):
            q = np.array(pattern, float)
            if not q.any():
                continue
            s = max(w[c] @ q / (q @ q), 0)
            best = min(best, ((w[c] - s * q) ** 2).sum())
        assert ((w[c] - scale[c] * levels[c]) ** 2).sum() == pytest.approx(best, rel=1e-9)


def test_binary_po2_codebook_level_sets():
    b, sb = project(W, WeightSpec("binary"))
    assert set(np.unique(b)) == {-1, 1}
    np.testing.assert_allclose(sb, np.abs(W).mean(axis=1))
    p, _ = project(W, WeightSpec("po2"))
    assert set(np.abs(np.unique(p))) <= {0, 1, 2, 4, 8, 16, 32, 64}
    for k in (2, 4, 16, 100):
        c, _ = project(W, WeightSpec("codebook", levels=k))
        assert len(np.unique(c)) <= k


def test_keep_mask_fraction_and_n_of_m_exact():
    rows = RNG.standard_normal((5, 37))
    keep = keep_mask(rows, Sparsity(fraction=0.75))
    assert ((~keep).sum(axis=1) == int(np.floor(0.75 * 37 + 0.5))).all()
    kept = np.where(keep, np.abs(rows), np.inf).min(axis=1)
    dropped = np.where(~keep, np.abs(rows), -np.inf).max(axis=1)
    assert (dropped <= kept).all()  # the smallest magnitudes go
    keep = keep_mask(rows, Sparsity(n=2, m=4))
    groups = keep[:, :36].reshape(5, 9, 4).sum(axis=2)
    assert (groups == 2).all() and keep[:, 36].all()  # a short last group of 1 keeps it
    levels, _ = project(rows, WeightSpec("int", 4), keep)
    assert (levels[~keep] == 0).all()
    assert ramp(0, 100, 0.75) == 0 and ramp(75, 100, 0.75) == pytest.approx(0.75) and ramp(99, 100, 0.75) == 0.75


def test_fit_scale_recovers_scaled_levels_and_flips_negative_channels():
    levels, scale = project(W, WeightSpec("int", 4))
    factor = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 1.0])  # what batch-norm folding does per channel
    q, s, residual = fit_scale(scale[:, None] * levels * factor[:, None], levels)
    np.testing.assert_allclose(s, scale * np.abs(factor))
    np.testing.assert_array_equal(q, levels * np.sign(factor)[:, None].astype(np.int8))
    assert residual.max() < 1e-12


def test_layouts_match_the_converter():
    conv = RNG.standard_normal((3, 3, 2, 5))  # Keras [KH, KW, Cin, Cout] -> TFLite [Cout, KH, KW, Cin]
    np.testing.assert_array_equal(keras_channels(conv), tflite_channels(conv.transpose(3, 0, 1, 2), "CONV_2D", True))
    dw = RNG.standard_normal((3, 3, 4, 2))  # Keras [KH, KW, Cin, M] -> TFLite [1, KH, KW, Cin*M]
    np.testing.assert_array_equal(keras_channels(dw, depthwise=True),
                                  tflite_channels(dw.reshape(1, 3, 3, 8), "DEPTHWISE_CONV_2D", True))
    np.testing.assert_array_equal(keras_from_channels(keras_channels(conv), conv.shape), conv)


@pytest.mark.parametrize("text, want", [
    ("int4", "int4"), ("INT2", "int2"), ("ternary/int16", "ternary/int16"), ("codebook:16", "codebook:16"),
    ("po2/int8", "po2"), ("binary", "binary")])
def test_spec_names(text, want):
    assert str(parse_spec(text)) == want


@pytest.mark.parametrize("text", ["int1", "int9", "int4/int32", "codebook:1", "codebook:300", "float", "", "int4/"])
def test_bad_specs(text):
    with pytest.raises(InputError, match="--weights"):
        parse_spec(text)


def test_sparsity_and_layer_strings():
    assert parse_sparsity("0.75") == Sparsity(fraction=0.75)
    assert parse_sparsity("75%") == Sparsity(fraction=0.75)
    assert parse_sparsity("2:4") == Sparsity(n=2, m=4)
    assert parse_sparsity("0") is None
    for bad in ("1", "-0.1", "4:2", "0:4", "abc", "2:4:8"):
        with pytest.raises(InputError, match="--sparsity"):
            parse_sparsity(bad)
    assert parse_layer("dense_1=int4/int16") == ("dense_1", LayerSpec(WeightSpec("int", 4), "int16"))
    for bad in ("dense_1", "=int4", "dense_1="):
        with pytest.raises(InputError, match="NAME=SPEC"):
            parse_layer(bad)
    with pytest.raises(InputError, match="no zero level"):
        with_sparsity(parse_spec("binary"), Sparsity(fraction=0.5), "layer 'x'")
