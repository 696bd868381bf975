"""The Helium int4 GEMM preparers (tinyq/specialize/int4_mve.py), without firmware: the blocked stream's layout,
the stream read the way tq_mve_gemm_pair_int4 reads it (A_hi, A_lo as wrapping int32 sums, (A_hi - A_lo) >> 4 and
A_lo - 8 S, then tq_mve_requant) giving the simulator's integers on int4 FC layers at their proved bounds and
with dead channels, and the declines. The firmware side is tests/firmware/test_int4_gemm_mve.py."""
from dataclasses import replace

import numpy as np
import pytest

from tests.specialize.test_int4_dsp import _fc4
from tests.specialize.test_layout_mve import _mve_requant
from tinyq.encode.apply import PackedWeights
from tinyq.encode import encode
from tinyq.program import const_array
from tinyq.sim.fixedpoint import wrap_int32
from tinyq.sim.kernels.fully_connected import fully_connected
from tinyq.specialize import int4_mve
from tinyq.specialize.int4_dsp import HIGH_BOUND


def emulate(g: dict, x: np.ndarray) -> np.ndarray:
    """The int4 cores on gemm_fields g (either decode): x int8 [rows, K] -> int8 [rows, C]."""
    k, c, blocks, chunks = g["depth"], g["out_depth"], g["blocks"], g["chunks"]
    stream = np.asarray(g["blocked"]).view(np.uint8).reshape(blocks, -1)
    xp = np.zeros((len(x), chunks, 16), np.int64)
    xp.reshape(len(x), -1)[:, :k] = x  # the tail's lanes past K read as 0
    s8 = wrap_int32(8 * xp.sum(axis=(1, 2))).astype(np.int64)
    out = np.zeros((len(x), 4 * blocks), np.int64)
    dot = lambda w: np.einsum("rsj,sj->r", xp, w)  # noqa: E731  VMLADAVA over the steps
    for b in range(blocks):
        words = stream[b].view("<i4").astype(np.int64)
        start, mult, shift = words[:4], words[-8:-4], words[-4:]  # both rows start at the same sums
        vectors = stream[b, 16:-32].reshape(chunks, 2, 16)  # [step][pair][byte]
        for p in range(2):
            v = vectors[:, p]
            if g["decode"] == int4_mve.PAIR_SUM:
                a_hi = wrap_int32(start[2 * p] + dot(v.view(np.int8).astype(np.int64))).astype(np.int64)
                a_lo = wrap_int32(start[2 * p + 1] + dot((v & 0xF).astype(np.int64))).astype(np.int64)
                acc = (wrap_int32(a_hi - a_lo).astype(np.int64) >> 4, wrap_int32(a_lo - s8).astype(np.int64))
            else:  # VAND 0xF0 and VSHL #4: 16 w of each nibble, sums 16 acc, VSHR #4
                hi, lo = (v & 0xF0).view(np.int8).astype(np.int64), (v << 4).view(np.int8).astype(np.int64)
                acc = tuple(wrap_int32(start[2 * p + j] + dot(w)).astype(np.int64) >> 4 for j, w in enumerate((hi, lo)))
            for j in (0, 1):
                ch = 2 * p + j
                out[:, 4 * b + ch] = [_mve_requant(int(a), int(mult[ch]), int(shift[ch])) for a in acc[j]]
    out = np.clip(out + g["output_offset"], g["act_min"], g["act_max"])
    return out[:, :c].astype(np.int8)


FIELDS = ("depth", "out_depth", "blocks", "chunks", "output_offset", "act_min", "act_max", "blocked", "decode")


def _check(call, w, x, decode=None):
    got = int4_mve.prepare(call)
    assert got is not None and got.symbol == int4_mve.FC
    g = {f: getattr(got.call, f) for f in FIELDS}
    if decode is not None and g["decode"] != decode:  # the other decode, on the same call
        g = int4_mve.gemm_fields(w, call, call.batches, decode)
        assert g is not None
    np.testing.assert_array_equal(emulate(g, x), _want(call, w, x))
    return got


def _want(call, w, x):
    """The simulator's int8 FC on rows x [S * batches, K] -> [S * batches, C]."""
    got = fully_connected(replace(call, kernel="tq_fully_connected_s8", weights=const_array(w, np.int8),
                                  packed=None), x.reshape(-1, call.batches * call.accum_depth))
    return np.asarray(got).reshape(len(x), -1)


