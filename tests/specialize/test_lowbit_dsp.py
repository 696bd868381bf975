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


# --- depthwise (tq_depthwise_conv3x3_s8_int2_dsp / tq_depthwise_convkxk_s8_int2_dsp) ---

from tests.specialize.test_depthwise_dsp import _call as _dw_int8_call  # noqa: E402
from tinyq.sim.kernels.packed import packed as sim_packed  # noqa: E402
from tests.specialize.test_int4_dsp import window_sums  # noqa: E402

DW_SUFFIX = {"int2": "w2", "ternary": "wt", "binary": "wb"}


def dw_levels(f: np.ndarray, form: str, rng) -> np.ndarray:
    """int8 [KH, KW, C] with `form`'s levels, a magnitude a channel (ternary, binary)."""
    if form == "int2":
        return np.clip(f, -2, 1).astype(np.int8)
    a = rng.integers(1, 128, f.shape[-1])
    s = np.where(f >= 0, 1, -1) if form == "binary" else np.sign(f)
    return (s * a).astype(np.int8)


def _dw2(call8, form, filt):
    """The 2-bit twin (tq_depthwise_conv_s8_{w2,wt,wb}) of an int8 depthwise call with filter filt."""
    kh, kw, c = filt.shape
    packed = PackedWeights.of(encode(np.asarray(filt, np.int8).reshape(kh * kw, c), 1, form))
    return replace(call8, kernel=f"tq_depthwise_conv_s8_{DW_SUFFIX[form]}", filter=None, packed=packed)


def dw_lanes(words: np.ndarray, t: int) -> np.ndarray:
    """int64 [blocks, 4]: the lanes (2^14 t) the kernel's ANDs give for tap t of each block's channels c..c+3:
    (word << (4 (t mod 4) + 2 (j odd))) & 0xC000C000; SMLABB the bottom half (j = 0, 1), SMLATT the top."""
    w = words[:, t // 4].astype(np.int64) & 0xFFFFFFFF
    out = []
    for j in range(4):
        lane = ((w << (4 * (t % 4) + 2 * (j & 1))) & 0xC000C000) >> (16 * (j >> 1)) & 0xFFFF
        out.append(np.where(lane >= 1 << 15, lane - (1 << 16), lane))
    return np.stack(out, axis=1)


def emulate_dw(r, x: np.ndarray) -> np.ndarray:
    """What tq_depthwise_conv*_s8_int2_dsp compute on record r, x int8 [H, W, C]: per tap the decoded lanes times
    the raw input (the zero point on padded taps), A never wrapping, 2 acc' = bias2 + hi32(A * mag) (SMMLA),
    (SMMLAR(2 acc', M, round) + (mask AND 2 acc' >> 31)) >> R."""
    k, c = r.filter_height * r.filter_width, r.depth
    n, q = -(-c // 4), -(-k // 4)
    b = r.blocks.astype(np.int64).reshape(n, q + 24)
    ch, words = b[:, :24].reshape(-1, 6), b[:, 24:]
    out = np.zeros((r.output_height, r.output_width, c), np.int64)
    for oy, ox, a in window_sums(r, x, [dw_lanes(words, t).reshape(-1) for t in range(k)]):
        assert (np.abs(a) < 2**31).all()  # the proved bound: A never wraps
        acc2 = wrap_int32(ch[:, 0] + (a * ch[:, 1] >> 32)).astype(np.int64)
        h = wrap_int32(((acc2 * ch[:, 2] + (1 << 31)) >> 32) + ch[:, 3]).astype(np.int64)
        assert (h == ((acc2 * ch[:, 2] + (1 << 31)) >> 32) + ch[:, 3]).all()  # the rounding add never wraps
        out[oy, ox] = ((h + (np.where(acc2 < 0, -1, 0) & ch[:, 4])) >> ch[:, 5])[:c]
    return np.clip(out + r.output_offset, r.act_min, r.act_max)


def check_dw(call2, xs):
    got = lowbit_dsp.prepare_depthwise(call2)
    assert got is not None
    r = got.call
    assert got.symbol == (lowbit_dsp.DW3X3 if (r.filter_height, r.filter_width, r.dilation_height,
                                                r.dilation_width) == (3, 3, 1, 1) else lowbit_dsp.DWKXK)
    k, c = r.filter_height * r.filter_width, r.depth
    assert r.blocks.size == -(-c // 4) * (24 + (k + 3) // 4)
    assert r.packed.nbytes == -(-c // 4) * 4 * ((k + 3) // 4)  # 2 bits a (padded) weight
    for x in xs:
        x = x.astype(np.int8)
        want = np.asarray(sim_packed(call2, x[None])).reshape(r.output_height, r.output_width, c)
        np.testing.assert_array_equal(emulate_dw(r, x), want)
    return r


DW_CASES = [  # (h, w, c, kh, kw, stride, dilation, pad, act, shifts): left shifts (R = 0) on some
    (7, 5, 13, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127), (-3, 4)),
    (9, 8, 8, 3, 3, (2, 2), (1, 1), (0, 0), (-5, 127), (-12, -6)),
    (6, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), (-128, 60), (0, 3)),
    (5, 5, 64, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127), (-2, 2)),
    (11, 6, 7, 5, 5, (1, 2), (1, 1), (2, 2), (-128, 127), (-9, 1)),
    (12, 5, 6, 10, 4, (1, 1), (1, 1), (4, 1), (0, 127), (-1, 2)),
    (9, 9, 5, 3, 3, (1, 1), (2, 2), (2, 2), (-128, 127), (-14, -7)),
    (4, 3, 1, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127), (0, 1)),
    (6, 6, 10, 2, 2, (2, 1), (1, 3), (0, 1), (-128, 127), (-3, 3)),
    (5, 7, 3, 1, 7, (1, 1), (1, 1), (0, 3), (-128, 127), (-3, 3)),  # 7 taps: a word and a partial one
]


