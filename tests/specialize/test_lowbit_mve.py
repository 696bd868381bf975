"""The Helium 2-bit GEMM preparers (tinyq/specialize/lowbit_mve.py), without firmware: the layout, the blocked
stream read the way the cores read it (SCALED: 64 T_c as wrapping int32 sums, >> 6; FIELDS: the arithmetic shifts'
sums from the row's starts, their differences; then m_c T_c + f_c and tq_mve_requant) giving the simulator's
integers on int2 and ternary FC layers with a dead row, the decode `cost` picks, and the declines.
The firmware side is tests/firmware/test_int2_gemm_mve.py."""
from dataclasses import replace

import numpy as np
import pytest

from tests.specialize.test_int4_mve import _want
from tests.specialize.test_layout_mve import _mve_requant
from tests.specialize.test_lowbit_dsp import _fc2
from tinyq.program import const_array
from tinyq.sim.fixedpoint import wrap_int32
from tinyq.specialize import lowbit_mve
from tinyq.specialize.int4_mve import prepared


def emulate(r, x: np.ndarray) -> np.ndarray:
    """The 2-bit cores on a prepared record r: x int8 [rows, K] -> int8 [rows, C]."""
    k, c, blocks, chunks = r.depth, r.out_depth, r.blocks, r.chunks
    stream = np.asarray(r.blocked).view(np.uint8).reshape(blocks, -1)
    xp = np.zeros((len(x), chunks * 16), np.int64)
    xp[:, :k] = x
    out = np.zeros((len(x), 4 * blocks), np.int64)
    first = 16 if r.decode == lowbit_mve.SCALED else 0  # SCALED's starting sums
    two = (xp.sum(axis=1) * 2).astype(np.int64)
    for b in range(blocks):
        words = stream[b].view("<i4").astype(np.int64)
        assert first == 0 or (words[:4] == 0).all()
        mag, f, mult, shift = (words[len(words) - 16 + 4 * i:len(words) - 12 + 4 * i] for i in range(4))
        v = stream[b, first:first + 16 * chunks]
        if r.decode == lowbit_mve.SCALED:  # VSHL by 6 - 2i, VAND 0xC0: 64 t_i, then >> 6
            t64 = [((v << (6 - 2 * i)).astype(np.uint8) & 0xC0).view(np.int8).astype(np.int64) for i in range(4)]
            sums = [wrap_int32(xp @ t).astype(np.int64) >> 6 for t in t64]
        else:  # S_6, S_4, S_2, S_0 from {0, -2X, -10X, -42X}, then S_{6-2i} - 4 S_{8-2i}
            shifted = [v.view(np.int8).astype(np.int64) >> (6 - 2 * i) for i in range(4)]
            s = [wrap_int32(xp @ t + two * st) for t, st in zip(shifted, (0, -1, -5, -21))]
            sums = [s[0]] + [wrap_int32(s[i].astype(np.int64) - 4 * s[i - 1].astype(np.int64)) for i in (1, 2, 3)]
        for i in range(4):
            acc = wrap_int32(mag[i] * np.asarray(sums[i], np.int64) + f[i]).astype(np.int64)
            out[:, 4 * b + i] = [_mve_requant(int(a), int(mult[i]), int(shift[i])) for a in acc]
    return np.clip(out + r.output_offset, r.act_min, r.act_max)[:, :c].astype(np.int8)


