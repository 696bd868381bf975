"""The preparers of tinyq/specialize/fully_connected_dsp.py and add_dsp.py, without firmware: their records,
read the way the C kernels read them (NumPy), give the simulator's integers; and they decline what they
cannot do exactly. The firmware side is tests/firmware/test_fc_add_fast.py."""
from dataclasses import replace

import numpy as np
import pytest

from tinyq.lower.elementwise import AddSubCall
from tinyq.lower.fully_connected import FullyConnectedCall
from tinyq.program import const_array
from tinyq.quant import quantize_multiplier
from tinyq.sim.fixedpoint import wrap_int32
from tinyq.sim.kernels.elementwise import add_sub
from tinyq.sim.kernels.fully_connected import fully_connected
from tinyq.specialize import add_dsp, fully_connected_dsp
from tinyq.specialize.requant import reference_requant

BASE = dict(layer=0, inputs=(0,), outputs=(1,))


def _fc_call(rng, k, n, batches=2, bias=True, per_channel=False, act=(-128, 127), input_offset=None, bias_scale=3000):
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    c = n if per_channel else 1
    mult = rng.integers(1 << 30, 1 << 31, c).astype(np.int32)
    shift = rng.integers(-12, -6, c).astype(np.int32)
    return FullyConnectedCall(
        kernel="tq_fully_connected_s8", opcode="FULLY_CONNECTED", **BASE,
        batches=batches, accum_depth=k, output_depth=n,
        input_offset=int(rng.integers(-127, 129)) if input_offset is None else input_offset, filter_offset=0,
        output_offset=int(rng.integers(-128, 128)), act_min=act[0], act_max=act[1], per_channel=per_channel, acc64=False,
        weights=const_array(w, np.int8),
        bias=const_array(rng.integers(-bias_scale, bias_scale, n), np.int32) if bias else None,
        multiplier=const_array(mult, np.int32), shift=const_array(shift, np.int32))


