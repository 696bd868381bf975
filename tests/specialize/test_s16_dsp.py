"""The compile-time facts of the 16x8 DSP kernels (tinyq/specialize/s16_dsp.py): requantization rows that give
TFLM's int64 MultiplyByQuantizedMultiplier from an int32 sum, and the accumulator bound that decides when the
int32 sum is exact. The kernels themselves are held to TFLM on QEMU in tests/firmware/test_s16_fast.py."""
import numpy as np

from tinyq.sim.fixedpoint import multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_int64
from tinyq.specialize.requant import reference_requant
from tinyq.specialize.s16_dsp import ACC32_BOUND, X_MAX, requant_rows


def row_model(acc, rows):
    """What tq_s16_finish computes before the clamp on the int64 path: (b + SMMUL(acc, a)) >> c, in NumPy."""
    a = np.asarray(acc, np.int64)
    return (rows[:, 1] + ((a * rows[:, 0]) >> 32)) >> rows[:, 2]


def _accs(rng, n):
    lim = ACC32_BOUND - 1
    return np.concatenate([rng.integers(-lim, lim + 1, n), rng.integers(-5000, 5000, n), [lim, -lim, 0, 1, -1]])


def test_rows64_equal_tflm_for_every_shift():
    """Every shift TFLM allows (-31..7) and multipliers across Q31, on accumulators over all of int32: wherever
    the preparer gives a row, the row's result is TFLM's, exactly (ties included: small accumulators hit them)."""
    rng = np.random.default_rng(3)
    accepted = 0
    for shift in range(-31, 8):
        for m in [1 << 30, (1 << 31) - 1, 0x7FFF0000, 0x7FFEFFFF, *rng.integers(1 << 30, 1 << 31, 6)]:
            q = requant_rows(np.ones((1, 1), np.int8), None, [m], [shift], acc64=True)
            if q is None:
                assert 15 - shift < 17  # declined only where R · 2^(33-s) can reach 2^31
                continue
            accepted += 1
            acc = _accs(rng, 4000)
            want = multiply_by_quantized_multiplier_int64(acc, np.full_like(acc, m), np.full_like(acc, shift))
            np.testing.assert_array_equal(row_model(acc, np.repeat(q.rows, len(acc), axis=0)), want)
    assert accepted >= 33 * 8  # shifts -31..1 always accepted


def test_bound_decides_int32_sums():
    """|bias| + Σ|w| · 32768 < 2^31: accepted just below, declined at the bound (int64 path)."""
    k = 16
    w = np.full((1, k), 127, np.int8)
    room = ACC32_BOUND - k * 127 * X_MAX
    assert requant_rows(w, np.array([room - 1]), [1 << 30], [-8], acc64=True) is not None
    assert requant_rows(w, np.array([-(room - 1)]), [1 << 30], [-8], acc64=True) is not None
    assert requant_rows(w, np.array([room]), [1 << 30], [-8], acc64=True) is None
    # the int32-bias path uses tq_requant_fast, which needs |acc| < 2^30
    room30 = (1 << 30) - k * 127 * X_MAX
    assert requant_rows(w, np.array([room30 - 1], np.int32), [1 << 30], [-8], acc64=False) is not None
    assert requant_rows(w, np.array([room30], np.int32), [1 << 30], [-8], acc64=False) is None


def test_int32_path_rows_are_tflm():
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (6, 40)).astype(np.int8)
    bias = rng.integers(-1 << 20, 1 << 20, 6).astype(np.int32)
    m, shift = rng.integers(1 << 30, 1 << 31, 6), rng.integers(-20, -1, 6)
    q = requant_rows(w, bias, m, shift, acc64=False)
    assert q is not None and not q.requant64
    x = rng.integers(-X_MAX, X_MAX, (500, 40))
    acc = x @ w.T.astype(np.int64) + bias
    want = multiply_by_quantized_multiplier(acc.astype(np.int32), m.astype(np.int32), shift.astype(np.int32))
    np.testing.assert_array_equal(reference_requant(x @ w.T.astype(np.int64) + q.bias, q.rows), want)