def test_layout_packs_a_block_in_each_byte():
    t = (np.arange(5 * 19).reshape(5, 19) % 4 - 2).astype(np.int8)
    got = lowbit_mve.arrange(t).reshape(2, 2, 16)  # [block][step][byte]
    for c in range(8):
        for k in range(32):
            code = int(got[c // 4, k // 16, k % 16]) >> (2 * (c % 4)) & 3
            assert (code ^ 2) - 2 == (int(t[c, k]) if c < 5 and k < 19 else 0)


def test_fields_layout():
    t = (np.arange(5 * 19).reshape(5, 19) % 4 - 2).astype(np.int8)
    got = lowbit_mve.arrange(t, lowbit_mve.FIELDS).reshape(2, 2, 16).view(np.int8).astype(np.int64)
    for c in range(8):
        for k in range(32):
            b = int(got[c // 4, k // 16, k % 16])
            want = int(t[c, k]) if c < 5 and k < 19 else 0
            if k >= 19:
                assert b == 0
            elif c % 4 == 0:
                assert b >> 6 == want  # signed on top
            else:
                assert (b >> (6 - 2 * (c % 4)) & 3) - 2 == want


def _fields(call, decode):
    """The record of `call` with its 2-bit decode forced."""
    rows, t, m = lowbit_mve.lowbit_rows(call)
    g = lowbit_mve.gemm_fields(t, m, rows, call, call.batches, decode=decode)
    return prepared(call, rows, g, g["blocks"] * g["chunks"] * 16, (lowbit_mve.FC,) * 3).call


@pytest.mark.parametrize("form", ["int2", "ternary"])
@pytest.mark.parametrize("k, n, batches", [(36, 9, 1), (9, 6, 2), (3, 5, 1), (64, 4, 1), (17, 3, 3), (100, 8, 2),
                                           (16, 1, 1), (33, 7, 2)])
@pytest.mark.parametrize("decode", [lowbit_mve.SCALED, lowbit_mve.FIELDS])
def test_fc_stream_equals_simulator(form, k, n, batches, decode):
    rng = np.random.default_rng(k * 10 + n)
    call, w = _fc2(rng, k, n, form, batches=batches)
    got = lowbit_mve.prepare(call)
    assert got is not None and got.symbol == lowbit_mve.FC
    assert got.call.packed.nbytes == -(-n // 4) * -(-k // 16) * 16  # 2 bits a weight, padded
    record = _fields(call, decode)
    assert record.decode == decode
    x = rng.integers(-128, 128, (4 * batches, k)).astype(np.int8)
    x[0, 0], x[0, 1] = -128, 127
    x[1] = -128  # the extreme input sums of the starts
    if len(x) > 2:
        x[2] = 127
    np.testing.assert_array_equal(emulate(record, x), _want(call, w, x))


def test_fields_takes_what_scaled_declines():
    """Rows whose 128 sum|t| reaches 2^25 (every weight at the extreme level -2): SCALED is declined, FIELDS (no
    bound) is taken; just inside the bound both hold, and on one block and one row `cost` keeps SCALED (FIELDS'
    input sums are not shared)."""
    rng = np.random.default_rng(11)
    call, w = _fc2(rng, 20, 4, "int2")
    for k, scaled in ((2**17 + 1, False), (2**17 - 1, True)):
        t = np.full((4, k), -2, np.int8)
        m = np.ones(4, np.int64)
        assert (lowbit_mve.gemm_fields(t, m, t, call, 1, decode=lowbit_mve.SCALED) is not None) == scaled
        g = lowbit_mve.gemm_fields(t, m, t, call, 1)
        assert g is not None and g["decode"] == (lowbit_mve.SCALED if scaled else lowbit_mve.FIELDS)


def test_cost_picks_fields_on_deep_rows():
    assert lowbit_mve.cost(lowbit_mve.FIELDS, 2, 4, 16) < lowbit_mve.cost(lowbit_mve.SCALED, 2, 4, 16)
    assert lowbit_mve.cost(lowbit_mve.FIELDS, 1, 40, 3) < lowbit_mve.cost(lowbit_mve.SCALED, 1, 40, 3)
    assert lowbit_mve.cost(lowbit_mve.SCALED, 2, 1, 1) < lowbit_mve.cost(lowbit_mve.FIELDS, 2, 1, 1)


def test_declines():
    rng = np.random.default_rng(3)
    call, w = _fc2(rng, 20, 4, "int2")
    assert lowbit_mve.prepare(replace(call, shift=const_array(np.zeros(4), np.int32))) is None
    assert lowbit_mve.prepare(replace(call, filter_offset=1)) is None
    assert lowbit_mve.prepare(replace(call, acc64=True)) is None
    big = np.ones((4, 2**18), np.int64)  # 128 * sum|t| reaches 2^25: 64 T may not fit int32
    assert lowbit_mve.gemm_fields(big.astype(np.int8), np.ones(4), big, call, 1, decode=lowbit_mve.SCALED) is None
    just = np.ones((4, 2**18 - 1), np.int64)  # just inside: SCALED holds
    assert lowbit_mve.gemm_fields(just.astype(np.int8), np.ones(4), just, call, 1, decode=lowbit_mve.SCALED)
