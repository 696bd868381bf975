"""Compile-time tables of the Helium preparers: weight layouts as the kernels read them, folded biases modulo
2^32, the refusals, and the arithmetic of tq_mve_requant (firmware/src/tq_mve_requant.h) modelled step by step
in Python integers against TFLM's MultiplyByQuantizedMultiplier at its edges (the firmware tests run the C)."""
import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier
from tinyq.specialize import depthwise_mve, gemm_mve
from tinyq.specialize.common_mve import requant_vectors


def _vqrdmulh(a: int, m: int) -> int:  # Arm's VQRDMULH.S32: sat((2*a*m + 2^31) >> 32)
    return max(-2**31, min(2**31 - 1, (2 * a * m + 2**31) >> 32))


def _vrshl_right(x: int, rs: int) -> int:  # VRSHL by -rs: (x + 2^(rs-1)) >> rs, no intermediate overflow
    return (x + (1 << (rs - 1))) >> rs


def _mve_requant(acc: int, m: int, shift: int) -> int:
    h = _vqrdmulh(acc, m)
    return _vrshl_right(h + (-1 if h < 0 else 0), -shift)


def test_vector_requant_matches_tflm_at_the_edges():
    rng = np.random.default_rng(5)
    acc = [0, 1, -1, 2**31 - 1, -2**31, -2**31 + 1, 2**30, -2**30] + list(rng.integers(-2**31, 2**31, 3000))
    m = [2**31 - 1, 2**30, 1, 0] + list(rng.integers(0, 2**31, 200))
    cases = [(int(a), int(mm), int(s)) for a in acc[:60] for mm in m[:12] for s in (-1, -2, -13, -30, -31)]
    cases += [(int(a), int(rng.choice(m)), int(rng.integers(-31, 0))) for a in acc]
    # exact ties of the final rounding (positive and negative): acc * 2^30 / 2^31 = acc / 2, then / 2^rs
    cases += [(sign * ((2 * k + 1) << 9), 2**30, -9) for k in range(200) for sign in (1, -1)]
    a, mm, s = (np.array(v) for v in zip(*cases))
    want = multiply_by_quantized_multiplier(a.astype(np.int32), mm.astype(np.int32), s.astype(np.int32))
    assert [_mve_requant(*c) for c in cases] == [int(w) for w in want]


def test_gemm_layout_is_the_loop_order():
    w = np.arange(5 * 37, dtype=np.int64).reshape(5, 37) % 251 - 125
    got = gemm_mve.arrange(w.astype(np.int8)).reshape(2, 3, 4, 16)  # [blocks][steps][4 channels][16 bytes]
    for c in range(8):
        for k in range(48):
            want = w[c, k] if c < 5 and k < 37 else 0
            assert got[c // 4, k // 16, c % 4, k % 16] == want


def test_gemm_stream_holds_each_blocks_requantization_around_its_weights():
    w = (np.arange(5 * 37, dtype=np.int64).reshape(5, 37) % 251 - 125).astype(np.int8)
    bias, mult, shift = (np.arange(8, dtype=np.int32) * k + off for k, off in ((-7, 2**31 - 9), (3, 2**30), (0, -5)))
    got = gemm_mve.interleave(w, bias, mult, shift).reshape(2, -1)  # 2 blocks of 32 + 3 * 64 + 32 bytes
    weights = gemm_mve.arrange(w).reshape(2, -1)
    for b in range(2):
        words = lambda lo, hi: list(got[b, lo:hi].view("<i4"))  # noqa: E731
        assert words(0, 16) == words(16, 32) == list(bias[4 * b:4 * b + 4])  # the two rows' starting sums
        assert list(got[b, 32:224]) == list(weights[b])
        assert words(224, 240) == list(mult[4 * b:4 * b + 4]) and words(240, 256) == list(shift[4 * b:4 * b + 4])


def test_depthwise_layout_is_group_tap_lane():
    f = (np.arange(3 * 2 * 6).reshape(3, 2, 6) - 18).astype(np.int8)
    got = depthwise_mve.arrange(f).reshape(2, 6, 4)  # [groups][taps][4]
    for c in range(8):
        for t in range(6):
            assert got[c // 4, t, c % 4] == (f.reshape(6, 6)[t, c] if c < 6 else 0)


def test_requant_vectors_fold_modulo_2_32_and_refuse_other_shifts():
    sums = np.array([3, -2, 0])
    rq = requant_vectors(sums, np.array([2**31 - 1, -5, 2**30]), 128, np.array([1 << 30] * 3), np.array([-1, -31, -8]))
    assert list(rq.bias) == [2**31 - 1 + 384 - 2**32, -261, 2**30, 0]  # padded to 4 lanes
    assert list(rq.shift) == [-1, -31, -8, -1]
    assert requant_vectors(sums, None, 0, np.array([1 << 30] * 3), np.array([-1, 0, -8])) is None  # no right shift
    assert requant_vectors(sums, None, 0, np.array([1 << 30] * 3), np.array([-1, 2, -8])) is None  # a left shift
    assert requant_vectors(sums, None, 0, np.array([1 << 30] * 3), np.array([-1, -32, -8])) is None


def test_dead_channel_with_any_shift_keeps_its_constant():
    # as in the MLPerf VWW model: all-zero weights, shift 0 (or a left shift), a bias up to 2^30
    bias = np.array([1 << 30, -(1 << 30), 12345, -7, 0], np.int64)
    m, s = np.array([1569364972, 1 << 30, 1 << 30, 2**31 - 1, 1 << 30]), np.array([0, 3, -1, 0, 5])
    rq = requant_vectors(np.zeros(5), bias, 128, m, s, dead=np.ones(5, bool))
    want = multiply_by_quantized_multiplier(bias.astype(np.int32), m.astype(np.int32), s.astype(np.int32))
    for k in range(5):
        got = _mve_requant(int(rq.bias[k]), int(rq.multiplier[k]), int(rq.shift[k]))
        assert max(-2**28, min(2**28, int(want[k]))) == got
