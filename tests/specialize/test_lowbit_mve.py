"""The Helium 2-bit GEMM preparers (tinyq/specialize/lowbit_mve.py), without firmware: the layout, the blocked
stream read the way tq_mve_gemm_pair_int2 reads it (64 T_c as wrapping int32 sums, >> 6, m_c T_c + f_c, then
tq_mve_requant) giving the simulator's integers on int2 and ternary FC layers with a dead row, and the declines.
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


def emulate(r, x: np.ndarray) -> np.ndarray:
    """The 2-bit cores on a prepared record r: x int8 [rows, K] -> int8 [rows, C]."""
    k, c, blocks, chunks = r.depth, r.out_depth, r.blocks, r.chunks
    stream = np.asarray(r.blocked).view(np.uint8).reshape(blocks, -1)
    xp = np.zeros((len(x), chunks * 16), np.int64)
    xp[:, :k] = x
    out = np.zeros((len(x), 4 * blocks), np.int64)
    for b in range(blocks):
        words = stream[b].view("<i4").astype(np.int64)
        assert (words[:4] == 0).all()  # the starting sums
        mag, f, mult, shift = (words[len(words) - 16 + 4 * i:len(words) - 12 + 4 * i] for i in range(4))
        v = stream[b, 16:16 + 16 * chunks]
        for i in range(4):  # VSHL by 6 - 2i, VAND 0xC0: 64 t_i
            t64 = ((v << (6 - 2 * i)).astype(np.uint8) & 0xC0).view(np.int8).astype(np.int64)
            sums = wrap_int32(xp @ t64).astype(np.int64) >> 6
            acc = wrap_int32(mag[i] * sums + f[i]).astype(np.int64)
            out[:, 4 * b + i] = [_mve_requant(int(a), int(mult[i]), int(shift[i])) for a in acc]
    return np.clip(out + r.output_offset, r.act_min, r.act_max)[:, :c].astype(np.int8)


def test_layout_packs_a_block_in_each_byte():
    t = (np.arange(5 * 19).reshape(5, 19) % 4 - 2).astype(np.int8)
    got = lowbit_mve.arrange(t).reshape(2, 2, 16)  # [block][step][byte]
    for c in range(8):
        for k in range(32):
            code = int(got[c // 4, k // 16, k % 16]) >> (2 * (c % 4)) & 3
            assert (code ^ 2) - 2 == (int(t[c, k]) if c < 5 and k < 19 else 0)


@pytest.mark.parametrize("form", ["int2", "ternary"])
@pytest.mark.parametrize("k, n, batches", [(36, 9, 1), (9, 6, 2), (3, 5, 1), (64, 4, 1), (17, 3, 3), (100, 8, 2)])
def test_fc_stream_equals_simulator(form, k, n, batches):
    rng = np.random.default_rng(k * 10 + n)
    call, w = _fc2(rng, k, n, form, batches=batches)
    got = lowbit_mve.prepare(call)
    assert got is not None and got.symbol == lowbit_mve.FC
    assert got.call.packed.nbytes == -(-n // 4) * -(-k // 16) * 16  # 2 bits a weight, padded
    x = rng.integers(-128, 128, (4 * batches, k)).astype(np.int8)
    x[0, 0], x[0, 1] = -128, 127
    np.testing.assert_array_equal(emulate(got.call, x), _want(call, w, x))


def test_declines():
    rng = np.random.default_rng(3)
    call, w = _fc2(rng, 20, 4, "int2")
    assert lowbit_mve.prepare(replace(call, shift=const_array(np.zeros(4), np.int32))) is None
    assert lowbit_mve.prepare(replace(call, filter_offset=1)) is None
    assert lowbit_mve.prepare(replace(call, acc64=True)) is None
    big = np.ones((4, 2**18), np.int64)  # 128 * sum|t| reaches 2^25: 64 T may not fit int32
    assert lowbit_mve.gemm_fields(big.astype(np.int8), np.ones(4), big, call, 1) is None
