"""The int4 preparers (tinyq/specialize/int4_dsp.py), without firmware: their records, read the way the C kernels
read them (NumPy: the nibble lanes SXTB16 and AND give, the two accumulators a channel pair, A_hi - A_lo >> 3 and
2 A_lo - 16 S, then tq_requant_fast), give the simulator's integers on int4-valued conv and FC layers, at the
bounds they prove, with dead channels, odd channel counts, taps not a multiple of 8 and inputs all -128 / 127;
and they decline what they cannot prove. The firmware side is tests/firmware/test_int4_fast.py."""
from dataclasses import replace

import numpy as np
import pytest

from tests.ops import test_conv as conv_cases
from tests.ops.oplib import random_inputs
from tests.specialize.test_conv_dsp import patches
from tests.specialize.test_fc_add_dsp import _fc_call
from tinyq.encode import encode
from tinyq.encode.apply import PackedWeights, apply_encodings, weight_report
from tinyq.program import Program, const_array
from tinyq.sim.fixedpoint import wrap_int32
from tinyq.sim.kernels.fully_connected import fully_connected
from tinyq.sim.run import as_program, run_program
from tinyq.specialize import int4_dsp, specialize
from tinyq.specialize.requant import accumulator_bound, reference_requant


def lanes(byte_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the kernels multiply a weight byte by: SXTB16's int8 (16 w_c + u) and the AND's low nibble u."""
    b = np.asarray(byte_values).astype(np.uint8)
    return b.view(np.int8).astype(np.int64), (b & 0xF).astype(np.int64)


def finish(a_hi, a_lo, s16, rows_hi, rows_lo):
    """int64 [..., P] accumulators of P pairs -> int64 [..., 2P] requantized (before offset and clamp)."""
    hi2 = wrap_int32(a_hi - a_lo).astype(np.int64) >> 3
    lo2 = wrap_int32(2 * a_lo - s16[..., None]).astype(np.int64)
    assert (hi2 % 2 == 0).all() and (lo2 % 2 == 0).all()
    return np.stack([reference_requant(hi2 // 2, rows_hi), reference_requant(lo2 // 2, rows_lo)], axis=-1)


def emulate_conv(r, x: np.ndarray) -> np.ndarray:
    """tq_conv1x1_s8_int4_dsp / tq_conv_s8_im2col_int4_dsp in NumPy: x int8 [B, H, W, C]."""
    kp, c = r.patch_padded, r.output_depth
    pairs = (c + 1) // 2
    big, small = lanes(np.asarray(r.weights, "<i4").view(np.uint8).reshape(pairs, kp))
    table = r.rows.reshape(pairs, 8).astype(np.int64)
    out = np.empty((x.shape[0], r.output_height, r.output_width, c), np.int64)
    for oy, ox, patch in patches(r, x):
        a_hi = table[:, 0] + patch @ big.T  # SMLAD wraps; finish() wraps the differences
        a_lo = table[:, 1] + patch @ small.T
        y = finish(a_hi, a_lo, 16 * patch.sum(axis=1), table[:, 2:5], table[:, 5:8])
        out[:, oy, ox] = y.reshape(len(patch), -1)[:, :c]
    return np.clip(out + r.output_offset, r.act_min, r.act_max).astype(np.int8)


def emulate_fc(r, x: np.ndarray) -> np.ndarray:
    """tq_fully_connected_s8_int4_dsp in NumPy, reading the weights in flash order: x int8 [S, batches * K]."""
    k, n = r.accum_depth, r.output_depth
    g, c = -(-n // 4), -(-k // 4)
    big, small = lanes(r.weights.view(np.uint8).reshape(g, c, 2, 4))  # [group, chunk, pair, byte]
    rows = x.reshape(-1, k).astype(np.int64)
    xp = np.zeros((len(rows), 4 * c), np.int64)
    xp[:, :k] = rows
    xc = xp.reshape(-1, c, 4)
    init = r.bias.reshape(2 * g, 2).astype(np.int64)
    a_hi = np.einsum("bcj,gcpj->bgp", xc, big).reshape(len(rows), 2 * g) + init[:, 0]
    a_lo = np.einsum("bcj,gcpj->bgp", xc, small).reshape(len(rows), 2 * g) + init[:, 1]
    rq = (r.requant if r.requant_step else np.tile(r.requant, (g, 1))).reshape(2 * g, 2, 3)
    y = finish(a_hi, a_lo, 16 * xp.sum(axis=1), rq[:, 0], rq[:, 1]).reshape(len(rows), 4 * g)
    return np.clip(y + r.output_offset, r.act_min, r.act_max)[:, :n].astype(np.int8).reshape(x.shape[0], -1)


def int4_program(program: Program, edit=None) -> Program:
    """The program with every weight clipped to int4 levels (edit(k, call) -> call may change more), int4-encoded."""
    calls = []
    for k, call in enumerate(program.calls):
        field = "filter" if hasattr(call, "filter") else "weights"
        call = replace(call, **{field: const_array(np.clip(getattr(call, field), -8, 7), np.int8)})
        calls.append(edit(k, call) if edit else call)
    return apply_encodings(replace(program, calls=tuple(calls)), "int4")


def check_conv(program: Program, x: np.ndarray):
    (call,) = program.calls
    assert call.kernel == "tq_conv_s8_w4"
    got = int4_dsp.prepare_conv(call)
    assert got is not None
    r = got.call
    pointwise = call.filter_height == call.filter_width == 1 and call.pad_height == call.pad_width == 0
    assert got.symbol == (int4_dsp.CONV1X1 if pointwise else int4_dsp.IM2COL)
    assert r.weights.nbytes == (call.output_depth + 1) // 2 * r.patch_padded  # 4 bits a weight (padded)
    want = run_program(program, [x])[program.outputs[0]]
    np.testing.assert_array_equal(np.stack([emulate_conv(r, xi) for xi in x]), want)
    return r


CONV_CASES = [c for c in conv_cases.CASES if c.op == "conv" and not c.int16 and c.groups == 1]


@pytest.mark.slow
@pytest.mark.parametrize("case", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv_record_equals_simulator(case):
    program = int4_program(as_program(conv_cases.convert_case(case)))
    x = random_inputs(program, 8, seed=3)[0]
    x[0], x[1] = -128, 127
    check_conv(program, x)


def _conv_program(case=0):
    return as_program(conv_cases.convert_case(conv_cases.CASES[case]))


def test_conv_dead_channels_and_bounds():
    """Channel 0 (a high nibble) at its bound just under 2^27, channel 1 (a low nibble) just under 2^30, dead
    channels 2 (high) and 3 (low) with large biases; CASES[0] has 3 input channels (27 taps) and 4 outputs."""
    base = _conv_program()
    (call,) = base.calls
    xmax = max(abs(-128 + call.input_offset), abs(127 + call.input_offset))

    def edit(_, c, hi=int4_dsp.HIGH_BOUND - 1, lo=2**30 - 1):
        f = np.array(c.filter)
        f[0], f[1] = 7, -8  # one sign: the all -128 / all 127 inputs reach the bound
        f[2:4] = 0
        k = f[0].size
        bias = np.array(c.bias, np.int64)
        bias[0] = hi - 7 * k * xmax
        bias[1] = -(lo - 8 * k * xmax)
        bias[2], bias[3] = 2**26 + 12345, -(2**29 - 99)
        return replace(c, filter=const_array(f, np.int8), bias=const_array(bias, np.int32))

    program = int4_program(base, edit)
    x = random_inputs(program, 6, seed=9)[0]
    x[0], x[1], x[2] = -128, 127, 0
    r = check_conv(program, x)
    assert r.rows.reshape(-1, 8)[1, 2:].tolist() == [2**30, 1, 1, 2**30, 1, 1]  # the dead pair's constant rows
    (p,) = program.calls
    assert accumulator_bound(int4_dsp.int4_rows(p), p.bias, p.input_offset)[0] == int4_dsp.HIGH_BOUND - 1
    over = int4_program(base, lambda k, c: edit(k, c, hi=int4_dsp.HIGH_BOUND))
    assert int4_dsp.prepare_conv(over.calls[0]) is None  # a high channel at 2^27: 16 acc may not fit int32
    swapped = int4_program(base, lambda k, c: replace(edit(k, c), bias=const_array(np.array(edit(k, c).bias)[[1, 0, 2, 3]], np.int32)))
    assert int4_dsp.prepare_conv(swapped.calls[0]) is None  # 2^30 - 1 on a high channel


@pytest.mark.parametrize("case, filters", [(4, 7), (9, 1), (9, 3), (7, 5)])
def test_conv_odd_channel_counts(case, filters):
    """1x1 on 16 inputs, a 1x1 pixel, (4, 3) first layer: the odd last channel paired with a zero channel."""
    import dataclasses

    spec = dataclasses.replace(conv_cases.CASES[case], filters=filters)
    program = int4_program(as_program(conv_cases.convert_case(spec)))
    x = random_inputs(program, 5, seed=filters)[0]
    x[0] = -128
    r = check_conv(program, x)
    pad = np.asarray(r.weights, "<i4").view(np.uint8).reshape((filters + 1) // 2, -1)
    if filters % 2:
        assert ((pad[-1] & 0xF) == 8).all()  # the zero channel's low nibbles: 0 + 8


def test_conv_declines_what_it_cannot_prove():
    base = _conv_program()
    program = int4_program(base)
    (call,) = program.calls
    assert int4_dsp.prepare_conv(call) is not None
    assert int4_dsp.prepare_conv(replace(call, acc64=True)) is None
    assert int4_dsp.prepare_conv(base.calls[0]) is None  # int8 weights: conv_dsp.py's
    two = apply_encodings(replace(base, calls=(replace(base.calls[0], filter=const_array(
        np.clip(base.calls[0].filter, -2, 1), np.int8)),)), "int2")
    assert int4_dsp.prepare_conv(two.calls[0]) is None  # int2 keeps its packed kernel
    left = replace(call, shift=const_array(np.ones_like(call.shift), np.int32))
    assert int4_dsp.prepare_conv(left) is None  # a left shift: not tq_requant_fast's form


def test_hostile_encoding_out_of_int4_range_is_declined():
    """The record trusts the decoded weights to be int4: a packed stream that decodes outside [-8, 7] (a
    malformed descriptor) is declined rather than wrapped into the wrong nibble."""
    program = int4_program(_conv_program())
    (call,) = program.calls
    enc = call.packed.encoded

    class Wide:
        encoding, channel_axis = "int4", 0

        def decode(self):
            rows = np.array(enc.decode())
            rows[0, 0] = 9
            return rows

    hostile = replace(call, packed=replace(call.packed, _encoded=Wide()))
    assert int4_dsp.prepare_conv(hostile) is None


def test_conv_weight_report_and_specialize():
    program = int4_program(_conv_program(4))  # 1x1, 16 inputs, 8 outputs
    fast, variants = specialize(program, [None], frozenset({"dsp"}))
    assert variants[0].symbol == int4_dsp.CONV1X1 and variants[0].macro == "__ARM_FEATURE_DSP"
    (rec,) = fast.calls
    assert rec.kernel == "tq_conv_s8_w4" and rec.filter.dtype == np.int8
    assert np.array_equal(rec.filter.reshape(8, -1), program.calls[0].packed.encoded.decode())
    (lowered,) = weight_report(program)
    (report,) = weight_report(fast)
    assert report.encoding == "int4" and report.nbytes == rec.weights.nbytes == 8 * 16 // 2
    assert (report.levels, report.int8_bytes) == (lowered.levels, lowered.int8_bytes)
    same, variants = specialize(program, [None], frozenset())
    assert same is program and variants == [None]


def _fc4(rng, k, n, **kw):
    """An int4-encoded FC call (tq_fully_connected_s8_w4) and its int8 weights."""
    call = _fc_call(rng, k, n, **kw)
    w = const_array(np.clip(call.weights, -8, 7), np.int8)
    packed = PackedWeights.of(encode(np.asarray(w), 0, "int4"))
    return replace(call, kernel="tq_fully_connected_s8_w4", weights=None, packed=packed), np.asarray(w)


@pytest.mark.parametrize("k, n, batches, bias, per_channel, act", [
    (37, 5, 3, True, False, (-128, 127)), (5, 64, 1, True, True, (-20, 127)), (64, 1, 2, False, False, (-128, 127)),
    (1, 3, 4, True, True, (-128, 50)), (3, 16, 1, False, True, (-128, 127)), (640, 128, 1, True, False, (-128, 127)),
    (2, 6, 5, True, False, (0, 127)), (7, 2, 2, False, False, (-128, 127)), (9, 7, 1, True, True, (-128, 127)),
])
def test_fc_record_equals_simulator(k, n, batches, bias, per_channel, act):
    rng = np.random.default_rng(k * 1000 + n)
    call, w = _fc4(rng, k, n, batches=batches, bias=bias, per_channel=per_channel, act=act)
    got = int4_dsp.prepare_fc(call)
    assert got is not None and got.symbol == int4_dsp.FC
    rec = got.call
    g, c = -(-n // 4), -(-k // 4)
    assert rec.weights.dtype == np.int8 and rec.weights.nbytes == 8 * g * c  # 4 bits a (padded) weight
    x = rng.integers(-128, 128, (30, batches * k)).astype(np.int8)
    x[0], x[1] = -128, 127
    want = fully_connected(replace(call, kernel="tq_fully_connected_s8", weights=const_array(w, np.int8),
                                   packed=None), x)
    np.testing.assert_array_equal(emulate_fc(rec, x), want)


def test_fc_dead_rows_and_bounds():
    rng = np.random.default_rng(5)
    call, w = _fc4(rng, 24, 6, batches=1, per_channel=True)
    xmax = max(abs(-128 + call.input_offset), abs(127 + call.input_offset))
    w = np.array(w)
    w[0], w[1], w[2:4] = 7, -8, 0
    bias = np.array(call.bias, np.int64)
    bias[0] = int4_dsp.HIGH_BOUND - 1 - 7 * 24 * xmax
    bias[1] = -(2**30 - 1 - 8 * 24 * xmax)
    bias[2], bias[3] = -(2**26), 2**29
    call = replace(call, bias=const_array(bias, np.int32), packed=PackedWeights.of(encode(w, 0, "int4")))
    got = int4_dsp.prepare_fc(call)
    assert got is not None and got.call.requant_step == 12
    x = rng.integers(-128, 128, (12, 24)).astype(np.int8)
    x[0], x[1] = -128, 127
    want = fully_connected(replace(call, kernel="tq_fully_connected_s8", weights=const_array(w, np.int8),
                                   packed=None), x)
    np.testing.assert_array_equal(emulate_fc(got.call, x), want)
    bias[0] += 1
    assert int4_dsp.prepare_fc(replace(call, bias=const_array(bias, np.int32))) is None
    assert int4_dsp.prepare_fc(replace(call, filter_offset=3)) is None


def test_fc_layout():
    w = (np.arange(5 * 6).reshape(5, 6) % 16 - 8).astype(np.int8)
    b = int4_dsp.arrange_fc(w).view(np.uint8).reshape(2, 2, 2, 4)  # [group, chunk, pair, byte]
    assert (((b[0, 0, 0] >> 4).astype(int) + 8) % 16 - 8).tolist() == w[0, :4].tolist()  # signed high nibbles
    assert ((b[0, 1, 1] & 0xF).astype(int) - 8).tolist() == w[3, 4:].tolist() + [0, 0]
    assert b[1, :, 1].tolist() == [[8] * 4] * 2  # rows 6, 7 padding: zero weights


# --- depthwise (tq_depthwise_conv3x3_s8_int4_dsp / tq_depthwise_convkxk_s8_int4_dsp) ---

from tests.specialize.test_depthwise_dsp import _call as _dw_int8_call  # noqa: E402
from tinyq.sim.kernels.packed import packed as sim_packed  # noqa: E402


def _dw4(call8, filt=None):
    """The int4-encoded twin (tq_depthwise_conv_s8_w4) of an int8 depthwise call, its filter clipped to int4."""
    f = np.clip(np.asarray(call8.filter if filt is None else filt), -8, 7).astype(np.int8)
    kh, kw, c = f.shape
    packed = PackedWeights.of(encode(f.reshape(kh * kw, c), 1, "int4"))
    return replace(call8, kernel="tq_depthwise_conv_s8_w4", filter=None, packed=packed)


def dw_lanes(words: np.ndarray, t: int) -> np.ndarray:
    """int64 [blocks, 4]: the lanes (4096 w) the kernel's ANDs give for tap t of each block's channels c..c+3:
    (word << s) & 0xF000F000, s = 8 (t odd) + 4 (channels c+1, c+3); SMLABB the bottom half, SMLATT the top."""
    w = words[:, t // 2].astype(np.int64) & 0xFFFFFFFF
    out = []
    for j in range(4):
        lane = ((w << (8 * (t & 1) + 4 * (j & 1))) & 0xF000F000) >> (16 * (j >> 1)) & 0xFFFF
        out.append(np.where(lane >= 1 << 15, lane - (1 << 16), lane))
    return np.stack(out, axis=1)


def emulate_dw(r, x: np.ndarray) -> np.ndarray:
    """What tq_depthwise_conv*_s8_int4_dsp compute on record r, x int8 [H, W, C]: per tap the decoded lanes times
    the raw input (the zero point on padded taps), A wrapping as int32, 2 acc = 2 f + (A >> 11), tq_requant_fast."""
    k, c = r.filter_height * r.filter_width, r.depth
    n, half = -(-c // 4), (k + 1) // 2
    b = r.blocks.astype(np.int64).reshape(n, 16 + half)
    bias2, words, rows = b[:, :4].reshape(-1), b[:, 4:4 + half], b[:, 4 + half:].reshape(-1, 3)
    out = np.zeros((r.output_height, r.output_width, c), np.int64)
    for oy, ox, a in window_sums(r, x, [dw_lanes(words, t).reshape(-1) for t in range(k)]):
        assert (np.abs(a) < 2**31).all()  # the proved bound: A never wraps, so A >> 11 = 2 sum
        acc2 = wrap_int32(bias2 + (a >> 11)).astype(np.int64)[:c]
        assert (acc2 % 2 == 0).all()
        out[oy, ox] = reference_requant(acc2 // 2, rows[:c])
    return np.clip(out + r.output_offset, r.act_min, r.act_max)


def window_sums(r, x: np.ndarray, lanes_t: list[np.ndarray]):
    """(oy, ox, A) for every output pixel of depthwise record r on x int8 [H, W, C]: A int64 [4 * blocks] the sum
    over taps t of the raw input (the zero point on padded taps and on the block's channels past C) times
    lanes_t[t], the decoded lanes of the packed kernels (test_int4_dsp's and test_lowbit_dsp's emulate_dw)."""
    c, lanes = r.depth, len(lanes_t[0])
    for oy in range(r.output_height):
        for ox in range(r.output_width):
            a = np.zeros(lanes, np.int64)
            for t, lane in enumerate(lanes_t):
                ky, kx = divmod(t, r.filter_width)
                iy = oy * r.stride_height - r.pad_height + ky * r.dilation_height
                ix = ox * r.stride_width - r.pad_width + kx * r.dilation_width
                xv = np.full(lanes, r.input_zero_point, np.int64)
                if 0 <= iy < r.input_height and 0 <= ix < r.input_width:
                    xv[:c] = x[iy, ix]
                a += xv * lane
            yield oy, ox, a


def check_dw(call4, xs):
    got = int4_dsp.prepare_depthwise(call4)
    assert got is not None
    r = got.call
    assert got.symbol == (int4_dsp.DW3X3 if (r.filter_height, r.filter_width, r.dilation_height,
                                              r.dilation_width) == (3, 3, 1, 1) else int4_dsp.DWKXK)
    k, c = r.filter_height * r.filter_width, r.depth
    assert r.blocks.size == -(-c // 4) * (16 + (k + 1) // 2)
    assert r.packed.nbytes == -(-c // 4) * 4 * ((k + 1) // 2)  # 4 bits a (padded) weight
    for x in xs:
        x = x.astype(np.int8)
        want = np.asarray(sim_packed(call4, x[None])).reshape(r.output_height, r.output_width, c)
        np.testing.assert_array_equal(emulate_dw(r, x), want)
    return r


DW_CASES = [  # (h, w, c, kh, kw, stride, dilation, pad, act): odd channel counts, strides, dilation, kxk, 1 channel
    (7, 5, 13, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
    (9, 8, 8, 3, 3, (2, 2), (1, 1), (0, 0), (-5, 127)),
    (6, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), (-128, 60)),
    (5, 5, 64, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
    (11, 6, 7, 5, 5, (1, 2), (1, 1), (2, 2), (-128, 127)),
    (12, 5, 6, 10, 4, (1, 1), (1, 1), (4, 1), (0, 127)),
    (9, 9, 5, 3, 3, (1, 1), (2, 2), (2, 2), (-128, 127)),
    (4, 3, 1, 3, 3, (1, 1), (1, 1), (1, 1), (-128, 127)),
    (6, 6, 10, 2, 2, (2, 1), (1, 3), (0, 1), (-128, 127)),
]


@pytest.mark.parametrize("case", DW_CASES, ids=[str(i) for i in range(len(DW_CASES))])
def test_depthwise_record_equals_simulator(case):
    rng = np.random.default_rng(sum(case[:5]) + 4)
    h, w, c, kh, kw, stride, dilation, pad, act = case
    call = _dw4(_dw_int8_call(rng, h, w, c, kh, kw, stride, dilation, pad, act, dead=c // 2 if c > 2 else None))
    xs = [rng.integers(-128, 128, (h, w, c)), np.full((h, w, c), 127), np.full((h, w, c), -128)]
    r = check_dw(call, xs)
    assert np.array_equal(r.filter, np.clip(_dw_int8_call(np.random.default_rng(sum(case[:5]) + 4), h, w, c, kh,
                                                          kw, stride, dilation, pad, act,
                                                          dead=c // 2 if c > 2 else None).filter, -8, 7))


def test_depthwise_layout():
    f = (np.arange(3 * 3 * 5).reshape(3, 3, 5) % 16 - 8).astype(np.int8)
    words = int4_dsp.dw_words(f)  # [2 blocks, 5 tap pairs]
    assert words.shape == (2, 5)
    for t in range(9):
        lanes = dw_lanes(words, t)  # [block, j]
        assert (lanes % 4096 == 0).all()
        assert (lanes.reshape(-1)[:5] // 4096).tolist() == f.reshape(9, 5)[t].tolist()
        assert (lanes.reshape(-1)[5:] == 0).all()  # padding channels: zero weights
    assert ((words[:, 4] & 0x00FF00FF) == 0).all()  # tap 9 of the last pair does not exist: nibbles 0, 1, 4, 5 zero


def test_depthwise_bounds_and_declines():
    """|sum(x * w)| < 2^19 (4096 * sum fits int32) and |acc| < 2^30 at their edges; dead channels; declines."""
    rng = np.random.default_rng(11)
    c8 = _dw_int8_call(rng, 5, 5, 6, 3, 3, dead=2)
    f = np.array(np.clip(c8.filter, -8, 7))
    f[..., 0], f[..., 1] = -8, 7  # one sign: all -128 / all 127 inputs reach the bounds
    xmax = max(abs(-128 + c8.input_offset), abs(127 + c8.input_offset))
    bias = np.array(c8.bias, np.int64)
    bias[0] = -(2**30 - 1 - 8 * 9 * xmax)  # channel 0 (a high lane) just under 2^30
    bias[1] = 2**30 - 1 - 7 * 9 * xmax
    bias[3] = -(2**29 + 7)  # dead channel 2 has 2^30 + 12345 (test_depthwise_dsp)
    call = _dw4(replace(c8, bias=const_array(bias, np.int32)), f)
    xs = [rng.integers(-128, 128, (5, 5, 6)), np.full((5, 5, 6), 127), np.full((5, 5, 6), -128)]
    check_dw(call, xs)
    bias[0] -= 1
    assert int4_dsp.prepare_depthwise(_dw4(replace(c8, bias=const_array(bias, np.int32)), f)) is None  # 2^30
    # 128 * sum|w| = 2^19 exactly: 512 taps of -8 -> declined; 511 taps -> 128 * 8 * 511 < 2^19, kept
    for taps, ok in ((512, False), (511, True)):
        big = _dw_int8_call(np.random.default_rng(1), 1, taps, 2, 1, taps, pad=(0, 0), bias_scale=10)
        big = replace(big, shift=const_array(np.full(2, -20), np.int32))
        got = int4_dsp.prepare_depthwise(_dw4(big, np.full((1, taps, 2), -8, np.int8)))
        assert (got is not None) == ok
    plain = _dw_int8_call(rng, 5, 5, 6, 3, 3)
    assert int4_dsp.prepare_depthwise(plain) is None  # int8 weights: depthwise_dsp.py's
    two = replace(_dw4(plain), packed=PackedWeights.of(encode(np.clip(plain.filter, -2, 1).reshape(9, 6), 1, "int2")))
    assert int4_dsp.prepare_depthwise(two) is None  # int2 keeps its packed kernel
    assert int4_dsp.prepare_depthwise(replace(_dw4(plain), acc64=True)) is None
    m2 = _dw_int8_call(rng, 5, 5, 3, 3, 3, m=2)
    assert int4_dsp.prepare_depthwise(_dw4(m2)) is None  # depth multiplier 2
    left = replace(_dw4(plain), shift=const_array(np.ones(6, np.int32), np.int32))
    assert int4_dsp.prepare_depthwise(left) is None  # a left shift: not tq_requant_fast's form


def test_depthwise_specialize_and_weight_report():
    rng = np.random.default_rng(2)
    call = _dw4(_dw_int8_call(rng, 6, 6, 8, 3, 3))
    program = Program(tensors=(), inputs=(), outputs=(), calls=(call,)) if False else None
    got = int4_dsp.prepare_depthwise(call)
    assert got.call.kernel == "tq_depthwise_conv_s8_w4" and got.call.packed.encoding == "int4"
    assert got.call.packed.nbytes == 2 * 5 * 4 and got.call.filter.dtype == np.int8
