"""LOGISTIC and TANH: TFLM == simulator == host C, exactly.

Converter-built models (tf.nn.sigmoid / tf.nn.tanh, int8 and 16x8) over shapes and input ranges, plus
hand-built one-op models fed EVERY input value (all 256 int8 codes, all 65536 int16 codes) over a grid of
input scales and zero points: tiny scales (nothing saturates), large ones (most inputs beyond the radius),
the power-of-two int16 scales TFLM special-cases, and the largest int16 scale it accepts. Also: the int16
sigmoid table read out of TFLM (tinyq.lower.tflm_tables) and its probe, the dtln LOGISTIC and the refusals.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.ops.oplib import OpSpec, check_exact, check_model, convert_function, lowering_error, ops_model

ALL_S8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
ALL_S16 = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 65536)
OUTPUT_S8 = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}

CONVERTED = [
    # (opcode, shape, int16, lo, hi)
    ("LOGISTIC", (64,), False, -1.0, 1.0),
    ("LOGISTIC", (4, 33), False, -8.0, 8.0),
    ("LOGISTIC", (2, 3, 5), False, -3.0, 12.0),
    ("LOGISTIC", (16,), True, -6.0, 6.0),
    ("LOGISTIC", (3, 40), True, -0.2, 0.2),
    ("TANH", (64,), False, -0.5, 0.5),
    ("TANH", (4, 33), False, -5.0, 5.0),
    ("TANH", (2, 3, 5), False, -30.0, 1.0),
    ("TANH", (16,), True, -3.0, 3.0),
    ("TANH", (3, 40), True, -10.0, 10.0),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CONVERTED, ids=[str(c) for c in CONVERTED])
def test_converted(case):
    import tensorflow as tf

    opcode, shape, int16, lo, hi = case
    fn = tf.nn.sigmoid if opcode == "LOGISTIC" else tf.nn.tanh
    tfl = convert_function(lambda x: fn(x), [shape], seed=len(str(case)), int16=int16, lo=lo, hi=hi)
    check_model(tfl, n=40, seed=7, expect_ops=[opcode])


S8_SCALES = [1e-4, 0.003, 1 / 32, 0.0387753, 0.25, 1.0, 3.0, 20.0]  # 20: radius 0, every input saturates
S8_ZERO_POINTS = [-128, -2, 0, 101, 127]


@pytest.mark.slow
@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
def test_s8_every_input(opcode):
    """All 256 int8 codes for every (input scale, zero point) of the grid, side by side in one model."""
    out_scale, out_zp = OUTPUT_S8[opcode]
    specs = [OpSpec(opcode, (256,), "int8", scale, zp, "int8", out_scale, out_zp)
             for scale in S8_SCALES for zp in S8_ZERO_POINTS]
    check_exact(specs, [ALL_S8] * len(specs), [f"tq_{opcode.lower()}_s8"] * len(specs))


# 2^-12 (and 2^-11 for TANH) take TFLM's power-of-two path; 32767/12288 is the largest accepted scale
S16_SCALES = [2.0**-12, 2.0**-11, 2.0**-10, 1e-5, 6 / 32767, 3.05185e-4, 0.001, 0.0123, 0.3, 32767 / 12288]


@pytest.mark.slow
@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
def test_s16_every_input(opcode):
    """All 65536 int16 codes for every input scale of the grid."""
    specs = [OpSpec(opcode, (65536,), "int16", scale, 0, "int16", 2.0**-15, 0) for scale in S16_SCALES]
    check_exact(specs, [ALL_S16] * len(specs), [f"tq_{opcode.lower()}_s16"] * len(specs))


def test_power_of_two_scales_fold_to_integer_multiplier():
    """TFLM's Eval turns input_multiplier == 0 into 3 << input_left_shift; tinyq does it on the host."""
    from tinyq.lower import lower
    from tinyq.tflite_reader import read_model

    def call(opcode, scale):
        spec = OpSpec(opcode, (4,), "int16", scale, 0, "int16", 2.0**-15, 0)
        c = lower(read_model(ops_model([spec]))).calls[0]
        return c.input_multiplier, c.input_right_shift

    assert call("LOGISTIC", 2.0**-12) == (3, 0)
    assert call("TANH", 2.0**-11) == (6, 0)
    multiplier, right_shift = call("LOGISTIC", 2.0**-11)  # not a POT case for LOGISTIC
    assert 16384 <= multiplier <= 32767 and right_shift > 0


