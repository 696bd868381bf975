"""The 2-bit preparers (tinyq/specialize/lowbit_dsp.py), without firmware: their records, read the way the C
kernels read them (NumPy: the codes each AND isolates, the conv's 4^i-scaled accumulators, acc = f + m (U - 2 S),
then tq_requant_lowbit), give the simulator's integers on int2 and ternary conv and FC layers, with left shifts
(folded into f and m), dead channels, channel counts not a multiple of 4 and tails of 1-3 taps; and they decline
what they cannot prove. The firmware side is tests/firmware/test_int2_fast.py."""
from dataclasses import replace

import numpy as np
import pytest

from tests.ops import test_conv as conv_cases
from tests.ops.oplib import random_inputs
from tests.specialize.test_conv_dsp import patches
from tests.specialize.test_fc_add_dsp import _fc_call
from tinyq.encode import encode
from tinyq.encode.apply import PackedWeights, apply_encodings
from tinyq.program import Program, const_array
from tinyq.sim.fixedpoint import wrap_int32
from tinyq.sim.kernels.fully_connected import fully_connected
from tinyq.sim.run import as_program, run_program
from tinyq.specialize import lowbit_dsp


def requant(acc: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """tq_requant_lowbit in NumPy: acc int64 [..., C] (int32 values), rows [C, 4]."""
    h = (2 * acc * rows[:, 0] + (1 << 31)) >> 32
    return (h + rows[:, 1] + np.where(h < 0, -1, 0) * (rows[:, 3] != 0)) >> rows[:, 2]


def codes(words: np.ndarray) -> np.ndarray:
    """int32 [G, W] words -> uint8 [G, 4 channels, 4W taps] codes, as the ANDs isolate them."""
    b = np.asarray(words, "<i4").view(np.uint8).reshape(words.shape[0], -1)  # [G, taps]
    return np.stack([(b >> (2 * i)) & 3 for i in range(4)], axis=1).astype(np.int64)


def finish(u_sums, s, f, m, rows, offset, lo, hi):
    acc = wrap_int32(f + m * (u_sums - 2 * s[..., None])).astype(np.int64)
    return np.clip(requant(acc, rows) + offset, lo, hi)


def emulate_conv(r, x: np.ndarray) -> np.ndarray:
    """tq_conv1x1_s8_int2_dsp / tq_conv_s8_im2col_int2_dsp in NumPy: x int8 [B, H, W, C]."""
    c, g = r.output_depth, -(-r.output_depth // 4)
    u = codes(np.asarray(r.weights).reshape(g, -1)).reshape(4 * g, -1)
    table = np.asarray(r.rows, np.int64).reshape(g, 24)
    f, m, rows = table[:, :4].reshape(-1), table[:, 4:8].reshape(-1), table[:, 8:].reshape(-1, 4)
    scale = 4 ** (np.arange(4 * g) % 4)
    out = np.empty((x.shape[0], r.output_height, r.output_width, c), np.int64)
    for oy, ox, patch in patches(r, x):
        scaled = (patch @ u.T) * scale  # the accumulators: exact, never wrapped (proved)
        assert (np.abs(scaled) < 2**31).all()
        y = finish(scaled // scale, patch.sum(axis=1), f, m, rows, r.output_offset, r.act_min, r.act_max)
        out[:, oy, ox] = y[:, :c]
    return out.astype(np.int8)


def emulate_fc(r, x: np.ndarray) -> np.ndarray:
    """tq_fully_connected_s8_int2_dsp in NumPy, reading the weights in flash order: x int8 [batches * K]."""
    k, n = r.accum_depth, r.output_depth
    g = -(-n // 4)
    u = codes(r.weights.view("<i4").reshape(g, -1)).reshape(4 * g, -1)
    xs = np.zeros((r.batches, u.shape[1]), np.int64)
    xs[:, :k] = x.reshape(r.batches, k)
    table = np.asarray(r.bias, np.int64).reshape(g, 8)
    rows = np.asarray(r.requant, np.int64).reshape(-1, 4)
    rows = np.tile(rows, (g, 1)) if r.requant_step == 0 else rows
    y = finish(xs @ u.T, xs.sum(axis=1), table[:, :4].reshape(-1), table[:, 4:].reshape(-1), rows,
               r.output_offset, r.act_min, r.act_max)
    return y[:, :n].astype(np.int8).reshape(-1)


def levels(w: np.ndarray, form: str, rng) -> np.ndarray:
    """int8 weights with `form`'s levels: int2 [-2, 1]; ternary {-a, 0, a} with a per row."""
    if form == "int2":
        return np.clip(w, -2, 1).astype(np.int8)
    a = rng.integers(1, 128, (w.shape[0], 1))
    return (np.sign(w) * a).astype(np.int8)


def _fc2(rng, k, n, form, shifts=(-12, -6), **kw):
    """A 2-bit FC call (tq_fully_connected_s8_w2 / _wt) with a dead row, and its int8 weights."""
    call = _fc_call(rng, k, n, per_channel=True, bias_scale=200, **kw)
    w = levels(np.asarray(call.weights), form, rng)
    w[n // 2] = 0
    call = replace(call, shift=const_array(rng.integers(shifts[0], shifts[1], n), np.int32))
    packed = PackedWeights.of(encode(w, 0, form))
    suffix = {"int2": "w2", "ternary": "wt"}[form]
    return replace(call, kernel=f"tq_fully_connected_s8_{suffix}", weights=None, packed=packed), w


@pytest.mark.parametrize("form", ["int2", "ternary"])
@pytest.mark.parametrize("k, n, batches, shifts, act", [
    (36, 9, 1, (-12, -6), (-128, 127)), (9, 6, 2, (0, 6), (0, 127)), (3, 5, 1, (-3, 3), (-128, 127)),
    (64, 4, 1, (-1, 1), (-20, 100)), (6, 3, 3, (-8, -7), (-128, 127)), (1, 1, 2, (2, 3), (-128, 127)),
])
def test_fc_record_equals_simulator(form, k, n, batches, shifts, act):
    rng = np.random.default_rng(k * n + batches)
    call, w = _fc2(rng, k, n, form, shifts, batches=batches, act=act)
    got = lowbit_dsp.prepare_fc(call)
    assert got is not None and got.symbol == lowbit_dsp.FC
    rec = got.call
    assert rec.weights.nbytes == 4 * -(-n // 4) * -(-k // 4)  # 2 bits a (padded) weight
    x = rng.integers(-128, 128, (30, batches * k)).astype(np.int8)
    x[0], x[1] = -128, 127
    want = fully_connected(replace(call, kernel="tq_fully_connected_s8", weights=const_array(w, np.int8),
                                   packed=None), x)
    np.testing.assert_array_equal(np.stack([emulate_fc(rec, xi) for xi in x]), want)


def test_fc_declines_what_it_cannot_prove():
    rng = np.random.default_rng(1)
    call, w = _fc2(rng, 16, 4, "int2")
    assert lowbit_dsp.prepare_fc(call) is not None
    assert lowbit_dsp.prepare_fc(replace(call, acc64=True)) is None
    assert lowbit_dsp.prepare_fc(replace(call, shift=const_array(np.full(4, 31), np.int32))) is None  # 2^31 acc
    assert lowbit_dsp.prepare_fc(replace(call, shift=const_array(np.full(4, -31), np.int32))) is None
    four = replace(call, packed=PackedWeights.of(encode(w, 0, "int4")))
    assert lowbit_dsp.prepare_fc(four) is None  # int4: int4_dsp.py's
    big = replace(call, bias=const_array(np.full(4, 2**29), np.int32), shift=const_array(np.full(4, 1), np.int32))
    assert lowbit_dsp.prepare_fc(big) is None  # 2 acc' = 2^31: no longer exact


def conv_program(case: int, form: str, edit=None) -> Program:
    program = as_program(conv_cases.convert_case(conv_cases.CASES[case]))
    rng = np.random.default_rng(case)
    calls = []
    for call in program.calls:
        call = replace(call, filter=const_array(levels(np.asarray(call.filter).reshape(call.output_depth, -1), form,
                                                       rng).reshape(np.shape(call.filter)), np.int8))
        calls.append(edit(call) if edit else call)
    return apply_encodings(replace(program, calls=tuple(calls)), form)


@pytest.mark.slow  # TensorFlow conversions
@pytest.mark.parametrize("form", ["int2", "ternary"])
@pytest.mark.parametrize("case", [0, 4, 7, 9])
def test_conv_record_equals_simulator(form, case):
    def edit(call):  # a dead channel and left shifts on half the channels
        f = np.array(call.filter)
        f[-1] = 0
        shift = np.array(np.broadcast_to(call.shift, (call.output_depth,)))
        shift[::2] = np.arange(len(shift[::2])) % 3
        return replace(call, filter=const_array(f, np.int8), shift=const_array(shift, np.int32),
                       multiplier=const_array(np.broadcast_to(call.multiplier, (call.output_depth,)), np.int32))

    for program in (conv_program(case, form), conv_program(case, form, edit)):
        (call,) = program.calls
        got = lowbit_dsp.prepare_conv(call)
        assert got is not None
        pointwise = call.filter_height == call.filter_width == 1 and call.pad_height == call.pad_width == 0
        assert got.symbol == (lowbit_dsp.CONV1X1 if pointwise else lowbit_dsp.IM2COL)
        x = random_inputs(program, 6, seed=case)[0]
        x[0], x[1] = -128, 127
        want = run_program(program, [x])[program.outputs[0]]
        np.testing.assert_array_equal(np.stack([emulate_conv(got.call, xi) for xi in x]), want)


def test_conv_scaled_bound_is_proved():
    """Channel 3 of a group accumulates 64 U: a patch of codes 3 (t = 1) longer than 2^31 / (64 * 128 * 3) taps
    could wrap, so it is declined; channel 0's 1 U has room."""
    t = np.ones((4, 87382), np.int8)  # 64 * 128 * 3 * 87382 >= 2^31 > 64 * 128 * 3 * 87381
    assert lowbit_dsp.conv_bound_ok(t[:3]) and not lowbit_dsp.conv_bound_ok(t)
    assert lowbit_dsp.conv_bound_ok(t[:, 1:])