def test_layouts_pair_channels_in_the_nibbles():
    w = (np.arange(5 * 21).reshape(5, 21) % 16 - 8).astype(np.int8)
    for decode in (int4_mve.PAIR_SUM, int4_mve.SCALED):
        got = int4_mve.arrange(w, decode).reshape(2, 2, 2, 16)  # [block][step][pair][byte]
        for c in range(8):
            for k in range(32):
                byte = int(got[c // 4, k // 16, c % 4 // 2, k % 16])
                want = int(w[c, k]) if c < 5 and k < 21 else 0
                if k >= 21:
                    assert byte == 0  # nothing past K: no input byte past the row counts
                elif c % 2 == 0:
                    assert (byte >> 4 ^ 8) - 8 == want  # signed high nibble
                elif decode == int4_mve.PAIR_SUM:
                    assert (byte & 0xF) - 8 == want  # low nibble + 8
                else:
                    assert ((byte & 0xF) ^ 8) - 8 == want  # signed low nibble


def test_cost_picks_pair_sums_for_one_row_and_deep_rows():
    assert int4_mve.cost(int4_mve.PAIR_SUM, 1, 40, 32) < int4_mve.cost(int4_mve.SCALED, 1, 40, 32)  # AD's 640 x 128
    assert int4_mve.cost(int4_mve.SCALED, 250, 4, 16) < int4_mve.cost(int4_mve.PAIR_SUM, 250, 4, 16)  # KWS 1x1
    assert int4_mve.cost(int4_mve.PAIR_SUM, 64, 36, 16) < int4_mve.cost(int4_mve.SCALED, 64, 36, 16)  # 3x3x64


@pytest.mark.parametrize("k, n, batches, per_channel, act", [
    (37, 5, 3, False, (-128, 127)), (5, 64, 1, True, (-20, 127)), (64, 1, 2, False, (-128, 127)),
    (16, 7, 2, True, (0, 127)), (17, 3, 1, False, (-128, 50)), (640, 12, 1, True, (-128, 127))])
@pytest.mark.parametrize("decode", [int4_mve.PAIR_SUM, int4_mve.SCALED])
def test_fc_stream_equals_simulator(k, n, batches, per_channel, act, decode):
    rng = np.random.default_rng(k * 100 + n)
    call, w = _fc4(rng, k, n, batches=batches, per_channel=per_channel, act=act)
    x = rng.integers(-128, 128, (batches * 4, k)).astype(np.int8)
    x[0, 0], x[0, 1] = -128, 127
    got = _check(call, w, x, decode)
    assert got.call.packed.nbytes == -(-n // 4) * -(-k // 16) * 32  # 4 bits a weight, padded


def test_bounds_dead_channels_and_declines():
    """Channel 0 (even: 16 acc must fit) just under 2^27, channel 1 (odd: no bound in PAIR_SUM) near 2^30, dead
    channels 2 (even, a constant output past 2^16: clipped) and 3; then channel 1 under 2^27 and SCALED works
    too; one more on channel 0 and the call is declined."""
    rng = np.random.default_rng(5)
    call, w = _fc4(rng, 24, 6, batches=1, per_channel=True)
    xmax = max(abs(-128 + call.input_offset), abs(127 + call.input_offset))
    w = np.array(w)
    w[0], w[1], w[2:4] = 7, -8, 0
    bias = np.array(call.bias, np.int64)
    bias[0] = HIGH_BOUND - 1 - 7 * 24 * xmax
    bias[1] = -(2**30 - 1 - 8 * 24 * xmax)
    bias[2], bias[3] = 2**30, -(2**29)
    mult = np.array(call.multiplier, np.int64)
    mult[2] = 2**31 - 1
    shift = np.array(call.shift, np.int64)
    shift[2] = 0  # a dead channel's shift is free (its output is a constant)
    call = replace(call, bias=const_array(bias, np.int32), multiplier=const_array(mult, np.int32),
                   shift=const_array(shift, np.int32), packed=PackedWeights.of(encode(w, 0, "int4")))
    x = rng.integers(-128, 128, (12, 24)).astype(np.int8)
    x[0], x[1] = -128, 127
    x[2], x[3] = 127, -128
    got = _check(call, w, x)
    assert got.call.decode == int4_mve.PAIR_SUM  # channel 1's bound rules SCALED out
    assert int4_mve.gemm_fields(w, call, 1, int4_mve.SCALED) is None
    start = np.asarray(got.call.blocked).view(np.uint8)[:16].view("<i4")  # block 0's starting sums
    assert abs(int(start[2])) < 2**31 - 1  # 16 * 4r + 4r' of the dead pair: fits
    near = bias.copy()
    near[1] = -(HIGH_BOUND - 1 - 8 * 24 * xmax)
    close = replace(call, bias=const_array(near, np.int32))
    _check(close, w, x, int4_mve.SCALED)
    _check(close, w, x, int4_mve.PAIR_SUM)
    bias[0] += 1
    assert int4_mve.prepare(replace(call, bias=const_array(bias, np.int32))) is None
    assert int4_mve.prepare(replace(call, filter_offset=3)) is None
    assert int4_mve.prepare(replace(call, acc64=True)) is None
    left = replace(call, shift=const_array(np.where(np.arange(6) == 0, 1, call.shift), np.int32))
    assert int4_mve.prepare(left) is None  # a live channel's left shift: not tq_mve_requant's


def test_other_encodings_are_declined():
    rng = np.random.default_rng(2)
    call, w = _fc4(rng, 20, 4)
    two = replace(call, packed=PackedWeights.of(encode(np.clip(w, -2, 1), 0, "int2")))
    assert int4_mve.prepare(two) is None