def test_dead_channel_gives_tflm_constant():
    """All-zero weights: the bias may be far beyond int32 (TFLM allows up to 2^47); the row returns its result."""
    w = np.zeros((2, 9), np.int8)
    w[1, 4] = 3
    bias = np.array([(1 << 40) + 12345, 77], np.int64)
    m, shift = np.array([0x5A5A5A5A, 1 << 30]), np.array([-12, -9])
    q = requant_rows(w, bias, m, shift, acc64=True)
    assert q is not None and q.bias[0] == 0
    want = multiply_by_quantized_multiplier_int64(bias[:1], m[:1], shift[:1])
    assert row_model(np.array([0]), q.rows[:1])[0] == want[0]


def test_model_requant_rows_exact_on_random_layers():
    """Whole layers: random weights, int64 biases, per-channel multipliers; x int16 at the extremes and random."""
    rng = np.random.default_rng(9)
    for _ in range(20):
        c, k = int(rng.integers(1, 9)), int(rng.integers(1, 300))
        w = rng.integers(-128, 128, (c, k)).astype(np.int8)
        bias = rng.integers(-1 << 24, 1 << 24, c)
        m, shift = rng.integers(1 << 30, 1 << 31, c), rng.integers(-20, -2, c)
        q = requant_rows(w, bias, m, shift, acc64=True)
        if q is None:
            continue
        x = np.concatenate([rng.integers(-X_MAX, X_MAX, (200, k)), np.where(w > 0, 32767, -32768)[:1].repeat(1, 0)])
        x = np.concatenate([x, np.where(w < 0, 32767, -32768)[:1]])
        exact = x @ w.T.astype(np.int64) + bias
        want = multiply_by_quantized_multiplier_int64(exact, m, shift)
        acc32 = x @ w.T.astype(np.int64) + q.bias
        assert np.abs(acc32).max() < ACC32_BOUND
        np.testing.assert_array_equal(row_model(acc32, q.rows), want)


def test_triple_layout_is_the_wide_kernels_stream():
    """tq_conv_s16_wide_dsp's weights: per channel triple, per tap pair, the three channels' int16 pairs; taps
    zero-padded to a multiple of 4, channels to a multiple of 3 (C % 3 = 1 and 2, K odd and even)."""
    from tinyq.specialize.s16_dsp import triple_layout, triple_records

    rng = np.random.default_rng(3)
    for c, k in [(7, 9), (8, 40), (6, 4), (1, 1), (10, 64)]:
        rows = rng.integers(-128, 128, (c, k)).astype(np.int8)
        stream, kp = triple_layout(rows)
        assert kp % 4 == 0 and kp - 4 < k <= kp
        triples = -(-c // 3)
        assert stream.dtype == np.int16 and stream.shape == (triples * kp * 3,)
        for t in range(triples):
            for j in range(kp // 2):
                for i in range(3):
                    ch = 3 * t + i
                    word = stream[((t * (kp // 2) + j) * 3 + i) * 2:][:2]
                    want = [rows[ch, 2 * j + h] if ch < c and 2 * j + h < k else 0 for h in range(2)]
                    assert list(word) == want, (c, k, t, j, i)
        bias, rows = np.arange(c) + 100, np.arange(3 * c).reshape(c, 3)
        records = triple_records(bias, rows)
        assert records.dtype == np.int32 and records.shape == (triples, 12)
        for ch in range(3 * triples):
            t, i = divmod(ch, 3)
            assert records[t, i] == (bias[ch] if ch < c else 0)
            assert list(records[t, 3 + 3 * i:6 + 3 * i]) == (list(rows[ch]) if ch < c else [0, 0, 0])


def test_wide_pays_from_five_filters_or_whole_triples():
    from types import SimpleNamespace

    from tinyq.specialize.s16_dsp import wide_pays

    def call(c, groups=1):
        return SimpleNamespace(output_depth=c, input_depth=4, filter_input_depth=4 // groups)

    assert [c for c in range(1, 10) if wide_pays(call(c))] == [3, 5, 6, 7, 8, 9]
    assert not wide_pays(call(6, groups=2))  # the block reads every input channel


def test_wide_declines_past_the_int32_bound():
    """The wide kernel sums in int32 as the others: a layer past |bias| + Σ|w| · 32768 < 2^31 is declined."""
    k = ACC32_BOUND // (127 * X_MAX) + 1
    w = np.full((3, k), 127, np.int8)
    assert requant_rows(w, np.zeros(3, np.int64), [1 << 30] * 3, [-5] * 3, True) is None
    assert requant_rows(w[:, :-2], np.zeros(3, np.int64), [1 << 30] * 3, [-5] * 3, True) is not None