def test_sigmoid_table_derived_from_tflm():
    """256 non-decreasing uint16 values from sigmoid(0) = 32768, within 2 of 65536 sigmoid(k/24); cached, read-only."""
    from tinyq.lower.tflm_tables import sigmoid_table_uint16

    table = sigmoid_table_uint16()
    assert table.dtype == np.uint16 and table.shape == (256,)
    assert table[0] == 32768
    assert np.all(np.diff(table.astype(np.int64)) >= 0)
    curve = np.minimum(65536 / (1 + np.exp(-np.arange(256) / 24)), 65535)
    assert np.max(np.abs(table - curve)) < 2
    assert sigmoid_table_uint16() is table and not table.flags.writeable


def test_sigmoid_probe_is_consistent():
    """The probe relies on TFLM rescaling x to exactly 2x (tinyq's lowering agrees: 16384 >> 13); on every
    probe input TFLM == simulator == host C with the derived table; perturbed probe outputs are refused."""
    from tinyq.errors import MismatchError
    from tinyq.lower import lower, tflm_tables
    from tinyq.tflite_reader import read_model

    calls = lower(read_model(tflm_tables.probe_model())).calls
    assert [(c.kernel, c.input_multiplier, c.input_right_shift) for c in calls] == [
        ("tq_tanh_s16", 16384, 13), ("tq_logistic_s16", 16384, 13)]

    x = np.arange(tflm_tables.PROBE_COUNT, dtype=np.int16).reshape(1, -1)
    specs = [OpSpec(opcode, x.shape[1:], "int16", tflm_tables.PROBE_INPUT_SCALE, 0, "int16", 2.0**-15, 0)
             for opcode in ("TANH", "LOGISTIC")]
    check_exact(specs, [x, x], ["tq_tanh_s16", "tq_logistic_s16"])

    tanh_out, logistic_out = tflm_tables._run_probe()
    np.testing.assert_array_equal(tflm_tables._solve(tanh_out), tflm_tables.sigmoid_table_uint16())
    # an entry (zero fraction), a fraction inside the table, the last fraction that pins entry 255
    for at in (128 * 100, 128 * 100 + 37, tflm_tables.PROBE_COUNT - 129):
        bad = tanh_out.copy()
        bad[at] += 1
        with pytest.raises(MismatchError, match="sigmoid table"):
            tflm_tables._check(tflm_tables._solve(bad), bad, logistic_out)
    bad = logistic_out.copy()
    bad[5000] -= 1
    with pytest.raises(MismatchError, match="LOGISTIC"):
        tflm_tables._check(tflm_tables._solve(tanh_out), tanh_out, bad)


def test_dtln_logistic(shared_models):
    """The dtln LOGISTIC lowers, and a replica with its quantization is exact on every int8 input."""
    from tinyq.lower import support_error
    from tinyq.tflite_reader import read_model

    graph = read_model(shared_models / "tflm_dtln_noise_suppression_int8.tflite")
    specs = []
    for op in graph.ops:
        if op.opcode == "LOGISTIC":
            assert support_error(graph, op) is None
            inp, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
            specs.append(OpSpec("LOGISTIC", (256,), inp.dtype, inp.scale, inp.zero_point, out.dtype, out.scale,
                                out.zero_point))
    assert specs
    check_exact(specs, [ALL_S8] * len(specs), ["tq_logistic_s8"] * len(specs))


@pytest.mark.parametrize("opcode, dtype, in_scale, in_zp, out_scale, out_zp, what", [
    ("LOGISTIC", "int8", 0.1, 0, 1 / 256, 0, "zero point -128"),
    ("LOGISTIC", "int8", 0.1, 0, 1 / 128, -128, "must have scale 0.00390625"),
    ("TANH", "int8", 0.1, 0, 1 / 128, -128, "zero point 0"),
    ("LOGISTIC", "int16", 0.001, 3, 2.0**-15, 0, "zero point 0"),
    ("TANH", "int16", 3.0, 0, 2.0**-15, 0, "too large"),
    ("TANH", "int16", 0.001, 0, 1 / 30000, 0, "must be 2^-15"),
])
def test_refused(opcode, dtype, in_scale, in_zp, out_scale, out_zp, what):
    message = lowering_error(OpSpec(opcode, (8,), dtype, in_scale, in_zp, dtype, out_scale, out_zp))
    assert opcode in message and what in message, message