@pytest.mark.parametrize("form", ["int2", "ternary", "binary"])
@pytest.mark.parametrize("case", DW_CASES, ids=[str(i) for i in range(len(DW_CASES))])
def test_depthwise_record_equals_simulator(case, form):
    rng = np.random.default_rng(sum(case[:5]) + 4)
    h, w, c, kh, kw, stride, dilation, pad, act, shifts = case
    dead = c // 2 if c > 2 and form != "binary" else None  # binary stores no 0
    call8 = _dw_int8_call(rng, h, w, c, kh, kw, stride, dilation, pad, act, dead=dead)
    shift = rng.integers(shifts[0], shifts[1], c)
    if dead is not None:
        shift[dead] = -14  # its constant r = MBQM(2^30 + 12345) is 4 r < 2^30 only with a right shift
    call8 = replace(call8, shift=const_array(shift, np.int32))
    f = dw_levels(np.asarray(call8.filter), form, rng)
    if dead is not None:
        f[..., dead] = 0  # the dead channel stays dead
    xs = [rng.integers(-128, 128, (h, w, c)), np.full((h, w, c), 127), np.full((h, w, c), -128)]
    r = check_dw(_dw2(call8, form, f), xs)
    assert np.array_equal(r.filter, f)


def test_depthwise_layout():
    t = (np.arange(9 * 5).reshape(9, 5) % 4 - 2).astype(np.int8)
    words = lowbit_dsp.dw_words(t)  # [2 blocks, 3 words]
    assert words.shape == (2, 3)
    for tap in range(9):
        lanes = dw_lanes(words, tap)  # [block, j]
        assert (lanes % 2**14 == 0).all()
        assert (lanes.reshape(-1)[:5] // 2**14).tolist() == t[tap].tolist()
        assert (lanes.reshape(-1)[5:] == 0).all()  # padding channels: zero weights
    assert (words[:, 2] & 0x0FFF0FFF == 0).all()  # taps 9-11 do not exist: their bits are zero


def test_depthwise_bounds_and_declines():
    """128 * sum|t| < 2^17 (2^14 T fits int32) and 2^L m < 2^12 (the SMMLA multiplier fits) at their edges; the
    declines: other encodings, depth multiplier 2, 64-bit accumulators, shifts beyond 30."""
    rng = np.random.default_rng(12)
    # 512 taps of t = -2: 128 * 1024 = 2^17 -> declined; 511 taps -> kept, and exact at all -128 / 127 inputs
    for taps, ok in ((512, False), (511, True)):
        big = _dw_int8_call(np.random.default_rng(1), 1, taps, 2, 1, taps, pad=(0, 0), bias_scale=10)
        big = replace(big, shift=const_array(np.full(2, -20), np.int32))
        call = _dw2(big, "int2", np.full((1, taps, 2), -2, np.int8))
        assert (lowbit_dsp.prepare_depthwise(call) is not None) == ok
        if ok:
            check_dw(call, [np.full((1, taps, 2), v) for v in (-128, 127)] + [rng.integers(-128, 128, (1, taps, 2))])
    # a ternary magnitude of 127: left shift 5 gives 2^5 * 127 < 2^12, 6 does not
    c8 = _dw_int8_call(rng, 5, 5, 4, 3, 3, bias_scale=50)
    f = np.where(np.asarray(c8.filter) >= 0, 127, -127).astype(np.int8)
    f[0, 0, :] = 0  # ternary: a zero tap
    for left, ok in ((5, True), (6, False)):
        call = _dw2(replace(c8, shift=const_array(np.full(4, left), np.int32),
                            multiplier=const_array(np.full(4, 1 << 30), np.int32)), "ternary", f)
        assert (lowbit_dsp.prepare_depthwise(call) is not None) == ok
        if ok:
            check_dw(call, [rng.integers(-128, 128, (5, 5, 4)), np.full((5, 5, 4), 127), np.full((5, 5, 4), -128)])
    plain = _dw_int8_call(rng, 5, 5, 6, 3, 3)
    two = _dw2(plain, "int2", np.clip(plain.filter, -2, 1))
    assert lowbit_dsp.prepare_depthwise(two) is not None
    assert lowbit_dsp.prepare_depthwise(plain) is None  # int8 weights: depthwise_dsp.py's
    four = replace(two, packed=PackedWeights.of(encode(np.clip(plain.filter, -8, 7).reshape(9, 6), 1, "int4")))
    assert lowbit_dsp.prepare_depthwise(four) is None  # int4: int4_dsp.py's
    assert lowbit_dsp.prepare_depthwise(replace(two, acc64=True)) is None
    assert lowbit_dsp.prepare_depthwise(replace(two, shift=const_array(np.full(6, -31), np.int32))) is None
    assert lowbit_dsp.prepare_depthwise(replace(two, shift=const_array(np.full(6, 31), np.int32))) is None
    m2 = _dw_int8_call(rng, 5, 5, 3, 3, 3, m=2)
    assert lowbit_dsp.prepare_depthwise(_dw2(m2, "int2", np.clip(m2.filter, -2, 1))) is None  # depth multiplier 2
