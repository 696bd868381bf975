"""SOFTMAX: TFLM == simulator == host C, exactly.

Converter-built models (tf.nn.softmax, int8 and 16x8) over shapes and input ranges, plus hand-built
one-op models that reach what the converter never emits: input scales from 1e-5 to 40, beta != 1,
int8 -> int16 output, and structured inputs (every int8 pair, exact ties, rows cut at diff_min, the whole
int16 difference range). Also: the int16 LUTs against the C library's expf, the SOFTMAX of every shared
real model, and the refusals.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

from tests.ops.oplib import OpSpec, check_exact, check_model, convert_function, lowering_error, ops_model

SEED = 20261101


# ---------------------------------------------------------------- structured inputs

def all_int8_pairs() -> np.ndarray:
    """Every (a, b) int8 pair as a depth-2 row: every difference from -255 to 255 against every max."""
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128))
    return np.stack([a, b], -1).reshape(1, 65536, 2).astype(np.int8)


def tie_rows(rng, rows: int, depth: int, dtype) -> np.ndarray:
    """Rows drawn from a few nearby values (many exact ties, several equal maxima), plus all-equal rows."""
    info = np.iinfo(dtype)
    base = rng.integers(info.min + 3, info.max - 3, size=(rows, 1), endpoint=True)
    x = base + rng.integers(-3, 3, size=(rows, depth), endpoint=True)
    x[: rows // 8] = base[: rows // 8]
    return x.astype(dtype)[None]


def int16_sweep(rng, rows: int) -> np.ndarray:
    """Depth-2 rows: every int16 value against the max 32767, then random pairs."""
    x = rng.integers(-32768, 32767, size=(rows, 2), endpoint=True)
    x[:65536, 0] = np.arange(-32768, 32768)
    x[:65536, 1] = 32767
    return x.astype(np.int16)[None]


# ---------------------------------------------------------------- converter-built models

CONVERTED = [
    # (shape, int16, lo, hi)
    ((10,), False, -1.0, 1.0),
    ((3, 10), False, -8.0, 8.0),
    ((2, 4, 7), False, -40.0, 40.0),
    ((1,), False, -1.0, 1.0),
    ((5, 100), False, -0.05, 0.05),
    ((4, 16), False, 0.0, 6.0),
    ((3, 10), True, -1.0, 1.0),
    ((2, 3, 12), True, -20.0, 20.0),
    ((6, 50), True, -0.01, 0.01),
    ((1,), True, -5.0, 5.0),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CONVERTED, ids=[str(c) for c in CONVERTED])
def test_softmax_converted(case):
    import tensorflow as tf

    shape, int16, lo, hi = case
    tfl = convert_function(lambda x: tf.nn.softmax(x), [shape], seed=len(str(case)), int16=int16, lo=lo, hi=hi)
    check_model(tfl, n=40, seed=5, expect_ops=["SOFTMAX"])


# ---------------------------------------------------------------- hand-built: int8 -> int8 / int16

S8_SCALES = [0.001, 0.0123, 0.0625, 0.17185351, 1.0, 4.0, 40.0]  # 40: the multiplier saturates at 2^31 - 1


def s8_spec(shape, scale, zp, beta=1.0, out_dtype="int8") -> OpSpec:
    out_scale, out_zp = (1 / 256, -128) if out_dtype == "int8" else (1 / 65536, -32768)
    return OpSpec("SOFTMAX", shape, "int8", scale, zp, out_dtype, out_scale, out_zp, beta)


@pytest.mark.slow
@pytest.mark.parametrize("beta", [1.0, 0.37, 2.5])
def test_softmax_s8_all_pairs(beta):
    """Every int8 pair, for each input scale: every difference, cut at diff_min or not."""
    specs = [s8_spec((65536, 2), scale, 5, beta) for scale in S8_SCALES]
    check_exact(specs, [all_int8_pairs()] * len(specs), ["tq_softmax_s8"] * len(specs))


@pytest.mark.slow
@pytest.mark.parametrize("depth", [1, 3, 33, 511])
def test_softmax_s8_rows(depth):
    """Ties and random rows (up to 511 values: longer rows can make TFLM abort, see below)."""
    rng = np.random.default_rng(SEED + depth)
    rows = max(8, 4096 // depth)
    scales = [0.003, 0.0625, 0.5, 2.0]
    xs = [np.concatenate([tie_rows(rng, rows, depth, np.int8),
                          rng.integers(-128, 127, size=(3, rows, depth), endpoint=True).astype(np.int8)])
          for _ in scales]
    check_exact([s8_spec((rows, depth), scale, -7) for scale in scales], xs, ["tq_softmax_s8"] * len(scales))


@pytest.mark.slow
def test_softmax_s8_long_rows_saturate():
    """Rows of 512+ nearly equal values push the final shift past 31, where TFLM's TFLITE_CHECK aborts;
    tinyq saturates the shift at 31 (outputs -128 or -127), the same in the simulator and in C."""
    tfl = ops_model([s8_spec((4, 1000), 0.001, 0)])
    x = np.random.default_rng(SEED).integers(-128, 127, size=(2, 4, 1000), endpoint=True).astype(np.int8)
    (got,) = check_model(tfl, inputs=[x], tflm=False)
    assert set(np.unique(got)) <= {-128, -127}


@pytest.mark.slow
def test_softmax_s8_s16():
    rng = np.random.default_rng(SEED)
    scales = [0.0123, 0.06996273, 1.0]
    rows = [np.concatenate([tie_rows(rng, 64, 20, np.int8),
                            rng.integers(-128, 127, size=(2, 64, 20), endpoint=True).astype(np.int8)]) for _ in scales]
    specs = ([s8_spec((65536, 2), scale, 2, out_dtype="int16") for scale in scales]
             + [s8_spec((64, 20), scale, 2, out_dtype="int16") for scale in scales])
    xs = [np.repeat(all_int8_pairs(), 3, axis=0)] * len(scales) + rows
    check_exact(specs, xs, ["tq_softmax_s8_s16"] * len(specs))


# ---------------------------------------------------------------- hand-built: int16

S16_SCALES = [1e-5, 10 / 32767, 0.001, 0.01, 0.1, 1.5]


@pytest.mark.slow
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_softmax_s16_sweep(beta):
    """Every int16 value against the row max, for each input scale."""
    rng = np.random.default_rng(SEED)
    specs = [OpSpec("SOFTMAX", (70000, 2), "int16", scale, 0, "int16", 1 / 32768, 0, beta) for scale in S16_SCALES]
    check_exact(specs, [int16_sweep(rng, 70000) for _ in specs], ["tq_softmax_s16"] * len(specs))


@pytest.mark.slow
@pytest.mark.parametrize("depth", [1, 5, 37, 300])
def test_softmax_s16_rows(depth):
    """Longer rows: the sum of exps, hence the reciprocal LUT input, takes many values."""
    rng = np.random.default_rng(SEED + depth)
    rows = max(8, 8192 // depth)
    specs = [OpSpec("SOFTMAX", (rows, depth), "int16", scale, 0, "int16", 1 / 32768, 0, 1.0) for scale in S16_SCALES]
    xs = [np.concatenate([tie_rows(rng, rows, depth, np.int16),
                          rng.integers(-32768, 32767, size=(2, rows, depth), endpoint=True).astype(np.int16),
                          (rng.integers(-300, 300, size=(1, rows, depth)) + 20000).astype(np.int16)])
          for _ in specs]
    check_exact(specs, xs, ["tq_softmax_s16"] * len(specs))


def test_softmax_luts_match_libm_expf():
    """gen_lut evaluates std::exp(float), i.e. the C library's expf in the TFLM oracle; tinyq rounds a
    double exp to float32 instead (portable, deterministic). The two differ on 1 of the 1025 sample
    points with glibc (a hard-to-round case, glibc being 0.502 ULP), but the int16 LUTs must not."""
    from tinyq.lower.softmax import _expf, gen_lut_s16, softmax_luts

    name = ctypes.util.find_library("m")
    if name is None:
        pytest.skip("no C math library to compare with")
    libm_expf = ctypes.CDLL(name).expf
    libm_expf.restype, libm_expf.argtypes = ctypes.c_float, [ctypes.c_float]
    points = np.float32(-10.0) + np.arange(1025, dtype=np.float32) * np.float32(10.0 / 1024)
    ours = np.array([_expf(p) for p in points], dtype=np.float32).view(np.int32)
    theirs = np.array([libm_expf(float(p)) for p in points], dtype=np.float32).view(np.int32)
    assert np.abs(ours - theirs).max() <= 1  # within one float32 ULP everywhere
    exp_lut, _ = softmax_luts()
    with_libm = gen_lut_s16(lambda v: np.float32(libm_expf(float(v))), -10.0, 0.0, -1.0, 1.0)
    np.testing.assert_array_equal(with_libm, exp_lut)
    assert exp_lut[-1] == 32767  # exp(0) * 2^15, clamped


# ---------------------------------------------------------------- real models and refusals

def test_softmax_real_models(shared_models):
    """Every SOFTMAX in the shared real models lowers, and replicas with the same quantization and beta
    are exact on random rows (int8 -> int8 for the MLPerf models, int8 -> int16 for keyword_scrambled)."""
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    specs, kernels = [], []
    for path in sorted(shared_models.glob("*.tflite")):
        graph = read_model(path)
        for op in graph.ops:
            if op.opcode != "SOFTMAX":
                continue
            assert support_error(graph, op) is None, path.name
            inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
            specs.append(OpSpec("SOFTMAX", (256, inp.shape[-1]), inp.dtype, inp.scale, inp.zero_point, out.dtype,
                                out.scale, out.zero_point, op.option("beta", 1.0)))
            kernels.append("tq_softmax_s8" if out.dtype == "int8" else "tq_softmax_s8_s16")
    assert len(specs) >= 8
    rng = np.random.default_rng(SEED)
    xs = [rng.integers(-128, 127, size=(4, *spec.shape), endpoint=True).astype(np.int8) for spec in specs]
    check_exact(specs, xs, kernels)


@pytest.mark.parametrize("in_dtype, out_dtype, out_scale, out_zp, in_scale, what", [
    ("int8", "int8", 1 / 128, -128, 0.1, "must have scale 0.00390625"),
    ("int8", "int8", 1 / 256, 0, 0.1, "zero point -128"),
    ("int8", "int16", 1 / 32768, 0, 0.1, "zero point -32768"),
    ("int16", "int16", 1 / 32768, -5, 0.1, "zero point 0"),
    ("int16", "int8", 1 / 256, -128, 0.1, "dtype int8; supported: int16"),
    ("int8", "int8", 1 / 256, -128, 1e-9, "too small"),
])
def test_softmax_refused(in_dtype, out_dtype, out_scale, out_zp, in_scale, what):
    message = lowering_error(OpSpec("SOFTMAX", (2, 5), in_dtype, in_scale, 0, out_dtype, out_scale, out_zp, 1.0))
    assert "SOFTMAX" in message and what in message, message