def _run_interleaved(rec, x):
    """tq_fully_connected_s8_interleaved_dsp in NumPy, reading the weights in the kernel's flash order."""
    k, n = rec.accum_depth, rec.output_depth
    g, c = -(-n // 4), -(-k // 4)
    words = rec.weights.reshape(g, c, 4, 4).astype(np.int64)  # [group, chunk, row, byte]
    rows = x.reshape(-1, k).astype(np.int64)
    xp = np.zeros((len(rows), 4 * c), np.int64)
    xp[:, :k] = rows
    acc = np.einsum("bcj,gcrj->bgr", xp.reshape(-1, c, 4), words).reshape(len(rows), 4 * g) + rec.bias
    rq = rec.requant if rec.requant_step else np.tile(rec.requant, (g, 1))
    y = reference_requant(wrap_int32(acc), rq) + rec.output_offset
    return np.clip(y, rec.act_min, rec.act_max)[:, :n].astype(np.int8).reshape(x.shape[0], -1)


@pytest.mark.parametrize("k, n, batches, bias, per_channel, act", [
    (37, 5, 3, True, False, (-128, 127)), (5, 64, 1, True, True, (-20, 127)), (64, 1, 2, False, False, (-128, 127)),
    (1, 3, 4, True, True, (-128, 50)), (3, 16, 1, False, True, (-128, 127)), (640, 128, 1, True, False, (-128, 127)),
    (2, 6, 5, True, False, (0, 127)), (7, 2, 2, False, False, (-128, 127)),
])
def test_fc_record_equals_simulator(k, n, batches, bias, per_channel, act):
    rng = np.random.default_rng(k * 1000 + n)
    call = _fc_call(rng, k, n, batches, bias, per_channel, act)
    got = fully_connected_dsp.prepare(call)
    assert got is not None and got.symbol == "tq_fully_connected_s8_interleaved_dsp"
    rec = got.call
    assert (rec.kernel, rec.layer, rec.opcode, rec.inputs, rec.outputs) == (call.kernel, 0, call.opcode, (0,), (1,))
    assert rec.weights.dtype == np.int8 and rec.weights.shape == (4 * -(-n // 4), 4 * -(-k // 4))
    assert rec.requant_step == (12 if per_channel else 0)
    x = rng.integers(-128, 128, (30, batches * k)).astype(np.int8)
    x[0], x[1] = -128, 127  # the extremes of the proved bound
    np.testing.assert_array_equal(_run_interleaved(rec, x), fully_connected(call, x))


def _run_x16(rec, x):
    """tq_fully_connected_s8_wide_x16_dsp in NumPy: the weights read in its order (per group and chunk the rows'
    even words, then their odd words), sums 2 * acc from the doubled weights and biases, tq_requant_fast2 with the
    output offset folded into the rows, SSAT 8, the clamp."""
    k, n = rec.accum_depth, rec.output_depth
    g, c = -(-n // 4), -(-k // 4)
    lanes = rec.weights.reshape(g, c, 2, 4, 2).astype(np.int64)  # [group, chunk, even/odd word, row, lane]
    w = np.stack([lanes[:, :, 0, :, 0], lanes[:, :, 1, :, 0], lanes[:, :, 0, :, 1], lanes[:, :, 1, :, 1]], axis=-1)
    rows = x.reshape(-1, k).astype(np.int64)
    xp = np.zeros((len(rows), 4 * c), np.int64)
    xp[:, :k] = rows
    acc2 = wrap_int32(np.einsum("bcj,gcrj->bgr", xp.reshape(-1, c, 4), w).reshape(len(rows), 4 * g) + rec.bias)
    rq = np.tile(rec.requant, (4 * g, 1)) if rec.shared else rec.requant
    m, r, sh = (rq[:, i].astype(np.int64) for i in range(3))
    y = (((acc2 * m + 2**31) >> 32) + r + (acc2 >> 31)) >> sh  # SMMLAR, the sign term, the shift
    return np.clip(np.clip(y, -128, 127), rec.act_min, rec.act_max)[:, :n].astype(np.int8).reshape(x.shape[0], -1)


@pytest.mark.parametrize("k, n, batches, bias, per_channel, act", [
    (37, 5, 3, True, False, (-128, 127)), (5, 64, 1, True, True, (-20, 127)), (64, 1, 2, False, False, (-128, 127)),
    (1, 3, 4, True, True, (-128, 50)), (3, 16, 1, False, True, (-128, 127)), (640, 128, 1, True, False, (-128, 127)),
    (2, 6, 5, True, False, (0, 127)), (7, 2, 2, False, False, (-128, 127)),
])
def test_fc_x16_record_equals_simulator(k, n, batches, bias, per_channel, act, monkeypatch):
    monkeypatch.setattr(fully_connected_dsp, "x16_pays", lambda chunks, groups: True)  # the small shapes too
    rng = np.random.default_rng(k * 1000 + n)
    call = _fc_call(rng, k, n, batches, bias, per_channel, act)
    got = fully_connected_dsp.prepare_x16(call)
    assert got is not None and got.symbol == "tq_fully_connected_s8_wide_x16_dsp"
    rec = got.call
    assert rec.weights.dtype == np.int16 and rec.weights.shape == (4 * -(-n // 4), 4 * -(-k // 4))
    assert rec.scratch_bytes() == 8 * -(-k // 4) + 4 and rec.shared == (0 if per_channel else 1)
    x = rng.integers(-128, 128, (30, batches * k)).astype(np.int8)
    x[0], x[1] = -128, 127  # the extremes of the proved bound
    np.testing.assert_array_equal(_run_x16(rec, x), fully_connected(call, x))


def test_x16_pays_where_the_m4_model_says():
    assert fully_connected_dsp.x16_pays(160, 32) and fully_connected_dsp.x16_pays(32, 160)  # AD's 640x128, 128x640
    assert fully_connected_dsp.x16_pays(2, 32)  # AD's 8 -> 128
    assert not fully_connected_dsp.x16_pays(32, 2)  # AD's 128 -> 8: the widening does not pay back
    assert not any(fully_connected_dsp.x16_pays(c, g) for c, g in ((16, 3), (64, 1), (16, 3)))  # KWS, VWW, IC
    assert not fully_connected_dsp.x16_pays(1, 4) and not fully_connected_dsp.x16_pays(4, 4)  # hello world


def test_x16_declines_an_offset_that_does_not_fold():
    call = _fc_call(np.random.default_rng(2), 64, 32)
    assert fully_connected_dsp.prepare_x16(call) is not None
    assert fully_connected_dsp.prepare_x16(replace(call, acc64=True)) is None
    shift = const_array([-30], np.int32)  # offset * 2^30 leaves int32: the wide kernel adds the offset instead
    assert fully_connected_dsp.prepare_x16(replace(call, shift=shift, output_offset=100)) is None


def test_interleave_layout():
    w = np.arange(5 * 6).reshape(5, 6).astype(np.int8)
    words = fully_connected_dsp.interleave(w).reshape(2, 2, 4, 4)  # [group, chunk, row, byte]
    assert words[0, 0, 1].tolist() == w[1, :4].tolist()
    assert words[0, 1, 2].tolist() == w[2, 4:].tolist() + [0, 0]  # inputs padded with zeros
    assert words[1, 1, 0].tolist() == w[4, 4:].tolist() + [0, 0]
    assert not words[1, :, 1:].any()  # rows padded with zeros


def test_fc_declines():
    rng = np.random.default_rng(1)
    call = _fc_call(rng, 16, 8)
    assert fully_connected_dsp.prepare(replace(call, acc64=True)) is None
    assert fully_connected_dsp.prepare(replace(call, filter_offset=3)) is None
    bias = np.array(call.bias)
    bias[3] = 2**30 - 100  # |accumulator| may reach 2^30: tq_requant_fast is not proved exact
    big = replace(call, bias=const_array(bias, np.int32))
    assert fully_connected_dsp.prepare(big) is None
    left = replace(call, shift=const_array([1], np.int32))  # a left shift: not tq_requant_fast's form
    assert fully_connected_dsp.prepare(left) is None


def _add_call(s1, z1, s2, z2, so, zo, n=65536, act=(-128, 127), kernel="tq_add_s8", **loops):
    twice = 2 * max(s1, s2)
    (m1, sh1), (m2, sh2) = quantize_multiplier(s1 / twice), quantize_multiplier(s2 / twice)
    mo, sho = quantize_multiplier(twice / ((1 << 20) * so))
    fields = dict(rank=1, shape=(n,), input1_stride=(1,), input2_stride=(1,), input1_const=None, input2_const=None)
    fields.update(loops)
    return AddSubCall(
        kernel=kernel, opcode="ADD", layer=0, inputs=(0, 1), outputs=(2,), **fields,
        input1_offset=-z1, input2_offset=-z2, output_offset=zo, left_shift=20, input1_multiplier=m1,
        input1_shift=sh1, input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo, output_shift=sho,
        act_min=act[0], act_max=act[1])


def _run_table(rec, a, b):
    """tq_add_s8_table_dsp in NumPy (equal shapes): table lookups, SMMULR, rounding shift, SSAT, clamp."""
    t = rec.table1[a.view(np.uint8)].astype(np.int64) + rec.table2[b.view(np.uint8)]
    h = (t * rec.multiplier + (1 << 31)) >> 32
    y = (h + rec.round + np.where(h < 0, -1, 0)) >> rec.right_shift
    return np.clip(np.clip(y, -128, 127), rec.act_min, rec.act_max).astype(np.int8)


@pytest.mark.parametrize("s1, z1, s2, z2, so, zo, act", [
    (0.05, 3, 0.05, -7, 0.08, -2, (-128, 127)),
    (0.0078, 0, 0.0625, -128, 0.07, -128, (-128, 127)),  # scales 8x apart, ReLU folded into the zero point
    (0.02, 127, 0.01, -128, 0.005, 10, (10, 127)),  # skewed zero points, ReLU
    (0.1, -20, 0.1, 40, 0.3, 5, (-30, 60)),  # a clamp on both sides
    (1e-3, -1, 0.9, 2, 0.9, 0, (-128, 127)),  # very different scales
])
def test_add_table_equals_simulator_on_every_pair(s1, z1, s2, z2, so, zo, act):
    call = _add_call(s1, z1, s2, z2, so, zo, act=act)
    got = add_dsp.prepare(call)
    assert got is not None and got.symbol == "tq_add_s8_table_dsp"
    bytes_ = np.arange(-128, 128, dtype=np.int16).astype(np.int8)
    a, b = np.repeat(bytes_, 256)[None], np.tile(bytes_, 256)[None]  # all 65536 pairs
    np.testing.assert_array_equal(_run_table(got.call, a[0], b[0]), add_sub(call, a, b)[0])


def test_add_declines():
    assert add_dsp.prepare(_add_call(0.05, 0, 0.05, 0, 0.1, 0, n=511)) is None  # 2 KB of tables outweigh 511 outputs
    assert add_dsp.prepare(_add_call(0.05, 0, 0.05, 0, 0.1, 0, n=512)) is not None
    assert add_dsp.prepare(_add_call(0.05, 0, 0.05, 0, 0.1, 0, kernel="tq_add_s16")) is None
    assert add_dsp.prepare(_add_call(0.05, 0, 0.05, 0, 0.1, 0, kernel="tq_add_const_s8",
                                     input2_const=const_array(np.zeros(65536), np.int8))) is None
    # an output multiplier that needs no right shift: not tq_requant_fast's form
    assert add_dsp.prepare(_add_call(0.05, 0, 0.05, 0, 1e-9, 0)) is None
